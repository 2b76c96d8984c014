#!/usr/bin/env bash
# The data-path and session tests under ThreadSanitizer: the stream core's
# pump, resumption and splice, the server's work pool (tests/integration),
# and the QUIC carrier with real pumps (quic_tests). Builds only those into
# build-tsan/ (a third full build would not fit CI's budget;
# `BURROW_TSAN_TESTS=1 scripts/test.sh` runs this after the other passes).
# Zero reports expected: any report fails the run. tests/tsan.supp holds
# suppressions, each with its reason.
#   scripts/tsan.sh              build and run both
#   scripts/tsan.sh -R resume    extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache: no CCACHE_BASEDIR (scripts/build.sh says why).
build_dir=build-tsan
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBURROW_TSAN=ON
fi
cmake --build "$build_dir" -j2 --target integration_tests quic_tests
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp"
ctest --test-dir "$build_dir" -j2 --output-on-failure --timeout 300 -R '^(pump_lab|resume_lab|splice_lab|work_pool_test|quic_link_test)\.' "$@"
