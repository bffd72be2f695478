// app.js - the nordlys dashboard: a client of the public API like any
// other. It signs in with an API token (kept in this tab's sessionStorage,
// sent as Authorization: Bearer, never put in a URL), reads /v1/* every
// POLL_MS, and draws what it reads; it computes nothing the API does not
// give, except the history of values it has polled (power by site, queue
// and wait by tier). Updates are this poll: no server-sent events (the
// controller's answers are one-shot; see docs/api.md).
import uPlot from './uPlot.esm.js';
import * as rackmap from './rackmap.js';

const POLL_MS = 2000;
const HISTORY_MAX = 1800; // one hour of polls
const PAGE = 50; // jobs a page: the list never asks for all of them
const TOKEN_KEY = 'nordlys.token';

const $ = (id) => document.getElementById(id);
const fmt = (n) => (n == null ? '–' : Number(n).toLocaleString('en-US'));
const mw = (w) => (w / 1e6).toFixed(2);
// A duration in seconds for people: 42 s, 3.5 min, 2.1 h.
const dur = (s) => (s == null ? '–' : s < 60 ? `${s.toFixed(0)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min`
  : `${(s / 3600).toFixed(1)} h`);
const when = (t) => (t == null ? '–' : new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19));

// What tests and operators can read back: updates done, the rack map's timings.
const stats = { updates: 0, firstUpdateAt: null, lastPollMs: null, maxPollMs: 0, rackMapMs: null, rackDrawMs: null,
  rackFetchMs: null, rackMapDoneAt: null };
window.nordlysStats = stats;

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const r = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (!r.ok) {
    const body = await r.json().catch(() => null);
    const e = body && body.error ? body.error : { code: 'http', message: `${path}: HTTP ${r.status}` };
    if (r.status === 401) signOut(e.message);
    throw new ApiError(r.status, e.code, e.message);
  }
  return (r.headers.get('content-type') || '').startsWith('application/json') ? r.json() : r.text();
}

// ---- sign in ----

// The token's claims, for showing who is signed in (the API decides what they may see).
function claims(token) {
  try {
    const b = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b));
  } catch {
    return {};
  }
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  $('signin-error').textContent = reason || '';
  show();
}

async function signIn(ev) {
  ev.preventDefault();
  const token = $('token').value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await api('/v1/facility');
    $('token').value = '';
    $('signin-error').textContent = '';
    if (!location.hash) location.hash = '#/facility';
    show();
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    $('signin-error').textContent = e.message;
  }
}

// ---- views ----

const views = { facility: facilityUpdate, jobs: jobsUpdate, job: jobUpdate, tenant: tenantUpdate };
let pollTimer = null;
let pollSeq = 0; // the latest poll; an older one still in flight schedules nothing

