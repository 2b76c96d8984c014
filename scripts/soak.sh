#!/usr/bin/env bash
# Burrow soak test: SOAK_CONNS (500) connections at once with constant churn for SOAK_SECONDS
# (120; SOAK_SECONDS=1800 for the long run) through a tcp proxy, an http proxy (vhost) and a
# visitor, every transfer checked by SHA-256; fails on any bad transfer, or when a Burrow process
# ends with more descriptors or much more memory than it started with. The tool is
# scripts/soak/burrow_soak (Python 3, standard library only; knobs in settings.py).
# Usage: scripts/soak.sh            (build first: bash scripts/build.sh)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHONPATH="$here/soak:$here/bench${PYTHONPATH:+:$PYTHONPATH}" exec "${PYTHON:-python3}" -m burrow_soak "$@"
