#!/usr/bin/env bash
# The local demo on a fresh Debian 12 machine (as root): installs what is missing, builds,
# starts two throwaway Dovecots (A with a generated corpus, B empty), and runs
#   coordinator --mode test | export | import | validate --workers 2
# showing each summary, then stops the servers. Everything lives under $DEMO_DIR
# (default: a new /tmp/imapsync-demo.XXXXXX); it is kept so you can look at the export.
#
# Environment: BUILD_DIR (default build), DEMO_DIR, DEMO_ACCOUNTS (default 4),
# DEMO_MESSAGES (messages per folder, default 150).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
ACCOUNTS=${DEMO_ACCOUNTS:-4}
PER_FOLDER=${DEMO_MESSAGES:-150}

"$ROOT/deploy/local/install-deps.sh"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
BIN="$ROOT/$BUILD_DIR/bin"
FIX="$ROOT/tests/fixtures/dovecot.sh"
SEED="$ROOT/$BUILD_DIR/tests/seed_maildir"

DEMO_DIR=${DEMO_DIR:-$(mktemp -d /tmp/imapsync-demo.XXXXXX)}
mkdir -p "$DEMO_DIR"
chmod 755 "$DEMO_DIR"
cleanup() {
  "$FIX" stop "$DEMO_DIR/server-a" >/dev/null 2>&1 || true
  "$FIX" stop "$DEMO_DIR/server-b" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== starting Dovecot A (source) and B (target) in $DEMO_DIR"
eval "$("$FIX" start "$DEMO_DIR/server-a" --users "$ACCOUNTS" | sed 's/^/A_/')"
eval "$("$FIX" start "$DEMO_DIR/server-b" --users "$ACCOUNTS" | sed 's/^/B_/')"

echo "== generating the corpus on A: $ACCOUNTS accounts; INBOX, Sent, nested, non-ASCII folders;"
echo "   flags and keywords; a few multi-MB messages"
for i in $(seq 1 "$ACCOUNTS"); do
  u="user$i@example.com"
  "$SEED" seed "$DEMO_DIR/server-a" "$u" INBOX "$PER_FOLDER" --seed "$i" --random-flags \
    --min-size 2000 --max-size 16000 >/dev/null
  "$SEED" seed "$DEMO_DIR/server-a" "$u" Sent $((PER_FOLDER / 3)) --seed $((i + 100)) \
    --flags '\Seen' >/dev/null
  "$SEED" seed "$DEMO_DIR/server-a" "$u" "Projects/2024/Q1" $((PER_FOLDER / 3)) \
    --seed $((i + 200)) --random-flags >/dev/null
  "$SEED" seed "$DEMO_DIR/server-a" "$u" "Réunions/日本語" 10 --seed $((i + 300)) \
    --flags '\Seen,$Forwarded,Projet-X' >/dev/null
  "$SEED" seed "$DEMO_DIR/server-a" "$u" "Archive" 2 --seed $((i + 400)) \
    --min-size 2000000 --max-size 4000000 >/dev/null
done

write_config() {  # $1 file, $2 port, $3 ca file
  {
    printf '{\n  "server": {"host": "127.0.0.1", "port": %s, "ssl": true, "ca_file": "%s"},\n' \
      "$2" "$3"
    printf '  "accounts": [\n'
    for i in $(seq 1 "$ACCOUNTS"); do
      printf '    {"email": "user%s@example.com", "password": "pass%s"}%s\n' "$i" "$i" \
        "$([ "$i" -lt "$ACCOUNTS" ] && echo ,)"
    done
    printf '  ]\n}\n'
  } >"$1"
  chmod 600 "$1"
}
write_config "$DEMO_DIR/export.pass.config.json" "$A_IMAPS_PORT" "$A_CA_FILE"
write_config "$DEMO_DIR/import.pass.config.json" "$B_IMAPS_PORT" "$B_CA_FILE"

cd "$DEMO_DIR"
run() {
  echo
  echo "== coordinator $*"
  "$BIN/coordinator" "$@" --workers 2 --log-dir "$DEMO_DIR/logs"
}
run --mode test --config export.pass.config.json
run --mode export --config export.pass.config.json --output-dir "$DEMO_DIR/exported"
run --mode import --config import.pass.config.json --input-dir "$DEMO_DIR/exported"
run --mode validate --config import.pass.config.json --input-dir "$DEMO_DIR/exported"
echo
echo "== demo done: export in $DEMO_DIR/exported, logs and JSON reports in $DEMO_DIR/logs"
