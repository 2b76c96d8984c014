#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit + end to end).
#   scripts/test.sh              the whole suite, as CI runs it
#   scripts/test.sh -R tunnel    extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" -j2 --output-on-failure --timeout 300 "$@"
