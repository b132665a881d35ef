#!/usr/bin/env bash
# build.sh — builds the fleet's container image with podman or docker (whichever exists;
# podman first).
#
#   deploy/container/build.sh [--tag NAME] [--base IMAGE] [--binaries DIR] [--jobs N]
#                             [--engine podman|docker] [-- EXTRA BUILD ARGS...]
#
#   --tag       image name (default imapsync-bulk-migrator:dev)
#   --base      base image (default debian:12-slim); without a registry, make one with
#               deploy/container/debian-base.sh and pass --base localhost/debian-base:12
#   --binaries  take coordinator, worker and migratectl already built in DIR (e.g.
#               build/bin) instead of compiling them in the image: target runtime-prebuilt,
#               the binaries are stripped on the way in
#   --jobs      parallel compile jobs in the build stage (default 2)
# Prints the image size at the end. Extra arguments after `--` go to `ENGINE build`.
set -euo pipefail
export LC_ALL=C
PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TAG=imapsync-bulk-migrator:dev
BASE=
BINARIES=
JOBS=2
ENGINE=
EXTRA=()

die() { echo "$PROG: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --tag) TAG=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --binaries) BINARIES=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --engine) ENGINE=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
if [ -z "$ENGINE" ]; then
  if command -v podman >/dev/null 2>&1; then ENGINE=podman
  elif command -v docker >/dev/null 2>&1; then ENGINE=docker
  else die "neither podman nor docker is installed"; fi
fi

VERSION=$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
ARGS=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" --build-arg "JOBS=$JOBS")
[ -n "$BASE" ] && ARGS+=(--build-arg "BASE=$BASE")
# A locally made base (localhost/...) must never be looked up in a registry.
case $BASE in localhost/*) [ "$ENGINE" = podman ] && ARGS+=(--pull=never) ;; esac

# A small build context of its own: only what the chosen target copies.
CTX=$(mktemp -d "${TMPDIR:-/tmp}/migrator-image.XXXXXX")
trap 'rm -rf "$CTX"' EXIT
if [ -n "$BINARIES" ]; then
  mkdir -p "$CTX/prebuilt"
  for b in coordinator worker migratectl; do
    [ -x "$BINARIES/$b" ] || die "$BINARIES/$b is missing or not executable"
    strip --strip-all -o "$CTX/prebuilt/$b" "$BINARIES/$b" 2>/dev/null ||
      cp "$BINARIES/$b" "$CTX/prebuilt/$b"
  done
  ARGS+=(--target runtime-prebuilt)
else
  # The sources as tracked by git (or, outside git, the source folders without build trees).
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
      grep -zv '^build' | xargs -0 cp --parents -t "$CTX" 2>/dev/null) || true
  else
    for d in CMakeLists.txt proto common coordinator worker tests deploy; do
      cp -a "$ROOT/$d" "$CTX/"
    done
  fi
  [ -f "$CTX/CMakeLists.txt" ] || die "could not stage the sources into the build context"
  ARGS+=(--target runtime)
fi
cp "$HERE/Dockerfile" "$CTX/Dockerfile.migrator"

echo "$PROG: $ENGINE build ${ARGS[*]} -t $TAG" >&2
"$ENGINE" build -f "$CTX/Dockerfile.migrator" "${ARGS[@]}" "${EXTRA[@]}" -t "$TAG" "$CTX"

size=$("$ENGINE" image inspect --format '{{.Size}}' "$TAG")
echo "$PROG: built $TAG: $((size / 1000000)) MB ($size bytes)"
