import { ApiException, type V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeKube, startFakeKube } from '../../test/support/fake-kube/index.js';
import { shellJob } from '../../test/support/fake-kube/test-helpers.js';
import { connect } from './connection.js';
import { isConflict, isForbidden, isNotFound, isQuotaExceeded, KubeApi, KubeApiError, type KubeApiOptions } from './kube-api.js';

let fake: FakeKube | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A KubeApi on the fake whose backoffs are recorded instead of slept. */
async function setup(opts: Partial<KubeApiOptions> = {}): Promise<{ api: KubeApi; sleeps: number[]; f: FakeKube }> {
  fake = await startFakeKube();
  const sleeps: number[] = [];
  const api = new KubeApi(connect({ kubeconfig: fake.kubeconfigPath }), {
    requestsPerSecond: 1000,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...opts,
  });
  return { api, sleeps, f: fake };
}

async function rejection(p: Promise<unknown>): Promise<KubeApiError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(KubeApiError);
    return err as KubeApiError;
  }
  throw new Error('expected the call to fail');
}

const pod = (name: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36', command: ['true'] }] },
});

describe('KubeApi.call against fake-kube', () => {
  it('retries 503s with growing backoff and succeeds', async () => {
    const { api, sleeps, f } = await setup({ baseBackoffMs: 100, random: () => 1 });
    f.failRequests({ status: 503, count: 3, match: { verb: 'create', resource: 'jobs' } });
    const job = await api.call('create Job t1 in namespace default', () => api.batch.createNamespacedJob({ namespace: 'default', body: shellJob('t1', 'true') }));
    expect(job.metadata?.name).toBe('t1');
    expect(sleeps).toEqual([100, 200, 400]);
    expect(api.retries).toBe(3);
    expect(api.counts.get('create')).toBe(1);
    expect(f.requests.filter((r) => r.verb === 'create' && r.resource === 'jobs').map((r) => r.status)).toEqual([503, 503, 503, 201]);
  });

  it('honours Retry-After on 429', async () => {
    const { api, sleeps, f } = await setup({ baseBackoffMs: 10, random: () => 0 });
    f.failRequests({ status: 429, count: 1, retryAfterSeconds: 3, match: { verb: 'list', resource: 'pods' } });
    const list = await api.call('list Pods in namespace default', () => api.core.listNamespacedPod({ namespace: 'default' }));
    expect(list.items).toEqual([]);
    expect(sleeps).toEqual([3000]);
  });

  it('gives up after maxRetries with a KubeApiError carrying the Status', async () => {
    const { api, sleeps, f } = await setup({ maxRetries: 2 });
    f.failRequests({ status: 500, count: 10 });
    const e = await rejection(api.call('get Job x in namespace default', () => api.batch.readNamespacedJob({ name: 'x', namespace: 'default' })));
    expect(sleeps).toHaveLength(2);
    expect(e.status).toBe(500);
    expect(e.kubeMessage).toContain('etcdserver: request timed out');
    expect(e.verb).toBe('get');
    expect(e.what).toBe('get Job x in namespace default');
    expect(e.message).toMatch(/^get Job x in namespace default: .*etcdserver.*\(500/);
  });

  it('maps 404 and 409 at once, without retrying', async () => {
    const { api, sleeps } = await setup();
    const nf = await rejection(api.call('get Job nope in namespace default', () => api.batch.readNamespacedJob({ name: 'nope', namespace: 'default' })));
    expect(nf.status).toBe(404);
    expect(nf.reason).toBe('NotFound');
    expect(nf.kubeMessage).toContain('"nope" not found');
    expect(isNotFound(nf)).toBe(true);
    expect(isConflict(nf)).toBe(false);

    await api.call('create Job dup', () => api.batch.createNamespacedJob({ namespace: 'default', body: shellJob('dup', 'sleep 5') }));
    const ae = await rejection(api.call('create Job dup', () => api.batch.createNamespacedJob({ namespace: 'default', body: shellJob('dup', 'sleep 5') })));
    expect(ae.status).toBe(409);
    expect(ae.reason).toBe('AlreadyExists');
    expect(isConflict(ae)).toBe(true);

    const current = await api.call('get Job dup', () => api.batch.readNamespacedJob({ name: 'dup', namespace: 'default' }));
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
    const ce = await rejection(api.call('replace Job dup', () => api.batch.replaceNamespacedJob({ name: 'dup', namespace: 'default', body: stale })));
    expect(ce.reason).toBe('Conflict');
    expect(isConflict(ce)).toBe(true);
    expect(sleeps).toEqual([]);
    expect(api.counts.get('get')).toBe(2);
    await api.call('delete Job dup', () => api.batch.deleteNamespacedJob({ name: 'dup', namespace: 'default', propagationPolicy: 'Background' }));
  });

  it('recognises a ResourceQuota refusal as a 403 quota error', async () => {
    const { api } = await setup();
    await api.call('create ResourceQuota', () =>
      api.core.createNamespacedResourceQuota({ namespace: 'default', body: { metadata: { name: 'tiny' }, spec: { hard: { pods: '0' } } } }),
    );
    const e = await rejection(api.call('create Pod q1 in namespace default', () => api.core.createNamespacedPod({ namespace: 'default', body: pod('q1') })));
    expect(e.status).toBe(403);
    expect(e.kubeMessage).toContain('exceeded quota: tiny');
    expect(isForbidden(e)).toBe(true);
    expect(isQuotaExceeded(e)).toBe(true);
  });

  it('an RBAC refusal is forbidden but not a quota error', async () => {
    const { api, f } = await setup();
    f.setRbac([{ verbs: ['get', 'list', 'watch'], resources: ['*'], apiGroups: ['*'] }]);
    const e = await rejection(api.call('create Pod r1 in namespace default', () => api.core.createNamespacedPod({ namespace: 'default', body: pod('r1') })));
    expect(e.status).toBe(403);
    expect(e.reason).toBe('Forbidden');
    expect(isForbidden(e)).toBe(true);
    expect(isQuotaExceeded(e)).toBe(false);
  });

  it('a refused connection is retried, then reported naming the server', async () => {
    const { api, sleeps, f } = await setup({ maxRetries: 2 });
    await f.close();
    fake = undefined;
    const e = await rejection(api.call('list Pods in namespace default', () => api.core.listNamespacedPod({ namespace: 'default' })));
    expect(sleeps).toHaveLength(2);
    expect(e.status).toBeUndefined();
    expect(e.reason).toBe('ECONNREFUSED');
    expect(e.message).toContain(api.conn.server);
  });

  it('stops retrying when the signal aborts', async () => {
    const { api, f } = await setup({ sleep: undefined, baseBackoffMs: 60_000 });
    f.failRequests({ status: 503, count: 5 });
    const ac = new AbortController();
    const p = api.call('list Pods', () => api.core.listNamespacedPod({ namespace: 'default' }), ac.signal);
    // The first attempt fails, then the call sleeps a minute; abort it.
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (f.requests.some((r) => r.status === 503)) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });
    ac.abort(new Error('cancelled by test'));
    await expect(p).rejects.toThrow('cancelled by test');
  });

  it('an ApiException from client-node is also understood by the predicates', () => {
    const body = JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden', message: 'pods "x" is forbidden: exceeded quota: q' });
    const e = new ApiException(403, 'Forbidden', body, {});
    expect(isQuotaExceeded(e)).toBe(true);
    expect(isNotFound(new ApiException(404, 'x', '', {}))).toBe(true);
    expect(isNotFound(new Error('404'))).toBe(false);
  });
});

describe('the client-side rate limit', () => {
  it('is one per API server and namespace in a process: runs side by side share it instead of each taking the whole rate', async () => {
    fake = await startFakeKube();
    const conn = connect({ kubeconfig: fake.kubeconfigPath });
    const a = new KubeApi(conn, { requestsPerSecond: 7 });
    const b = new KubeApi(connect({ kubeconfig: fake.kubeconfigPath }), { requestsPerSecond: 7 });
    expect(b.limiter).toBe(a.limiter);
    // Tokens one takes are gone for the other.
    const before = a.limiter.available();
    await b.limiter.take();
    expect(a.limiter.available()).toBeLessThan(before);
    // Another namespace, or another server, has its own.
    expect(new KubeApi({ ...conn, namespace: `${conn.namespace}-other` }, { requestsPerSecond: 7 }).limiter).not.toBe(a.limiter);
    expect(new KubeApi({ ...conn, server: 'https://127.0.0.1:1' }, { requestsPerSecond: 7 }).limiter).not.toBe(a.limiter);
  });
});
