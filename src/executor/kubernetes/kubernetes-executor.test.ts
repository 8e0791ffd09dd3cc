/**
 * Failure modes of the Kubernetes executor, against the fake API server (test/support/fake-kube):
 * image pull errors, OOM kills, evictions, deleted pods, node loss, unschedulable pods, quotas,
 * admission, watch outages, API faults, cancellation, cleanup, adoption, deadlines, and the number
 * of API requests per task.
 *
 * Nothing here asserts on durations: waits poll for a condition with a generous deadline that only
 * guards against a hang. Every test gets its own fake cluster and run id.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { taskSpec, waitUntil, type Sandbox } from '../../../test/contract/executor-contract.js';
import { startFakeCluster, type FakeCluster } from '../../../test/support/fake-cluster.js';
import type { FakeKubeOptions, KubeObject } from '../../../test/support/fake-kube/index.js';
import type { TaskResult, TaskSpec } from '../executor.js';
import { connect } from '../../cluster/connection.js';
import { KubeApi } from '../../cluster/kube-api.js';
import { KubernetesExecutor } from './kubernetes-executor.js';
import { LABELS, anchorName, jobName, labelValue } from '../../cluster/names.js';
import { parseKubernetesSettings } from './settings.js';

const LONG = 60_000;
const never = () => new AbortController().signal;

interface Harness {
  cluster: FakeCluster;
  ns: string;
  runId: string;
  ex: KubernetesExecutor;
  notes: string[];
  warnings: string[];
  box: Sandbox;
  /** Another executor against the same cluster (a second Strand process). */
  make(): KubernetesExecutor;
  spec(over: Partial<TaskSpec> & { argv: string[] }): TaskSpec;
  core: CoreV1Api;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

let runSeq = 0;

async function setup(o: { settings?: Record<string, unknown>; fake?: FakeKubeOptions; beforeRun?: (h: { core: CoreV1Api; ns: string }) => Promise<void> } = {}): Promise<Harness> {
  const cluster = await startFakeCluster({ fake: { kubeletBackoffMs: 50, createRetryMs: 50, ...o.fake }, ...(o.settings ? { settings: o.settings } : {}) });
  cleanups.push(() => cluster.close());
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kube.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const ns = cluster.kube.namespace;
  if (o.beforeRun) await o.beforeRun({ core, ns });
  const notes: string[] = [];
  const warnings: string[] = [];
  const make = () => {
    const settings = parseKubernetesSettings(cluster.settings, 'test', 'tester');
    const api = new KubeApi(connect({ kubeconfig: cluster.kube.kubeconfigPath }), { requestsPerSecond: settings.requestsPerSecond, baseBackoffMs: 20 });
    const ex = new KubernetesExecutor(settings, api, {
      quotaRetryMs: 50,
      note: (_task, msg) => notes.push(msg),
      warn: (msg) => warnings.push(msg),
    });
    cleanups.push(() => ex.shutdown());
    return ex;
  };
  const dir = await mkdtemp(path.join(cluster.workspace, 'box-'));
  const box: Sandbox = { dir, workDir: path.join(dir, 'work'), tmpDir: path.join(dir, 'tmp'), logDir: path.join(dir, 'logs') };
  await mkdir(box.workDir);
  await mkdir(box.tmpDir);
  const runId = `fm-${process.pid}-${++runSeq}`;
  return {
    cluster,
    ns,
    runId,
    ex: make(),
    notes,
    warnings,
    box,
    make,
    core,
    spec: (over) => taskSpec(box, { runId, stepPath: 'main/fm_step', ...over }),
  };
}

interface PodLike extends KubeObject {
  status?: { phase?: string; conditions?: Array<{ type: string; status: string; reason?: string }> };
  spec?: { containers?: Array<{ resources?: { limits?: Record<string, string> } }> };
}
interface JobLike extends KubeObject {
  spec?: { activeDeadlineSeconds?: number; template?: { spec?: { containers?: Array<{ resources?: { limits?: Record<string, string> } }> } } };
}

function podsOf(h: Harness, job: string): PodLike[] {
  return h.cluster.kube.listObjects('pods', h.ns).filter((p) => p.metadata.labels?.['job-name'] === job) as PodLike[];
}

function runObjects(h: Harness, plural: string): KubeObject[] {
  return h.cluster.kube.listObjects(plural, h.ns).filter((o) => o.metadata.labels?.[LABELS.run] === labelValue(h.runId));
}

