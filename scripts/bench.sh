#!/usr/bin/env bash
# Burrow benchmark: throughput against direct iperf3, a two-hop socat chain and
# `ssh -R`; Burrow's memory and threads with idle connections open; HTTP requests
# per second and latency (wrk against nginx) direct, through a two-hop haproxy
# chain, through `ssh -R` and through Burrow's HTTP vhost.
# Loopback only (DESIGN.md §8); every wait is bounded; everything this script
# starts is stopped by pid on exit, failure or Ctrl-C.
#
# Usage: scripts/bench.sh            (build first: cmake --build build -j2)
# Environment:
#   BURROW_BIN     directory with burrow-server and burrow-client (default: <repo>/build/bin)
#   BURROW_BASELINE_BIN  another build's bin directory (say, the previous main): the http
#                  section then measures it too, in the same rounds, as "baseline build"
#   BENCH_SECONDS  seconds per iperf3 run (default: 5)
#   BENCH_ROUNDS   interleaved rounds over all paths; the report takes medians (default: 3)
#   BENCH_CONNS    idle connections for the memory test (default: 1000)
#   BENCH_OUT      where results go (default: <repo>/build/bench); each run writes
#                  BENCH_OUT/<timestamp>/{results.md,results.json,logs/} and updates
#                  BENCH_OUT/latest
#   BENCH_KEEP_TMP=1  keep the temporary directory (configs, raw logs) for debugging
#   BENCH_ONLY     run only these sections (comma separated): tcp (throughput), mem, http
#                  (default: all of them)
#   BENCH_HTTP=0   skip the HTTP section
#   BENCH_HTTP_SECONDS  seconds per wrk run (default: 10)
# Needs: iperf3, socat, openssh-server + openssh-client, python3, iproute2 (ss);
#        for http: nginx (nginx-light), wrk, haproxy, curl.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HELPER="$REPO/scripts/bench/benchlib.py"
BURROW_BIN="${BURROW_BIN:-$REPO/build/bin}"
BENCH_SECONDS="${BENCH_SECONDS:-5}"
BENCH_ROUNDS="${BENCH_ROUNDS:-3}"
BENCH_CONNS="${BENCH_CONNS:-1000}"
BENCH_OUT="${BENCH_OUT:-$REPO/build/bench}"
BENCH_HTTP_SECONDS="${BENCH_HTTP_SECONDS:-10}"
HTTP_DOMAIN="bench.test"
PY="${PYTHON:-python3}"
TOKEN="bench-token"

