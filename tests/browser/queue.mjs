// queue.mjs: the dashboard stays responsive with 100,000 jobs queued
// (queue_100k.sh queued them; env QUEUE_URL, QUEUE_TOKEN, QUEUE_JOBS,
// CHROMIUM). The page never asks for all jobs: a page of 50 and the API's
// total; that is checked on every job list the page requests and gets.
// Measured in the page (performance.now) and printed, not asserted: load
// to the first table, each poll, paging to older jobs, and the longest
// task on the main thread (PerformanceObserver 'longtask'). How fast they
// are depends on the machine and its load (a sanitizer build on a shared
// 2-core machine is slow), so a bound on them would fail by chance; the
// size of what the page asks for does not.
import { WAIT_MS, apiGet, check, launch, noErrors, num, open, polled } from './lib.mjs';

const env = process.env;
const JOBS = Number(env.QUEUE_JOBS);
const browser = await launch();
try {
  const { body: f } = await apiGet(env.QUEUE_URL, env.QUEUE_TOKEN, '/v1/facility');
  check(f.jobs_pending === JOBS, `the controller has ${f.jobs_pending} pending, expected ${JOBS}`);

  // Every job list the page asks for, and how many jobs each answer held.
  const PAGE = 50;
  const lists = [];
  const page = await open(browser, env.QUEUE_URL, env.QUEUE_TOKEN, '#/jobs');
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (u.pathname !== '/v1/jobs') return;
    const entry = { url: u.pathname + u.search, limit: u.searchParams.get('limit'), n: null };
    entry.done = r.json().then((b) => { entry.n = b.jobs.length; },
      (e) => { entry.n = `unreadable (${e.message})`; });
    lists.push(entry);
  });
  await page.evaluate(() => {
    window.longTasks = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longTasks.push(e.duration); })
      .observe({ type: 'longtask', buffered: true });
  });
  await page.waitForFunction((n) => document.getElementById('j-count').dataset.total === String(n), JOBS,
    { timeout: WAIT_MS });
  const rows = await page.$$eval('#j-table tbody tr', (trs) => trs.length);
  check(rows === 50, `the jobs view shows ${rows} rows, expected one page of 50`);
  const first = await page.evaluate(() => window.nordlysStats.firstUpdateAt);
  await polled(page, 3);
  // Paging: older jobs, timed from the click to the new page in the table.
  const older = await page.evaluate(async () => {
    const last = Number(document.querySelector('#j-table tbody tr:last-child').dataset.id);
    const t0 = performance.now();
    document.getElementById('j-older').click();
    while (Number(document.querySelector('#j-table tbody tr').dataset.id) >= last)
      await new Promise((r) => setTimeout(r, 5));
    return performance.now() - t0;
  });
  // A filter: the pending jobs of one tenant, through the API's filter and total.
  await page.selectOption('#j-state', 'PENDING');
  await page.waitForFunction((n) => document.getElementById('j-count').dataset.total === String(n), JOBS,
    { timeout: WAIT_MS });
  const s = await page.evaluate(() => ({ ...window.nordlysStats, longTasks: window.longTasks }));
  const longest = Math.max(0, ...s.longTasks);
  console.log(`${JOBS} jobs queued: jobs view loaded to its table in ${first.toFixed(0)} ms; ` +
    `polls ${s.lastPollMs.toFixed(0)} ms (slowest ${s.maxPollMs.toFixed(0)} ms); ` +
    `older page in ${older.toFixed(0)} ms; longest main-thread task ${longest.toFixed(0)} ms ` +
    `(${s.longTasks.length} over 50 ms)`);
  // The page asked for pages, never for everything: each list names a limit of one
  // page, and each answer held at most that (the page opened after the queue was
  // full, so its first request is already in the list).
  await polled(page, 1);
  await Promise.all(lists.map((l) => l.done));
  check(lists.length > 0, 'the jobs view asked for no job list');
  const big = lists.filter((l) => !(Number(l.limit) > 0 && Number(l.limit) <= PAGE &&
    typeof l.n === 'number' && l.n <= PAGE));
  check(big.length === 0, `job lists beyond a page of ${PAGE}: ${JSON.stringify(big.slice(0, 3).map(
    ({ url, n }) => ({ url, n })))}`);
  console.log(`${lists.length} job lists asked for, each at most ${PAGE} jobs`);
  // The facility view with the queue: its number, and its polls.
  await page.click('nav a[data-view="facility"]');
  await page.waitForSelector('#view-facility:not([hidden])');
  await polled(page, 2);
  const pending = num(await page.textContent('#f-jobs-pending'));
  check(pending === JOBS, `the facility view shows ${pending} pending`);
  // The queue by tier (GET /v1/queue, every pending job's wait sorted per tier each poll).
  const tiers = await page.$$eval('#f-queue tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.pending)));
  check(tiers.reduce((a, b) => a + b, 0) === JOBS, `the queue by tier counts ${tiers} pending`);
  const fs = await page.evaluate(() => window.nordlysStats);
  console.log(`facility view with the queue: poll ${fs.lastPollMs.toFixed(0)} ms`);
  noErrors(page, 'jobs and facility views with the queue');
  console.log('queue.mjs: ok');
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
