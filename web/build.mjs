// build.mjs OUTDIR: the dashboard as nordlysd serves it. No bundler: the
// page is a few ES modules, and uPlot ships one (uPlot.esm.js), so the build
// is a copy of our sources and the two uPlot files into one flat directory
// (nordlysd serves a flat directory only; see src/ctld/ui.h).
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs OUTDIR');
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const files = [];
for (const f of readdirSync(join(here, 'src'))) files.push([join(here, 'src', f), f]);
const uplot = join(here, 'node_modules', 'uplot', 'dist');
files.push([join(uplot, 'uPlot.esm.js'), 'uPlot.esm.js'], [join(uplot, 'uPlot.min.css'), 'uPlot.min.css']);
// index.html last: its presence is what the build system waits for.
files.sort((a, b) => (a[1] === 'index.html') - (b[1] === 'index.html'));
for (const [from, name] of files) copyFileSync(from, join(out, name));
console.log(`build.mjs: ${files.length} files in ${out}`);
