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
# fleet tests (label tsan, target tsan_targets). Every sanitized process (a test, and each
# coordinator or worker a test starts) writes its reports to a file of DIR/sanitizer-reports/
# (log_path): a report fails the run and is printed, even when the process that found it
# was a child whose exit the test tolerated (a worker the fleet replaced).
# san_log DIR: empties DIR/sanitizer-reports and prints the log_path prefix (absolute) for it.
san_log() {
  rm -rf "$1/sanitizer-reports" && mkdir -p "$1/sanitizer-reports"
  echo "$(cd "$1/sanitizer-reports" && pwd)/report"
}
# san_reports DIR: prints the reports under DIR; false when there is one.
san_reports() {
  local f found=0
  for f in "$1"/sanitizer-reports/*; do
    [ -e "$f" ] || continue
    found=1
    echo "== sanitizer report: $f"
    head -c 20000 "$f"
  done
  return $found
}
if [ "${SANITIZERS:-1}" = "1" ] && [ -z "${CTEST_ARGS:-}" ]; then
  SAN_CC=()
  if command -v clang++ >/dev/null 2>&1; then
    SAN_CC=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
  fi
  ASAN_DIR="${BUILD_DIR}-asan"
  ASAN_LOG=$(san_log "$ASAN_DIR")
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$ASAN_LOG"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$ASAN_LOG:suppressions=$ROOT/tests/sanitizers/asan.supp"
  export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitizers/lsan.supp:print_suppressions=0"
  cmake -S . -B "$ASAN_DIR" "${SAN_CC[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMIGRATOR_SANITIZE=ON >/dev/null
  cmake --build "$ASAN_DIR" -j"$JOBS" --target asan_targets
  (cd "$ASAN_DIR" && ctest --output-on-failure -j"$JOBS" -L 'unit|integration|distributed' \
    -E format_check) || status=$?
  san_reports "$ASAN_DIR" || status=1
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS

  TSAN_DIR="${BUILD_DIR}-tsan"
  TSAN_LOG=$(san_log "$TSAN_DIR")
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$TSAN_LOG:suppressions=$ROOT/tests/sanitizers/tsan.supp"
  cmake -S . -B "$TSAN_DIR" "${SAN_CC[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMIGRATOR_TSAN=ON >/dev/null
  cmake --build "$TSAN_DIR" -j"$JOBS" --target tsan_targets
  (cd "$TSAN_DIR" && ctest --output-on-failure -j"$JOBS" -L tsan) || status=$?
  san_reports "$TSAN_DIR" || status=1
fi
exit $status