PIDS=()          # every background process we started, in start order
MASTER_PIDS=" "  # those among them that stop their own children (nginx): no children-first TERM
TMP=""
MADE_RUN_SSHD=0

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cleanup() {
  local rc=$? i pid
  trap - EXIT INT TERM
  # Stop in reverse start order (tunnel clients before their servers).
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do
    pid=${PIDS[i]}
    if kill -0 "$pid" 2>/dev/null; then
      # Direct children first (socat/sshd forks, iperf3 under timeout), so the
      # parent is still there to reap them; then the process itself. An nginx
      # master would respawn its worker, so it gets the TERM and stops it itself.
      if [[ "$MASTER_PIDS" != *" $pid "* ]] && pkill -TERM -P "$pid" 2>/dev/null; then
        for _ in $(seq 1 20); do pgrep -P "$pid" >/dev/null 2>&1 || break; sleep 0.05; done
      fi
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      pkill -KILL -P "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [ "$rc" != 0 ] && [ -n "${RUN_OUT:-}" ] && [ -d "$TMP" ]; then
    cp "$TMP"/*.log "$RUN_OUT/logs/" 2>/dev/null && log "run failed; logs so far in $RUN_OUT/logs"
  fi
  if [ "$MADE_RUN_SSHD" = 1 ]; then rmdir /run/sshd 2>/dev/null || true; fi
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then
    if [ "${BENCH_KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# start NAME CMD...: run CMD in the background, stdout+stderr to $TMP/NAME.log
start() {
  local name=$1; shift
  "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  LAST_PID=$pid
}

# run_bounded SECS OUT ERR CMD...: run CMD bounded to SECS, stdout to OUT, stderr to
# ERR (OUT "-": inherit both), and wait for it (in the background, so the INT/TERM trap runs at once).
run_bounded() {
  local secs=$1 out=$2 err=$3; shift 3
  if [ "$out" = - ]; then
    timeout -k 3 "$secs" "$@" &
  else
    timeout -k 3 "$secs" "$@" >"$out" 2>"$err" &
  fi
  local pid=$!
  PIDS+=("$pid")
  local rc=0
  wait "$pid" || rc=$?
  return "$rc"
}

# wait_log FILE REGEX SECS PID: wait for a line matching REGEX; print it.
wait_log() {
  local file=$1 re=$2 secs=$3 pid=$4 line
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -le "$deadline" ]; do
    if line=$(grep -E -m1 -- "$re" "$file" 2>/dev/null); then
      printf '%s\n' "$line"; return 0
    fi
    kill -0 "$pid" 2>/dev/null || { log "process $pid exited; log $file:"; tail -n 20 "$file" >&2; return 1; }
    sleep 0.05
  done
  log "timeout (${secs}s) waiting for /$re/ in $file:"; tail -n 20 "$file" >&2
  return 1
}

# wait_listen PORT SECS: wait until something listens on 127.0.0.1:PORT
wait_listen() {
  local port=$1 secs=$2
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -le "$deadline" ]; do
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.05
  done
  log "timeout (${secs}s) waiting for a listener on 127.0.0.1:$port"
  return 1
}

# wait_file FILE SECS: wait until FILE is non-empty
wait_file() {
  local file=$1 secs=$2
  local deadline=$((SECONDS + secs))
  while [ "$SECONDS" -le "$deadline" ]; do
    [ -s "$file" ] && return 0
    sleep 0.05
  done
  log "timeout (${secs}s) waiting for $file"; return 1
}

rss_threads() { awk '/^(VmRSS|Threads):/{printf "%s %s ", $1, $2}' "/proc/$1/status" 2>/dev/null; }

# ------------------------------------------------------------------ sections
# BENCH_ONLY picks sections (default: all); BENCH_HTTP=0 drops the HTTP one.
SECTIONS=()
for sec in ${BENCH_ONLY:-tcp mem http}; do
  for sec in ${sec//,/ }; do
    case "$sec" in
      tcp|throughput) sec=tcp ;;
      mem|memory) sec=mem ;;
      http) ;;
      *) die "BENCH_ONLY: unknown section '$sec' (tcp, mem, http)" ;;
    esac
    [[ " ${SECTIONS[*]} " == *" $sec "* ]] || SECTIONS+=("$sec")
  done
done
if [ "${BENCH_HTTP:-1}" = 0 ]; then
  kept=(); for sec in "${SECTIONS[@]}"; do [ "$sec" = http ] || kept+=("$sec"); done
  SECTIONS=("${kept[@]}")
fi
[ "${#SECTIONS[@]}" -gt 0 ] || die "no section left to run (BENCH_ONLY='${BENCH_ONLY:-}', BENCH_HTTP=${BENCH_HTTP:-1})"
want() { [[ " ${SECTIONS[*]} " == *" $1 "* ]]; }

# ------------------------------------------------------------------ checks
for t in ss timeout "$PY"; do
  command -v "$t" >/dev/null || die "missing tool: $t (run scripts/setup.sh)"
done
if want tcp; then
  for t in iperf3 socat; do command -v "$t" >/dev/null || die "missing tool: $t (run scripts/setup.sh)"; done
fi
if want tcp || want http; then
  for t in ssh ssh-keygen; do command -v "$t" >/dev/null || die "missing tool: $t (run scripts/setup.sh)"; done
  [ -x /usr/sbin/sshd ] || die "missing /usr/sbin/sshd (run scripts/setup.sh)"
fi
if want http; then
  for t in wrk haproxy curl; do command -v "$t" >/dev/null || die "missing tool: $t (run scripts/setup.sh)"; done
  [ -x /usr/sbin/nginx ] || die "missing /usr/sbin/nginx (run scripts/setup.sh)"
fi
if [ ! -x "$BURROW_BIN/burrow-server" ] || [ ! -x "$BURROW_BIN/burrow-client" ]; then
  die "no burrow-server/burrow-client in $BURROW_BIN; build first: cmake --build build -j2 (or set BURROW_BIN)"
fi
[[ "$BENCH_SECONDS" =~ ^[0-9]+$ ]] && [ "$BENCH_SECONDS" -ge 1 ] || die "BENCH_SECONDS must be a positive integer"
[[ "$BENCH_ROUNDS" =~ ^[0-9]+$ ]] && [ "$BENCH_ROUNDS" -ge 1 ] || die "BENCH_ROUNDS must be a positive integer"
[[ "$BENCH_CONNS" =~ ^[0-9]+$ ]] && [ "$BENCH_CONNS" -ge 1 ] || die "BENCH_CONNS must be a positive integer"
[[ "$BENCH_HTTP_SECONDS" =~ ^[0-9]+$ ]] && [ "$BENCH_HTTP_SECONDS" -ge 1 ] \
  || die "BENCH_HTTP_SECONDS must be a positive integer"

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if want mem; then
  [ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((2 * BENCH_CONNS + 200)) ] \
    || die "fd limit $(ulimit -n) too low for $BENCH_CONNS connections"
fi

TMP="$(mktemp -d /tmp/burrow-bench.XXXXXX)"
STAMP="$(date +%Y%m%d-%H%M%S)"
RUN_OUT="$BENCH_OUT/$STAMP"
mkdir -p "$RUN_OUT/logs"

# Copy binaries so a concurrent rebuild cannot swap them mid-run.
cp "$BURROW_BIN/burrow-server" "$BURROW_BIN/burrow-client" "$TMP/"
SRV="$TMP/burrow-server"
CLI="$TMP/burrow-client"

"$PY" - "$TMP/meta.json" "$BENCH_SECONDS" "$BENCH_CONNS" "$BURROW_BIN" "$REPO" "$BENCH_ROUNDS" \
  "$BENCH_HTTP_SECONDS" "${SECTIONS[*]}" <<'EOF'
import json, os, subprocess, sys, time
out, secs, conns, binpath, repo, rounds, http_secs, sections = sys.argv[1:9]
def run(*a, both=False):
    try:
        p = subprocess.run(a, capture_output=True, text=True, timeout=10)
        txt = (p.stdout + p.stderr) if both else p.stdout
        return txt.strip().splitlines()[0] if both and txt.strip() else txt.strip()
    except Exception:
        return None
sections = sections.split()
meta = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "sections": sections,
    "seconds": int(secs), "rounds": int(rounds), "connections": int(conns), "burrow_bin": binpath,
    "http_seconds": int(http_secs),
    "burrow_version": run(os.path.join(binpath, "burrow-server"), "--version"),
    "git_commit": run("git", "-C", repo, "rev-parse", "--short", "HEAD"),
    "git_dirty": bool(run("git", "-C", repo, "status", "--porcelain", "--untracked-files=no")),
    "nproc": os.cpu_count(), "loadavg_start": open("/proc/loadavg").read().split()[:3],
    "ssh": subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip(),
}
if "tcp" in sections:
    meta["iperf3"] = run("iperf3", "--version")
if "http" in sections:
    meta["nginx"] = run("/usr/sbin/nginx", "-v", both=True)
    meta["wrk"] = run("wrk", "--version", both=True)
    meta["haproxy"] = run("haproxy", "-v", both=True)
json.dump(meta, open(out, "w"), indent=2)
EOF
log "sections: ${SECTIONS[*]}; burrow $(timeout 5 "$SRV" --version 2>&1 | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg); tmp $TMP"

# ------------------------------------------------------------------ burrow helpers
# client_toml TAG SERVER_PORT TLS_LINES PROXY_NAME LOCAL_PORT PROXY_LINES: writes $TMP/TAG/client.toml
client_toml() {
  cat >"$TMP/$1/client.toml" <<EOF
server_addr = "127.0.0.1"
server_port = $2
client_id = "bench-$1"
[auth]
token = "$TOKEN"
[tls]
$3
[transport]
pool_count = 8
[[proxies]]
name = "$4"
local_port = $5
$6
EOF
}

# start_burrow TAG TLS(true|false) PROXY_NAME LOCAL_PORT
#   sets BURROW_SRV_PID, BURROW_CLI_PID, BURROW_REMOTE_PORT
start_burrow() {
  local tag=$1 tls=$2 pname=$3 lport=$4 srv=${5:-$SRV} cli=${6:-$CLI} line port fp="" tlsconf
  mkdir -p "$TMP/$tag"
  cat >"$TMP/$tag/server.toml" <<EOF
bind_addr = "127.0.0.1"
bind_port = 0
proxy_bind_addr = "127.0.0.1"
data_dir = "$TMP/$tag/data"
[auth]
token = "$TOKEN"
[tls]
enable = $tls
EOF
  start "$tag-server" "$srv" -c "$TMP/$tag/server.toml" -l info
  BURROW_SRV_PID=$LAST_PID
  line=$(wait_log "$TMP/$tag-server.log" 'listening for clients on 127\.0\.0\.1:[0-9]+' 15 "$BURROW_SRV_PID") \
    || die "burrow-server ($tag) did not start"
  port=$(sed -E 's/.*listening for clients on 127\.0\.0\.1:([0-9]+).*/\1/' <<<"$line")
  if [ "$tls" = true ]; then
    line=$(wait_log "$TMP/$tag-server.log" 'TLS certificate fingerprint: sha256:[0-9a-fA-F:]+' 5 "$BURROW_SRV_PID") \
      || die "burrow-server ($tag) logged no fingerprint"
    fp=$(grep -oE 'sha256:[0-9a-fA-F:]+' <<<"$line" | head -1)
    tlsconf="enable = true
server_fingerprint = \"$fp\""
  else
    tlsconf="enable = false"
  fi
  client_toml "$tag" "$port" "$tlsconf" "$pname" "$lport" "remote_port = 0"
  start "$tag-client" "$cli" -c "$TMP/$tag/client.toml" -l info
  BURROW_CLI_PID=$LAST_PID
  line=$(wait_log "$TMP/$tag-client.log" "\[$pname\] proxy up: remote port [0-9]+" 20 "$BURROW_CLI_PID") \
    || die "burrow-client ($tag) did not bring the proxy up"
  BURROW_REMOTE_PORT=$(sed -E 's/.*proxy up: remote port ([0-9]+).*/\1/' <<<"$line")
  wait_listen "$BURROW_REMOTE_PORT" 5 || die "burrow proxy port $BURROW_REMOTE_PORT not listening"
  sleep 1   # let the client fill its work-stream pool
}

