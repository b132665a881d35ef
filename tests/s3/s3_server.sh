#!/usr/bin/env bash
# s3_server.sh — a throwaway S3 server (s3rver) behind a SigV4-verifying proxy, for tests.
#
#   s3_server.sh start DIR [--bucket NAME] [--owner-pid PID] [--listen ADDR]
#       Installs what is missing (s3rver@3 via npm into $MIGRATOR_NPM_CACHE, default
#       $HOME/.cache/mig-npm; python3-botocore via apt when root), creates DIR, starts
#       s3rver on an ephemeral loopback port with bucket NAME (default "test-bucket") and
#       tests/s3/sigv4_proxy.py in front of it, waits until both answer. Prints KEY=VALUE
#       lines (also written to DIR/env):
#         DIR ENDPOINT (the verifying proxy) DIRECT_ENDPOINT (s3rver itself, unverified)
#         BUCKET ACCESS_KEY SECRET_KEY REGION S3RVER_PID PROXY_PID
#       --owner-pid PID: a watcher stops both servers when process PID exits.
#       --listen ADDR: the verifying proxy listens on ADDR instead of 127.0.0.1 (e.g. a
#       container network's gateway, for clients in containers); s3rver stays on loopback.
#       Exit status 77 (skip) when s3rver cannot be installed (no network): the reason is
#       printed to stderr. Any other failure exits 1.
#   s3_server.sh stop DIR [--rm]   stops the servers of DIR (by their recorded pids);
#                                  --rm deletes DIR.
#   s3_server.sh log DIR           prints the servers' logs.
#
# Needs node/npm and /usr/bin/python3 (Debian's, for python3-botocore).
set -euo pipefail
export LC_ALL=C

readonly PROG=${0##*/}
readonly HERE=$(cd "$(dirname "$0")" && pwd)
readonly NPM_CACHE=${MIGRATOR_NPM_CACHE:-${HOME:-/root}/.cache/mig-npm}
readonly S3RVER_DIR=$NPM_CACHE/s3rver
readonly PYTHON=/usr/bin/python3

die() { echo "$PROG: error: $*" >&2; exit 1; }
skip() { echo "$PROG: SKIP: $*" >&2; exit 77; }

ensure_s3rver() {
  [ -x "$S3RVER_DIR/node_modules/.bin/s3rver" ] && return 0
  command -v npm >/dev/null 2>&1 || skip "npm is not installed, cannot install s3rver"
  mkdir -p "$S3RVER_DIR"
  # A lock: parallel test runs may install at the same time.
  (
    flock 9
    [ -x "$S3RVER_DIR/node_modules/.bin/s3rver" ] && exit 0
    echo "$PROG: installing s3rver@3 into $S3RVER_DIR" >&2
    # A package.json of its own, so npm cannot pick a project further up the tree.
    [ -f "$S3RVER_DIR/package.json" ] ||
      echo '{"name": "mig-s3rver", "private": true}' >"$S3RVER_DIR/package.json"
    if ! timeout 300 npm install --prefix "$S3RVER_DIR" --no-audit --no-fund \
          --loglevel=error s3rver@3 >"$S3RVER_DIR/npm-install.log" 2>&1; then
      tail -5 "$S3RVER_DIR/npm-install.log" >&2 || true
      exit 77
    fi
  ) 9>"$NPM_CACHE/.s3rver.lock" || {
    rc=$?
    [ "$rc" -eq 77 ] && skip "npm could not install s3rver@3 (no network?)"
    die "installing s3rver failed ($rc)"
  }
  [ -x "$S3RVER_DIR/node_modules/.bin/s3rver" ] || skip "s3rver missing after npm install"
}

ensure_botocore() {
  [ -x "$PYTHON" ] || die "$PYTHON is missing (the proxy needs Debian's python3-botocore)"
  "$PYTHON" -c 'import botocore.auth' 2>/dev/null && return 0
  [ "$(id -u)" -eq 0 ] || die "python3-botocore is missing and not root: apt-get install python3-botocore"
  echo "$PROG: installing python3-botocore" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends python3-botocore >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      apt-get install -y -qq --no-install-recommends python3-botocore >/dev/null 2>&1; } ||
    die "apt-get install python3-botocore failed"
  "$PYTHON" -c 'import botocore.auth' || die "botocore still not importable"
}

