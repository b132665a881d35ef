#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine (as root):
#   installs what is missing, configures, builds, runs every ctest test, prints the summary.
# Exits non-zero on any failure.
#
# Environment:
#   BUILD_DIR   build directory (default: build)
#   CTEST_ARGS  extra ctest arguments, e.g. "-L unit" or "-R parser"
#   FUZZ=0      skip the clang/libFuzzer build of the fuzz targets
#   SANITIZERS=0  skip the AddressSanitizer+UBSan and ThreadSanitizer builds and their runs
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

# Sanitizer builds (clang when installed, -O1, line tables only; each builds only what its
# tests need): AddressSanitizer + UndefinedBehaviorSanitizer over the unit, integration and
# distributed tests (target asan_targets); ThreadSanitizer over the coordinator, worker and
# fleet tests (label tsan, target tsan_targets). A report fails the test that printed it.
if [ "${SANITIZERS:-1}" = "1" ] && [ -z "${CTEST_ARGS:-}" ]; then
  SAN_CC=()
  if command -v clang++ >/dev/null 2>&1; then
    SAN_CC=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
  fi
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:suppressions=$ROOT/tests/sanitizers/asan.supp"
  export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0"
  ASAN_DIR="${BUILD_DIR}-asan"
  cmake -S . -B "$ASAN_DIR" "${SAN_CC[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMIGRATOR_SANITIZE=ON >/dev/null
  cmake --build "$ASAN_DIR" -j"$JOBS" --target asan_targets
  (cd "$ASAN_DIR" && ctest --output-on-failure -j"$JOBS" -L 'unit|integration|distributed' \
    -E format_check) || status=$?
  unset ASAN_OPTIONS LSAN_OPTIONS

  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/sanitizers/tsan.supp"
  TSAN_DIR="${BUILD_DIR}-tsan"
  cmake -S . -B "$TSAN_DIR" "${SAN_CC[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMIGRATOR_TSAN=ON >/dev/null
  cmake --build "$TSAN_DIR" -j"$JOBS" --target tsan_targets
  (cd "$TSAN_DIR" && ctest --output-on-failure -j"$JOBS" -L tsan) || status=$?
fi
exit $status