# http_fail TAG WHAT: note why Burrow's HTTP path is unavailable, with the last log lines
http_fail() {
  local tag=$1 what=$2 f
  note "Burrow HTTP vhost ($tag): $what; last log lines:"
  for f in "$TMP/$tag-server.log" "$TMP/$tag-client.log"; do
    [ -f "$f" ] || continue
    tail -n 8 "$f" | sed "s|^|  ${f#"$TMP/"}: |" >>"$TMP/problems.txt"
  done
  printf '%s\n' "$what" >"$TMP/http-unavailable-burrow.txt"
}

# copy_baseline: the baseline build's binaries into $TMP (as the build under test's are)
copy_baseline() {
  [ -x "$TMP/baseline-server" ] && return 0
  cp "$BURROW_BASELINE_BIN/burrow-server" "$TMP/baseline-server"
  cp "$BURROW_BASELINE_BIN/burrow-client" "$TMP/baseline-client"
}

# start_burrow_http TAG PROXY_NAME LOCAL_PORT DOMAIN VHOST_PORT [SERVER CLIENT]
#   Burrow (TLS off) with vhost_http_port = VHOST_PORT and one type="http" proxy for
#   DOMAIN to 127.0.0.1:LOCAL_PORT, run from SERVER and CLIENT (default: the build under
#   test). Sets BURROW_SRV_PID and BURROW_CLI_PID (empty if not started). Returns 1 after
#   a note (not fatal) when the vhost does not come up.
start_burrow_http() {
  local tag=$1 pname=$2 lport=$3 domain=$4 vport=$5 srv=${6:-$SRV} cli=${7:-$CLI} line port
  BURROW_SRV_PID=""; BURROW_CLI_PID=""
  mkdir -p "$TMP/$tag"
  cat >"$TMP/$tag/server.toml" <<EOF
bind_addr = "127.0.0.1"
bind_port = 0
proxy_bind_addr = "127.0.0.1"
vhost_http_port = $vport
data_dir = "$TMP/$tag/data"
[auth]
token = "$TOKEN"
[tls]
enable = false
EOF
  start "$tag-server" "$srv" -c "$TMP/$tag/server.toml" -l info
  BURROW_SRV_PID=$LAST_PID
  line=$(wait_log "$TMP/$tag-server.log" 'listening for clients on 127\.0\.0\.1:[0-9]+' 15 "$BURROW_SRV_PID") \
    || { http_fail "$tag" "burrow-server did not start"; return 1; }
  port=$(sed -E 's/.*listening for clients on 127\.0\.0\.1:([0-9]+).*/\1/' <<<"$line")
  wait_log "$TMP/$tag-server.log" "http vhost listening on 127\.0\.0\.1:$vport" 5 "$BURROW_SRV_PID" >/dev/null \
    || { http_fail "$tag" "burrow-server logged no 'http vhost listening on 127.0.0.1:$vport'"; return 1; }
  client_toml "$tag" "$port" "enable = false" "$pname" "$lport" "type = \"http\"
custom_domains = [\"$domain\"]"
  start "$tag-client" "$cli" -c "$TMP/$tag/client.toml" -l info
  BURROW_CLI_PID=$LAST_PID
  line=$(wait_log "$TMP/$tag-client.log" "\[$pname\] proxy (up: http://|rejected)" 20 "$BURROW_CLI_PID") \
    || { http_fail "$tag" "burrow-client did not bring the http proxy up"; return 1; }
  if [[ "$line" == *"proxy rejected"* ]]; then
    http_fail "$tag" "proxy rejected: ${line##*proxy rejected: }"; return 1
  fi
  wait_listen "$vport" 5 || { http_fail "$tag" "vhost port $vport not listening"; return 1; }
  sleep 1   # let the client fill its work-stream pool
}

stop_pid() {  # stop one process we started (it stays in PIDS; cleanup skips dead ones)
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# stop_checked NAME PID LOG: stop a Burrow process, noting crashes, slow stops and bad exit codes
stop_checked() {
  local name=$1 pid=$2 logf=$3 rc=0 waited=0
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || rc=$?
    note "$name exited on its own before the end of its test (exit status $rc); last log lines:"
    tail -n 5 "$logf" >>"$TMP/problems.txt"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do sleep 0.05; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    note "$name did not exit within 5 s of SIGTERM; killed"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 143 ] || note "$name exit status $rc after SIGTERM"
}
note() { log "NOTE: $*"; printf '%s\n' "$*" >>"$TMP/problems.txt"; }

# ------------------------------------------------------------------ ssh -R helpers
# start_sshd TAG: a private sshd on a free loopback port; sets SSHD_PID, SSHD_PORT
SSHD_DIR=""
start_sshd() {
  local tag=$1
  if [ -z "$SSHD_DIR" ]; then
    SSHD_DIR="$TMP/sshd"; mkdir -p "$SSHD_DIR"; chmod 700 "$SSHD_DIR"
    ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/host_key" </dev/null
    ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/client_key" </dev/null
    cp "$SSHD_DIR/client_key.pub" "$SSHD_DIR/authorized_keys"
  fi
  SSHD_PORT=$("$PY" "$HELPER" freeport 1)
  cat >"$SSHD_DIR/sshd_config-$tag" <<EOF
ListenAddress 127.0.0.1
Port $SSHD_PORT
HostKey $SSHD_DIR/host_key
PidFile $SSHD_DIR/sshd-$tag.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
GatewayPorts no
X11Forwarding no
PrintMotd no
LogLevel INFO
EOF
  if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && chmod 755 /run/sshd && MADE_RUN_SSHD=1; fi
  start "$tag-sshd" /usr/sbin/sshd -D -e -f "$SSHD_DIR/sshd_config-$tag"
  SSHD_PID=$LAST_PID
  wait_log "$TMP/$tag-sshd.log" "Server listening on 127\.0\.0\.1 port $SSHD_PORT" 10 "$SSHD_PID" >/dev/null \
    || die "sshd ($tag) did not start"
}

# start_ssh_r TAG TARGET_PORT: ssh -R from a free port on the sshd side to
# 127.0.0.1:TARGET_PORT; sets SSH_PID, SSH_RPORT
start_ssh_r() {
  local tag=$1 target=$2 line
  start "$tag-ssh" ssh -N -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o ExitOnForwardFailure=yes -o ConnectTimeout=10 \
    -i "$SSHD_DIR/client_key" -p "$SSHD_PORT" -R "127.0.0.1:0:127.0.0.1:$target" root@127.0.0.1
  SSH_PID=$LAST_PID
  line=$(wait_log "$TMP/$tag-ssh.log" 'Allocated port [0-9]+ for remote forward' 15 "$SSH_PID") \
    || { tail -n 20 "$TMP/$tag-sshd.log" >&2; die "ssh -R ($tag) did not come up"; }
  SSH_RPORT=$(sed -E 's/.*Allocated port ([0-9]+) for remote forward.*/\1/' <<<"$line")
  wait_listen "$SSH_RPORT" 10 || die "ssh -R ($tag) port $SSH_RPORT not listening"
}

# ------------------------------------------------------------------ throughput
# iperf_path KEY PORT ROUND: single stream and 8 streams through 127.0.0.1:PORT
iperf_path() {
  local key=$1 port=$2 round=$3 p out
  for p in 1 8; do
    out="$TMP/iperf-$key-P$p-r$round"
    log "round $round: iperf3 $key -P $p (${BENCH_SECONDS}s) via port $port"
    run_bounded $((BENCH_SECONDS + 25)) "$out.json" "$out.err" \
      iperf3 -c 127.0.0.1 -p "$port" -t "$BENCH_SECONDS" -P "$p" -J --connect-timeout 5000 \
      || log "iperf3 $key -P $p failed (rc $?): $(head -c 300 "$out.err")"
    sleep 0.5
  done
}

tcp_section() {
  local round
  read -r IPERF_PORT SOCAT_P1 SOCAT_P2 <<<"$("$PY" "$HELPER" freeport 3)"
  start iperf3 iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT"
  IPERF_PID=$LAST_PID
  wait_listen "$IPERF_PORT" 10 || die "iperf3 server did not start"

  # All paths stay up while they are measured in interleaved rounds, so that
  # the machine's changing load hits each of them alike.
  # (b) two-hop socat chain
  start socat2 socat TCP-LISTEN:"$SOCAT_P2",bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:"$IPERF_PORT"
  SOCAT2_PID=$LAST_PID
  start socat1 socat TCP-LISTEN:"$SOCAT_P1",bind=127.0.0.1,fork,reuseaddr TCP:127.0.0.1:"$SOCAT_P2"
  SOCAT1_PID=$LAST_PID
  wait_listen "$SOCAT_P2" 10 && wait_listen "$SOCAT_P1" 10 || die "socat chain did not start"

  # (c) ssh -R through a private sshd on loopback
  start_sshd tcp
  start_ssh_r tcp "$IPERF_PORT"

  # (d) Burrow, TLS off  (e) Burrow, TLS on
  start_burrow plain false iperf "$IPERF_PORT"
  PLAIN_SRV_PID=$BURROW_SRV_PID; PLAIN_CLI_PID=$BURROW_CLI_PID; PLAIN_PORT=$BURROW_REMOTE_PORT
  start_burrow tls true iperf "$IPERF_PORT"
  TLS_SRV_PID=$BURROW_SRV_PID; TLS_CLI_PID=$BURROW_CLI_PID; TLS_PORT=$BURROW_REMOTE_PORT
  # (f, g) the same two from another build, when one is named
  local base_pids=()
  if [ -n "${BURROW_BASELINE_BIN:-}" ]; then
    copy_baseline
    start_burrow plainbase false iperf "$IPERF_PORT" "$TMP/baseline-server" "$TMP/baseline-client"
    base_pids+=("$BURROW_CLI_PID" "$BURROW_SRV_PID"); BASE_PLAIN_PORT=$BURROW_REMOTE_PORT
    start_burrow tlsbase true iperf "$IPERF_PORT" "$TMP/baseline-server" "$TMP/baseline-client"
    base_pids+=("$BURROW_CLI_PID" "$BURROW_SRV_PID"); BASE_TLS_PORT=$BURROW_REMOTE_PORT
  fi

  for round in $(seq 1 "$BENCH_ROUNDS"); do
    iperf_path direct "$IPERF_PORT" "$round"
    iperf_path socat "$SOCAT_P1" "$round"
    iperf_path ssh "$SSH_RPORT" "$round"
    iperf_path burrow_plain "$PLAIN_PORT" "$round"
    iperf_path burrow_tls "$TLS_PORT" "$round"
    if [ "${#base_pids[@]}" -gt 0 ]; then
      iperf_path base_plain "$BASE_PLAIN_PORT" "$round"
      iperf_path base_tls "$BASE_TLS_PORT" "$round"
    fi
  done
  local pid; for pid in "${base_pids[@]}"; do stop_pid "$pid"; done

  stop_pid "$SOCAT1_PID"; stop_pid "$SOCAT2_PID"
  stop_pid "$SSH_PID"; stop_pid "$SSHD_PID"
  stop_checked "burrow-client (TLS off)" "$PLAIN_CLI_PID" "$TMP/plain-client.log"
  stop_checked "burrow-server (TLS off)" "$PLAIN_SRV_PID" "$TMP/plain-server.log"
  stop_checked "burrow-client (TLS on)" "$TLS_CLI_PID" "$TMP/tls-client.log"
  stop_checked "burrow-server (TLS on)" "$TLS_SRV_PID" "$TMP/tls-server.log"
  stop_pid "$IPERF_PID"
}

# ------------------------------------------------------------------ memory
mem_section() {
  local deadline held
  log "memory: fresh Burrow pair (TLS off), holder service, $BENCH_CONNS connections"
  start holder "$PY" "$HELPER" hold "$TMP/holder.port" "$TMP/holder.count"
  HOLDER_PID=$LAST_PID
  wait_file "$TMP/holder.port" 10 || die "holder did not start"
  HOLDER_PORT=$(cat "$TMP/holder.port")
  start_burrow mem false hold "$HOLDER_PORT"
  sleep 1   # settle some more before the idle sample
  "$PY" "$HELPER" sample "$TMP/mem-idle.json" server="$BURROW_SRV_PID" client="$BURROW_CLI_PID"
  log "idle: server $(rss_threads "$BURROW_SRV_PID")| client $(rss_threads "$BURROW_CLI_PID")"
  run_bounded 90 - - "$PY" "$HELPER" open "$BURROW_REMOTE_PORT" "$BENCH_CONNS" "$TMP/holder.count" 75 \
    "$TMP/mem-conns.json" server="$BURROW_SRV_PID" client="$BURROW_CLI_PID" \
    || log "memory: opening $BENCH_CONNS connections failed (see report)"
  # The opener closed its sockets: the closes must reach the local service.
  deadline=$((SECONDS + 15))
  while [ "$(cut -d' ' -f1 "$TMP/holder.count" 2>/dev/null || echo -1)" != 0 ] && [ "$SECONDS" -le "$deadline" ]; do
    sleep 0.1
  done
  held=$(cut -d' ' -f1 "$TMP/holder.count" 2>/dev/null || echo '?')
  [ "$held" = 0 ] || note "memory test: $held of $BENCH_CONNS connections still open at the local service 15 s after the user side closed them"
  log "after close: server $(rss_threads "$BURROW_SRV_PID")| client $(rss_threads "$BURROW_CLI_PID")"
  "$PY" "$HELPER" sample "$TMP/mem-after.json" server="$BURROW_SRV_PID" client="$BURROW_CLI_PID"
  stop_checked "burrow-client (memory test)" "$BURROW_CLI_PID" "$TMP/mem-client.log"
  stop_checked "burrow-server (memory test)" "$BURROW_SRV_PID" "$TMP/mem-server.log"
  stop_pid "$HOLDER_PID"
}

# ------------------------------------------------------------------ http
# write_haproxy CFG LISTEN_PORT TARGET_PORT: one HTTP-mode hop, one thread
write_haproxy() {
  cat >"$1" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:$2
    default_backend be
backend be
    server nginx 127.0.0.1:$3
EOF
}

# http_check KEY PORT: one GET of /1k.bin with Host: $HTTP_DOMAIN must return the file
http_check() {
  local key=$1 port=$2 got
  got=$(timeout 15 curl -sS --max-time 10 -H "Host: $HTTP_DOMAIN" -o "$TMP/http-check-$key.body" \
        -w '%{http_code}' "http://127.0.0.1:$port/1k.bin" 2>"$TMP/http-check-$key.err") || true
  if [ "$got" = 200 ] && cmp -s "$TMP/http-check-$key.body" "$TMP/nginx/www/1k.bin"; then return 0; fi
  HTTP_CHECK_MSG="status ${got:-none}, $(wc -c <"$TMP/http-check-$key.body" 2>/dev/null || echo 0) body bytes, body starts '$(head -c 120 "$TMP/http-check-$key.body" 2>/dev/null | tr -c '[:print:]' ' ')' $(head -c 200 "$TMP/http-check-$key.err")"
  log "http check $key (port $port): $HTTP_CHECK_MSG"
  return 1
}

# wrk_path KEY PORT ROUND MODE(ka|close): one wrk run through 127.0.0.1:PORT
wrk_path() {
  local key=$1 port=$2 round=$3 mode=$4 out
  local args=(-t2 -c50 -d"${BENCH_HTTP_SECONDS}s" --latency -H "Host: $HTTP_DOMAIN")
  [ "$mode" = close ] && args+=(-H 'Connection: close')
  out="$TMP/wrk-$key-$mode-r$round"
  log "round $round: wrk $key ($([ "$mode" = close ] && echo 'Connection: close' || echo keep-alive), ${BENCH_HTTP_SECONDS}s) via port $port"
  run_bounded $((BENCH_HTTP_SECONDS + 30)) "$out.txt" "$out.err" wrk "${args[@]}" "http://127.0.0.1:$port/1k.bin" \
    || log "wrk $key $mode failed (rc $?): $(head -c 300 "$out.err")"
  sleep 0.5
}

http_section() {
  local round mode i nd="$TMP/nginx" user_line=""
  local keys=() ports=()
  read -r NGINX_PORT HAP_P1 HAP_P2 VHOST_PORT BASE_VHOST_PORT <<<"$("$PY" "$HELPER" freeport 5)"
  log "http: nginx, two-hop haproxy, ssh -R, Burrow vhost (TLS off); wrk -t2 -c50 ${BENCH_HTTP_SECONDS}s x $BENCH_ROUNDS rounds x 2 modes"

  # (a) nginx serving a 1 KiB file
  mkdir -p "$nd/www" "$nd/tmp"
  head -c 1024 /dev/urandom >"$nd/www/1k.bin"
  # As root, nginx's worker would drop to nobody, which cannot enter the 0700 temp dir.
  [ "$(id -u)" = 0 ] && user_line="user root;"
  cat >"$nd/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $nd/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $nd/tmp/body;
    proxy_temp_path $nd/tmp/proxy;
    fastcgi_temp_path $nd/tmp/fastcgi;
    uwsgi_temp_path $nd/tmp/uwsgi;
    scgi_temp_path $nd/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $nd/www;
    }
}
EOF
  start nginx /usr/sbin/nginx -p "$nd" -c "$nd/nginx.conf" -e stderr -g 'daemon off;'
  NGINX_PID=$LAST_PID; MASTER_PIDS+="$NGINX_PID "
  wait_listen "$NGINX_PORT" 10 || die "nginx did not start: $(tail -n 5 "$TMP/nginx.log")"
  http_check direct "$NGINX_PORT" || die "nginx does not serve /1k.bin"
  keys+=(direct); ports+=("$NGINX_PORT")

  # (b) two-hop haproxy chain: haproxy1 -> haproxy2 -> nginx
  write_haproxy "$TMP/haproxy2.cfg" "$HAP_P2" "$NGINX_PORT"
  write_haproxy "$TMP/haproxy1.cfg" "$HAP_P1" "$HAP_P2"
  start haproxy2 haproxy -db -f "$TMP/haproxy2.cfg"
  HAP2_PID=$LAST_PID
  start haproxy1 haproxy -db -f "$TMP/haproxy1.cfg"
  HAP1_PID=$LAST_PID
  wait_listen "$HAP_P2" 10 && wait_listen "$HAP_P1" 10 \
    || die "haproxy chain did not start: $(tail -n 5 "$TMP/haproxy1.log" "$TMP/haproxy2.log")"
  http_check haproxy "$HAP_P1" || die "the haproxy chain does not serve /1k.bin"
  keys+=(haproxy); ports+=("$HAP_P1")

  # (c) ssh -R to nginx
  start_sshd http
  start_ssh_r http "$NGINX_PORT"
  http_check ssh "$SSH_RPORT" || die "ssh -R does not serve /1k.bin"
  keys+=(ssh); ports+=("$SSH_RPORT")

  # (d) Burrow HTTP vhost, TLS off; a failure here is reported, not fatal
  HTTP_SRV_PID=""; HTTP_CLI_PID=""
  if start_burrow_http http bench "$NGINX_PORT" "$HTTP_DOMAIN" "$VHOST_PORT"; then
    HTTP_SRV_PID=$BURROW_SRV_PID; HTTP_CLI_PID=$BURROW_CLI_PID
    if http_check burrow "$VHOST_PORT"; then
      keys+=(burrow); ports+=("$VHOST_PORT")
    else
      http_fail http "GET http://127.0.0.1:$VHOST_PORT/1k.bin with Host: $HTTP_DOMAIN did not return the file: $HTTP_CHECK_MSG"
    fi
  else   # already noted with its log lines; just stop what did start
    [ -z "$BURROW_CLI_PID" ] || stop_pid "$BURROW_CLI_PID"
    [ -z "$BURROW_SRV_PID" ] || stop_pid "$BURROW_SRV_PID"
  fi

  # (e) the same from another build, when one is named
  BASE_SRV_PID=""; BASE_CLI_PID=""
  if [ -n "${BURROW_BASELINE_BIN:-}" ]; then
    copy_baseline
    if start_burrow_http httpbase bench "$NGINX_PORT" "$HTTP_DOMAIN" "$BASE_VHOST_PORT" \
         "$TMP/baseline-server" "$TMP/baseline-client"; then
      BASE_SRV_PID=$BURROW_SRV_PID; BASE_CLI_PID=$BURROW_CLI_PID
      http_check baseline "$BASE_VHOST_PORT" && { keys+=(baseline); ports+=("$BASE_VHOST_PORT"); }
    fi
  fi

  for round in $(seq 1 "$BENCH_ROUNDS"); do
    for mode in ka close; do
      for i in "${!keys[@]}"; do
        wrk_path "${keys[i]}" "${ports[i]}" "$round" "$mode"
      done
    done
  done

  stop_pid "$SSH_PID"; stop_pid "$SSHD_PID"
  stop_pid "$HAP1_PID"; stop_pid "$HAP2_PID"
  [ -z "$HTTP_CLI_PID" ] || stop_checked "burrow-client (http vhost)" "$HTTP_CLI_PID" "$TMP/http-client.log"
  [ -z "$HTTP_SRV_PID" ] || stop_checked "burrow-server (http vhost)" "$HTTP_SRV_PID" "$TMP/http-server.log"
  [ -z "$BASE_CLI_PID" ] || stop_pid "$BASE_CLI_PID"
  [ -z "$BASE_SRV_PID" ] || stop_pid "$BASE_SRV_PID"
  stop_pid "$NGINX_PID"
}

