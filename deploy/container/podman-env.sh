# podman-env.sh — sourced by the scripts that run podman in tests (check-image.sh,
# deploy/podman/fleet-check.sh): podman installed, its configuration, the base image and
# the project's image from already built binaries. Expects die() and skip() (exit 77) of
# the caller, and `set -euo pipefail`.
#
#   podman_env_setup DIR   podman, runc and debootstrap installed (as root, when missing;
#                          skip when not root); DIR/containers.conf written and exported
#                          as CONTAINERS_CONF: runc, and nofile/nproc limits the default
#                          runtime here cannot set
#   podman_base_image DIR  prints the Debian 12 base (debian-base.sh): its rootfs tarball
#                          cached under /var/cache/imapsync-bulk-migrator as root, else DIR/cache
#   podman_project_image TAG BASE BIN_DIR LOG
#                          build.sh --binaries BIN_DIR/bin onto BASE as TAG (output in
#                          LOG); the previous image of TAG, now untagged, is removed
PODMAN_ENV_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

podman_env_setup() {
  local dir=$1 p
  local -a missing=()
  for p in podman runc debootstrap; do command -v "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || skip "${missing[*]} missing and not root (deploy/local/install-deps.sh installs them)"
    echo "${PROG:-podman-env}: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq --no-install-recommends podman runc debootstrap >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends podman runc debootstrap >/dev/null; }; } ||
      die "apt-get install podman runc debootstrap failed"
  fi
  mkdir -p "$dir"
  cat >"$dir/containers.conf" <<'CONF'
# Written by deploy/container/podman-env.sh.
[engine]
runtime = "runc"
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
CONF
  export CONTAINERS_CONF=$dir/containers.conf
}

podman_base_image() {
  local cache
  if [ "$(id -u)" -eq 0 ]; then cache=/var/cache/imapsync-bulk-migrator; else cache=$1/cache; fi
  "$PODMAN_ENV_HERE/debian-base.sh" --engine podman --cache "$cache"
}

podman_project_image() {
  local tag=$1 base=$2 bin_dir=$3 log=$4 old new
  old=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  "$PODMAN_ENV_HERE/build.sh" --engine podman --base "$base" --binaries "$bin_dir/bin" --tag "$tag" \
    >"$log" 2>&1 || { tail -30 "$log" >&2; die "the image does not build"; }
  new=$(podman image inspect --format '{{.Id}}' "$tag")
  if [ -n "$old" ] && [ "$old" != "$new" ]; then podman rmi "$old" >/dev/null 2>&1 || true; fi
}