# Waits (up to ~10 s) until FILE has a line matching REGEX; prints the match.
wait_for() {
  local file=$1 regex=$2 pid=$3 i
  for i in $(seq 1 200); do
    if [ -f "$file" ] && grep -Eo "$regex" "$file" 2>/dev/null | head -1 | grep -q .; then
      grep -Eo "$regex" "$file" | head -1
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

cmd_start() {
  local dir=$1; shift
  local bucket=test-bucket owner="" listen=127.0.0.1
  while [ $# -gt 0 ]; do
    case $1 in
      --bucket) bucket=$2; shift 2 ;;
      --owner-pid) owner=$2; shift 2 ;;
      --listen) listen=$2; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  ensure_s3rver
  ensure_botocore
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)

  # s3rver's ListObjectsV2 continuation tokens use DES, which Node on OpenSSL 3 only has
  # in the legacy provider: without it every truncated listing is a 500 InternalError.
  local node_options=${NODE_OPTIONS:-}
  if node --openssl-legacy-provider -e 0 >/dev/null 2>&1; then
    node_options="$node_options --openssl-legacy-provider"
  fi
  NODE_OPTIONS=$node_options \
  "$S3RVER_DIR/node_modules/.bin/s3rver" -d "$dir/data" -a 127.0.0.1 -p 0 --silent \
    --configure-bucket "$bucket" >"$dir/s3rver.log" 2>&1 </dev/null &
  local s3rver_pid=$!
  echo "$s3rver_pid" >"$dir/s3rver.pid"
  local s3rver_port
  s3rver_port=$(wait_for "$dir/s3rver.log" 'listening on 127\.0\.0\.1:[0-9]+' "$s3rver_pid" |
                sed 's/.*://') || { cat "$dir/s3rver.log" >&2; die "s3rver did not start"; }

  "$PYTHON" "$HERE/sigv4_proxy.py" --upstream "127.0.0.1:$s3rver_port" \
    --port-file "$dir/proxy.port" --credentials S3RVER:S3RVER --region us-east-1 --listen "$listen" \
    >"$dir/proxy.log" 2>&1 </dev/null &
  local proxy_pid=$!
  echo "$proxy_pid" >"$dir/proxy.pid"
  local proxy_port
  proxy_port=$(wait_for "$dir/proxy.port" '^[0-9]+$' "$proxy_pid") ||
    { cat "$dir/proxy.log" >&2; kill "$s3rver_pid" 2>/dev/null; die "the proxy did not start"; }

  if [ -n "$owner" ]; then
    # Stops the servers when the owner goes away (a crashed test leaks nothing).
    ( while kill -0 "$owner" 2>/dev/null && kill -0 "$s3rver_pid" 2>/dev/null; do sleep 0.5; done
      kill "$proxy_pid" "$s3rver_pid" 2>/dev/null || true ) >/dev/null 2>&1 </dev/null &
  fi
  {
    echo "DIR=$dir"
    echo "ENDPOINT=http://$listen:$proxy_port"
    echo "DIRECT_ENDPOINT=http://127.0.0.1:$s3rver_port"
    echo "BUCKET=$bucket"
    echo "ACCESS_KEY=S3RVER"
    echo "SECRET_KEY=S3RVER"
    echo "REGION=us-east-1"
    echo "S3RVER_PID=$s3rver_pid"
    echo "PROXY_PID=$proxy_pid"
  } | tee "$dir/env"
}

# True while PID runs (a zombie waiting for its parent to reap it counts as gone).
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

cmd_stop() {
  local dir=$1 rm=${2:-}
  local f pid
  for f in proxy.pid s3rver.pid; do
    [ -f "$dir/$f" ] || continue
    pid=$(cat "$dir/$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do alive "$pid" || break; sleep 0.05; done
    if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -f "$dir/$f"
  done
  if [ "$rm" = "--rm" ]; then rm -rf "$dir"; fi
}

cmd_log() {
  local dir=$1
  echo "== s3rver.log"; cat "$dir/s3rver.log" 2>/dev/null || true
  echo "== proxy.log"; cat "$dir/proxy.log" 2>/dev/null || true
}

[ $# -ge 2 ] || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
case $1 in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  log) shift; cmd_log "$@" ;;
  *) die "unknown command $1" ;;
esac
