#!/usr/bin/env bash
# Installs, builds and starts a working demo on loopback:
#   a small web page (the "home service") on 127.0.0.1,
#   burrow-server with TLS (self-signed, pinned by fingerprint),
#   burrow-client exposing the page through a tcp proxy,
#   the server's dashboard (a generated password, printed), also exposed as the
#   "NAS web UI" through an http proxy on nas.localhost (*.localhost is loopback).
# Prints the URLs to open; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bash scripts/setup.sh
bash scripts/build.sh
bin=${BUILD_DIR:-build}/bin

work=$(mktemp -d /tmp/burrow-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_line() {  # file regex timeout_s -> prints the first capture
  local deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    if line=$(grep -oP "$2" "$1" 2>/dev/null | head -1) && [ -n "$line" ]; then echo "$line"; return 0; fi
    sleep 0.1
  done
  echo "demo: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

# The home service: a static page.
mkdir -p "$work/site"
cat > "$work/site/index.html" <<HTML
<!doctype html><title>Burrow demo</title>
<h1>Hello through Burrow</h1><p>This page is served on 127.0.0.1 and reached through the tunnel.</p>
HTML
web_port=$(free_port)
python3 -m http.server "$web_port" --bind 127.0.0.1 --directory "$work/site" >"$work/web.log" 2>&1 &
pids+=($!)

token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
dash_password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
export BURROW_TOKEN=$token BURROW_DASHBOARD_PASSWORD=$dash_password
dash_port=$(free_port)
vhost_port=$(free_port)
cat > "$work/server.toml" <<TOML
bind_addr = "127.0.0.1"
bind_port = 0
proxy_bind_addr = "127.0.0.1"
vhost_http_port = $vhost_port
data_dir = "data"
[auth]
token = "\${BURROW_TOKEN}"
[dashboard]
port = $dash_port
password = "\${BURROW_DASHBOARD_PASSWORD}"
TOML
"$bin/burrow-server" -c "$work/server.toml" >"$work/server.log" 2>&1 &
pids+=($!)
server_port=$(wait_line "$work/server.log" 'listening for clients on 127\.0\.0\.1:\K\d+' 20)
fingerprint=$(wait_line "$work/server.log" 'fingerprint: \Ksha256:[0-9a-f]+' 5)

cat > "$work/client.toml" <<TOML
server_addr = "127.0.0.1"
client_id = "home"
server_port = $server_port
[auth]
token = "\${BURROW_TOKEN}"
[tls]
server_fingerprint = "$fingerprint"
[[proxies]]
name = "web"
local_port = $web_port
remote_port = 0
[[proxies]]
name = "nas"
type = "http"
local_port = $dash_port
custom_domains = ["nas.localhost"]
TOML
"$bin/burrow-client" -c "$work/client.toml" >"$work/client.log" 2>&1 &
pids+=($!)
remote=$(wait_line "$work/client.log" '\[web\] proxy up: remote port \K\d+' 20)
wait_line "$work/client.log" '\[nas\] proxy up' 20 >/dev/null

cat <<MSG

  Burrow demo is running (configs and logs in $work).
    home service : http://127.0.0.1:$web_port/
    through burrow: http://127.0.0.1:$remote/
    dashboard    : http://127.0.0.1:$dash_port/   user admin, password $dash_password
    the same, as a "NAS web UI" behind an http proxy: http://nas.localhost:$vhost_port/

  Try:   curl http://127.0.0.1:$remote/
  Logs:  tail -f $work/server.log $work/client.log
  Ctrl-C stops the demo.

MSG
tail -n 0 -f "$work/server.log" "$work/client.log" &
pids+=($!)
wait "${pids[1]}"
