#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root):
#   installs what is missing, configures, builds, runs every ctest test, prints the summary.
# Exits non-zero on any failure.
#
# Environment:
#   BUILD_DIR   build directory (default: build)
#   CTEST_ARGS  extra ctest arguments, e.g. "-L unit" or "-R parser"
#   FUZZ=0      skip the clang/libFuzzer build of the fuzz targets
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}

"$ROOT/deploy/local/install-deps.sh"

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"

status=0
(cd "$BUILD_DIR" && ctest --output-on-failure -j"$JOBS" ${CTEST_ARGS:-}) || status=$?

# libFuzzer builds of the fuzz targets (clang), run for a bounded time under label fuzz.
if [ "${FUZZ:-1}" = "1" ] && command -v clang++ >/dev/null 2>&1 && [ -z "${CTEST_ARGS:-}" ]; then
  FUZZ_DIR="${BUILD_DIR}-fuzz"
  cmake -S . -B "$FUZZ_DIR" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DMIGRATOR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$FUZZ_DIR" -j"$JOBS" --target fuzz_targets
  (cd "$FUZZ_DIR" && ctest --output-on-failure -L fuzz) || status=$?
fi
exit $status
