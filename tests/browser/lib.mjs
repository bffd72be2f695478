// lib.mjs: what the browser tests share: Debian's chromium kept on
// loopback, pages signed in as the sign-in form leaves them, waits on the
// page's own poll counter, and checks that say what was expected.
import { chromium } from 'playwright-core';

export const WAIT_MS = 60000; // a loaded 2-core machine running the sanitizer build

export function check(cond, msg) {
  if (!cond) {
    process.exitCode = 1;
    throw new Error(msg);
  }
}

export async function apiGet(url, token, path) {
  const r = await fetch(url + path, { headers: { Authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.json() };
}

// Chromium off every network but loopback: names resolve to nothing (but
// 127.0.0.1), no proxy, none of its background services.
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: [
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--no-proxy-server',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-domain-reliability',
      '--disable-sync',
      '--no-first-run',
      ...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : []),
    ],
  });
}

// A page of url's dashboard at hash, signed in with token (sessionStorage, as the sign-in
// form leaves it) or not at all; page.errors collects console errors and page errors.
export async function open(browser, url, token, hash = '#/facility') {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await ctx.newPage();
  // Every wait without its own timeout gets WAIT_MS too, not playwright's 30 s.
  page.setDefaultTimeout(WAIT_MS);
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // GET /v1/jobs/ID/output is shown where the controller has it; a 404 there is expected.
    if (/\/v1\/jobs\/\d+\/output/.test(m.location().url || '')) return;
    page.errors.push(`console: ${m.text()} (${m.location().url || ''})`);
  });
  page.on('pageerror', (e) => page.errors.push(`page error: ${e.message}`));
  if (token) await ctx.addInitScript((t) => sessionStorage.setItem('nordlys.token', t), token);
  await page.goto(`${url}/ui/${hash}`);
  return page;
}

// Wait for n more polls of the page's current view (the page counts them in data-updates).
export async function polled(page, n = 1) {
  const u = Number((await page.evaluate(() => document.body.dataset.updates)) || 0);
  await page.waitForFunction((want) => Number(document.body.dataset.updates || 0) >= want, u + n,
    { timeout: WAIT_MS });
}

export function noErrors(page, what) {
  check(page.errors.length === 0, `${what}: console errors: ${page.errors.join('; ')}`);
}

export const num = (s) => Number(String(s).replace(/,/g, ''));
