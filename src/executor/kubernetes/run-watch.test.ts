import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeKube, type FakeKubeOptions, startFakeKube } from '../../../test/support/fake-kube/index.js';
import { eventually, shellJob } from '../../../test/support/fake-kube/test-helpers.js';
import { connect } from '../../cluster/connection.js';
import { KubeApi, KubeApiError } from '../../cluster/kube-api.js';
import { RunWatch } from './run-watch.js';

const RUN = 'strand.dev/run';
const SELECTOR = `${RUN}=r1`;

let fake: FakeKube | undefined;
let watch: RunWatch | undefined;
afterEach(async () => {
  await watch?.stop();
  watch = undefined;
  await fake?.close();
  fake = undefined;
});

interface Seen {
  events: string[];
  errors: Array<{ err: unknown; retryInMs: number }>;
}

async function setup(opts: FakeKubeOptions = {}): Promise<{ f: FakeKube; api: KubeApi; seen: Seen; make: () => RunWatch }> {
  fake = await startFakeKube(opts);
  const f = fake;
  const api = new KubeApi(connect({ kubeconfig: f.kubeconfigPath }), { requestsPerSecond: 1000, baseBackoffMs: 10, maxRetries: 3 });
  const seen: Seen = { events: [], errors: [] };
  const make = () => {
    watch = new RunWatch(
      api,
      'default',
      SELECTOR,
      {
        onJob: (j: V1Job, t) => seen.events.push(`job ${t} ${j.metadata?.name}`),
        onPod: (p: V1Pod, t) => seen.events.push(`pod ${t} ${p.metadata?.name}`),
        onError: (err, retryInMs) => seen.errors.push({ err, retryInMs }),
      },
      { baseBackoffMs: 20, maxBackoffMs: 200 },
    );
    return watch;
  };
  return { f, api, seen, make };
}

function labelledPod(name: string, run = 'r1', script = 'sleep 60'): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { [RUN]: run } },
    spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', script] }] },
  };
}

const until = (cond: () => boolean, what: string) => eventually(() => (cond() ? true : undefined), what);

