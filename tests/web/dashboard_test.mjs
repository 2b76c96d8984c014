// The dashboard page in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core from web/node_modules). Run by the e2e test
// dashboard.the_page_in_a_browser_shows_a_live_session_and_closes_it, which
// starts a server, a client and a transfer through proxy --proxy:
//   node tests/web/dashboard_test.mjs --url http://127.0.0.1:PORT --user admin \
//     --password PW --client home --proxy NAME --screenshot-dir DIR
// Exits 0 after "dashboard_test: ok", 1 with the reason otherwise; bounded to 60 s.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const require = createRequire(new URL("../../web/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" }, user: { type: "string" }, password: { type: "string" },
    client: { type: "string" }, proxy: { type: "string" }, "screenshot-dir": { type: "string" },
  },
});
for (const k of ["url", "user", "password", "client", "proxy", "screenshot-dir"])
  if (!opt[k]) { console.error(`missing --${k}`); process.exit(2); }

const fail = (why) => { throw new Error(why); };
// Waits for a locator, failing with what was expected instead of Playwright's trace.
const need = (locator, what, state = "visible", timeout = 10_000) =>
  locator.waitFor({ state, timeout }).catch(() => fail(`${what}: not ${state} within ${timeout / 1000} s`));
const attr = (name, value) => `[${name}=${JSON.stringify(value)}]`;
const step = (what) => console.log("ok: " + what);
let browser;
const deadline = setTimeout(() => {
  console.error("dashboard_test: FAILED: timed out after 60 s");
  setTimeout(() => process.exit(1), 5_000).unref(); // in case close() hangs
  Promise.resolve(browser?.close()).finally(() => process.exit(1));
}, 60_000);

// What the page must not produce. A 401 from /session or /login is part of the
// login flow (Chromium logs every non-2xx fetch as "Failed to load resource"),
// so those two are expected; any other failed request counts.
const consoleErrors = [], pageErrors = [], cspViolations = [];
const expected401 = (m) => /status of 401/.test(m.text()) && /\/api\/v1\/(session|login)$/.test(m.location().url);

