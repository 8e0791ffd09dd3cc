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
//
// On a real cluster: --kubeconfig FILE --config strand.yaml (its namespace and workspace; the k8s
// rig: /tmp/strand-rig/conf.yaml from test/e2e/rig.sh). Then the same script also runs the floor:
// one native Job with `completions: N` and the same pods at once (the smaller of --max-parallel and
// what the nodes hold), image and requests, and prints
// both times, the ratio, and Strand's API requests (and writes) per task.
//
// Either way the Kubernetes run is timed per task (STRAND_TASK_TIMINGS, src/engine/task-timings.ts):
// where a task's time went, from ready to its Job created, its pod seen running and exited, its
// outputs collected (bench/task-timings.mjs), printed after the figures.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { summarizeTimings } from './task-timings.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
};
const n = opt('--n', 1000);
const maxParallel = opt('--max-parallel', 32);
const sopt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const kubeconfig = sopt('--kubeconfig');
if (kubeconfig) {
  await realCluster(kubeconfig, sopt('--config'));
  process.exit(0);
}

const { startFakeCluster } = await import(join(root, 'dist/test/support/fake-cluster.js')).catch(() => {
  console.error('kubernetes bench: run `npm run build` first (dist/test/support/fake-cluster.js is missing)');
  process.exit(2);
});

const work = mkdtempSync(join(tmpdir(), 'strand-kbench-'));
const items = Array.from({ length: n }, (_, i) => `item-${String(i + 1).padStart(String(n).length, '0')}`);
const jobPath = join(work, 'job.json');
writeFileSync(jobPath, JSON.stringify({ items }));

// --cache off: the same items every time, and on a real cluster the task cache lives on the
// workspace, which outlives this script: with it on, a second run would time the cache.
function strand(extra, env, outdir, names = items, jobFile = jobPath) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(root, 'bin/strand.js'), 'run', '--quiet', '--no-record', '--cache', 'off', '--outdir', outdir, ...extra, join(here, 'scatter-echo.cwl'), jobFile], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) return reject(new Error(`strand exited ${code}: ${err.slice(-2000)}`));
      const files = readdirSync(outdir).filter((f) => f.endsWith('.txt')).length;
      if (files !== names.length) return reject(new Error(`expected ${n} output files, found ${files}`));
      resolveRun(ms);
    });
  });
}

const cluster = await startFakeCluster({ settings: { maxParallel, requestsPerSecond: 1000 } });
try {
  const localMs = await strand(['--executor', 'local'], { ...process.env, STRAND_CONFIG: '' }, join(work, 'out-local'));
  cluster.kube.resetRequestLog();
  const timings = join(work, 'timings.jsonl');
  const kubeMs = await strand(['--executor', 'kubernetes', '--max-parallel', String(maxParallel)], { ...cluster.env, STRAND_TASK_TIMINGS: timings }, join(work, 'out-k8s'));
  const counts = cluster.kube.requestCounts();
  const perTask = (k) => ((counts[k] ?? 0) / n).toFixed(3);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(`${n}-way scatter of echo, Kubernetes executor against the fake API server (max-parallel ${maxParallel})`);
  console.log(`  local executor        ${(localMs / 1000).toFixed(2)} s`);
  console.log(`  kubernetes executor   ${(kubeMs / 1000).toFixed(2)} s  (${(kubeMs / localMs).toFixed(2)}x local; ${(n / (kubeMs / 1000)).toFixed(0)} tasks/s)`);
  console.log(`  peak Jobs in flight   ${cluster.kube.peakActiveJobs}`);
  console.log(`  API requests          ${total} in all, ${(total / n).toFixed(3)} per task`);
  for (const k of Object.keys(counts).sort()) console.log(`    ${k.padEnd(32)} ${String(counts[k]).padStart(6)}  (${perTask(k)} per task)`);
  console.log(`kubernetes executor: ${summarizeTimings(timings, maxParallel).join('\n  ')}`);
} finally {
  await cluster.close();
  rmSync(work, { recursive: true, force: true });
}

