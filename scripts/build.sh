#!/usr/bin/env bash
# Configures and builds Burrow into build/ (binaries in build/bin/).
# Extra arguments go to the CMake configure step, e.g. -DBURROW_SANITIZE=ON;
# BUILD_TARGETS="a b" builds only those targets.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache (when installed) keys on absolute paths: no CCACHE_BASEDIR. With it,
# two checkouts shared hits, and ccache 4.7 then reused an object compiled in
# the other checkout against that checkout's headers (its manifest checks the
# include files at their absolute paths): a baseline build of an older commit
# got a main.cpp.o with the newer server_config and crashed at start.
build_dir=${BUILD_DIR:-build}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
elif [ "$#" -gt 0 ]; then
  cmake -S . -B "$build_dir" "$@"
fi
# BUILD_TARGETS (blank separated): only those, e.g. the sanitizer pass's.
targets=()
for t in ${BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j2 "${targets[@]}"
