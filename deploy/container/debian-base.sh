#!/usr/bin/env bash
# debian-base.sh — a Debian 12 base image made locally with debootstrap, for machines that
# reach a Debian mirror but no container registry. Prints the image name on stdout.
#
#   debian-base.sh [--tag NAME] [--cache DIR] [--engine podman|docker]
#
#   --tag    image name (default localhost/debian-base:12)
#   --cache  where the root filesystem tarball is kept between runs
#            (default /var/cache/imapsync-bulk-migrator as root, else ~/.cache/...)
#
# Steps, each skipped when its result exists: debootstrap --variant=minbase bookworm (the
# mirror is read from this machine's apt sources), trimmed the way debian:12-slim is (no
# docs, man pages, locales, apt lists), packed as DIR/debian-base-bookworm.tar; then
# imported as the image. Needs root (debootstrap) the first time.
set -euo pipefail
export LC_ALL=C
PROG=${0##*/}
TAG=localhost/debian-base:12
ENGINE=
if [ "$(id -u)" -eq 0 ]; then CACHE=/var/cache/imapsync-bulk-migrator
else CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/imapsync-bulk-migrator; fi

die() { echo "$PROG: error: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --tag) TAG=$2; shift 2 ;;
    --cache) CACHE=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1" ;;
  esac
done
if [ -z "$ENGINE" ]; then
  if command -v podman >/dev/null 2>&1; then ENGINE=podman
  elif command -v docker >/dev/null 2>&1; then ENGINE=docker
  else die "neither podman nor docker is installed"; fi
fi

if "$ENGINE" image inspect "$TAG" >/dev/null 2>&1; then echo "$TAG"; exit 0; fi

# The first Debian (not security) mirror of this machine's apt sources.
mirror() {
  local m=
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ {print $2}' /etc/apt/sources.list.d/debian.sources | grep -v security | head -1)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $2 !~ /security/ {print ($2 ~ /^\[/ ? $3 : $2)}' /etc/apt/sources.list | head -1)
  fi
  [ -n "$m" ] || die "no Debian mirror found in the apt sources"
  echo "$m"
}

TAR=$CACHE/debian-base-bookworm.tar
mkdir -p "$CACHE"
exec 9>"$CACHE/.debian-base.lock"
flock 9
if [ ! -s "$TAR" ]; then
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (or put a rootfs tarball at $TAR)"
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed"
  ROOTFS=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'rm -rf "$ROOTFS"' EXIT
  echo "$PROG: debootstrap bookworm into $ROOTFS" >&2
  debootstrap --variant=minbase bookworm "$ROOTFS" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
  # Trim like the slim images: dpkg keeps excluding these in later apt-get installs too.
  cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
  find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$ROOTFS"/usr/share/{man,info,locale,lintian}/* "$ROOTFS"/var/lib/apt/lists/* \
    "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/log/*
  tar --numeric-owner -C "$ROOTFS" -cf "$TAR.tmp" .
  mv "$TAR.tmp" "$TAR"
fi
"$ENGINE" import "$TAR" "$TAG" >/dev/null
echo "$TAG"
