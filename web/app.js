// Burrow dashboard: reads /api/v1/ every 2 s and shows it. Plain JS, no build
// step. Everything shown comes from clients (names, ids) and is untrusted: it
// goes into the page as text only (textContent), never as markup.
"use strict";

const refreshMs = 2000;
let csrf = "";
let timer = null;
let selectedProxy = null;
let chart = null;
const lastBytes = new Map(); // session id -> {bytes, at}: for the rate column

const $ = (id) => document.getElementById(id);
const show = (el, on) => el.classList.toggle("hidden", !on);

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: {}, ...options };
  if (init.method === "POST") init.headers["X-CSRF-Token"] = csrf || "1";
  const res = await fetch("/api/v1/" + path, init);
  if (res.status === 401) throw new Unauthorized();
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

// ---- formatting ----
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
}
function duration(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}
function ago(unix) { return duration(Math.max(0, Date.now() / 1000 - unix)) + " ago"; }

// ---- tables ----
// A cell: text, or {text, cls, value, title, test}.
function cell(spec) {
  const td = document.createElement("td");
  const s = typeof spec === "object" && spec !== null ? spec : { text: spec };
  td.textContent = s.text ?? "";
  if (s.cls) td.className = s.cls;
  if (s.title) td.title = s.title;
  if (s.test) td.dataset.test = s.test;
  if (s.value !== undefined) td.dataset.value = String(s.value);
  return td;
}
function button(label, test, onClick) {
  const td = document.createElement("td");
  const b = document.createElement("button");
  b.textContent = label;
  b.className = "danger";
  b.dataset.test = test;
  b.addEventListener("click", (e) => { e.stopPropagation(); onClick(); });
  td.appendChild(b);
  return td;
}
function fill(tbody, rows, columns, empty) {
  tbody.replaceChildren();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const td = cell(empty);
    td.colSpan = columns;
    tr.appendChild(td);
    tbody.appendChild(tr);
  }
  for (const r of rows) tbody.appendChild(r);
}

function sessionRows(sessions) {
  const now = Date.now() / 1000;
  const seen = new Set();
  const rows = sessions.map((s) => {
    seen.add(s.id);
    const moved = s.bytes_in + s.bytes_out;
    const before = lastBytes.get(s.id);
    const rate = before && now > before.at ? (moved - before.bytes) / (now - before.at) : null;
    lastBytes.set(s.id, { bytes: moved, at: now });
    const tr = document.createElement("tr");
    tr.dataset.test = "session-row";
    tr.dataset.id = s.id;
    tr.append(cell(s.id), cell({ text: s.proxy, test: "proxy" }), cell(s.client), cell(s.user_addr),
      cell({ text: ago(s.opened_at), title: new Date(s.opened_at * 1000).toLocaleString() }),
      cell({ text: bytes(s.bytes_in), cls: "num", test: "bytes-in", value: s.bytes_in }),
      cell({ text: bytes(s.bytes_out), cls: "num", test: "bytes-out", value: s.bytes_out }),
      cell({ text: rate === null ? "" : bytes(Math.max(0, rate)) + "/s", cls: "num" }),
      cell(s.path),
      button("Close", "close-session", () => act(`Close session ${s.id}?`,
        `sessions/${encodeURIComponent(s.id)}/close`)));
    return tr;
  });
  for (const id of lastBytes.keys()) if (!seen.has(id)) lastBytes.delete(id);
  return rows;
}

function proxyRows(proxies) {
  return proxies.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.test = "proxy-row";
    tr.dataset.name = p.name;
    tr.className = "selectable" + (p.name === selectedProxy ? " selected" : "");
    const where = p.port ? `port ${p.port}` : p.urls.length ? p.urls.join(" ") : "visitors only";
    tr.append(cell(p.name), cell(p.type), cell(p.client), cell(where),
      cell({ text: p.state, cls: "state-" + p.state }),
      cell({ text: p.connections, cls: "num" }),
      cell({ text: bytes(p.bytes_in), cls: "num" }), cell({ text: bytes(p.bytes_out), cls: "num" }),
      cell({ text: p.last_error, cls: p.last_error ? "error" : "" }));
    tr.addEventListener("click", () => { selectedProxy = p.name; refresh(); });
    return tr;
  });
}

function clientRows(clients) {
  return clients.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.test = "client-row";
    tr.dataset.id = c.id;
    tr.append(cell(c.id), cell(c.remote_addr), cell(c.version),
      cell({ text: ago(c.connected_since), title: new Date(c.connected_since * 1000).toLocaleString() }),
      cell({ text: c.state, cls: "state-" + c.state }), cell(c.proxies.join(", ")),
      cell({ text: c.sessions, cls: "num" }),
      button("Kick", "kick-client", () => act(`Kick client ${c.id}? Its proxies go down.`,
        `clients/${encodeURIComponent(c.id)}/kick`)));
    return tr;
  });
}