describe('RunWatch against fake-kube', () => {
  it('start() resolves with the label-selected Jobs and Pods listed, and follows later changes', async () => {
    const { api, seen, make } = await setup();
    await api.call('create Pod', () => api.core.createNamespacedPod({ namespace: 'default', body: labelledPod('p1') }));
    await api.call('create Pod', () => api.core.createNamespacedPod({ namespace: 'default', body: labelledPod('other', 'r2') }));
    const job = shellJob('j1', 'true');
    job.metadata = { name: 'j1', labels: { [RUN]: 'r1' } };
    await api.call('create Job', () => api.batch.createNamespacedJob({ namespace: 'default', body: job }));
    const w = make();
    await w.start();
    expect(w.pods().map((p) => p.metadata?.name)).toEqual(['p1']);
    expect(w.jobs().map((j) => j.metadata?.name)).toEqual(['j1']);
    expect(seen.events).toContain('pod add p1');
    expect(seen.events).toContain('job add j1');
    expect(seen.events.some((e) => e.includes('other'))).toBe(false);

    await api.call('create Pod', () => api.core.createNamespacedPod({ namespace: 'default', body: labelledPod('p2', 'r1', 'true') }));
    await until(() => w.pods().some((p) => p.metadata?.name === 'p2' && p.status?.phase === 'Succeeded'), 'p2 succeeded in the cache');
    expect(seen.events).toContain('pod add p2');
    expect(seen.events).toContain('pod update p2');
    expect(api.counts.get('list')).toBe(2);
    expect(api.counts.get('watch')).toBeGreaterThanOrEqual(2);
    expect(w.restarts).toBe(0);
  });

  it('survives 5xx on the initial lists (retried through KubeApi)', async () => {
    const { f, api, make } = await setup();
    f.failRequests({ status: 503, count: 2, match: { verb: 'list', resource: 'pods' } });
    f.failRequests({ status: 500, count: 1, match: { verb: 'list', resource: 'jobs' } });
    const w = make();
    await w.start();
    expect(api.retries).toBe(3);
    expect(f.requests.filter((r) => r.verb === 'list' && r.resource === 'pods').map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('start() rejects with a KubeApiError when the lists are forbidden', async () => {
    const { f, make } = await setup();
    f.setRbac([{ verbs: ['list', 'watch'], apiGroups: ['batch'], resources: ['jobs'] }]);
    const w = make();
    const err = await w.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(403);
    expect((err as KubeApiError).message).toContain('list Pods in namespace default');
  });

  it('relists by itself after 410 Expired (compacted history), without a restart', async () => {
    const { f, api, seen, make } = await setup({ watchTimeoutSeconds: 1 });
    const w = make();
    await w.start();
    // Changes the watch does not select move the server's resourceVersion past the watch's.
    await api.call('create Pod', () => api.core.createNamespacedPod({ namespace: 'default', body: labelledPod('unrelated', 'r2', 'true') }));
    await until(() => (f.getObject('pods', 'default', 'unrelated') as V1Pod | undefined)?.status?.phase === 'Succeeded', 'unrelated pod done');
    f.compactHistory();
    // The server ends the watch after 1 s; resuming from the compacted resourceVersion gets 410; the informer relists.
    await until(() => (f.requestCounts()['list pods'] ?? 0) >= 2, 'pods relisted');
    await api.call('create Pod', () => api.core.createNamespacedPod({ namespace: 'default', body: labelledPod('late', 'r1', 'true') }));
    await until(() => seen.events.includes('pod add late'), 'pod created after the relist seen');
    expect(w.restarts).toBe(0);
    expect(seen.errors).toEqual([]);
  });

  it('restarts after dropped watches; a pod deleted during the outage yields delete (resumed watch)', async () => {
    const { f, api, seen, make } = await setup();
    await api.call('create Pod', () => api.core.createNamespacedPod({ namespace: 'default', body: labelledPod('doomed') }));
    await api.call('create Pod', () => api.core.createNamespacedPod({ namespace: 'default', body: labelledPod('survivor') }));
    const w = make();
    await w.start();
    // Keep the outage going until the test lifts it: watches of pods fail with 503.
    f.failRequests({ status: 503, count: 1_000_000, match: { verb: 'watch', resource: 'pods' } });
    f.dropWatches();
    await until(() => seen.errors.length >= 2, 'errors reported with a retry delay');
    expect(seen.errors.every((e) => e.retryInMs > 0)).toBe(true);
    f.deletePod('doomed');
    await until(() => f.getObject('pods', 'default', 'doomed') === undefined, 'doomed gone from the server');
    await api.call('create Pod', () => api.core.createNamespacedPod({ namespace: 'default', body: labelledPod('newcomer') }));
    expect(seen.events).not.toContain('pod delete doomed');
    f.clearFaults();
    await until(() => seen.events.includes('pod delete doomed'), 'delete of doomed delivered');
    await until(() => seen.events.includes('pod add newcomer'), 'add of newcomer delivered');
    expect(w.pods().map((p) => p.metadata?.name).sort()).toEqual(['newcomer', 'survivor']);
    expect(w.restarts).toBeGreaterThanOrEqual(2);
  });

  it('converges by relisting when the outage outlived the history window, even with failing lists', async () => {
    const { f, api, seen, make } = await setup();
    await api.call('create Pod', () => api.core.createNamespacedPod({ namespace: 'default', body: labelledPod('doomed') }));
    const w = make();
    await w.start();
    f.failRequests({ status: 503, count: 1_000_000, match: { verb: 'watch', resource: 'pods' } });
    f.dropWatches();
    await until(() => seen.errors.length >= 1, 'drop reported');
    f.deletePod('doomed');
    await until(() => f.getObject('pods', 'default', 'doomed') === undefined, 'doomed gone from the server');
    f.compactHistory();
    f.clearFaults();
    // Lists fail beyond KubeApi's retries at first: the informer's relist errors and is restarted again.
    f.failRequests({ status: 503, count: 8, match: { verb: 'list', resource: 'pods' } });
    await until(() => seen.events.includes('pod delete doomed'), 'delete of doomed delivered after relist');
    expect(w.pods()).toEqual([]);
    expect(f.requests.filter((r) => r.verb === 'list' && r.resource === 'pods' && r.status === 200).length).toBeGreaterThanOrEqual(2);
  });

  it('stop() ends the watches without reporting errors', async () => {
    const { f, seen, make } = await setup();
    const w = make();
    await w.start();
    await w.stop();
    expect(w.restarts).toBe(0);
    f.dropWatches(); // nothing is left to drop; a late abort error must not be reported either
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.errors).toEqual([]);
  });
});
