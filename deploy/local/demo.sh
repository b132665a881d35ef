#!/usr/bin/env bash
# The local demo on a fresh Debian 12 machine (as root): installs what is missing, builds,
# and runs what exists so far against a throwaway Dovecot.
#
# Until the export/import/validate/test modes land (see README.md, "Status") this builds
# everything, then runs the IMAP client benchmark (pipelined UID FETCH against one command
# per message) on a generated mailbox. It does not pretend to migrate.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}

"$ROOT/deploy/local/install-deps.sh"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"

echo
echo "== built: $(ls "$BUILD_DIR/bin" | tr '\n' ' ')"
echo "== the migration modes are not built yet; 'coordinator' says so:"
"$BUILD_DIR/bin/coordinator" --mode export || true
echo
echo "== IMAP client benchmark against a throwaway Dovecot (${DEMO_MESSAGES:-2000} messages)"
"$BUILD_DIR/tests/fetch_bench" --messages "${DEMO_MESSAGES:-2000}"
