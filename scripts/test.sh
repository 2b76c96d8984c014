#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit + end to end),
# then builds again with AddressSanitizer + UBSan and runs every test again.
#   scripts/test.sh              the whole suite, as CI runs it
#   scripts/test.sh -R tunnel    extra arguments go to ctest
#   BURROW_SANITIZE_TESTS=0 scripts/test.sh    skip the sanitizer pass
#   BURROW_FUZZ_TESTS=0 scripts/test.sh        skip the fuzz targets (scripts/fuzz.sh)
#   BURROW_SOAK_TESTS=0 scripts/test.sh        skip the soak run (scripts/soak.sh: 500
#                                              connections with churn for SOAK_SECONDS, 120)
#   BURROW_TSAN_TESTS=1 scripts/test.sh        also the ThreadSanitizer pass (scripts/tsan.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

bash scripts/build.sh
ctest --test-dir build -j2 --output-on-failure --timeout 300 "$@"

if [ "${BURROW_SOAK_TESTS:-1}" != 0 ]; then
  echo "== soak: ${SOAK_CONNS:-500} connections with churn for ${SOAK_SECONDS:-120} s, every transfer checked =="
  bash scripts/soak.sh
fi

if [ "${BURROW_FUZZ_TESTS:-1}" != 0 ]; then
  echo "== libFuzzer targets: their regression inputs, then ${FUZZ_SECONDS:-15} s of fuzzing each =="
  bash scripts/fuzz.sh
fi

if [ "${BURROW_SANITIZE_TESTS:-1}" != 0 ]; then
  echo "== again with AddressSanitizer + UndefinedBehaviorSanitizer =="
  export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  BUILD_DIR=build-asan bash scripts/build.sh -DBURROW_SANITIZE=ON
  ctest --test-dir build-asan -j2 --output-on-failure --timeout 300 "$@"
fi

if [ "${BURROW_TSAN_TESTS:-0}" != 0 ]; then
  echo "== the data-path and session tests under ThreadSanitizer =="
  bash scripts/tsan.sh
fi
