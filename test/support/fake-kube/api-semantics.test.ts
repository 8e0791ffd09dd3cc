import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { type FakeKube, startFakeKube } from './index.js';
import { type Clients, apiError, clientsFor, eventually, shellJob } from './test-helpers.js';

describe('fake-kube: API semantics through the real client', () => {
  let fake: FakeKube;
  let c: Clients;
  beforeAll(async () => {
    fake = await startFakeKube();
    c = clientsFor(fake);
  });
  afterAll(async () => {
    await fake.close();
  });

  it('rejects requests without the bearer token with a 401 Status', async () => {
    const res = await fetch(`${fake.url}/api/v1/namespaces/default/pods`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
  });

  it('serves discovery and version', async () => {
    const version = await c.kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.29.0');
    const groups = await c.kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toContain('batch');
    const batch = await c.batch.getAPIResources();
    expect(batch.resources.find((r) => r.name === 'jobs')).toMatchObject({ namespaced: true, kind: 'Job' });
  });

  it('answers a missing object with a NotFound Status shaped like the real one', async () => {
    const e = await apiError(c.batch.readNamespacedJob({ name: 'x', namespace: 'default' }));
    expect(e.code).toBe(404);
    expect(e.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'jobs.batch "x" not found',
      reason: 'NotFound',
      details: { name: 'x', group: 'batch', kind: 'jobs' },
      code: 404,
    });
    const p = await apiError(c.core.readNamespacedPod({ name: 'nope', namespace: 'default' }));
    expect(p.body).toMatchObject({ message: 'pods "nope" not found', details: { name: 'nope', kind: 'pods' } });
    const ns = await apiError(c.core.createNamespacedConfigMap({ namespace: 'ghost', body: { metadata: { name: 'a' } } }));
    expect(ns.code).toBe(404);
    expect(ns.body['message']).toBe('namespaces "ghost" not found');
  });

  it('refuses a duplicate name with 409 AlreadyExists and supports generateName', async () => {
    await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' }, data: { a: '1' } } });
    const e = await apiError(c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' } } }));
    expect(e.code).toBe(409);
    expect(e.body).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "dup" already exists', details: { name: 'dup', kind: 'configmaps' } });
    const g = await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { generateName: 'gen-' } } });
    expect(g.metadata?.name).toMatch(/^gen-[a-z0-9]{5}$/);
  });

  it('validates names and required fields with 422 Invalid and field causes', async () => {
    const upper = await apiError(c.batch.createNamespacedJob({ namespace: 'default', body: shellJob('Bad_Name', 'true') }));
    expect(upper.code).toBe(422);
    expect(upper.body).toMatchObject({ reason: 'Invalid', details: { name: 'Bad_Name', group: 'batch', kind: 'Job' } });
    expect(String(upper.body['message'])).toMatch(/^Job\.batch "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label/);
    const long = await apiError(c.batch.createNamespacedJob({ namespace: 'default', body: shellJob('a'.repeat(64), 'true') }));
    expect(String(long.body['message'])).toContain('must be no more than 63 characters');
    const noName = await apiError(c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: {} } }));
    expect(noName.body['message']).toBe('ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required');
    const job = shellJob('nocontainers', 'true');
    job.spec!.template.spec!.containers = [];
    const nc = await apiError(c.batch.createNamespacedJob({ namespace: 'default', body: job }));
    expect(nc.body['message']).toBe('Job.batch "nocontainers" is invalid: spec.template.spec.containers: Required value');
    const always = shellJob('always', 'true', { restartPolicy: 'Always' });
    const a = await apiError(c.batch.createNamespacedJob({ namespace: 'default', body: always }));
    expect(a.body['message']).toContain('spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"');
  });

  it('lists with label selectors (=, !=, in, existence), field selectors and pagination', async () => {
    const mk = (name: string, labels: Record<string, string>): Promise<k8s.V1ConfigMap> =>
      c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name, labels } } });
    await mk('s1', { app: 'strand', tier: 'a' });
    await mk('s2', { app: 'strand', tier: 'b' });
    await mk('s3', { app: 'other' });
    const names = async (sel: { labelSelector?: string; fieldSelector?: string }): Promise<string[]> =>
      (await c.core.listNamespacedConfigMap({ namespace: 'default', ...sel })).items.map((i) => i.metadata!.name!);
    expect(await names({ labelSelector: 'app=strand' })).toEqual(['s1', 's2']);
    expect(await names({ labelSelector: 'app=strand,tier!=a' })).toEqual(['s2']);
    expect(await names({ labelSelector: 'app in (strand,other),!tier' })).toEqual(['s3']);
    expect(await names({ labelSelector: 'tier' })).toEqual(['s1', 's2']);
    expect(await names({ fieldSelector: 'metadata.name=s2' })).toEqual(['s2']);
    const bad = await apiError(c.core.listNamespacedConfigMap({ namespace: 'default', fieldSelector: 'spec.foo=1' }));
    expect(bad.code).toBe(400);

    const page1 = await c.core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app', limit: 2 });
    expect(page1.items).toHaveLength(2);
    expect(page1.metadata?._continue).toBeTruthy();
    expect(page1.metadata?.remainingItemCount).toBe(1);
    expect(page1.metadata?.resourceVersion).toMatch(/^\d+$/);
    const page2 = await c.core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app', limit: 2, _continue: page1.metadata!._continue! });
    expect(page2.items.map((i) => i.metadata!.name)).toEqual(['s3']);
    expect(page2.metadata?._continue).toBeUndefined();
  });

  it('patches labels with merge, strategic and JSON patch, and rejects stale replaces with 409 Conflict', async () => {
    const cm = await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'patchme', labels: { a: '1' } }, data: { k: 'v' } } });
    const merged = await c.core.patchNamespacedConfigMap(
      { name: 'patchme', namespace: 'default', body: { metadata: { labels: { b: '2' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels).toEqual({ a: '1', b: '2' });
    const strategic = await c.core.patchNamespacedConfigMap(
      { name: 'patchme', namespace: 'default', body: { metadata: { labels: { a: null }, annotations: { note: 'x' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    expect(strategic.metadata?.labels).toEqual({ b: '2' });
    expect(strategic.metadata?.annotations).toEqual({ note: 'x' });
    const jp = await c.core.patchNamespacedConfigMap({ name: 'patchme', namespace: 'default', body: [{ op: 'add', path: '/metadata/labels/c', value: '3' }] });
    expect(jp.metadata?.labels).toEqual({ b: '2', c: '3' });
    expect(Number(jp.metadata?.resourceVersion)).toBeGreaterThan(Number(cm.metadata?.resourceVersion));

    const stale = { ...cm, data: { k: 'new' } };
    const e = await apiError(c.core.replaceNamespacedConfigMap({ name: 'patchme', namespace: 'default', body: stale }));
    expect(e.code).toBe(409);
    expect(e.body).toMatchObject({ reason: 'Conflict' });
    expect(String(e.body['message'])).toContain('the object has been modified; please apply your changes to the latest version and try again');
    const fresh = await c.core.readNamespacedConfigMap({ name: 'patchme', namespace: 'default' });
    const ok = await c.core.replaceNamespacedConfigMap({ name: 'patchme', namespace: 'default', body: { ...fresh, data: { k: 'new' } } });
    expect(ok.data).toEqual({ k: 'new' });
  });

  it('makes a Job template immutable (422)', async () => {
    await c.batch.createNamespacedJob({ namespace: 'default', body: shellJob('immut', 'sleep 5', {}, { suspend: true }) });
    const j = await c.batch.readNamespacedJob({ name: 'immut', namespace: 'default' });
    j.spec!.template.spec!.containers[0]!.command = ['true'];
    const e = await apiError(c.batch.replaceNamespacedJob({ name: 'immut', namespace: 'default', body: j }));
    expect(e.code).toBe(422);
    expect(String(e.body['message'])).toContain('spec.template: Invalid value');
    await c.batch.deleteNamespacedJob({ name: 'immut', namespace: 'default', propagationPolicy: 'Background' });
  });

  it('watches: ADDED/MODIFIED/DELETED with a label selector, from a resourceVersion', async () => {
    const list = await c.core.listNamespacedConfigMap({ namespace: 'default' });
    const events: Array<[string, string]> = [];
    const w = new k8s.Watch(c.kc);
    const ctl = await w.watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: list.metadata!.resourceVersion, labelSelector: 'watched=yes' },
      (type, obj: k8s.V1ConfigMap) => events.push([type, obj.metadata!.name!]),
      () => {},
    );
    await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w1', labels: { watched: 'yes' } } } });
    await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w2', labels: { watched: 'no' } } } });
    await c.core.patchNamespacedConfigMap(
      { name: 'w1', namespace: 'default', body: { data: { x: '1' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await c.core.deleteNamespacedConfigMap({ name: 'w1', namespace: 'default' });
    await eventually(() => (events.length >= 3 ? true : undefined), 'three events');
    ctl.abort();
    expect(events).toEqual([
      ['ADDED', 'w1'],
      ['MODIFIED', 'w1'],
      ['DELETED', 'w1'],
    ]);
  });

  it('replays history to a watch that resumes from an older resourceVersion', async () => {
    const before = await c.core.listNamespacedConfigMap({ namespace: 'default' });
    await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'missed' } } });
    const events: string[] = [];
    const ctl = await new k8s.Watch(c.kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: before.metadata!.resourceVersion },
      (type, obj: k8s.V1ConfigMap) => events.push(`${type} ${obj.metadata!.name}`),
      () => {},
    );
    await eventually(() => (events.length >= 1 ? true : undefined), 'replayed event');
    ctl.abort();
    expect(events[0]).toBe('ADDED missed');
  });

  it('sends an ERROR event with a 410 Expired Status to a watch from a compacted resourceVersion', async () => {
    const before = await c.core.listNamespacedConfigMap({ namespace: 'default' });
    await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-compact' } } });
    fake.compactHistory();
    let error: { type: string; obj: Record<string, unknown> } | undefined;
    let done = false;
    await new k8s.Watch(c.kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: before.metadata!.resourceVersion },
      (type, obj: Record<string, unknown>) => {
        error = { type, obj };
      },
      () => {
        done = true;
      },
    );
    await eventually(() => (done ? true : undefined), 'watch closed');
    expect(error?.type).toBe('ERROR');
    expect(error?.obj).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
    expect(String(error?.obj['message'])).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('expires old resourceVersions when the bounded history overflows', async () => {
    const small = await startFakeKube({ historyLimit: 3 });
    try {
      const sc = clientsFor(small);
      const rv = (await sc.core.listNamespacedConfigMap({ namespace: 'default' })).metadata!.resourceVersion;
      for (let i = 0; i < 5; i++) await sc.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `h${i}` } } });
      let type = '';
      let closed = false;
      await new k8s.Watch(sc.kc).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: rv }, (t) => (type = t), () => (closed = true));
      await eventually(() => (closed ? true : undefined), 'closed');
      expect(type).toBe('ERROR');
    } finally {
      await small.close();
    }
  });

  it('sends BOOKMARK events when allowed and ends the watch after timeoutSeconds', async () => {
    const f2 = await startFakeKube({ bookmarkIntervalMs: 50 });
    try {
      const c2 = clientsFor(f2);
      const types: string[] = [];
      let closed = false;
      await new k8s.Watch(c2.kc).watch(
        '/api/v1/namespaces/default/pods',
        { allowWatchBookmarks: true, timeoutSeconds: 1 },
        (t, obj: { metadata?: { resourceVersion?: string } }) => {
          types.push(t);
          expect(obj.metadata?.resourceVersion).toMatch(/^\d+$/);
        },
        () => (closed = true),
      );
      await eventually(() => (closed ? true : undefined), 'timeout close');
      expect(types).toContain('BOOKMARK');
    } finally {
      await f2.close();
    }
  });

  it('drops watches abruptly on dropWatches()', async () => {
    let doneErr: unknown = 'not called';
    await new k8s.Watch(c.kc).watch('/api/v1/namespaces/default/pods', {}, () => {}, (err) => (doneErr = err));
    await eventually(() => (fake.requests.length > 0 ? true : undefined), 'watch open');
    fake.dropWatches();
    await eventually(() => (doneErr !== 'not called' ? true : undefined), 'done called');
  });

  it('garbage-collects Jobs owned by a deleted anchor ConfigMap, and their pods', async () => {
    const anchor = await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'run-anchor' } } });
    const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'run-anchor', uid: anchor.metadata!.uid!, blockOwnerDeletion: true };
    for (const n of ['gc1', 'gc2']) {
      const j = shellJob(n, 'sleep 30');
      j.metadata!.ownerReferences = [owner];
      await c.batch.createNamespacedJob({ namespace: 'default', body: j });
    }
    const running = await eventually(async () => {
      const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name in (gc1,gc2)', fieldSelector: 'status.phase=Running' });
      return pods.items.length === 2 ? pods.items : undefined;
    }, 'pods running');
    const pids = running.map((p) => fake.containerPid('default', p.metadata!.name!)!);
    expect(pids.every((p) => typeof p === 'number')).toBe(true);
    await c.core.deleteNamespacedConfigMap({ name: 'run-anchor', namespace: 'default' });
    await eventually(async () => {
      const jobs = await c.batch.listNamespacedJob({ namespace: 'default', labelSelector: 'job-name in (gc1,gc2)' });
      const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name in (gc1,gc2)' });
      return jobs.items.length === 0 && pods.items.length === 0 ? true : undefined;
    }, 'cascade');
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await eventually(() => (pids.some(alive) ? undefined : true), 'container processes gone');
  });

  it('orphans pods when a Job is deleted without a propagationPolicy (batch/v1 default), with a warning', async () => {
    await c.batch.createNamespacedJob({ namespace: 'default', body: shellJob('orphaner', 'sleep 30') });
    const pod = await eventually(async () => (await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=orphaner' })).items[0], 'pod');
    const res = await fetch(`${fake.url}/apis/batch/v1/namespaces/default/jobs/orphaner`, { method: 'DELETE', headers: { Authorization: `Bearer ${fake.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('warning')).toContain('child pods are preserved by default when jobs are deleted');
    await new Promise((r) => setTimeout(r, 50));
    const still = await c.core.readNamespacedPod({ name: pod.metadata!.name!, namespace: 'default' });
    expect(still.metadata?.ownerReferences).toBeUndefined();
    await c.core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: 'default', gracePeriodSeconds: 1 });
  });

  it('deletes pods with the Job for Background and Foreground propagation', async () => {
    for (const [name, policy] of [
      ['bg', 'Background'],
      ['fg', 'Foreground'],
    ] as const) {
      await c.batch.createNamespacedJob({ namespace: 'default', body: shellJob(name, 'sleep 30') });
      await eventually(async () => (await c.core.listNamespacedPod({ namespace: 'default', labelSelector: `job-name=${name}` })).items[0], 'pod');
      await c.batch.deleteNamespacedJob({ name, namespace: 'default', propagationPolicy: policy });
      await eventually(async () => {
        const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: `job-name=${name}` });
        const jobs = await c.batch.listNamespacedJob({ namespace: 'default', fieldSelector: `metadata.name=${name}` });
        return pods.items.length === 0 && jobs.items.length === 0 ? true : undefined;
      }, `${policy} cascade`);
    }
  });

  it('deletes a collection by label selector', async () => {
    for (const n of ['dc1', 'dc2']) await c.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: n, labels: { batch: 'x' } } } });
    await c.core.deleteCollectionNamespacedConfigMap({ namespace: 'default', labelSelector: 'batch=x' });
    expect((await c.core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'batch=x' })).items).toEqual([]);
  });

  it('deletes a namespace with its contents', async () => {
    await c.core.createNamespace({ body: { metadata: { name: 'tmp-ns' } } });
    await c.core.createNamespacedConfigMap({ namespace: 'tmp-ns', body: { metadata: { name: 'in-ns' } } });
    await c.core.deleteNamespace({ name: 'tmp-ns' });
    await eventually(async () => {
      const e = await apiError(c.core.readNamespace({ name: 'tmp-ns' }));
      return e.code === 404 ? true : undefined;
    }, 'namespace gone');
    expect(fake.getObject('configmaps', 'tmp-ns', 'in-ns')).toBeUndefined();
  });
});
