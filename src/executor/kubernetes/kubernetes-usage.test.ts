/**
 * Pod usage on the Kubernetes executor (issue 11, point 3): read from metrics.k8s.io while tasks
 * run. The k8s rig has no metrics-server, so the metrics API here is the fake's
 * (test/support/fake-kube/metrics.ts), which serves what metrics-server would from the real
 * processes of each pod: a busy loop's CPU share and memory come from /proc, not from a script.
 * Without the API (the rig's case, and the fake's default) a run says once why it measures nothing.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { taskSpec, type Sandbox } from '../../../test/contract/executor-contract.js';
import { startFakeCluster } from '../../../test/support/fake-cluster.js';
import type { FakeKubeOptions, RbacRule } from '../../../test/support/fake-kube/index.js';
import { connect } from '../../cluster/connection.js';
import { KubeApi } from '../../cluster/kube-api.js';
import { KubernetesExecutor } from './kubernetes-executor.js';
import { parseKubernetesSettings } from './settings.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

let seq = 0;
async function setup(fake: FakeKubeOptions, settings: Record<string, unknown> = { usageIntervalSeconds: 1 }) {
  const cluster = await startFakeCluster({ fake });
  cleanups.push(() => cluster.close());
  const infos: string[] = [];
  const parsed = parseKubernetesSettings({ ...cluster.settings, ...settings }, 'test', 'tester');
  const api = new KubeApi(connect({ kubeconfig: cluster.kube.kubeconfigPath }), { requestsPerSecond: 1000, baseBackoffMs: 20 });
  const ex = new KubernetesExecutor(parsed, api, { info: (m) => infos.push(m), warn: (m) => infos.push(`warning: ${m}`) });
  cleanups.push(() => ex.shutdown());
  const dir = await mkdtemp(path.join(cluster.workspace, 'box-'));
  const box: Sandbox = { dir, workDir: path.join(dir, 'work'), tmpDir: path.join(dir, 'tmp'), logDir: path.join(dir, 'logs') };
  await mkdir(box.workDir);
  await mkdir(box.tmpDir);
  const runId = `usage-${process.pid}-${++seq}`;
  return { cluster, ex, infos, box, runId, api };
}

// About 3 s of one core, in one process (no children): the share the fake's /proc scrapes see.
const BUSY = ['sh', '-c', 'end=$(( $(date +%s) + 3 )); while [ "$(date +%s)" -lt "$end" ]; do :; done'];

describe('pod usage from metrics.k8s.io', () => {
  it("measures a busy task's CPU share and memory from the cluster's pod metrics", async () => {
    const h = await setup({ metrics: { scrapeIntervalMs: 300 } });
    const r = await h.ex.run(taskSpec(h.box, { runId: h.runId, stepPath: 'main/busy', argv: BUSY }), new AbortController().signal);
    expect(r.reason).toBe('completed');
    const u = r.usage!;
    expect(u).toBeDefined();
    expect(u.source).toBe('metrics.k8s.io');
    expect(u.samples).toBeGreaterThanOrEqual(1);
    expect(u.sampledSeconds).toBeGreaterThan(0);
    // A busy loop: most of a core over the windows seen (the machine may be shared: not all of it),
    // and never more than the one core one shell can use.
    const share = u.cpuSeconds / u.sampledSeconds!;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(1.3);
    expect(u.peakRssMiB).toBeGreaterThan(0);
    expect(u.peakRssMiB).toBeLessThan(200);
    expect(h.infos.filter((m) => /not measured/.test(m))).toEqual([]);
    // The executor read the run's pods by label, not the whole namespace.
    const reads = h.cluster.kube.requests.filter((q) => q.resource === 'pods.metrics.k8s.io');
    expect(reads.length).toBeGreaterThanOrEqual(1);
    expect(reads.every((q) => q.verb === 'list' && /strand\.dev\/run=/.test(q.query.labelSelector ?? ''))).toBe(true);
  });

  it('a task shorter than any scrape is not measured (no usage, never a made-up one)', async () => {
    const h = await setup({ metrics: { scrapeIntervalMs: 60_000 } });
    const r = await h.ex.run(taskSpec(h.box, { runId: h.runId, stepPath: 'main/quick', argv: ['true'] }), new AbortController().signal);
    expect(r.reason).toBe('completed');
    expect(r.usage).toBeUndefined();
  });

  it('a cluster without metrics-server: no usage, one line saying why, and no more reads', async () => {
    const h = await setup({});
    const spec = () => taskSpec(h.box, { runId: h.runId, stepPath: 'main/sleep', argv: ['sleep', '2.5'] });
    const [a, b] = await Promise.all([h.ex.run(spec(), new AbortController().signal), h.ex.run(spec(), new AbortController().signal)]);
    expect(a.reason).toBe('completed');
    expect(a.usage).toBeUndefined();
    expect(b.usage).toBeUndefined();
    expect(h.infos.filter((m) => /not measured/.test(m))).toEqual([
      `run ${h.runId}: task pods' CPU and memory are not measured in this run: the cluster has no metrics API (metrics.k8s.io: is metrics-server installed?)`,
    ]);
    expect(h.cluster.kube.requests.filter((q) => q.resource === 'pods.metrics.k8s.io').map((q) => q.status)).toEqual([404]);
  });

  it('no right to read pod metrics: the run goes on unmeasured and says which right is missing', async () => {
    const all: RbacRule = { apiGroups: ['', 'batch', 'authorization.k8s.io'], resources: ['*'], verbs: ['*'] };
    const h = await setup({ metrics: { scrapeIntervalMs: 300 }, rbac: [all] });
    const r = await h.ex.run(taskSpec(h.box, { runId: h.runId, stepPath: 'main/sleep', argv: ['sleep', '2'] }), new AbortController().signal);
    expect(r.reason).toBe('completed');
    expect(r.usage).toBeUndefined();
    expect(h.infos.some((m) => m.includes('not allowed to list pods.metrics.k8s.io'))).toBe(true);
    expect(h.cluster.kube.requests.filter((q) => q.resource === 'pods.metrics.k8s.io').map((q) => q.status)).toEqual([403]);
  });

  it('usageIntervalSeconds: 0 never reads the metrics API', async () => {
    const h = await setup({ metrics: { scrapeIntervalMs: 300 } }, { usageIntervalSeconds: 0 });
    const r = await h.ex.run(taskSpec(h.box, { runId: h.runId, stepPath: 'main/sleep', argv: ['sleep', '1.5'] }), new AbortController().signal);
    expect(r.reason).toBe('completed');
    expect(r.usage).toBeUndefined();
    expect(h.cluster.kube.requests.filter((q) => q.resource === 'pods.metrics.k8s.io')).toEqual([]);
  });
});
