#!/usr/bin/env node
// Run store at scale: fills a store with 10,000 runs and 100,000 task attempts (one big run of
// --big attempts, a 1-step scatter, the rest spread over the other runs), through the store's own
// write path (record + flush, as `strand run` writes), then times
//
//   dashboard pages  GET over HTTP from `strand ui`'s server (dist/src/ui/server.js): the run list
//                    (first page, a search, a status filter, a deep page), the big run's page
//                    (header, graph, per-node aggregates), its timeline (first and last page of
//                    attempts, one node), a task's details. Median and max of --repeat requests.
//   strand list      `node bin/strand.js list` over the 10,000 runs: the default 20 and -n 10000.
//
// Baseline, in the same script: the same pages and commands on a small store (10 runs, 100
// attempts), and `strand --version` for the process start. Ratios are big store / small store.
// Goals (issue 11): every page under 200 ms, `strand list` over 10,000 runs under 1 s.
//
// Usage: npm run build && node bench/store-bench.mjs [--runs 10000] [--attempts 100000] [--big 50000] [--repeat 15] [--keep] [--check]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 10_000);
const ATTEMPTS = arg('attempts', 100_000);
const BIG = arg('big', 50_000);
const REPEAT = arg('repeat', 15);
const KEEP = process.argv.includes('--keep');

const { openRunStore } = await import(join(ROOT, 'dist/src/store/run-store.js'));
const { startDashboard } = await import(join(ROOT, 'dist/src/ui/server.js'));

const T0 = Date.UTC(2026, 0, 1);
const at = (ms) => new Date(T0 + ms);
const graph = (root) => ({
  root,
  nodes: [
    { id: `in:${root}/items`, kind: 'input', label: 'items' },
    { id: `${root}/align`, kind: 'step', label: 'align', scatter: ['item'] },
    { id: `${root}/merge`, kind: 'step', label: 'merge' },
    { id: `out:${root}/out`, kind: 'output', label: 'out' },
  ],
  edges: [
    { from: `in:${root}/items`, to: `${root}/align` },
    { from: `${root}/align`, to: `${root}/merge` },
    { from: `${root}/merge`, to: `out:${root}/out` },
  ],
});

/** One run of `n` scatter tasks (every 7th fails once and is retried), written as `strand run` writes. */
function writeRun(store, runId, startMs, n, status) {
  store.createRun({ runId, processId: `file:///data/${runId % 3 ? 'align' : 'call'}.cwl#main`, documentPath: `/data/wf-${runId % 17}.cwl`, startedAt: at(startMs), executor: runId % 5 ? 'local' : 'kubernetes', owner: `user${runId % 7}`, graph: graph('main') });
  const id = String(runId).padStart(6, '0');
  const rid = `run-${id}`;
  store.record({ type: 'run_started', runId: rid, processId: 'main', at: at(startMs) });
  let written = 0;
  for (let k = 0; k < n && written < n; k++) {
    const tries = k % 7 === 3 && written + 2 <= n ? 2 : 1;
    for (let a = 1; a <= tries; a++) {
      const ref = { runId: rid, taskId: `main/align/${k}`, stepPath: `main/align/${k}`, attempt: a };
      const s = startMs + k * 10 + a;
      store.record({ type: 'task_queued', at: at(s), ...ref });
      store.record({ type: 'task_started', at: at(s + 1), workDir: `/w/${k}`, logDir: `/l/${k}/${a}`, argv: ['bwa', 'mem', `chunk${k}.fq`], resources: { cores: 1, ramMiB: 1024, tmpdirMiB: 1024, outdirMiB: 1024 }, ...ref });
      const fail = tries === 2 && a === 1;
      store.record({
        type: 'task_finished',
        at: at(s + 500),
        result: { reason: fail ? 'oom_killed' : 'completed', exitCode: fail ? null : 0, message: fail ? 'OOMKilled' : 'exited 0', startedAt: at(s + 1), finishedAt: at(s + 500), usage: { cpuSeconds: 0.4, peakRssMiB: 300, source: 'proc', samples: 2, sampledSeconds: 0.45 } },
        phase: fail ? 'failed' : 'succeeded',
        ...ref,
      });
      written++;
    }
    if (written % 5000 === 0) store.flush();
  }
  store.record({ type: 'run_finished', runId: rid, status, at: at(startMs + n * 10 + 1000) });
  return written;
}

function fill(dir, runs, attempts, big) {
  // createRun takes the id; the numbers are turned into `run-000123` by writeRun.
  const store = openRunStore(dir);
  const wrap = {
    createRun: (m) => store.createRun({ ...m, runId: `run-${String(m.runId).padStart(6, '0')}` }),
    record: (e) => store.record(e),
    flush: () => store.flush(),
  };
  const t = performance.now();
  let total = writeRun(wrap, 0, 0, Math.min(big, attempts), 'success');
  const rest = attempts - total;
  for (let r = 1; r < runs; r++) {
    const n = Math.floor(rest / (runs - 1)) + (r <= rest % (runs - 1) ? 1 : 0);
    total += writeRun(wrap, r, r * 60_000, n, r % 10 === 0 ? 'failed' : 'success');
  }
  store.flush();
  store.close();
  return { total, seconds: (performance.now() - t) / 1000 };
}

