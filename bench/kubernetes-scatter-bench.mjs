#!/usr/bin/env node
// Kubernetes executor benchmark: `strand run --executor kubernetes` of scatter-echo.cwl (one
// Job per item) against the fake API server of test/support/fake-kube, whose kubelet runs each
// pod as a local process on the workspace path. Strand runs as its own process, talking to the
// server over HTTP like it would to a cluster; the fake server runs in this process.
//
// It prints the wall time beside the same workflow on the local executor, the API requests per
// task (creates, deletes, lists, watches, log reads) and the peak number of Jobs in flight.
//
// Usage: npm run build && node bench/kubernetes-scatter-bench.mjs [--n 1000] [--max-parallel 32]

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const n = opt('--n', 1000);
const maxParallel = opt('--max-parallel', 32);

const { startFakeCluster } = await import(join(root, 'dist/test/support/fake-cluster.js')).catch(() => {
  console.error('kubernetes bench: run `npm run build` first (dist/test/support/fake-cluster.js is missing)');
  process.exit(2);
});

const work = mkdtempSync(join(tmpdir(), 'strand-kbench-'));
const items = Array.from({ length: n }, (_, i) => `item-${String(i + 1).padStart(String(n).length, '0')}`);
const jobPath = join(work, 'job.json');
writeFileSync(jobPath, JSON.stringify({ items }));

function strand(extra, env, outdir) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin/strand.js'), 'run', '--quiet', '--no-record', '--outdir', outdir, ...extra, join(here, 'scatter-echo.cwl'), jobPath], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`strand exited ${code}: ${err.slice(-2000)}`));
      const files = readdirSync(outdir).filter((f) => f.endsWith('.txt')).length;
      if (files !== n) return reject(new Error(`expected ${n} output files, found ${files}`));
      resolveRun(ms);
    });
  });
}

const cluster = await startFakeCluster({ settings: { maxParallel, requestsPerSecond: 1000 } });
try {
  const localMs = await strand(['--executor', 'local'], { ...process.env, STRAND_CONFIG: '' }, join(work, 'out-local'));
  cluster.kube.resetRequestLog();
  const kubeMs = await strand(['--executor', 'kubernetes', '--max-parallel', String(maxParallel)], cluster.env, join(work, 'out-k8s'));
  const counts = cluster.kube.requestCounts();
  const perTask = (k) => ((counts[k] ?? 0) / n).toFixed(3);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(`${n}-way scatter of echo, Kubernetes executor against the fake API server (max-parallel ${maxParallel})`);
  console.log(`  local executor        ${(localMs / 1000).toFixed(2)} s`);
  console.log(`  kubernetes executor   ${(kubeMs / 1000).toFixed(2)} s  (${(kubeMs / localMs).toFixed(2)}x local; ${(n / (kubeMs / 1000)).toFixed(0)} tasks/s)`);
  console.log(`  peak Jobs in flight   ${cluster.kube.peakActiveJobs}`);
  console.log(`  API requests          ${total} in all, ${(total / n).toFixed(3)} per task`);
  for (const k of Object.keys(counts).sort()) console.log(`    ${k.padEnd(32)} ${String(counts[k]).padStart(6)}  (${perTask(k)} per task)`);
} finally {
  await cluster.close();
  rmSync(work, { recursive: true, force: true });
}
