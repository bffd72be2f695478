// rackmap.js - the facility's racks on a <canvas>: one cell per rack,
// grouped by pod (a gap between pods) and by site (a labelled band), and
// coloured by the share of the rack's GPUs that jobs hold, by its measured
// draw per GPU or by its hottest GPU (the agents' readings). Drawing is a
// few thousand fillRect calls, so the map of narvik (1,389 racks) draws in
// milliseconds; past RACK_CELLS_MAX racks (gw10: 69,445) a cell is a pod.

const RACK_CELLS_MAX = 4000;
const DOWN = '#3a3f46';

// The colour scales: a value to [0, 1] and what the legend says of its ends.
export const MODES = {
  use: { label: 'GPUs in use', lo: 'idle', hi: 'full', unit: (c) => c.use },
  power: { label: 'measured draw per GPU', lo: '0 W', hi: '1,800 W', unit: (c) => (c.power == null ? null : c.power / c.gpus / 1800) },
  temp: { label: 'hottest GPU', lo: '20 °C', hi: '85 °C', unit: (c) => (c.temp == null ? null : (c.temp - 20) / 65) },
};
const NO_READING = '#4a4458';

// Colour of a share u in [0, 1]: low blue-grey, half green, full amber.
function useColour(u) {
  const stops = [[0x2b, 0x4a, 0x5a], [0x5c, 0xc8, 0xa8], [0xe6, 0xb4, 0x50]];
  const x = Math.min(Math.max(u, 0), 1) * 2;
  const i = Math.min(Math.floor(x), 1);
  const f = x - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// The cells to draw from a GET /v1/racks answer: per cell its racks, use and position.
export function layout(r, widthPx) {
  const byPod = r.racks > RACK_CELLS_MAX;
  const cells = [];
  const label = 18;
  let y = 0;
  let size = 3;
  // The largest cell that keeps the map under ~640 px tall (at least 3 px).
  for (let s = 18; s >= 3; s--) {
    if (estimateHeight(r, widthPx, s, byPod, label) <= 640) { size = s; break; }
  }
  const gap = Math.max(2, Math.round(size / 2));
  for (const site of r.sites) {
    const labelY = y;
    y += label;
    const perPod = byPod ? 1 : site.racks_per_pod;
    const cols = byPod ? 1 : Math.min(4, perPod);
    const rows = Math.ceil(perPod / cols);
    const podW = cols * size + (cols - 1), podH = rows * size + (rows - 1);
    const podsPerRow = Math.max(1, Math.floor((widthPx + gap) / (podW + gap)));
    const npods = Math.ceil(site.racks / site.racks_per_pod);
    for (let p = 0; p < npods; p++) {
      const px = (p % podsPerRow) * (podW + gap), py = y + Math.floor(p / podsPerRow) * (podH + gap);
      const first = site.first_rack + p * site.racks_per_pod;
      const last = Math.min(first + site.racks_per_pod, site.first_rack + site.racks);
      if (byPod) {
        cells.push(cellOf(r, site, first, last, px, py, size, p + site.first_pod));
        continue;
      }
      for (let k = 0; first + k < last; k++) {
        const cx = px + (k % cols) * (size + 1), cy = py + Math.floor(k / cols) * (size + 1);
        cells.push(cellOf(r, site, first + k, first + k + 1, cx, cy, size, p + site.first_pod));
      }
    }
    y += Math.ceil(npods / podsPerRow) * (podH + gap);
    let gpus = 0, alloc = 0;
    for (let i = site.first_rack; i < site.first_rack + site.racks; i++) {
      gpus += r.gpus[i];
      alloc += r.gpus_alloc[i];
    }
    const n = (v) => v.toLocaleString('en-US');
    cells.push({ label: `${site.name}: ${n(site.racks)} racks, ${n(alloc)} of ${n(gpus)} GPUs in use`, x: 0, y: labelY });
  }
  return { cells, height: y, size, byPod };
}

function estimateHeight(r, w, size, byPod, label) {
  const gap = Math.max(2, Math.round(size / 2));
  let h = 0;
  for (const site of r.sites) {
    const perPod = byPod ? 1 : site.racks_per_pod;
    const cols = byPod ? 1 : Math.min(4, perPod), rows = Math.ceil(perPod / cols);
    const podW = cols * size + (cols - 1), podH = rows * size + (rows - 1);
    const podsPerRow = Math.max(1, Math.floor((w + gap) / (podW + gap)));
    h += label + Math.ceil(Math.ceil(site.racks / site.racks_per_pod) / podsPerRow) * (podH + gap);
  }
  return h;
}

function cellOf(r, site, first, last, x, y, size, pod) {
  let gpus = 0, alloc = 0, down = 0, power = null, temp = null;
  for (let i = first; i < last; i++) {
    gpus += r.gpus[i];
    alloc += r.gpus_alloc[i];
    down += r.nodes_down[i];
    // Readings (null where no node of the rack reported): the cell's draw and its hottest GPU.
    const w = r.power_w ? r.power_w[i] : null, t = r.temp_c ? r.temp_c[i] : null;
    if (w != null) power = (power || 0) + w;
    if (t != null) temp = Math.max(temp ?? t, t);
  }
  const nodes = (last - first) * site.nodes_per_rack;
  return { first, last, x, y, w: size, h: size, pod, gpus, alloc, down, nodes, use: gpus ? alloc / gpus : 0,
    power, temp };
}

// Draw lay (from layout) on canvas coloured by mode (a key of MODES); returns the milliseconds it
// it took, and counts in lay.painted the cells drawn with a value, with none (no reading) and down.
export function draw(canvas, lay, mode = 'use') {
  const unit = (MODES[mode] || MODES.use).unit;
  lay.painted = { value: 0, none: 0, down: 0 };
  const t0 = performance.now();
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 1200;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(lay.height * dpr);
  canvas.style.height = `${lay.height}px`;
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, cssW, lay.height);
  g.font = '12px system-ui, sans-serif';
  g.textBaseline = 'top';
  for (const c of lay.cells) {
    if (c.label) {
      g.fillStyle = '#8b97a5';
      g.fillText(c.label, c.x, c.y + 2);
      continue;
    }
    const allDown = c.down >= c.nodes;
    const u = unit(c);
    g.fillStyle = allDown ? DOWN : u == null ? NO_READING : useColour(u);
    lay.painted[allDown ? 'down' : u == null ? 'none' : 'value']++;
    g.fillRect(c.x, c.y, c.w, c.h);
    if (c.down > 0 && !allDown) {
      g.fillStyle = '#e06c75'; // some nodes down: a red corner
      g.fillRect(c.x, c.y, Math.max(2, c.w / 3), Math.max(2, c.h / 3));
    }
  }
  return performance.now() - t0;
}

// The cell under the point (x, y) in CSS pixels of the canvas, or null.
export function cellAt(lay, x, y) {
  for (const c of lay.cells)
    if (!c.label && x >= c.x && x < c.x + c.w && y >= c.y && y < c.y + c.h) return c;
  return null;
}
