#!/usr/bin/env node
// Dashboard responsiveness while a run goes: opens the run page of a live run in headless
// Chromium (playwright-core, /usr/bin/chromium) and measures the page's main thread:
//
//   longest task   the longest main-thread task (PerformanceObserver 'longtask', over 50 ms)
//   busy           the sum of the long tasks while the run went
//   click delay    how long clicks (one every 250 ms, on the page's header) waited before the
//                  page's handler ran: performance.now() - event.timeStamp, median and max
//   feed           messages and bytes the page got over its event stream (CDP Network events)
//
// for two runs: a 120-step workflow (12 layers of 10 steps, each step reading two steps of the
// layer before, each a 0.3 s sleep) and a 2,000-task scatter of `true`.
//
// Usage: node bench/dashboard-bench.mjs [--root DIR] [--only steps|scatter] [--parallel N]
// --root: the Strand checkout to measure (built: dist/), default this one; run it once on a
// checkout of the code before a change and once on the change to compare.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const root = resolve(opt('root', join(here, '..')));
const only = opt('only', '');
const parallel = opt('parallel', '4');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!CHROMIUM) throw new Error('no chromium: apt-get install -y chromium');
if (!existsSync(join(root, 'dist', 'src', 'ui', 'server.js'))) throw new Error(`${root} is not built: npm run build there`);

/** 12 layers of 10 steps; a step of layer l reads steps w and w+1 of layer l-1. */
function stepsWorkflow(layers = 12, width = 10) {
  const tool = `
    run:
      class: CommandLineTool
      baseCommand: [sleep, '0.3']
      requirements: {InlineJavascriptRequirement: {}}
      inputs: {a: Any, b: Any}
      outputs: {o: {type: string, outputBinding: {outputEval: $("ok")}}}
    out: [o]`;
  const lines = ['cwlVersion: v1.2', 'class: Workflow', 'requirements: {InlineJavascriptRequirement: {}}', 'inputs: {seed: string}', 'outputs: []', 'steps:'];
  for (let l = 0; l < layers; l++) {
    for (let w = 0; w < width; w++) {
      const a = l === 0 ? 'seed' : `s${l - 1}_${w}/o`;
      const b = l === 0 ? 'seed' : `s${l - 1}_${(w + 1) % width}/o`;
      lines.push(`  s${l}_${w}:`, `    in: {a: ${a}, b: ${b}}`, tool);
    }
  }
  return lines.join('\n') + '\n';
}

const SCATTER = `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {xs: 'int[]'}
outputs: []
steps:
  t:
    scatter: x
    in: {x: xs}
    out: []
    run:
      class: CommandLineTool
      baseCommand: 'true'
      inputs: {x: int}
      outputs: []
`;

async function measure(name, doc, job) {
  const dir = mkdtempSync(join(tmpdir(), 'strand-dash-bench-'));
  const store = join(dir, 'store');
  writeFileSync(join(dir, 'wf.cwl'), doc);
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
  const { startDashboard } = await import(join(root, 'dist', 'src', 'ui', 'server.js'));
  const runId = `bench-${name}`;
  const child = spawn(process.execPath, [join(root, 'bin', 'strand.js'), 'run', '--quiet', '--cache', 'off', '--parallel', parallel, '--run-id', runId, '--outdir', join(dir, 'out'), join(dir, 'wf.cwl'), join(dir, 'job.json')], {
    env: { ...process.env, STRAND_STORE: store },
    stdio: 'ignore',
  });
  const ended = new Promise((r) => child.on('exit', r));
  // The store exists once the run starts.
  while (!existsSync(join(store, 'strand.db'))) await new Promise((r) => setTimeout(r, 50));
  const dash = await startDashboard({ storeDir: store, port: 0 });
  // And the run is in it once the engine has recorded it.
  const auth = { headers: { authorization: `Bearer ${dash.token}` } };
  while ((await fetch(`${dash.origin}/api/runs/${runId}`, auth)).status !== 200) await new Promise((r) => setTimeout(r, 50));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.addInitScript(() => {
    window.__long = [];
    window.__clicks = [];
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__long.push(e.duration);
    }).observe({ type: 'longtask', buffered: true });
    document.addEventListener('click', (e) => window.__clicks.push(performance.now() - e.timeStamp), true);
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const feed = { messages: 0, bytes: 0 };
  cdp.on('Network.eventSourceMessageReceived', (m) => {
    feed.messages++;
    feed.bytes += m.data.length;
  });
  const t0 = Date.now();
  await page.goto(dash.url);
  await page.goto(`${dash.origin}/#/runs/${runId}`);
  await page.locator('svg.graph').waitFor({ timeout: 120_000 });
  const shown = Date.now() - t0;
  let running = true;
  void ended.then(() => (running = false));
  let clicks = 0;
  while (running) {
    await page.mouse.click(700, 12);
    clicks++;
    await new Promise((r) => setTimeout(r, 250));
  }
  // One more second for the last changes to arrive.
  await new Promise((r) => setTimeout(r, 1500));
  const { long, delays } = await page.evaluate(() => ({ long: window.__long, delays: window.__clicks }));
  await browser.close();
  await dash.close();
  rmSync(dir, { recursive: true, force: true });
  const sorted = [...delays].sort((a, b) => a - b);
  return {
    run: name,
    'run (s)': ((Date.now() - t0) / 1000).toFixed(1),
    'page shown (ms)': shown,
    'longest task (ms)': Math.round(Math.max(0, ...long)),
    'busy (ms)': Math.round(long.reduce((s, v) => s + v, 0)),
    'click delay median (ms)': sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)]) : '-',
    'click delay max (ms)': sorted.length ? Math.round(sorted.at(-1)) : '-',
    'clicks answered': `${delays.length}/${clicks}`,
    'feed messages': feed.messages,
    'feed KiB': Math.round(feed.bytes / 1024),
  };
}

const rows = [];
if (only !== 'scatter') rows.push(await measure('120-steps', stepsWorkflow(), { seed: 'go' }));
if (only !== 'steps') rows.push(await measure('2000-scatter', SCATTER, { xs: Array.from({ length: 2000 }, (_, i) => i) }));
console.log(`dashboard responsiveness while the run goes (${root}, --parallel ${parallel})`);
console.table(rows);
