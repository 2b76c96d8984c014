#!/usr/bin/env bash
# Installs every Debian 12 package that Burrow's build, tests and benchmarks need.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libtomlplusplus-dev libspdlog-dev libfmt-dev libssl-dev
  libgtest-dev libgmock-dev
  # coverage-guided fuzzing (tests/fuzz, scripts/fuzz.sh): clang and its libFuzzer
  clang-14 libclang-rt-14-dev
  # QUIC over the direct (P2P) path: ngtcp2 0.12 with GnuTLS
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev
  # tests and benchmarks: real peers on loopback
  curl socat iperf3 openssh-server openssh-client openssl procps psmisc iproute2 python3
  nftables conntrack
  # a STUN client nobody here wrote, against the rendezvous (turnutils_stunclient)
  coturn
  nginx-light wrk haproxy
  # the dashboard's browser test (tests/web), driven by playwright-core from npm
  chromium
)
# The dashboard's front-end libraries come from npm: Debian's node and npm
# only where the machine has none of its own.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# web/node_modules: exactly what web/package-lock.json pins (uPlot, embedded
# into burrow-server; playwright-core for the browser test).
web="$(cd "$(dirname "$0")/../web" && pwd)"
if [ ! -f "$web/node_modules/.package-lock.json" ] ||
   [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in web/"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
fi