async function main() {
  const anonymous = await fetch(opt.url + "/api/v1/overview")
    .catch((e) => fail(`cannot reach ${opt.url}: ${e.cause?.code ?? e.message}`));
  if (anonymous.status !== 401) fail(`the API answered ${anonymous.status} without a login`);
  step("the API needs a login (401 without a cookie)");

  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      const what = `${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`;
      window.__csp.push(what);
      console.error("CSP violation: " + what);
    });
  });
  const pages = [];
  const watch = (page) => {
    pages.push(page);
    page.on("console", (m) => {
      if (m.type() !== "error" || expected401(m)) return;
      if (/Content Security Policy|CSP violation/.test(m.text())) cspViolations.push(m.text());
      else consoleErrors.push(`${m.text()} [${m.location().url}]`);
    });
    page.on("pageerror", (e) => pageErrors.push(e.message));
  };
  const page = await context.newPage();
  watch(page);
  const q = (test) => page.locator(`[data-test="${test}"]`);

  await page.goto(opt.url + "/");
  await need(q("login-form"), "the login form");
  step("the login form shows");

  await q("login-user").fill(opt.user);
  await q("login-password").fill(opt.password + "-wrong");
  await q("login-submit").click();
  await need(q("login-error"), "the error after a wrong password");
  if (!(await q("login-error").textContent()).trim()) fail("the login error is empty");
  step("a wrong password is refused: " + (await q("login-error").textContent()));

  await q("login-password").fill(opt.password);
  await q("login-submit").click();
  await need(q("dashboard"), "the dashboard after logging in");
  step("logged in");

  await need(page.locator('[data-test="client-row"]' + attr("data-id", opt.client)), `client row ${opt.client}`);
  step(`client ${opt.client} listed`);
  await need(page.locator('[data-test="proxy-row"]' + attr("data-name", opt.proxy)), `proxy row ${opt.proxy}`);
  step(`proxy ${opt.proxy} listed`);

  // A session of --proxy (exact match on the proxy cell's text).
  await page.waitForFunction((proxy) => [...document.querySelectorAll('[data-test="session-row"]')]
    .some((r) => r.querySelector('[data-test="proxy"]')?.textContent === proxy), opt.proxy, { timeout: 10_000 })
    .catch(() => fail(`no session row of proxy ${opt.proxy} within 10 s`));
  const id = await page.evaluate((proxy) => [...document.querySelectorAll('[data-test="session-row"]')]
    .find((r) => r.querySelector('[data-test="proxy"]')?.textContent === proxy).dataset.id, opt.proxy);
  const sessionRow = page.locator('[data-test="session-row"]' + attr("data-id", id));
  // The larger of the row's bytes in and out, or NaN once the row is gone.
  const moved = () => page.evaluate((sel) => {
    const r = document.querySelector(sel);
    const n = (t) => Number(r?.querySelector(`[data-test="${t}"]`)?.dataset.value);
    return Math.max(n("bytes-in"), n("bytes-out"));
  }, '[data-test="session-row"]' + attr("data-id", id));
  const first = await moved();
  let later = first;
  if (!Number.isFinite(first)) fail(`session ${id}'s row has no bytes-in/bytes-out data-value`);
  for (let i = 0; i < 40 && !(later > first); i++) {
    await page.waitForTimeout(250);
    later = await moved();
  }
  if (!(later > first)) fail(`session ${id}'s bytes did not grow within 10 s (${first} -> ${later})`);
  step(`session ${id} of ${opt.proxy}: bytes grow on the page (${first} -> ${later})`);

  // Chart --proxy (the page starts on the first proxy): click its row.
  await page.locator('[data-test="proxy-row"]' + attr("data-name", opt.proxy)).click({ timeout: 5_000 });
  await page.waitForFunction((proxy) => document.getElementById("chart-title")?.textContent.includes(proxy),
    opt.proxy, { timeout: 5_000 }).catch(() => fail(`clicking proxy ${opt.proxy} did not chart it`));
  await page.waitForTimeout(300); // let uPlot draw the new data
  const chart = await page.evaluate(() => {
    const c = document.querySelector('[data-test="traffic-chart"] canvas');
    if (!c || !c.width || !c.height) return null;
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    for (let i = 0; i < px.length; i += 4 * 7) if (px[i + 3] > 0) colours.add(px[i] << 16 | px[i + 1] << 8 | px[i + 2]);
    return { width: c.width, height: c.height, colours: colours.size };
  });
  if (!chart) fail("no chart canvas");
  if (chart.colours < 3) fail(`the chart canvas is blank (${chart.colours} colours)`);
  step(`the chart is drawn (${chart.width}x${chart.height}, ${chart.colours} colours)`);

  mkdirSync(opt["screenshot-dir"], { recursive: true });
  await page.screenshot({ path: join(opt["screenshot-dir"], "dashboard-desktop.png"), fullPage: true });
  step("screenshot dashboard-desktop.png");

  page.once("dialog", (d) => d.accept());
  await sessionRow.locator('[data-test="close-session"]').click({ timeout: 5_000 });
  await need(sessionRow, `session row ${id} after closing it`, "detached");
  step(`session ${id} closed from the page`);

  const phone = await context.newPage();
  watch(phone);
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(opt.url + "/");
  await need(phone.locator('[data-test="dashboard"]'), "the dashboard on the phone-sized page (cookie login)");
  await need(phone.locator('[data-test="client-row"]').first(), "a client row on the phone-sized page");
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail(`the phone-sized page scrolls sideways by ${overflow} px`);
  await phone.screenshot({ path: join(opt["screenshot-dir"], "dashboard-phone.png"), fullPage: true });
  step("phone-sized viewport: still logged in, no sideways scroll; screenshot dashboard-phone.png");

  for (const p of pages) cspViolations.push(...(await p.evaluate(() => window.__csp)).map((v) => "CSP violation: " + v));
  const problems = [...consoleErrors.map((e) => "console error: " + e), ...pageErrors.map((e) => "page error: " + e),
    ...new Set(cspViolations)];
  if (problems.length) fail("console errors, page errors or CSP violations:\n  " + problems.join("\n  "));
  step("no console errors, page errors or CSP violations");
}

main().then(
  async () => { await browser?.close(); clearTimeout(deadline); console.log("dashboard_test: ok"); },
  async (e) => { console.error("dashboard_test: FAILED: " + e.message); await browser?.close(); process.exit(1); },
);