// ---- chart (uPlot) ----
// Bytes per bucket as bytes per second. A bucket spans from its t to the next
// one's, at most bucket_seconds (the first one may start late, when the proxy
// came up). The last bucket is still running: it spans up to now, by the
// server's clock when the answer carries "now", else by ours. Dividing it by a
// whole bucket would make the line always dip at its right end.
function rates(t, series) {
  const per = t.bucket_seconds || 10, now = t.now ?? Date.now() / 1000, last = t.t.length - 1;
  return series.map((v, i) => {
    const span = (i < last ? t.t[i + 1] : now) - t.t[i];
    return v / Math.min(per, Math.max(1, span));
  });
}

function drawChart(t) {
  const el = $("chart");
  const data = [t.t, rates(t, t.in), rates(t, t.out)];
  show($("chart-empty"), t.t.length === 0);
  if (!chart) {
    const rate = (u, v) => v == null ? "" : bytes(v) + "/s";
    chart = new uPlot({
      width: Math.max(el.clientWidth, 200), height: 220,
      series: [{}, { label: "in", stroke: "#2f6fde", width: 2, value: rate },
        { label: "out", stroke: "#1f8a4c", width: 2, value: rate }],
      axes: [{}, { values: (u, vals) => vals.map((v) => bytes(v) + "/s"), size: 96 }],
    }, data, el);
    new ResizeObserver(() => chart.setSize({ width: Math.max(el.clientWidth, 200), height: 220 })).observe(el);
  } else {
    chart.setData(data);
  }
  // At least the last 10 minutes, so that a new proxy's few points do not fill the width.
  const now = Date.now() / 1000;
  // Start on a whole minute: uPlot's first tick label would overlap otherwise.
  const min = Math.floor(Math.min(t.t.length ? t.t[0] : now, now - 600) / 60) * 60;
  chart.setScale("x", { min, max: now });
}

// ---- refresh and actions ----
// One refresh at a time: a click while one runs asks for another right after.
let refreshing = null, again = false;
function refresh() {
  if (refreshing) { again = true; return refreshing; }
  refreshing = refreshOnce().finally(() => {
    refreshing = null;
    if (again) { again = false; refresh(); }
  });
  return refreshing;
}

async function refreshOnce() {
  try {
    const [o, clients, proxies, sessions] = await Promise.all(
      ["overview", "clients", "proxies", "sessions"].map((p) => api(p)));
    $("c-clients").textContent = o.clients;
    $("c-proxies").textContent = o.proxies;
    $("c-sessions").textContent = o.sessions;
    $("c-in").textContent = bytes(o.bytes_in);
    $("c-out").textContent = bytes(o.bytes_out);
    $("c-uptime").textContent = duration(o.uptime_seconds);
    $("c-version").textContent = "version " + o.version;
    if (!proxies.proxies.some((p) => p.name === selectedProxy))
      selectedProxy = proxies.proxies.length ? proxies.proxies[0].name : null;
    fill($("sessions"), sessionRows(sessions.sessions), 10, "No open sessions.");
    fill($("proxies"), proxyRows(proxies.proxies), 9, "No proxies.");
    fill($("clients"), clientRows(clients.clients), 8, "No clients connected.");
    const traffic = selectedProxy ? await api("traffic?proxy=" + encodeURIComponent(selectedProxy))
      : { t: [], in: [], out: [], bucket_seconds: 10 };
    $("chart-title").textContent = selectedProxy
      ? `of ${selectedProxy} (bytes/s, ${traffic.bucket_seconds} s buckets)` : "(no proxy)";
    drawChart(traffic);
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    if (e instanceof Unauthorized) return loggedOut();
    if (timer !== null) $("status").textContent = "update failed: " + e.message;
  }
}

async function act(question, path) {
  if (!confirm(question)) return;
  try {
    await api(path, { method: "POST" });
  } catch (e) {
    if (e instanceof Unauthorized) return loggedOut();
    alert(e.message);
  }
  refresh();
}

function loggedIn(session) {
  csrf = session.csrf || "";
  show($("login"), false);
  show($("dashboard"), true);
  show($("logout"), session.auth === "cookie");
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, refreshMs);
}

function loggedOut() {
  clearInterval(timer);
  timer = null;
  csrf = "";
  show($("dashboard"), false);
  show($("logout"), false);
  show($("login"), true);
  $("login-password").focus();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = $("login-error");
  show(error, false);
  try {
    const res = await fetch("/api/v1/login", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: $("login-user").value, password: $("login-password").value }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || res.statusText);
    $("login-password").value = "";
    loggedIn({ auth: "cookie", csrf: body.csrf });
  } catch (err) {
    error.textContent = err.message;
    show(error, true);
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("logout", { method: "POST" }); } catch (e) { /* logged out either way */ }
  loggedOut();
});

// Start: logged in already (cookie, basic auth or no auth at all) or not.
function start() {
  api("session").then(loggedIn, (e) => {
    if (e instanceof Unauthorized) return loggedOut();
    $("status").textContent = "server unreachable: " + e.message + "; retrying";
    setTimeout(start, refreshMs);
  });
}
start();
