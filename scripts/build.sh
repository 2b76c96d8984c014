#!/usr/bin/env bash
# Configures and builds Burrow into build/ (binaries in build/bin/).
# Extra arguments go to the CMake configure step, e.g. -DBURROW_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache: paths relative to the checkout, so every clone (CI's included) shares hits.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
build_dir=${BUILD_DIR:-build}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
elif [ "$#" -gt 0 ]; then
  cmake -S . -B "$build_dir" "$@"
fi
cmake --build "$build_dir" -j2