# ------------------------------------------------------------------ run
if want tcp; then tcp_section; fi
if want mem; then mem_section; fi
if want http; then http_section; fi

# ------------------------------------------------------------------ report
for f in "$TMP"/*.log; do cp "$f" "$RUN_OUT/logs/"; done
cp "$TMP"/iperf-*.json "$TMP"/mem-*.json "$TMP"/wrk-*.txt "$TMP"/wrk-*.err "$TMP"/haproxy*.cfg \
  "$TMP/meta.json" "$RUN_OUT/logs/" 2>/dev/null || true
cp "$TMP/nginx/nginx.conf" "$RUN_OUT/logs/" 2>/dev/null || true
for d in plain tls mem http; do
  for f in server client; do cp "$TMP/$d/$f.toml" "$RUN_OUT/logs/$d-$f.toml" 2>/dev/null || true; done
done
echo
"$PY" "$HELPER" report "$TMP" "$RUN_OUT"
ln -sfn "$STAMP" "$BENCH_OUT/latest"

# Surface anything suspicious Burrow logged.
problems=$( { cat "$TMP/problems.txt" 2>/dev/null
  grep -HE '\b(warn|warning|error|critical)\b|^[EWF][0-9]{4} ' "$TMP"/{plain,tls,mem,http}-{server,client}.log 2>/dev/null \
    | sed "s|^$TMP/||" \
    | grep -v 'TLS is off: client traffic and logins are not encrypted'; } | head -n 30 || true)
if [ -n "$problems" ]; then
  echo
  echo "### Burrow problems during the run (first 30 lines; full logs in $RUN_OUT/logs)"
  echo
  echo '```'
  printf '%s\n' "$problems"
  echo '```'
  printf '%s\n' "$problems" >"$RUN_OUT/problems.txt"
else
  echo
  echo "No Burrow warnings, errors, crashes or slow shutdowns."
fi
echo
log "results: $RUN_OUT (results.md, results.json, logs/)"