function route() {
  const m = location.hash.match(/^#\/(\w+)(?:\/(\d+))?/);
  const name = m && views[m[1]] ? m[1] : 'facility';
  return { name, id: m && m[2] ? Number(m[2]) : null };
}

function show() {
  const signedIn = !!sessionStorage.getItem(TOKEN_KEY);
  $('signin').hidden = signedIn;
  $('main').hidden = !signedIn;
  $('nav').hidden = !signedIn;
  $('signout').hidden = !signedIn;
  clearTimeout(pollTimer);
  if (!signedIn) {
    $('who').textContent = '';
    return;
  }
  const c = claims(sessionStorage.getItem(TOKEN_KEY));
  $('who').textContent = `${c.sub || '?'} (${c.role || '?'}${c.tenants ? `: ${c.tenants.join(', ')}` : ''})`;
  const r = route();
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== `view-${r.name}`;
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', a.dataset.view === r.name || (r.name === 'job' && a.dataset.view === 'jobs'));
  poll();
}

// One update of the current view, then the next in POLL_MS (never two at once).
async function poll() {
  clearTimeout(pollTimer);
  const seq = ++pollSeq;
  const r = route();
  const t0 = performance.now();
  try {
    await views[r.name](r.id);
    if (seq !== pollSeq) return; // superseded (a click, a new view): that poll carries on
    stats.lastPollMs = performance.now() - t0;
    stats.maxPollMs = Math.max(stats.maxPollMs, stats.lastPollMs);
    if (stats.firstUpdateAt == null) stats.firstUpdateAt = performance.now();
    stats.updates++;
    document.body.dataset.updates = String(stats.updates);
    $('live').textContent = `updated ${new Date().toLocaleTimeString('en-GB')}`;
    $('live').classList.remove('error');
  } catch (e) {
    if (e.status === 401 || seq !== pollSeq) return;
    $('live').textContent = e.message;
    $('live').classList.add('error');
  }
  if (sessionStorage.getItem(TOKEN_KEY) && seq === pollSeq) pollTimer = setTimeout(poll, POLL_MS);
}

// ---- facility ----

const hist = { t: [], power: [], it: [], budget: [], tiers: [], queue: {}, site: {}, wait: {} };
let powerChart = null, queueChart = null, siteChart = null, waitChart = null, rackLayout = null, rackData = null;

function setNum(id, v, text) {
  const el = $(id);
  el.dataset.value = String(v);
  el.textContent = text !== undefined ? text : fmt(v);
}

function byTier(tenants) {
  const tiers = new Map();
  for (const t of tenants) {
    const a = tiers.get(t.tier) || { tier: t.tier, alloc: 0, quota: 0, pending: 0, running: 0 };
    a.alloc += t.gpus_alloc;
    a.quota += t.quota_gpus;
    a.pending += t.jobs_pending;
    a.running += t.jobs_running;
    tiers.set(t.tier, a);
  }
  return [...tiers.values()];
}

function chartOpts(el, series) {
  return {
    width: Math.max(300, el.clientWidth - 10), height: 200,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [{ stroke: '#8b97a5', grid: { stroke: '#2a3542' } },
      { stroke: '#8b97a5', grid: { stroke: '#2a3542' }, size: 64 }],
    series: [{}, ...series],
  };
}

const TIER_COLOURS = ['#5cc8a8', '#e6b450', '#6ca0e0', '#e06c75', '#b48ead', '#a3be8c'];

// Append v to the series name of the keyed history h (null-filled back to the first poll).
function seriesPush(h, name, v) {
  if (!h[name]) h[name] = hist.t.slice(0, -1).map(() => null);
  h[name].push(v);
}

function historyAdd(f, tiers, power, queue) {
  hist.t.push(Date.now() / 1000);
  hist.power.push(f.power_w / 1e6);
  hist.it.push(f.power_it_w / 1e6);
  hist.budget.push(f.power_budget_w / 1e6);
  for (const t of tiers) seriesPush(hist.queue, t.tier, t.pending);
  for (const s of power.sites) seriesPush(hist.site, s.name, s.measured_w / 1e6);
  for (const q of queue.tiers) seriesPush(hist.wait, q.tier, q.wait_p50_s == null ? null : q.wait_p50_s / 60);
  for (const h of [hist.queue, hist.site, hist.wait])
    for (const k of Object.keys(h)) if (h[k].length < hist.t.length) h[k].push(null);
  if (hist.t.length > HISTORY_MAX)
    for (const a of [hist.t, hist.power, hist.it, hist.budget, ...Object.values(hist.queue),
      ...Object.values(hist.site), ...Object.values(hist.wait)]) a.shift();
}

// A chart of the keyed history h (one line a key) in el, made again when the keys change.
function keyedChart(chart, el, h, label) {
  const names = Object.keys(h).sort();
  const data = [hist.t, ...names.map((n) => h[n])];
  if (chart && chart.series.length === names.length + 1) {
    chart.setData(data);
    return chart;
  }
  if (chart) chart.destroy();
  return new uPlot(chartOpts(el, names.map((n, i) => (
    { label: label(n), stroke: TIER_COLOURS[i % TIER_COLOURS.length], width: 2, spanGaps: true }))), data, el);
}

function drawCharts() {
  const pel = $('f-power-chart');
  const pdata = [hist.t, hist.power, hist.it, hist.budget];
  if (!powerChart)
    powerChart = new uPlot(chartOpts(pel, [
      { label: 'facility MW', stroke: '#5cc8a8', width: 2 },
      { label: 'IT MW', stroke: '#6ca0e0' },
      { label: 'budget MW', stroke: '#e06c75', dash: [6, 4] },
    ]), pdata, pel);
  else powerChart.setData(pdata);
  queueChart = keyedChart(queueChart, $('f-queue-chart'), hist.queue, (n) => `${n} pending`);
  siteChart = keyedChart(siteChart, $('f-site-chart'), hist.site, (n) => `${n} MW`);
  waitChart = keyedChart(waitChart, $('f-wait-chart'), hist.wait, (n) => `${n} min`);
}

// The queue now (GET /v1/queue): pending jobs and their waits by tier.
function drawQueue(q) {
  const table = $('f-queue');
  table.dataset.time = String(q.time);
  table.tBodies[0].replaceChildren(...q.tiers.map((t) => {
    const tr = document.createElement('tr');
    tr.dataset.tier = t.tier;
    tr.dataset.pending = String(t.pending);
    for (const k of ['wait_p50_s', 'wait_p90_s', 'wait_max_s']) tr.dataset[k] = String(t[k]);
    for (const c of [t.tier, fmt(t.pending), dur(t.wait_p50_s), dur(t.wait_p90_s), dur(t.wait_max_s)])
      tr.insertCell().textContent = c;
    return tr;
  }));
}

function drawTiers(tiers) {
  const body = $('f-tiers').tBodies[0];
  body.replaceChildren(...tiers.map((t) => {
    const tr = document.createElement('tr');
    tr.dataset.tier = t.tier;
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('div');
    fill.style.width = `${t.quota ? Math.min(100, (100 * t.alloc) / t.quota) : 0}%`;
    if (t.alloc > t.quota) fill.className = 'over';
    bar.append(fill);
    const cells = [t.tier, fmt(t.alloc), fmt(t.quota), bar, fmt(t.pending), fmt(t.running)];
    for (const c of cells) {
      const td = document.createElement('td');
      td.append(c);
      tr.append(td);
    }
    return tr;
  }));
}

// Draw the laid-out map in the colour the selector asks for.
function rackDraw() {
  const canvas = $('f-rackmap');
  const mode = $('f-rack-colour').value;
  const m = rackmap.MODES[mode];
  $('f-legend-lo').textContent = m.lo;
  $('f-legend-hi').textContent = m.hi;
  stats.rackDrawMs = rackmap.draw(canvas, rackLayout, mode);
  canvas.dataset.colour = mode;
  canvas.dataset.painted = JSON.stringify(rackLayout.painted);
}

async function racksUpdate() {
  const t0 = performance.now();
  rackData = await api('/v1/racks');
  const t1 = performance.now();
  const canvas = $('f-rackmap');
  rackLayout = rackmap.layout(rackData, canvas.clientWidth || 1200);
  rackDraw();
  stats.rackFetchMs = t1 - t0;
  stats.rackMapMs = performance.now() - t0;
  if (stats.rackMapDoneAt == null) stats.rackMapDoneAt = performance.now();
  canvas.dataset.racks = String(rackData.racks);
  canvas.dataset.renderMs = stats.rackMapMs.toFixed(1);
  $('f-rack-info').textContent = `${fmt(rackData.racks)} racks in ${fmt(rackData.pods)} pods` +
    (rackLayout.byPod ? ' (one cell a pod)' : '') + `, drawn in ${stats.rackDrawMs.toFixed(1)} ms`;
}

async function facilityUpdate() {
  const [f, t, power, queue] = await Promise.all([api('/v1/facility'), api('/v1/tenants'),
    api('/v1/facility/power'), api('/v1/queue')]);
  $('f-name').textContent = f.name;
  setNum('f-gpus-total', f.gpus_total);
  setNum('f-gpus-alloc', f.gpus_alloc);
  setNum('f-gpus-down', f.gpus_down);
  setNum('f-jobs-running', f.jobs_running);
  setNum('f-jobs-pending', f.jobs_pending);
  setNum('f-power', f.power_w, mw(f.power_w));
  setNum('f-budget', f.power_budget_w, mw(f.power_budget_w));
  setNum('f-measured', power.measured_w, mw(power.measured_w));
  $('f-site-chart').dataset.sites = JSON.stringify(power.sites.map((s) => [s.name, s.measured_w]));
  setNum('f-pue', f.power_it_w > 0 ? f.power_w / f.power_it_w : 0,
    f.power_it_w > 0 ? (f.power_w / f.power_it_w).toFixed(2) : '–');
  setNum('f-energy', f.energy_kwh, (f.energy_kwh / 1000).toFixed(3));
  const tiers = byTier(t.tenants);
  historyAdd(f, tiers, power, queue);
  drawTiers(tiers);
  drawQueue(queue);
  drawCharts();
  await racksUpdate();
}

async function rackClick(ev) {
  if (!rackLayout) return;
  const rect = ev.target.getBoundingClientRect();
  const c = rackmap.cellAt(rackLayout, ev.clientX - rect.left, ev.clientY - rect.top);
  if (c) await rackShow(c.first);
}

async function rackShow(rack) {
  const d = await api(`/v1/racks?rack=${rack}`);
  const panel = $('f-rack');
  const h = document.createElement('h2');
  h.textContent = `Rack ${d.rack} (site ${d.site}, pod ${d.pod}, position ${d.rack_in_pod})`;
  const table = document.createElement('table');
  table.id = 'f-rack-nodes';
  table.innerHTML = '<thead><tr><th>node</th><th>state</th><th>GPUs held</th><th>jobs</th></tr></thead><tbody></tbody>';
  const ids = new Set();
  for (const n of d.nodes) {
    const tr = table.tBodies[0].insertRow();
    tr.insertCell().textContent = n.name;
    tr.insertCell().textContent = n.state;
    tr.insertCell().textContent = `${n.gpus_alloc} / ${n.gpus}`;
    const td = tr.insertCell();
    for (const id of n.jobs) {
      ids.add(id);
      const a = document.createElement('a');
      a.href = `#/job/${id}`;
      a.textContent = `${id} `;
      td.append(a);
    }
  }
  // The rack's jobs that this token may see (another tenant's job is 404 to a user).
  const jobs = await Promise.all([...ids].map((id) => api(`/v1/jobs/${id}`).then((j) => j.job, () => null)));
  const list = document.createElement('ul');
  for (const j of jobs.filter(Boolean)) {
    const li = document.createElement('li');
    li.textContent = `${j.id} ${j.name} (${j.tenant}, ${j.state}, ${j.gpus} GPUs)`;
    list.append(li);
  }
  panel.replaceChildren(h, table, list);
}

// ---- jobs ----

const jobsPage = { before: [], cursor: null, last: null };

async function tenantOptions() {
  const sel = $('j-tenant');
  if (sel.options.length > 1) return;
  const t = await api('/v1/tenants');
  for (const x of t.tenants) sel.add(new Option(x.name, x.name));
}

async function jobsUpdate() {
  await tenantOptions();
  const q = new URLSearchParams({ limit: String(PAGE) });
  if ($('j-state').value) q.set('state', $('j-state').value);
  if ($('j-tenant').value) q.set('tenant', $('j-tenant').value);
  if (jobsPage.cursor) q.set('before', String(jobsPage.cursor));
  const d = await api(`/v1/jobs?${q}`);
  const user = $('j-user').value.trim();
  const shown = user ? d.jobs.filter((j) => j.user === user) : d.jobs;
  jobsPage.last = d.jobs.length ? d.jobs[d.jobs.length - 1].id : null;
  $('j-count').textContent = `${fmt(d.total)} jobs match; showing ${fmt(shown.length)}` +
    (jobsPage.cursor ? ` below id ${jobsPage.cursor}` : ' (newest first)');
  $('j-count').dataset.total = String(d.total);
  $('j-older').disabled = d.jobs.length < PAGE;
  $('j-newer').disabled = !jobsPage.cursor;
  const body = $('j-table').tBodies[0];
  body.replaceChildren(...shown.map((j) => {
    const tr = document.createElement('tr');
    tr.dataset.id = String(j.id);
    tr.dataset.state = j.state;
    const a = document.createElement('a');
    a.href = `#/job/${j.id}`;
    a.textContent = j.id;
    const state = document.createElement('span');
    state.className = `state ${j.state}`;
    state.textContent = j.state;
    for (const c of [a, j.name, j.tenant, j.user || '', state, fmt(j.gpus), when(j.submit_time),
      j.reason_text || '']) {
      const td = document.createElement('td');
      td.append(c);
      tr.append(td);
    }
    return tr;
  }));
}

function jobsRestart() {
  jobsPage.before = [];
  jobsPage.cursor = null;
  poll();
}

// ---- one job ----

const OUTPUT_TAIL_BYTES = 16384;

// The last OUTPUT_TAIL_BYTES of the job's stdout (GET /v1/jobs/{id}/output: base64 bytes).
async function jobOutput(id) {
  try {
    const o = await api(`/v1/jobs/${id}/output?stream=stdout&tail=${OUTPUT_TAIL_BYTES}`);
    const bytes = Uint8Array.from(atob(o.data || ''), (ch) => ch.charCodeAt(0));
    const text = new TextDecoder('utf-8').decode(bytes);
    const notes = [];
    if (o.offset > 0) notes.push(`(last ${fmt(o.next_offset - o.offset)} of ${fmt(o.end)} bytes)`);
    if (o.lost > 0) notes.push(`(${fmt(o.lost)} bytes never reached the controller)`);
    return [...notes, text || '(no output yet)'].join('\n');
  } catch (e) {
    if (e.status >= 400 && e.status < 500 && e.status !== 401) return `(no output: ${e.message})`;
    throw e;
  }
}

async function jobUpdate(id) {
  const { job: j } = await api(`/v1/jobs/${id}`);
  $('job-id').textContent = j.id;
  $('job-state').textContent = j.state;
  $('job-state').className = `state ${j.state}`;
  const fields = [
    ['name', j.name], ['tenant', `${j.tenant} (${j.tier})`], ['user', j.user], ['GPUs', j.gpus],
    ['why it waits', j.reason_text ? `${j.reason_text} (${j.reason})` : '–'],
    ['estimated start', when(j.est_start_time)], ['submitted', when(j.submit_time)],
    ['started', when(j.start_time)], ['ended', when(j.end_time)], ['run', j.run],
    ['site', j.site || '–'], ['nodes', (j.nodes || []).join(', ') || '–'],
    ['energy (kWh)', j.energy_kwh != null ? j.energy_kwh.toFixed(3) : '–'],
    ['run time (s)', j.run_s != null ? j.run_s.toFixed(1) : '–'], ['preemptions', j.preemptions],
    ['exit', j.exit_code != null ? `${j.exit_code}${j.exit_reason ? ` (${j.exit_reason})` : ''}` : '–'],
    ['command', (j.command || []).join(' ')],
  ];
  const dl = $('job-fields');
  dl.replaceChildren(...fields.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v == null ? '–' : String(v);
    return [dt, dd];
  }));
  await jobEvents(id);
  $('job-output').textContent = await jobOutput(id);
}

