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
const step = (what) => console.log("ok: " + what);
let browser;
const deadline = setTimeout(() => {
  console.error("dashboard_test: timed out after 60 s");
  browser?.close().finally(() => process.exit(1));
}, 60_000);

async function main() {
  const anonymous = await fetch(opt.url + "/api/v1/overview");
  if (anonymous.status !== 401) fail(`the API answered ${anonymous.status} without a login`);
  step("the API needs a login");

  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });
  const watch = (page) => {
    page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
  };
  const page = await context.newPage();
  watch(page);
  const q = (test) => page.locator(`[data-test="${test}"]`);

  await page.goto(opt.url + "/");
  await q("login-form").waitFor({ state: "visible", timeout: 10_000 });
  step("the login form shows");

  await q("login-user").fill(opt.user);
  await q("login-password").fill(opt.password + "-wrong");
  await q("login-submit").click();
  await q("login-error").waitFor({ state: "visible", timeout: 10_000 });
  if (!(await q("login-error").textContent()).trim()) fail("the login error is empty");
  step("a wrong password is refused: " + (await q("login-error").textContent()));
  // The refused login's 401 is the page's own business, not a problem.
  problems.length = 0;

  await q("login-password").fill(opt.password);
  await q("login-submit").click();
  await q("dashboard").waitFor({ state: "visible", timeout: 10_000 });
  step("logged in");

  await page.locator(`[data-test="client-row"][data-id="${opt.client}"]`).waitFor({ timeout: 10_000 });
  step(`client ${opt.client} listed`);
  await page.locator(`[data-test="proxy-row"][data-name="${opt.proxy}"]`).waitFor({ timeout: 10_000 });
  step(`proxy ${opt.proxy} listed`);

  const row = page.locator('[data-test="session-row"]', {
    has: page.locator(`[data-test="proxy"]`, { hasText: opt.proxy }),
  }).first();
  await row.waitFor({ timeout: 10_000 });
  const id = await row.getAttribute("data-id");
  const moved = async () => {
    const r = page.locator(`[data-test="session-row"][data-id="${id}"]`);
    const n = async (t) => Number(await r.locator(`[data-test="${t}"]`).getAttribute("data-value"));
    return Math.max(await n("bytes-in"), await n("bytes-out"));
  };
  const first = await moved();
  let later = first;
  for (let i = 0; i < 40 && later <= first; i++) {
    await page.waitForTimeout(250);
    later = await moved();
  }
  if (later <= first) fail(`session ${id}'s bytes did not grow (${first})`);
  step(`session ${id} of ${opt.proxy}: bytes grow on the page (${first} -> ${later})`);

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
  await page.locator(`[data-test="session-row"][data-id="${id}"] [data-test="close-session"]`).click();
  await page.locator(`[data-test="session-row"][data-id="${id}"]`).waitFor({ state: "detached", timeout: 10_000 });
  step(`session ${id} closed from the page`);

  const phone = await context.newPage();
  watch(phone);
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(opt.url + "/");
  await phone.locator('[data-test="dashboard"]').waitFor({ state: "visible", timeout: 10_000 });
  await phone.locator('[data-test="client-row"]').first().waitFor({ timeout: 10_000 });
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) fail(`the phone-sized page scrolls sideways by ${overflow} px`);
  await phone.screenshot({ path: join(opt["screenshot-dir"], "dashboard-phone.png"), fullPage: true });
  step("phone-sized viewport: still logged in, no sideways scroll; screenshot dashboard-phone.png");

  if (problems.length) fail("console errors, page errors or CSP violations:\n  " + problems.join("\n  "));
  step("no console errors, page errors or CSP violations");
}

main().then(
  async () => { await browser?.close(); clearTimeout(deadline); console.log("dashboard_test: ok"); },
  async (e) => { console.error("dashboard_test: FAILED: " + e.message); await browser?.close(); process.exit(1); },
);
