#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit + end to end),
# then builds the binaries and in-process tests again with AddressSanitizer +
# UBSan and runs every test again against them.
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
  # What runs Burrow's code is built instrumented: both binaries and the
  # in-process tests. The end-to-end and NAT-lab tests only drive the binaries
  # (their own code is a harness), so build/'s copies run again against the
  # instrumented binaries (BURROW_BIN_DIR) instead of being compiled twice.
  export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  BUILD_DIR=build-asan BUILD_TARGETS="burrow-server burrow-client unit_tests integration_tests quic_tests" \
    bash scripts/build.sh -DBURROW_SANITIZE=ON
  # (The targets not built leave a "<target>_NOT_BUILT" placeholder test.)
  ctest --test-dir build-asan -j2 --output-on-failure --timeout 300 -E '_NOT_BUILT$' "$@"
  BURROW_BIN_DIR="$PWD/build-asan/bin" \
    ctest --test-dir build -j2 --output-on-failure --timeout 300 -L '^(e2e|natlab)$' "$@"
fi

if [ "${BURROW_TSAN_TESTS:-0}" != 0 ]; then
  echo "== the data-path and session tests under ThreadSanitizer =="
  bash scripts/tsan.sh
fi