// What an event says beyond its kind (GET /v1/jobs/{id}/events).
function eventText(e) {
  const parts = [];
  if (e.run != null) parts.push(`run ${e.run}`);
  if (e.nodes) parts.push(`on ${e.nodes.join(', ') || '?'}`);
  if (e.state) parts.push(e.state);
  if (e.exit_code != null) parts.push(`exit ${e.exit_code}${e.exit_signal ? ` signal ${e.exit_signal}` : ''}`);
  if (e.reason) parts.push(e.reason);
  if (e.detail) parts.push(e.detail);
  return parts.join('; ');
}

async function jobEvents(id) {
  const d = await api(`/v1/jobs/${id}/events`);
  $('job-events').tBodies[0].replaceChildren(...d.events.map((e) => {
    const tr = document.createElement('tr');
    tr.dataset.kind = e.kind;
    tr.dataset.time = String(e.time);
    for (const c of [when(e.time), e.kind, eventText(e)]) tr.insertCell().textContent = c;
    return tr;
  }));
}

// ---- tenants ----

// Usage history: GET /v1/energy for USAGE_BUCKETS windows of USAGE_STEP_S, aligned to the
// step (so that a window once closed reads the same again), newest last; a job counts in
// the window where its run ended, a running job in the current one. Read every
// USAGE_REFRESH_MS, not every poll: twelve requests, and closed windows do not change.
const USAGE_BUCKETS = 12, USAGE_STEP_S = 300, USAGE_REFRESH_MS = 30000;
const usage = { at: 0, windows: [], charts: new Map() };