/** Strand beside the native Job controller on a real cluster. */
async function realCluster(kubeconfigPath, configPath) {
  if (!configPath) {
    console.error('kubernetes bench: --kubeconfig needs --config strand.yaml (namespace, workspace, defaultImage)');
    process.exit(2);
  }
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const k8s = await import('@kubernetes/client-node');
  const cfg = parse(readFileSync(configPath, 'utf8')).kubernetes ?? {};
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const ns = cfg.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const image = cfg.defaultImage ?? 'debian:stable-slim';
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const work = mkdtempSync(join(tmpdir(), 'strand-kbench-'));
  const items = Array.from({ length: n }, (_, i) => `item-${String(i + 1).padStart(String(n).length, '0')}`);
  const jobPath = join(work, 'job.json');
  writeFileSync(jobPath, JSON.stringify({ items }));
  // The requests Strand gives scatter-echo.cwl's tool (CWL defaults: 1 core, 256 MiB, 1024 + 1024 MiB disk).
  const resources = { requests: { cpu: '1', memory: '256Mi', 'ephemeral-storage': '2048Mi' }, limits: { memory: '256Mi' } };

  // Native floor: one Job, completions n, with as many pods at once as Strand really runs: the
  // smaller of --max-parallel and the pods of these requests the Ready nodes hold (Strand's
  // admission submits no more than that). A Job with parallelism 32 on the rig's 2-CPU node made
  // 30 pods wait Pending, and Kubernetes 1.20's scheduler parks a pod that did not fit (backoff,
  // then its unschedulable queue, flushed every 60 s) while others take each core that frees:
  // the "floor" took 126.9 s for 30 echoes, Strand 42.4 s (2026-12-07). That timed the
  // scheduler's queue, not the work both do.
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const { nodeRooms } = await import(join(root, 'dist/src/executor/kubernetes/capacity.js'));
  const rooms = nodeRooms((await core.listNode()).items, { nodeSelector: cfg.nodeSelector ?? {}, tolerations: cfg.tolerations ?? [] });
  const fits = rooms.reduce((a, r) => a + Math.min(Math.floor(r.cpuMilli / 1000), Math.floor(r.memMiB / 256), r.pods), 0);
  const parallelism = Math.max(1, Math.min(maxParallel, fits));
  const name = `strand-bench-native-${Date.now().toString(36)}`;
  const t0 = performance.now();
  await batch.createNamespacedJob({
    namespace: ns,
    body: {
      metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'strand-bench' } },
      spec: {
        completions: n,
        parallelism,
        backoffLimit: 0,
        template: { spec: { restartPolicy: 'Never', enableServiceLinks: false, containers: [{ name: 'echo', image, command: ['sh', '-c', 'echo "$0"', 'x'], resources }] } },
      },
    },
  });
  for (;;) {
    const j = await batch.readNamespacedJobStatus({ name, namespace: ns });
    const done = (j.status?.conditions ?? []).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    if (done) {
      if (done.type === 'Failed') throw new Error(`native Job ${name} failed: ${done.message}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 200)); // the floor's own polling: 5 reads/s, not counted for Strand
  }
  const nativeMs = performance.now() - t0;
  await batch.deleteNamespacedJob({ name, namespace: ns, propagationPolicy: 'Background' });

  const statsFile = join(work, 'api-stats.json');
  const strandMs = await strand(
    ['--executor', 'kubernetes', '--config', configPath, '--max-parallel', String(maxParallel)],
    { ...process.env, KUBECONFIG: kubeconfigPath, STRAND_KUBE_API_STATS: statsFile, STRAND_TASK_TIMINGS: join(work, 'timings.jsonl') },
    join(work, 'out-k8s'),
    items,
    jobPath,
  );
  const stats = JSON.parse(readFileSync(statsFile, 'utf8'));
  const req = stats.requests;
  const total = Object.values(req).reduce((a, b) => a + b, 0);
  const writes = ['create', 'delete', 'patch', 'replace', 'update'].reduce((a, v) => a + (req[v] ?? 0), 0);
  console.log(`${n}-way scatter of echo on the cluster of ${kubeconfigPath} (namespace ${ns}, image ${image}, requests cpu 1 / memory 256Mi)`);
  console.log(`  pods at once                    ${parallelism} (--max-parallel ${maxParallel}; the nodes hold ${fits} such pods)`);
  console.log(`  native Job (completions ${n}, parallelism ${parallelism})   ${(nativeMs / 1000).toFixed(2)} s`);
  console.log(`  strand --executor kubernetes    ${(strandMs / 1000).toFixed(2)} s`);
  console.log(`  ratio                           ${(strandMs / nativeMs).toFixed(2)}x the native floor (target <= 1.1x)`);
  console.log(`  Strand API requests             ${total} in all (${(total / n).toFixed(2)} per task); writes ${writes} (${(writes / n).toFixed(2)} per task, target <= 1.1)`);
  console.log(`    by verb: ${JSON.stringify(req)}; retries ${stats.retries}; executor ${JSON.stringify(stats.executor)}`);
  console.log(`strand: ${summarizeTimings(join(work, 'timings.jsonl'), parallelism).join('\n  ')}`);
  rmSync(work, { recursive: true, force: true });
}