/** The running pod of `job` whose container process is up. */
async function runningPod(h: Harness, job: string): Promise<string> {
  let name: string | undefined;
  await waitUntil(
    () => {
      name = podsOf(h, job).find((p) => p.status?.phase === 'Running' && h.cluster.kube.containerPid(h.ns, p.metadata.name!) !== undefined)?.metadata.name;
      return name !== undefined;
    },
    `a running pod of Job ${job}`,
    LONG / 2,
  );
  return name!;
}

async function exists(p: string): Promise<boolean> {
  return readFile(p).then(
    () => true,
    () => false,
  );
}

/** A task that waits for `go` in its work dir (so the test decides when it ends), then writes out.txt. */
const waitForGo = (marker = 'started') => ['sh', '-c', `touch ${marker}; while [ ! -e go ]; do sleep 0.05; done; echo done > out.txt`];

describe('KubernetesExecutor failure modes (fake API server)', () => {
  describe('image pull failures', () => {
    const cases: Array<{ kind: 'ErrImagePull' | 'ImagePullBackOff' | 'InvalidImageName'; kubelet: RegExp }> = [
      { kind: 'ErrImagePull', kubelet: /no-such-tool:1\.0: not found/ },
      { kind: 'ImagePullBackOff', kubelet: /no-such-tool:1\.0: not found|Back-off pulling image/ },
      { kind: 'InvalidImageName', kubelet: /invalid reference format/ },
    ];
    for (const c of cases) {
      it(`${c.kind}: image_unavailable naming the step, pod, image and the kubelet's message; the Job is deleted`, async () => {
        const h = await setup();
        const image = 'registry.example.org/strand/no-such-tool:1.0';
        h.cluster.kube.imagePullFails(image, c.kind);
        const spec = h.spec({ argv: ['echo', 'never'], image });
        let started = 0;
        const r = await h.ex.run(spec, never(), () => started++);
        const job = jobName(h.runId, spec.taskId, 1);
        expect(r.reason).toBe('image_unavailable');
        expect(r.exitCode).toBeNull();
        expect(r.message).toContain('main/fm_step');
        expect(r.message).toContain(image);
        expect(r.message).toMatch(new RegExp(`pod ${job}-[a-z0-9]+`));
        expect(r.message).toMatch(c.kubelet);
        // One short line: the kubelet's innermost cause, not its nested rpc error.
        expect(r.message).not.toContain('rpc error');
        expect(r.message.length).toBeLessThan(300);
        expect(started).toBe(0);
        await waitUntil(() => h.cluster.kube.getObject('jobs', h.ns, job) === undefined && podsOf(h, job).length === 0, `Job ${job} and its pod to be deleted`);
      });
    }
  });

  describe('OOMKilled', () => {
    it('retries with doubled memory (200 -> 400 -> 800 MiB) and succeeds', async () => {
      const h = await setup();
      h.cluster.kube.oomKillBelow(512);
      const spec = h.spec({ argv: ['sh', '-c', 'echo fits > out.txt'], resources: { cores: 0.1, ramMiB: 200, tmpdirMiB: 1, outdirMiB: 1 } });
      const r = await h.ex.run(spec, never());
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(await readFile(path.join(h.box.workDir, 'out.txt'), 'utf8')).toBe('fits\n');
      const limits = [1, 2, 3].map((a) => {
        const job = h.cluster.kube.getObject('jobs', h.ns, jobName(h.runId, spec.taskId, a)) as JobLike | undefined;
        return job?.spec?.template?.spec?.containers?.[0]?.resources?.limits?.['memory'];
      });
      expect(limits).toEqual(['200Mi', '400Mi', '800Mi']);
      // The result names where the last try ran, for the run store (dashboard, trace native_id).
      expect(r.native).toEqual({ job: jobName(h.runId, spec.taskId, 3), pod: expect.stringContaining(jobName(h.runId, spec.taskId, 3)), node: 'fake-node' });
      expect(h.ex.stats.retries).toBe(2);
      expect(h.cluster.kube.requestCounts()['create jobs']).toBe(3);
      expect(h.notes.some((w) => /OOMKilled .*200Mi.*retrying with 400Mi/.test(w))).toBe(true);
    });

    it('tries the --max-memory cap itself when doubling would pass it, then ends oom_killed naming it', async () => {
      const h = await setup({ settings: { maxMemory: '300Mi' } });
      h.cluster.kube.oomKillBelow(512);
      const spec = h.spec({ argv: ['echo', 'hi'], resources: { cores: 0.1, ramMiB: 200, tmpdirMiB: 1, outdirMiB: 1 } });
      const r = await h.ex.run(spec, never());
      expect(r.reason).toBe('oom_killed');
      expect(r.exitCode).toBeNull();
      expect(r.message).toContain('--max-memory');
      expect(r.message).toContain('OOMKilled at 300Mi');
      expect(r.message).toContain('main/fm_step');
      expect(h.notes.join('\n')).toContain('retrying with 300Mi (the --max-memory cap)');
    });

    it('succeeds at the --max-memory cap when doubling would pass it (200 -> 400 -> 600 MiB)', async () => {
      const h = await setup({ settings: { maxMemory: '600Mi' } });
      h.cluster.kube.oomKillBelow(512);
      const spec = h.spec({ argv: ['echo', 'hi'], resources: { cores: 0.1, ramMiB: 200, tmpdirMiB: 1, outdirMiB: 1 } });
      const r = await h.ex.run(spec, never());
      expect(r.reason, r.message).toBe('completed');
      expect(r.exitCode).toBe(0);
      expect(h.notes.join('\n')).toContain('retrying with 600Mi (the --max-memory cap)');
    });
  });

  describe('pods that go away', () => {
    /** First attempt: marks itself and waits; a retry finds the mark and succeeds. */
    const retryable = ['sh', '-c', 'if [ -e first ]; then echo retried > out.txt; exit 0; fi; touch first; exec sleep 60'];

    it.each([
      ['an evicted pod', 'evict', 'evicted'],
      ['a pod deleted by someone else', 'delete', 'deleted'],
    ] as const)('%s is retried in a new Job and the task completes', async (_what, how, noteWord) => {
      const h = await setup();
      const spec = h.spec({ argv: retryable });
      const p = h.ex.run(spec, never());
      const job1 = jobName(h.runId, spec.taskId, 1);
      const pod = await runningPod(h, job1);
      await waitUntil(() => exists(path.join(h.box.workDir, 'first')), 'the first attempt to start');
      if (how === 'evict') h.cluster.kube.evictPod(pod);
      else h.cluster.kube.deletePod(pod);
      const r = await p;
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(await readFile(path.join(h.box.workDir, 'out.txt'), 'utf8')).toBe('retried\n');
      expect(h.ex.stats.retries).toBe(1);
      expect(h.cluster.kube.getObject('jobs', h.ns, jobName(h.runId, spec.taskId, 2))).toBeDefined();
      expect(h.notes.some((w) => w.includes(noteWord) && w.includes(pod))).toBe(true);
    });

    it('a task whose node is lost is retried and completes once a node is back', async () => {
      const h = await setup({ fake: { nodeLossEvictionMs: 200 } });
      const spec = h.spec({ argv: retryable });
      const p = h.ex.run(spec, never());
      const job1 = jobName(h.runId, spec.taskId, 1);
      await runningPod(h, job1);
      await waitUntil(() => exists(path.join(h.box.workDir, 'first')), 'the first attempt to start');
      h.cluster.kube.loseNode();
      // The retry's pod cannot be scheduled while the node is unreachable.
      const job2 = jobName(h.runId, spec.taskId, 2);
      await waitUntil(() => podsOf(h, job2).length > 0, `the retry Job ${job2} to have a pod`);
      h.cluster.kube.restoreNode();
      const r = await p;
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(await readFile(path.join(h.box.workDir, 'out.txt'), 'utf8')).toBe('retried\n');
      expect(h.ex.stats.retries).toBe(1);
      expect(h.notes.some((w) => w.includes('lost'))).toBe(true);
    });
  });

  describe('unschedulable pods', () => {
    const MSG = '0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..';

    it('with pendingTimeoutSeconds: notes the scheduler message, then ends unschedulable and deletes the Job', async () => {
      const h = await setup({ settings: { pendingTimeoutSeconds: 1 } });
      h.cluster.kube.unschedulable(() => true, MSG);
      const spec = h.spec({ argv: ['echo', 'never'] });
      let started = 0;
      const r = await h.ex.run(spec, never(), () => started++);
      const job = jobName(h.runId, spec.taskId, 1);
      expect(r.reason).toBe('unschedulable');
      expect(r.message).toMatch(new RegExp(`pod ${job}-[a-z0-9]+`));
      expect(r.message).toContain(MSG);
      expect(started).toBe(0);
      expect(h.notes.some((n) => n.includes('main/fm_step') && n.includes('cannot be scheduled') && n.includes(MSG))).toBe(true);
      // The pending pod must not be scheduled later and run a task Strand already reported as failed.
      await waitUntil(() => h.cluster.kube.getObject('jobs', h.ns, job) === undefined && podsOf(h, job).length === 0, `Job ${job} to be deleted`);
    });

    it('without a pending timeout: keeps waiting, and completes once the pod can be scheduled', async () => {
      const h = await setup();
      h.cluster.kube.unschedulable(() => true, MSG);
      const spec = h.spec({ argv: ['sh', '-c', 'echo scheduled > out.txt'] });
      let settled: TaskResult | undefined;
      const p = h.ex.run(spec, never()).then((r) => (settled = r));
      await waitUntil(() => h.notes.some((n) => n.includes(MSG)), 'the unschedulable note');
      await new Promise((r) => setTimeout(r, 1500));
      expect(settled).toBeUndefined();
      h.cluster.kube.clearFaults();
      const r = await p;
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(await readFile(path.join(h.box.workDir, 'out.txt'), 'utf8')).toBe('scheduled\n');
    });
  });

  describe('ResourceQuota', () => {
    const quota = (name: string, hard: Record<string, string>) => async ({ core, ns }: { core: CoreV1Api; ns: string }) => {
      await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name }, spec: { hard } } });
    };

    it('pods: 2 — ten tasks all complete, never more than two Jobs active', async () => {
      const h = await setup({ beforeRun: quota('two-pods', { pods: '2' }) });
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => h.ex.run(h.spec({ argv: ['sh', '-c', `sleep 0.2; echo ${i} > out-${i}.txt`] }), never())));
      expect(results.map((r) => r.reason)).toEqual(Array(10).fill('completed'));
      expect(h.cluster.kube.peakActiveJobs).toBeLessThanOrEqual(2);
      expect(h.ex.admission.peak).toBeLessThanOrEqual(2);
    });

    it('count/jobs.batch: 3 — ten tasks all complete (quota refusals are waited out)', async () => {
      const h = await setup({ beforeRun: quota('three-jobs', { 'count/jobs.batch': '3' }) });
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => h.ex.run(h.spec({ argv: ['sh', '-c', `echo ${i} > out-${i}.txt`] }), never())));
      expect(results.map((r) => r.reason)).toEqual(Array(10).fill('completed'));
      expect(h.cluster.kube.peakActiveJobs).toBeLessThanOrEqual(3);
      console.log(`count/jobs.batch quota: quotaWaits=${h.ex.stats.quotaWaits}`);
    });

    it('requests.cpu: 2 — eight 1-CPU tasks complete two at a time; a 4-CPU task ends unschedulable naming the quota', async () => {
      const h = await setup({ beforeRun: quota('cpu-two', { 'requests.cpu': '2', 'requests.memory': '1Gi' }) });
      const res = { cores: 1, ramMiB: 64, tmpdirMiB: 1, outdirMiB: 1 };
      const results = await Promise.all(Array.from({ length: 8 }, () => h.ex.run(h.spec({ argv: ['sleep', '0.2'], resources: res }), never())));
      expect(results.map((r) => r.reason)).toEqual(Array(8).fill('completed'));
      expect(h.cluster.kube.peakActiveJobs).toBeLessThanOrEqual(2);
      const big = await h.ex.run(h.spec({ argv: ['echo', 'big'], resources: { ...res, cores: 4 } }), never());
      expect(big.reason).toBe('unschedulable');
      expect(big.message).toContain('ResourceQuota cpu-two');
      expect(big.message).toContain('main/fm_step');
    });
  });

  describe('ResourceQuota on limits', () => {
    it('limits.memory: 512Mi — a task whose memory limit can never fit ends unschedulable instead of waiting for ever', async () => {
      const h = await setup({
        beforeRun: async ({ core, ns }) => {
          await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: 'mem-limits' }, spec: { hard: { 'limits.memory': '512Mi' } } } });
        },
      });
      const small = await h.ex.run(h.spec({ argv: ['echo', 'small'], resources: { cores: 0.1, ramMiB: 256, tmpdirMiB: 1, outdirMiB: 1 } }), never());
      expect(small).toMatchObject({ reason: 'completed', exitCode: 0 });
      const big = await h.ex.run(h.spec({ argv: ['echo', 'big'], resources: { cores: 0.1, ramMiB: 100, ramMaxMiB: 1024, tmpdirMiB: 1, outdirMiB: 1 } }), never());
      expect(big.reason).toBe('unschedulable');
      expect(big.message).toContain('ResourceQuota mem-limits');
      expect(big.message).toContain('limits.memory');
    });
  });

  it('admission: maxParallel 3 and 20 tasks — never more than 3 Jobs active, all complete', async () => {
    const h = await setup({ settings: { maxParallel: 3 } });
    const results = await Promise.all(Array.from({ length: 20 }, () => h.ex.run(h.spec({ argv: ['sleep', '0.1'] }), never())));
    expect(results.map((r) => r.reason)).toEqual(Array(20).fill('completed'));
    expect(h.cluster.kube.peakActiveJobs).toBeLessThanOrEqual(3);
    expect(h.cluster.kube.requestCounts()['create jobs']).toBe(20);
  });

  describe('watch outages', () => {
    async function outage(compact: boolean) {
      const h = await setup();
      const n = 6;
      let started = 0;
      const specs = Array.from({ length: n }, () => h.spec({ argv: waitForGo() }));
      const all = Promise.all(specs.map((s) => h.ex.run(s, never(), () => started++)));
      await waitUntil(() => started === n, 'all tasks to start', LONG / 2);
      h.cluster.kube.dropWatches();
      // The tasks end while nobody watches.
      await writeFile(path.join(h.box.workDir, 'go'), '');
      await waitUntil(() => h.cluster.kube.activeJobs() === 0, 'all Jobs to finish');
      if (compact) h.cluster.kube.compactHistory();
      const results = await all;
      expect(results.map((r) => r.reason)).toEqual(Array(n).fill('completed'));
      expect(h.warnings.some((w) => w.includes('watch of run') && w.includes('reconnecting'))).toBe(true);
    }
    it('dropped watches mid-run: the watch restarts and every task completes', () => outage(false), LONG);
    it('dropped watches and compacted history (410 on resume): relists and every task completes', () => outage(true), LONG);
  });

  describe('API faults', () => {
    it('503 on five Job creates: retried, the task completes', async () => {
      const h = await setup();
      h.cluster.kube.failRequests({ status: 503, count: 5, match: { verb: 'create', resource: 'jobs' } });
      const r = await h.ex.run(h.spec({ argv: ['echo', 'ok'] }), never());
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(h.cluster.kube.requests.filter((q) => q.verb === 'create' && q.resource === 'jobs' && q.status === 503)).toHaveLength(5);
    });

    it('429 on Job creates and on the anchor: retried (Retry-After honoured), tasks complete', async () => {
      const h = await setup();
      h.cluster.kube.failRequests({ status: 429, count: 1, match: { verb: 'create', resource: 'configmaps' }, retryAfterSeconds: 1 });
      h.cluster.kube.failRequests({ status: 429, count: 2, match: { verb: 'create', resource: 'jobs' }, retryAfterSeconds: 1 });
      const results = await Promise.all([0, 1, 2].map(() => h.ex.run(h.spec({ argv: ['echo', 'ok'] }), never())));
      expect(results.map((r) => r.reason)).toEqual(['completed', 'completed', 'completed']);
      expect(h.cluster.kube.requests.filter((q) => q.status === 429)).toHaveLength(3);
    });

    it('500 on the first lists of pods: retried, the run watch starts and the task completes', async () => {
      const h = await setup();
      h.cluster.kube.failRequests({ status: 500, count: 2, match: { verb: 'list', resource: 'pods' } });
      const r = await h.ex.run(h.spec({ argv: ['echo', 'ok'] }), never());
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
    });
  });

  it('cancellation: result cancelled; the Job, its pod and its process are gone', async () => {
    const h = await setup();
    const spec = h.spec({ argv: ['sleep', '100'] });
    const ctl = new AbortController();
    let started = 0;
    const p = h.ex.run(spec, ctl.signal, () => started++);
    const job = jobName(h.runId, spec.taskId, 1);
    const pod = await runningPod(h, job);
    const pid = h.cluster.kube.containerPid(h.ns, pod)!;
    expect(h.cluster.kube.runningPids()).toContain(pid);
    await waitUntil(() => started === 1, 'the executor to see the task start');
    ctl.abort();
    const r = await p;
    expect(r.reason).toBe('cancelled');
    expect(r.exitCode).toBeNull();
    expect(started).toBe(1);
    // Seen once under heavy load: the Job still there after 30 s (cause not found). A delete that
    // failed is now a warning: shown here if it happens again.
    await waitUntil(() => h.cluster.kube.getObject('jobs', h.ns, job) === undefined && podsOf(h, job).length === 0, `Job ${job} and its pod to be gone`).catch((err: Error) => {
      throw new Error(`${err.message}; result: ${r.message}; executor warnings: ${h.warnings.join(' | ') || 'none'}`);
    });
    expect(h.cluster.kube.runningPids()).not.toContain(pid);
  });

  describe('shutdown cleanup', () => {
    it('after tasks cancelled by their own signal (the engine waits for them, then shuts down): no Job or pod is left once shutdown resolves (Ctrl-C)', async () => {
      const h = await setup();
      const ctl = new AbortController();
      // Tools that take a second to stop after TERM, as real pods take seconds to terminate.
      const specs = [0, 1].map(() => h.spec({ argv: ['sh', '-c', 'trap "sleep 1; exit 143" TERM; sleep 100 & wait'] }));
      const running = specs.map((sp) => h.ex.run(sp, ctl.signal));
      for (const sp of specs) await runningPod(h, jobName(h.runId, sp.taskId, 1));
      ctl.abort();
      expect((await Promise.all(running)).map((r) => r.reason)).toEqual(['cancelled', 'cancelled']);
      await h.ex.shutdown();
      expect(runObjects(h, 'jobs')).toEqual([]);
      expect(runObjects(h, 'pods')).toEqual([]);
    });

    for (const oldCluster of [false, true]) {
      it(`deletes every Job, pod and the anchor of the run${oldCluster ? ' (cluster ignores ttlSecondsAfterFinished)' : ''}`, async () => {
        const h = await setup(oldCluster ? { fake: { ignoreTtlSecondsAfterFinished: true }, settings: { ttlSecondsAfterFinished: 1 } } : {});
        const done = await Promise.all([0, 1, 2].map(() => h.ex.run(h.spec({ argv: ['echo', 'x'] }), never())));
        expect(done.map((r) => r.reason)).toEqual(['completed', 'completed', 'completed']);
        const longSpec = h.spec({ argv: ['sleep', '100'] });
        const running = h.ex.run(longSpec, never());
        await runningPod(h, jobName(h.runId, longSpec.taskId, 1));
        if (oldCluster) await new Promise((r) => setTimeout(r, 1200)); // past the TTL the cluster ignores
        expect(runObjects(h, 'jobs').length).toBe(4);
        await h.ex.shutdown();
        expect((await running).reason).toBe('cancelled');
        expect(runObjects(h, 'jobs')).toEqual([]);
        expect(runObjects(h, 'pods')).toEqual([]);
        await waitUntil(() => h.cluster.kube.getObject('configmaps', h.ns, anchorName(h.runId)) === undefined, 'the anchor to be gone', 10_000);
        expect(h.cluster.kube.runningPids()).toEqual([]);
      });
    }
  });

  it('adoption: a second executor of the same run adopts the running Job instead of creating another', async () => {
    const h = await setup();
    const spec = h.spec({ argv: waitForGo(), stdout: 'log.txt' });
    const a = h.ex.run(spec, never());
    const job = jobName(h.runId, spec.taskId, 1);
    await runningPod(h, job);
    const createsBefore = h.cluster.kube.requestCounts()['create jobs'];
    expect(createsBefore).toBe(1);
    // A restarted Strand process: same run id, same task, the first process's Job still running.
    const b = h.make();
    let bStarted = 0;
    const pb = b.run(spec, never(), () => bStarted++);
    await waitUntil(() => b.stats.adopted === 1, 'B to adopt the Job');
    await writeFile(path.join(h.box.workDir, 'go'), '');
    const [ra, rb] = await Promise.all([a, pb]);
    expect(rb).toMatchObject({ reason: 'completed', exitCode: 0 });
    expect(ra).toMatchObject({ reason: 'completed', exitCode: 0 });
    expect(bStarted).toBe(1);
    expect(b.stats.created).toBe(0);
    expect(h.cluster.kube.requestCounts()['create jobs']).toBe(createsBefore);
    expect(runObjects(h, 'jobs').map((j) => j.metadata.name)).toEqual([job]);
    expect(await readFile(path.join(h.box.workDir, 'out.txt'), 'utf8')).toBe('done\n');
  });

  it('adoption of a Job that already finished returns its result', async () => {
    const h = await setup();
    const spec = h.spec({ argv: ['sh', '-c', 'exit 4'] });
    const first = await h.ex.run(spec, never());
    expect(first).toMatchObject({ reason: 'completed', exitCode: 4 });
    const b = h.make();
    const r = await b.run(spec, never());
    expect(r).toMatchObject({ reason: 'completed', exitCode: 4 });
    expect(b.stats.adopted).toBe(1);
    expect(h.cluster.kube.requestCounts()['create jobs']).toBe(1);
  });

  it('a pod refused after its Job was accepted (LimitRange max below the request) fails the task with the cluster\'s reason (FailedCreate Event)', async () => {
    const h = await setup({
      beforeRun: async ({ core, ns }) => {
        await core.createNamespacedLimitRange({ namespace: ns, body: { metadata: { name: 'small' }, spec: { limits: [{ type: 'Container', max: { memory: '100Mi' } }] } } });
      },
    });
    const r = await h.ex.run(h.spec({ argv: ['true'], resources: { cores: 1, ramMiB: 256, tmpdirMiB: 0, outdirMiB: 0 } }), never());
    expect(r.reason).toBe('failed');
    expect(r.message).toContain('FailedCreate');
    expect(r.message).toContain('maximum memory usage per Container is 100Mi');
    // The refused Job is deleted, so its controller stops trying.
    await waitUntil(() => runObjects(h, 'jobs').length === 0, 'the refused Job to be deleted');
  });

  it('timed out: timeLimitSeconds 1 on sleep 30 ends timed_out (activeDeadlineSeconds)', async () => {
    const h = await setup();
    const spec = h.spec({ argv: ['sleep', '30'], timeLimitSeconds: 1 });
    const r = await h.ex.run(spec, never());
    expect(r.reason).toBe('timed_out');
    expect(r.exitCode).toBeNull();
    expect(r.message).toContain('main/fm_step');
    const job = h.cluster.kube.getObject('jobs', h.ns, jobName(h.runId, spec.taskId, 1)) as JobLike | undefined;
    expect(job?.spec?.activeDeadlineSeconds).toBe(1);
    await waitUntil(() => h.cluster.kube.runningPids().length === 0, 'the task process to be gone');
  });

  it("a task whose pod fails before the tool starts (its setup cannot write) gets the pod's own lines as its log tail, not a bare exit code (issue 18, point 7)", async () => {
    const h = await setup();
    // The task script makes its log FIFOs under TMPDIR before it starts the tool: there they cannot be made.
    const spec = h.spec({ argv: ['echo', 'never'], env: { TMPDIR: path.join(h.box.dir, 'no-such-dir') } });
    const r = await h.ex.run(spec, never());
    expect(r.reason).toBe('completed');
    expect(r.exitCode).toBe(1);
    expect(r.logTail ?? '').toContain('no-such-dir');
  });

  it('requests per task: 50 echo tasks make 50 Job creates, one list+watch per kind, no per-task polling', async () => {
    const h = await setup();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => h.ex.run(h.spec({ argv: ['echo', String(i)] }), never())));
    expect(results.filter((r) => r.reason === 'completed' && r.exitCode === 0)).toHaveLength(50);
    await h.ex.shutdown();
    // Watch requests are logged when their connection closes.
    await waitUntil(() => (h.cluster.kube.requestCounts()['watch pods'] ?? 0) >= 1 && (h.cluster.kube.requestCounts()['watch jobs'] ?? 0) >= 1, 'the watches to be logged');
    const counts = h.cluster.kube.requestCounts();
    console.log(`requests for 50 echo tasks: ${JSON.stringify(counts)}`);
    expect(counts['create jobs']).toBe(50);
    expect(counts['list jobs']).toBe(1);
    expect(counts['list pods']).toBe(1);
    expect(counts['watch jobs']).toBe(1);
    expect(counts['watch pods']).toBe(1);
    expect(counts['get jobs'] ?? 0).toBe(0);
    expect(counts['get pods'] ?? 0).toBe(0);
    expect(counts['get pods/log'] ?? 0).toBe(0);
  });
});
