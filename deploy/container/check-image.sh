#!/usr/bin/env bash
# check-image.sh — the image builds without a registry from the already built binaries,
# and each binary runs in it the way Kubernetes runs it.
#
# With podman (installed with runc and debootstrap when missing, as root): a Debian 12 base
# from debian-base.sh (debootstrap; the rootfs tarball is cached under
# /var/cache/imapsync-bulk-migrator, or the build tree when not root, so later runs skip
# it), then build.sh --binaries $MIGRATOR_BINARY_DIR/bin. In the image: every binary's
# shared libraries resolve; `coordinator|worker|migratectl --help` exit 0 as UID 10001 with
# a read-only root filesystem, no capabilities and no new privileges; the user, the OCI
# labels and the size (< 150 MB) are as promised. Prints the size and the time taken.
# podman runs with a containers.conf of its own (podman-env.sh: runc; nofile/nproc limits
# the default runtime here cannot set) written into the build tree.
# Exit 77 (skip) only when podman is missing and cannot be installed (not root).
set -euo pipefail
export LC_ALL=C
PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN_DIR=${MIGRATOR_BINARY_DIR:-$ROOT/build}
W=$BIN_DIR/deploy/image
TAG=localhost/imapsync-bulk-migrator:check
MAX_MB=150
START=$(date +%s)

die() { echo "$PROG: FAIL: $*" >&2; exit 1; }
skip() { echo "$PROG: SKIP: $*" >&2; exit 77; }
elapsed() { echo "$(( $(date +%s) - START )) s"; }

for b in coordinator worker migratectl; do [ -x "$BIN_DIR/bin/$b" ] || die "$BIN_DIR/bin/$b is not built"; done

# shellcheck source=podman-env.sh
. "$HERE/podman-env.sh"
podman_env_setup "$W"
BASE=$(podman_base_image "$W") || die "no base image"
echo "$PROG: base $BASE ready after $(elapsed)"

podman_project_image "$TAG" "$BASE" "$BIN_DIR" "$W/build.log"
echo "$PROG: built $TAG after $(elapsed)"

run() { podman run --rm --read-only --user 10001:10001 --cap-drop ALL \
          --security-opt no-new-privileges --network none "$@"; }
for b in coordinator worker migratectl; do
  run "$TAG" "$b" --help >"$W/$b-help.out" 2>&1 || { cat "$W/$b-help.out" >&2; die "$b --help failed in the image"; }
  echo "$PROG: $b --help: exit 0"
done
run --entrypoint /bin/sh "$TAG" -c 'ldd /usr/local/bin/coordinator /usr/local/bin/worker /usr/local/bin/migratectl' \
  >"$W/ldd.out" 2>&1 || { cat "$W/ldd.out" >&2; die "ldd failed in the image"; }
if grep -q "not found" "$W/ldd.out"; then grep "not found" "$W/ldd.out" >&2; die "unresolved shared libraries"; fi
echo "$PROG: shared libraries resolve"
[ "$(podman run --rm "$TAG" id -u)" = 10001 ] || die "the image does not run as UID 10001 by default"
[ "$(podman image inspect --format '{{.Config.User}}' "$TAG")" = 10001:10001 ] || die "USER is not 10001:10001"
for label in title description version revision; do
  v=$(podman image inspect --format "{{index .Config.Labels \"org.opencontainers.image.$label\"}}" "$TAG")
  [ -n "$v" ] || die "label org.opencontainers.image.$label is missing"
done
run --entrypoint /bin/sh "$TAG" -c '! touch /usr/local/bin/x 2>/dev/null' || die "the root filesystem was writable"
size=$(podman image inspect --format '{{.Size}}' "$TAG")
mb=$((size / 1000000))
echo "$PROG: image $TAG: $mb MB ($size bytes), limit $MAX_MB MB"
[ "$mb" -lt "$MAX_MB" ] || die "the image is $mb MB, over $MAX_MB MB"
echo "$PROG: ok in $(elapsed)"
