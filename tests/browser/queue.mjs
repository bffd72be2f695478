// queue.mjs: the dashboard stays responsive with 100,000 jobs queued
// (queue_100k.sh queued them; env QUEUE_URL, QUEUE_TOKEN, QUEUE_JOBS,
// CHROMIUM). The page never asks for all jobs: a page of 50 and the API's
// total. Measured in the page (performance.now): load to the first table,
// each poll, paging to older jobs, and the longest task on the main thread
// (PerformanceObserver 'longtask'); asserted with generous bounds, printed.
import { WAIT_MS, apiGet, check, launch, noErrors, num, open, polled } from './lib.mjs';

const env = process.env;
const JOBS = Number(env.QUEUE_JOBS);
const browser = await launch();
try {
  const { body: f } = await apiGet(env.QUEUE_URL, env.QUEUE_TOKEN, '/v1/facility');
  check(f.jobs_pending === JOBS, `the controller has ${f.jobs_pending} pending, expected ${JOBS}`);

  const page = await open(browser, env.QUEUE_URL, env.QUEUE_TOKEN, '#/jobs');
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
  check(first < 5000, `the jobs view took ${first.toFixed(0)} ms to show its table`);
  check(s.maxPollMs < 2000, `a poll took ${s.maxPollMs.toFixed(0)} ms (polls are every 2 s)`);
  check(older < 2000, `paging took ${older.toFixed(0)} ms`);
  check(longest < 500, `the main thread was blocked ${longest.toFixed(0)} ms`);
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