async function usageHistory() {
  if (usage.windows.length && performance.now() - usage.at < USAGE_REFRESH_MS) return;
  const at = Date.now() / 1000;
  const end = Math.ceil(at / USAGE_STEP_S) * USAGE_STEP_S;
  const since = [...Array(USAGE_BUCKETS).keys()].map((k) => end - (USAGE_BUCKETS - k) * USAGE_STEP_S);
  const answers = await Promise.all(since.map((s) => api(`/v1/energy?since=${s}&until=${s + USAGE_STEP_S}`)));
  usage.windows = since.map((s, k) => ({ since: s, until: s + USAGE_STEP_S, tenants: answers[k].tenants }));
  usage.at = performance.now();
  usage.readAt = at; // a window that ended before this was closed when read
}

// One tenant's history from usage.windows: [since, gpu_hours, facility_kwh] per window.
function usageOf(name) {
  return usage.windows.map((w) => {
    const r = w.tenants.find((x) => x.tenant === name);
    return [w.since, r ? r.gpu_hours : 0, r ? r.facility_kwh : 0];
  });
}

function usageChart(name, el) {
  const rows = usageOf(name);
  el.dataset.usage = JSON.stringify(rows);
  el.dataset.readAt = String(usage.readAt);
  const data = [rows.map((r) => r[0] + USAGE_STEP_S / 2), rows.map((r) => r[1]), rows.map((r) => r[2])];
  let chart = usage.charts.get(name);
  if (chart && chart.root.isConnected) {
    chart.setData(data);
    return;
  }
  if (chart) chart.destroy();
  const opts = chartOpts(el, [
    { label: 'GPU-hours', stroke: '#5cc8a8', width: 2, scale: 'gh', points: { show: true } },
    { label: 'kWh', stroke: '#e6b450', width: 2, scale: 'kwh', points: { show: true } },
  ]);
  opts.height = 160;
  opts.scales.gh = { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] };
  opts.scales.kwh = { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] };
  opts.axes = [opts.axes[0], { ...opts.axes[1], scale: 'gh', label: 'GPU-hours' },
    { ...opts.axes[1], scale: 'kwh', side: 1, grid: { show: false }, label: 'kWh' }];
  usage.charts.set(name, new uPlot(opts, data, el));
}