function get(url, token) {
  return new Promise((resolveGet, reject) => {
    const t = performance.now();
    http
      .get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        let bytes = 0;
        res.on('data', (c) => (bytes += c.length));
        res.on('end', () => (res.statusCode === 200 ? resolveGet({ ms: performance.now() - t, bytes }) : reject(new Error(`${url}: ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

async function timePages(dir, pages) {
  const dash = await startDashboard({ storeDir: dir, host: '127.0.0.1', port: 0 });
  const out = {};
  // The dashboard answers only with its access token (as a header: `/?token=` trades it for a cookie).
  const at = (p) => `${dash.origin}${p}`;
  try {
    for (const [name, p] of Object.entries(pages)) {
      // The first request is the cold one (the server keeps a run's state until the store changes).
      const cold = (await get(at(p), dash.token)).ms;
      const ms = [];
      let bytes = 0;
      for (let i = 0; i < REPEAT; i++) {
        const r = await get(at(p), dash.token);
        ms.push(r.ms);
        bytes = r.bytes;
      }
      ms.sort((a, b) => a - b);
      out[name] = { cold, median: ms[Math.floor(ms.length / 2)], max: ms[ms.length - 1], bytes };
    }
  } finally {
    await dash.close();
  }
  return out;
}

function timeCli(args, dir) {
  const ms = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/strand.js'), ...args], { env: { ...process.env, STRAND_STORE: dir }, encoding: 'utf8', maxBuffer: 64 << 20 });
    ms.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`strand ${args.join(' ')}: ${r.stderr}`);
  }
  ms.sort((a, b) => a - b);
  return ms[2];
}

const pages = (big) => ({
  'run list (first page)': '/api/runs?limit=50',
  'run list, search "wf-3"': '/api/runs?limit=50&q=wf-3',
  'run list, status failed': '/api/runs?limit=50&status=failed',
  'run list, page 100': '/api/runs?limit=50&offset=4950',
  'big run: graph + node states': '/api/runs/run-000000',
  'big run: timeline, first page': '/api/runs/run-000000/attempts?limit=200',
  'big run: timeline, last page': `/api/runs/run-000000/attempts?limit=200&offset=${Math.max(0, big - 200)}`,
  'big run: timeline of one node': '/api/runs/run-000000/attempts?limit=200&node=main/align&offset=1000',
  'big run: a task': '/api/runs/run-000000/task?task=main/align/3',
  'page itself (index.html)': '/',
});

const bigDir = mkdtempSync(join(tmpdir(), 'strand-store-bench-'));
const smallDir = mkdtempSync(join(tmpdir(), 'strand-store-bench-small-'));
try {
  console.log(`filling a store: ${RUNS} runs, ${ATTEMPTS} attempts (the big run: ${BIG}) ...`);
  const big = fill(bigDir, RUNS, ATTEMPTS, BIG);
  console.log(`  wrote ${big.total} attempts in ${big.seconds.toFixed(1)} s (${Math.round(big.total / big.seconds)} attempts/s through record + flush)`);
  const small = fill(smallDir, 10, 100, 10);
  const bigPages = await timePages(bigDir, pages(Math.min(BIG, ATTEMPTS)));
  const smallPages = await timePages(smallDir, pages(10));

  console.log(`\ndashboard pages (ms over HTTP: the first request, then median / max of ${REPEAT} more; baseline: the same page's median on a store of 10 runs, 100 attempts)`);
  console.log(`${'page'.padEnd(36)} ${'first'.padStart(8)} ${'median'.padStart(8)} ${'max'.padStart(8)} ${'baseline'.padStart(9)} ${'ratio'.padStart(7)} ${'KiB'.padStart(7)}  goal <200 ms`);
  let ok = true;
  for (const [name, r] of Object.entries(bigPages)) {
    const b = smallPages[name];
    const pass = Math.max(r.max, r.cold) < 200;
    ok &&= pass;
    console.log(`${name.padEnd(36)} ${r.cold.toFixed(1).padStart(8)} ${r.median.toFixed(1).padStart(8)} ${r.max.toFixed(1).padStart(8)} ${b.median.toFixed(1).padStart(9)} ${(r.median / b.median).toFixed(1).padStart(6)}x ${(r.bytes / 1024).toFixed(1).padStart(7)}  ${pass ? 'ok' : 'SLOW'}`);
  }
  const start = timeCli(['--version'], smallDir);
  const rows = [
    ['strand list (20 newest)', timeCli(['list'], bigDir), timeCli(['list'], smallDir)],
    ['strand list -n 10000', timeCli(['list', '-n', String(RUNS)], bigDir), timeCli(['list', '-n', String(RUNS)], smallDir)],
    ['strand list -n 10000 --json', timeCli(['list', '-n', String(RUNS), '--json'], bigDir), timeCli(['list', '-n', String(RUNS), '--json'], smallDir)],
  ];
  console.log(`\nstrand list (ms, wall time of the process, median of 5; strand --version: ${start.toFixed(0)} ms; baseline: the small store)`);
  for (const [name, ms, base] of rows) {
    const pass = ms < 1000;
    ok &&= pass;
    console.log(`${name.padEnd(36)} ${ms.toFixed(0).padStart(8)} ${base.toFixed(0).padStart(9)} ${(ms / base).toFixed(2).padStart(6)}x  over start ${(ms - start).toFixed(0).padStart(5)} ms  ${pass ? 'ok' : 'SLOW'} (goal <1000 ms)`);
  }
  console.log(ok ? '\nall goals met' : '\nSOME GOALS MISSED');
  // --check: exit 1 when a goal is missed (the figures depend on the machine and its load).
  if (process.argv.includes('--check') && !ok) process.exitCode = 1;
} finally {
  if (KEEP) console.log(`stores kept: ${bigDir} ${smallDir}`);
  else {
    rmSync(bigDir, { recursive: true, force: true });
    rmSync(smallDir, { recursive: true, force: true });
  }
}
