#!/usr/bin/env bash
# Burrow benchmark: the tool is scripts/bench/burrow_bench (Python 3, standard library only);
# sections, knobs and output are described there (settings.py) and in the README.
# Usage: scripts/bench.sh            (build first: cmake --build build -j2)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHONPATH="$here/bench${PYTHONPATH:+:$PYTHONPATH}" exec "${PYTHON:-python3}" -m burrow_bench "$@"