async function tenantUpdate() {
  const [t, u] = await Promise.all([api('/v1/tenants'), api('/v1/usage')]);
  const usage = new Map(u.tenants.map((x) => [x.name, x]));
  const lists = await Promise.all(t.tenants.map((x) => api(`/v1/jobs?tenant=${encodeURIComponent(x.name)}&limit=20`)));
  await usageHistory();
  $('t-list').replaceChildren(...t.tenants.map((x, i) => {
    const us = usage.get(x.name) || {};
    const div = document.createElement('div');
    div.className = 'tenant panel';
    div.dataset.tenant = x.name;
    const h = document.createElement('h2');
    h.textContent = `${x.name} `;
    const sub = document.createElement('span');
    sub.className = 'muted';
    sub.textContent = `${x.tier}, ${x.jurisdiction}`;
    h.append(sub);
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('div');
    fill.style.width = `${x.quota_gpus ? Math.min(100, (100 * x.gpus_alloc) / x.quota_gpus) : 0}%`;
    if (x.gpus_alloc > x.quota_gpus) fill.className = 'over'; // borrowing beyond its quota
    bar.append(fill);
    const p = document.createElement('p');
    p.textContent = `GPUs ${fmt(x.gpus_alloc)} of quota ${fmt(x.quota_gpus)} (borrowed ${fmt(x.gpus_borrowed)}); ` +
      `jobs running ${fmt(x.jobs_running)}, pending ${fmt(x.jobs_pending)}; ` +
      `${fmt(Math.round(us.gpu_hours || 0))} GPU-hours, ${(us.energy_kwh || 0).toFixed(1)} kWh, ` +
      `${fmt(us.jobs_completed)} completed, ${fmt(us.jobs_failed)} failed`;
    // The chart's element is kept across polls (a chart is costly to make again).
    const hist = $(`t-usage-${x.name}`) || document.createElement('div');
    hist.id = `t-usage-${x.name}`;
    hist.className = 'usage-chart';
    const hh = document.createElement('h2');
    hh.className = 'muted';
    hh.textContent = `usage by ${USAGE_STEP_S / 60} minutes (jobs counted when their runs end)`;
    const table = document.createElement('table');
    table.innerHTML = '<thead><tr><th>id</th><th>name</th><th>state</th><th>GPUs</th><th>why it waits</th></tr></thead><tbody></tbody>';
    for (const j of lists[i].jobs) {
      const tr = table.tBodies[0].insertRow();
      tr.dataset.id = String(j.id);
      const a = document.createElement('a');
      a.href = `#/job/${j.id}`;
      a.textContent = j.id;
      tr.insertCell().append(a);
      tr.insertCell().textContent = j.name;
      tr.insertCell().textContent = j.state;
      tr.insertCell().textContent = fmt(j.gpus);
      tr.insertCell().textContent = j.reason_text || '';
    }
    const more = document.createElement('p');
    more.className = 'muted';
    more.textContent = `${fmt(lists[i].total)} jobs in all`;
    div.append(h, bar, p, hh, hist, table, more);
    return div;
  }));
  for (const x of t.tenants) usageChart(x.name, $(`t-usage-${x.name}`));
}

