import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { type FakeKube, startFakeKube } from './index.js';
import { type Clients, apiError, clientsFor, eventually, jobCondition, shellJob } from './test-helpers.js';

const NS = 'default';

describe('fake-kube: control plane behaviour and injected faults', () => {
  let fake: FakeKube;
  let c: Clients;
  beforeEach(async () => {
    fake = await startFakeKube({ node: { cpu: '4', memory: '8Gi' }, kubeletBackoffMs: 20, createRetryMs: 20 });
    c = clientsFor(fake);
  });
  afterEach(async () => {
    await fake.close();
  });

  const podsOf = async (job: string): Promise<k8s.V1Pod[]> => (await c.core.listNamespacedPod({ namespace: NS, labelSelector: `job-name=${job}` })).items;
  const eventsFor = async (name: string): Promise<k8s.CoreV1Event[]> =>
    (await c.core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items;
  const withCpu = (job: k8s.V1Job, cpu: string): k8s.V1Job => {
    job.spec!.template.spec!.containers[0]!.resources = { requests: { cpu, memory: '64Mi' }, limits: { cpu, memory: '64Mi' } };
    return job;
  };

  it('fails requests with 429 + Retry-After, 500 and 503 as configured, then recovers', async () => {
    fake.failRequests({ status: 429, count: 1, match: { verb: 'create', resource: 'jobs' }, retryAfterSeconds: 2 });
    const e = await apiError(c.batch.createNamespacedJob({ namespace: NS, body: shellJob('r', 'true') }));
    expect(e.code).toBe(429);
    expect(e.headers['retry-after']).toBe('2');
    expect(e.body).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 2 }, code: 429 });
    fake.failRequests({ status: 500, count: 1 });
    expect((await apiError(c.core.listNamespacedPod({ namespace: NS }))).body).toMatchObject({ reason: 'InternalError', code: 500 });
    fake.failRequests({ status: 503, count: 1, match: { resource: 'pods' } });
    await c.batch.listNamespacedJob({ namespace: NS }); // does not match
    expect((await apiError(c.core.listNamespacedPod({ namespace: NS }))).code).toBe(503);
    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('r', 'true') });
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(1);
  });

  it('leaves pods Pending/Unschedulable with a FailedScheduling event until capacity frees', async () => {
    await c.batch.createNamespacedJob({ namespace: NS, body: withCpu(shellJob('big1', 'sleep 30'), '3') });
    const first = await eventually(async () => (await podsOf('big1')).find((p) => p.status?.phase === 'Running'), 'big1 running');
    await c.batch.createNamespacedJob({ namespace: NS, body: withCpu(shellJob('big2', 'true'), '2') });
    const pending = await eventually(async () => {
      const p = (await podsOf('big2'))[0];
      return p?.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False') ? p : undefined;
    }, 'unschedulable');
    const cond = pending.status!.conditions!.find((x) => x.type === 'PodScheduled')!;
    expect(cond.reason).toBe('Unschedulable');
    expect(cond.message).toMatch(/^0\/1 nodes are available: 1 Insufficient cpu\./);
    expect(pending.status?.phase).toBe('Pending');
    const ev = (await eventsFor(pending.metadata!.name!)).find((x) => x.reason === 'FailedScheduling');
    expect(ev?.type).toBe('Warning');
    expect(ev?.message).toMatch(/^0\/1 nodes are available: 1 Insufficient cpu\./);
    await c.core.deleteNamespacedPod({ name: first.metadata!.name!, namespace: NS, gracePeriodSeconds: 1 });
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'big2', namespace: NS }), 'Complete'), 'big2 completes');
  });

  it('refuses pods over a ResourceQuota with a FailedCreate event and creates them when usage drops', async () => {
    await c.core.createNamespacedResourceQuota({ namespace: NS, body: { metadata: { name: 'q' }, spec: { hard: { 'requests.cpu': '4', 'count/jobs.batch': '3' } } } });
    await c.batch.createNamespacedJob({ namespace: NS, body: withCpu(shellJob('q1', 'sleep 30'), '3') });
    const running = await eventually(async () => (await podsOf('q1')).find((p) => p.status?.phase === 'Running'), 'q1 running');
    await c.batch.createNamespacedJob({ namespace: NS, body: withCpu(shellJob('q2', 'true'), '2') });
    const ev = await eventually(async () => (await eventsFor('q2')).find((e) => e.reason === 'FailedCreate'), 'FailedCreate');
    expect(ev.type).toBe('Warning');
    expect(ev.message).toMatch(/^Error creating: pods "q2-[a-z0-9]{5}" is forbidden: exceeded quota: q, requested: requests\.cpu=2, used: requests\.cpu=3, limited: requests\.cpu=4$/);
    expect(ev.involvedObject.kind).toBe('Job');
    expect(await podsOf('q2')).toEqual([]);
    const quota = await eventually(async () => {
      const q = await c.core.readNamespacedResourceQuota({ name: 'q', namespace: NS });
      return q.status?.used?.['requests.cpu'] === '3' ? q : undefined;
    }, 'quota status');
    expect(quota.status?.hard?.['requests.cpu']).toBe('4');
    await c.core.deleteNamespacedPod({ name: running.metadata!.name!, namespace: NS, gracePeriodSeconds: 1 });
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'q2', namespace: NS }), 'Complete'), 'q2 completes');

    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('q3', 'true') });
    const e = await apiError(c.batch.createNamespacedJob({ namespace: NS, body: shellJob('q4', 'true') }));
    expect(e.code).toBe(403);
    expect(e.body).toMatchObject({
      reason: 'Forbidden',
      message: 'jobs.batch "q4" is forbidden: exceeded quota: q, requested: count/jobs.batch=1, used: count/jobs.batch=3, limited: count/jobs.batch=3',
      details: { name: 'q4', group: 'batch', kind: 'jobs' },
    });
  });

  it('applies LimitRange defaults and maximums', async () => {
    await c.core.createNamespacedLimitRange({
      namespace: NS,
      body: { metadata: { name: 'lr' }, spec: { limits: [{ type: 'Container', _default: { cpu: '500m' }, max: { cpu: '2' } }] } },
    });
    const p = await c.core.createNamespacedPod({ namespace: NS, body: { metadata: { name: 'lrpod' }, spec: { containers: [{ name: 'c', image: 'busybox', command: ['true'] }] } } });
    expect(p.spec?.containers[0]?.resources?.limits).toEqual({ cpu: '500m' });
    expect(p.spec?.containers[0]?.resources?.requests).toEqual({ cpu: '500m' });
    const e = await apiError(
      c.core.createNamespacedPod({
        namespace: NS,
        body: { metadata: { name: 'toobig' }, spec: { containers: [{ name: 'c', image: 'busybox', command: ['true'], resources: { limits: { cpu: '3' } } }] } },
      }),
    );
    expect(e.code).toBe(403);
    expect(e.body['message']).toBe('pods "toobig" is forbidden: maximum cpu usage per Container is 2, but limit is 3');
  });

  it('keeps pods Pending with ErrImagePull -> ImagePullBackOff, and InvalidImageName', async () => {
    fake.imagePullFails('ghcr.io/nope/missing:1', 'ImagePullBackOff');
    const j = shellJob('pull', 'true');
    j.spec!.template.spec!.containers[0]!.image = 'ghcr.io/nope/missing:1';
    await c.batch.createNamespacedJob({ namespace: NS, body: j });
    const w = await eventually(async () => {
      const wt = (await podsOf('pull'))[0]?.status?.containerStatuses?.[0]?.state?.waiting;
      return wt?.reason === 'ImagePullBackOff' ? wt : undefined;
    }, 'backoff');
    expect(w.message).toBe('Back-off pulling image "ghcr.io/nope/missing:1"');
    const pod = (await podsOf('pull'))[0]!;
    expect(pod.status?.phase).toBe('Pending');
    const failed = (await eventsFor(pod.metadata!.name!)).find((e) => e.reason === 'Failed' && e.message?.startsWith('Failed to pull image'));
    expect(failed?.message).toContain('rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/nope/missing:1"');
    const logErr = await apiError(c.core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: NS }));
    expect(logErr.code).toBe(400);

    fake.imagePullFails(/^bad-ref/, 'ErrImagePull');
    const j2 = shellJob('errpull', 'true');
    j2.spec!.template.spec!.containers[0]!.image = 'bad-ref:2';
    await c.batch.createNamespacedJob({ namespace: NS, body: j2 });
    const w2 = await eventually(async () => (await podsOf('errpull'))[0]?.status?.containerStatuses?.[0]?.state?.waiting, 'errpull');
    expect(w2.reason === 'ErrImagePull' || w2.reason === 'ContainerCreating').toBe(true);
    await eventually(async () => ((await podsOf('errpull'))[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' ? true : undefined), 'ErrImagePull');

    const j3 = shellJob('invalid', 'true');
    j3.spec!.template.spec!.containers[0]!.image = 'Not_A/Valid::Ref';
    await c.batch.createNamespacedJob({ namespace: NS, body: j3 });
    const w3 = await eventually(async () => {
      const wt = (await podsOf('invalid'))[0]?.status?.containerStatuses?.[0]?.state?.waiting;
      return wt?.reason === 'InvalidImageName' ? wt : undefined;
    }, 'invalid');
    expect(w3.message).toContain('invalid reference format');
  });

  it('OOM-kills containers whose memory limit is below the threshold (exit 137, OOMKilled)', async () => {
    fake.oomKillBelow(256);
    const j = shellJob('oom', 'sleep 30');
    j.spec!.template.spec!.containers[0]!.resources = { limits: { memory: '128Mi' } };
    await c.batch.createNamespacedJob({ namespace: NS, body: j });
    const failed = await eventually(async () => {
      const job = await c.batch.readNamespacedJob({ name: 'oom', namespace: NS });
      return jobCondition(job, 'Failed') ? job : undefined;
    }, 'oom job failed');
    expect(jobCondition(failed, 'Failed')?.reason).toBe('BackoffLimitExceeded');
    const t = (await podsOf('oom'))[0]?.status?.containerStatuses?.[0]?.state?.terminated;
    expect(t?.reason).toBe('OOMKilled');
    expect(t?.exitCode).toBe(137);

    const ok = shellJob('roomy', 'true');
    ok.spec!.template.spec!.containers[0]!.resources = { limits: { memory: '512Mi' } };
    await c.batch.createNamespacedJob({ namespace: NS, body: ok });
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'roomy', namespace: NS }), 'Complete'), 'roomy complete');
  });

  it('evicts a running pod: Failed, reason Evicted, and the Job counts a failure', async () => {
    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('ev', 'sleep 30') });
    const pod = await eventually(async () => (await podsOf('ev')).find((p) => p.status?.phase === 'Running'), 'running');
    fake.evictPod(pod.metadata!.name!);
    const evicted = await eventually(async () => {
      const p = await c.core.readNamespacedPod({ name: pod.metadata!.name!, namespace: NS });
      return p.status?.phase === 'Failed' ? p : undefined;
    }, 'evicted');
    expect(evicted.status?.reason).toBe('Evicted');
    expect(evicted.status?.message).toBe('The node was low on resource: memory.');
    expect(evicted.status?.conditions?.find((x) => x.type === 'DisruptionTarget')?.reason).toBe('TerminationByKubelet');
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'ev', namespace: NS }), 'Failed'), 'job failed');
  });

  it('deletePod() stops the process gracefully and the Job counts it failed', async () => {
    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('dp', 'trap "exit 143" TERM; sleep 30 & wait') });
    const pod = await eventually(async () => (await podsOf('dp')).find((p) => p.status?.phase === 'Running'), 'running');
    const pid = fake.containerPid(NS, pod.metadata!.name!);
    expect(pid).toBeTypeOf('number');
    fake.deletePod(pod.metadata!.name!);
    await eventually(async () => ((await podsOf('dp')).length === 0 ? true : undefined), 'pod gone');
    const job = await eventually(async () => {
      const j = await c.batch.readNamespacedJob({ name: 'dp', namespace: NS });
      return jobCondition(j, 'Failed') ? j : undefined;
    }, 'job failed');
    expect(job.status?.failed).toBe(1);
  });

  it("a container ends when its main process exits, taking its background children with it (as PID 1's namespace does)", async () => {
    // A child left behind by the shell once held the output pipes open and kept the pod Running
    // for the child's whole life: the cause of a "deletePod() ... pod gone" timeout in CI.
    const started = Date.now();
    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('bg', 'sleep 30 & exit 0') });
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'bg', namespace: NS }), 'Complete'), 'bg complete', 10_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('loseNode(): pods are marked, failed and deleted; nothing schedules until restoreNode()', async () => {
    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('lost', 'sleep 30') });
    const pod = await eventually(async () => (await podsOf('lost')).find((p) => p.status?.phase === 'Running'), 'running');
    const seen: Array<{ type: string; phase?: string; disruption?: string }> = [];
    const ctl = await new k8s.Watch(c.kc).watch(
      `/api/v1/namespaces/${NS}/pods`,
      { fieldSelector: `metadata.name=${pod.metadata!.name}`, resourceVersion: pod.metadata!.resourceVersion },
      (type, p: k8s.V1Pod) => seen.push({ type, phase: p.status?.phase, disruption: p.status?.conditions?.find((x) => x.type === 'DisruptionTarget')?.reason }),
      () => {},
    );
    fake.loseNode();
    await eventually(() => (seen.some((s) => s.type === 'DELETED') ? true : undefined), 'pod deleted');
    ctl.abort();
    expect(seen.find((s) => s.type === 'MODIFIED' && s.phase === 'Failed')?.disruption).toBe('DeletionByTaintManager');
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'lost', namespace: NS }), 'Failed'), 'job failed');
    const node = await c.core.readNode({ name: 'fake-node' });
    expect(node.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('Unknown');

    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('after', 'true') });
    const p2 = await eventually(async () => {
      const p = (await podsOf('after'))[0];
      return p?.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False') ? p : undefined;
    }, 'unschedulable on lost node');
    expect(p2.status?.conditions?.find((x) => x.type === 'PodScheduled')?.message).toContain('node.kubernetes.io/unreachable');
    fake.restoreNode();
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'after', namespace: NS }), 'Complete'), 'after restore');
  });

  it('unschedulable(predicate) keeps matching pods Pending with the given message', async () => {
    fake.unschedulable((p) => p.metadata.labels?.['job-name'] === 'gpu', '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.');
    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('gpu', 'true') });
    const cond = await eventually(async () => (await podsOf('gpu'))[0]?.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False'), 'cond');
    expect(cond.message).toBe('0/1 nodes are available: 1 Insufficient nvidia.com/gpu.');
  });

  it('enforces RBAC rules with 403 and answers SelfSubjectAccessReviews', async () => {
    fake.setRbac([
      { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods', 'pods/log'] },
      { verbs: ['create'], apiGroups: ['batch'], resources: ['jobs'], namespaces: ['default'] },
    ]);
    const e = await apiError(c.batch.deleteNamespacedJob({ name: 'x', namespace: NS }));
    expect(e.code).toBe(403);
    expect(e.body['message']).toBe('jobs.batch "x" is forbidden: User "fake-kube-user" cannot delete resource "jobs" in API group "batch" in the namespace "default"');
    const review = (verb: string, resource: string, group: string): Promise<k8s.V1SelfSubjectAccessReview> =>
      c.authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { namespace: NS, verb, resource, group } } } });
    expect((await review('create', 'jobs', 'batch')).status?.allowed).toBe(true);
    expect((await review('delete', 'jobs', 'batch')).status?.allowed).toBe(false);
    expect((await review('list', 'pods', '')).status?.allowed).toBe(true);
    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('allowed', 'true') });
  });

  it('serves logs with tailLines and follow=true streaming until the container exits', async () => {
    await c.batch.createNamespacedJob({ namespace: NS, body: shellJob('logs', 'for i in 1 2 3; do echo line$i; done; sleep 0.3; echo late') });
    const pod = await eventually(async () => (await podsOf('logs')).find((p) => p.status?.phase === 'Running'), 'running');
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const ended = new Promise<void>((r) => out.on('end', () => r()));
    await new k8s.Log(c.kc).log(NS, pod.metadata!.name!, 'main', out, { follow: true });
    await ended;
    expect(text).toBe('line1\nline2\nline3\nlate\n');
    const tail = await c.core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: NS, tailLines: 2 });
    expect(tail).toBe('line3\nlate\n');
    const wrong = await apiError(c.core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: NS, container: 'nope' }));
    expect(wrong.code).toBe(400);
  });
});