// ---- wiring ----

$('signin-form').addEventListener('submit', signIn);
$('signout').addEventListener('click', () => signOut(''));
$('f-rackmap').addEventListener('mousemove', (ev) => {
  const rect = ev.target.getBoundingClientRect();
  const c = rackLayout && rackmap.cellAt(rackLayout, ev.clientX - rect.left, ev.clientY - rect.top);
  ev.target.title = !c ? '' : `${rackLayout.byPod ? `pod ${c.pod}` : `rack ${c.first} (pod ${c.pod})`}: ` +
    `${fmt(c.alloc)} of ${fmt(c.gpus)} GPUs in use, ${fmt(c.down)} of ${fmt(c.nodes)} nodes not up` +
    (c.power != null ? `, ${fmt(Math.round(c.power))} W measured` : '') +
    (c.temp != null ? `, hottest GPU ${c.temp.toFixed(1)} °C` : '');
});
$('f-rackmap').addEventListener('click', (ev) => rackClick(ev).catch((e) => { $('f-rack').textContent = e.message; }));
for (const id of ['j-state', 'j-tenant']) $(id).addEventListener('change', jobsRestart);
$('f-rack-colour').addEventListener('change', () => { if (rackLayout) rackDraw(); });
$('j-user').addEventListener('input', () => poll());
$('j-older').addEventListener('click', () => {
  if (jobsPage.last == null) return;
  jobsPage.before.push(jobsPage.cursor);
  jobsPage.cursor = jobsPage.last;
  poll();
});
$('j-newer').addEventListener('click', () => {
  jobsPage.cursor = jobsPage.before.pop() ?? null;
  poll();
});
window.addEventListener('hashchange', show);
show();
