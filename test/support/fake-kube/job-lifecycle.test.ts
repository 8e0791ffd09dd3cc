import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { type FakeKube, startFakeKube } from './index.js';
import { type Clients, clientsFor, eventually, jobCondition, shellJob } from './test-helpers.js';

describe('fake-kube: Jobs run pods on the fake node', () => {
  let fake: FakeKube;
  let c: Clients;
  const work = mkdtempSync(join(tmpdir(), 'fk-work-'));
  beforeAll(async () => {
    fake = await startFakeKube({ pvcHostPaths: { workspace: work } });
    c = clientsFor(fake);
  });
  afterAll(async () => {
    await fake.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('runs a Job to Complete, writing through a PVC mount, with real status shapes', async () => {
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: { metadata: { name: 'workspace' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });
    const job = shellJob('hello', `echo hi > ${work}/out.txt && echo done`, {
      volumes: [{ name: 'ws', persistentVolumeClaim: { claimName: 'workspace' } }],
    });
    job.spec!.template.spec!.containers[0]!.volumeMounts = [{ name: 'ws', mountPath: work }];
    const created = await c.batch.createNamespacedJob({ namespace: 'default', body: job });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(created.spec?.template.metadata?.labels?.['job-name']).toBe('hello');
    expect(created.spec?.selector?.matchLabels?.['batch.kubernetes.io/controller-uid']).toBe(created.metadata?.uid);

    const done = await eventually(async () => {
      const j = await c.batch.readNamespacedJob({ name: 'hello', namespace: 'default' });
      return jobCondition(j, 'Complete') ? j : undefined;
    }, 'job complete');
    expect(done.status?.succeeded).toBe(1);
    expect(done.status?.completionTime).toBeInstanceOf(Date);
    expect(done.status?.startTime).toBeInstanceOf(Date);
    expect(readFileSync(join(work, 'out.txt'), 'utf8')).toBe('hi\n');

    const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=hello' });
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0]!;
    expect(pod.metadata?.name).toMatch(/^hello-[a-z0-9]{5}$/);
    expect(pod.metadata?.labels?.['controller-uid']).toBe(created.metadata?.uid);
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Job', name: 'hello', uid: created.metadata?.uid, controller: true });
    expect(pod.spec?.nodeName).toBe('fake-node');
    expect(pod.status?.phase).toBe('Succeeded');
    const term = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(term?.exitCode).toBe(0);
    expect(term?.reason).toBe('Completed');
    expect(term?.finishedAt).toBeInstanceOf(Date);

    const log = await c.core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: 'default' });
    expect(log).toBe('done\n');
  });

  it('fails a Job whose container exits non-zero, with BackoffLimitExceeded and exit code', async () => {
    await c.batch.createNamespacedJob({ namespace: 'default', body: shellJob('boom', 'echo oops >&2; exit 3') });
    const failed = await eventually(async () => {
      const j = await c.batch.readNamespacedJob({ name: 'boom', namespace: 'default' });
      return jobCondition(j, 'Failed') ? j : undefined;
    }, 'job failed');
    expect(jobCondition(failed, 'Failed')?.reason).toBe('BackoffLimitExceeded');
    expect(failed.status?.failed).toBe(1);
    const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'batch.kubernetes.io/job-name=boom' });
    expect(pods.items).toHaveLength(1);
    const t = pods.items[0]!.status?.containerStatuses?.[0]?.state?.terminated;
    expect(t?.exitCode).toBe(3);
    expect(t?.reason).toBe('Error');
    expect(pods.items[0]!.status?.phase).toBe('Failed');
  });

  it('retries up to backoffLimit, creating backoffLimit+1 pods', async () => {
    const f2 = await startFakeKube({ jobBackoffBaseMs: 10 });
    try {
      const c2 = clientsFor(f2);
      await c2.batch.createNamespacedJob({ namespace: 'default', body: shellJob('flaky', 'exit 1', {}, { backoffLimit: 2 }) });
      await eventually(async () => jobCondition(await c2.batch.readNamespacedJob({ name: 'flaky', namespace: 'default' }), 'Failed'), 'failed');
      const pods = await c2.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=flaky' });
      expect(pods.items).toHaveLength(3);
    } finally {
      await f2.close();
    }
  });

  it('kills the pod and fails the Job with DeadlineExceeded after activeDeadlineSeconds', async () => {
    await c.batch.createNamespacedJob({ namespace: 'default', body: shellJob('slow', 'sleep 30', {}, { activeDeadlineSeconds: 1 }) });
    const failed = await eventually(async () => {
      const j = await c.batch.readNamespacedJob({ name: 'slow', namespace: 'default' });
      return jobCondition(j, 'Failed') ? j : undefined;
    }, 'deadline');
    expect(jobCondition(failed, 'Failed')?.reason).toBe('DeadlineExceeded');
    await eventually(async () => {
      const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=slow' });
      return pods.items.length === 0 ? true : undefined;
    }, 'pod removed');
  });

  it('passes env (value and secretKeyRef) and workingDir, and expands $(VAR)', async () => {
    await c.core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'creds' }, stringData: { token: 's3cret' } } });
    const job = shellJob('envy', 'echo "$GREETING $TOKEN $(pwd)"', {});
    const ctr = job.spec!.template.spec!.containers[0]!;
    ctr.workingDir = work;
    ctr.env = [
      { name: 'NAME', value: 'world' },
      { name: 'GREETING', value: 'hello-$(NAME)' },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
    ];
    await c.batch.createNamespacedJob({ namespace: 'default', body: job });
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'envy', namespace: 'default' }), 'Complete'), 'complete');
    const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=envy' });
    expect(fake.podLogs('default', pods.items[0]!.metadata!.name!)).toBe(`hello-world s3cret ${work}\n`);
  });

  it('keeps a pod waiting with CreateContainerConfigError when a referenced Secret is missing', async () => {
    const job = shellJob('nosecret', 'true');
    job.spec!.template.spec!.containers[0]!.env = [{ name: 'X', valueFrom: { secretKeyRef: { name: 'absent', key: 'k' } } }];
    await c.batch.createNamespacedJob({ namespace: 'default', body: job });
    const waiting = await eventually(async () => {
      const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=nosecret' });
      return pods.items[0]?.status?.containerStatuses?.[0]?.state?.waiting;
    }, 'waiting');
    expect(waiting.reason).toBe('CreateContainerConfigError');
    expect(waiting.message).toBe('secret "absent" not found');
    await c.core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'absent' }, stringData: { k: 'v' } } });
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'nosecret', namespace: 'default' }), 'Complete'), 'complete after secret');
  });

  it('fails the pod with a clear message when a mountPath differs from its host path', async () => {
    const job = shellJob('remap', 'true', { volumes: [{ name: 'ws', persistentVolumeClaim: { claimName: 'workspace' } }] });
    job.spec!.template.spec!.containers[0]!.volumeMounts = [{ name: 'ws', mountPath: '/workspace' }];
    await c.batch.createNamespacedJob({ namespace: 'default', body: job });
    const pod = await eventually(async () => {
      const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=remap' });
      return pods.items[0]?.status?.phase === 'Failed' ? pods.items[0] : undefined;
    }, 'pod failed');
    expect(pod.status?.message).toContain('must equal its host path');
  });

  it('gives emptyDir volumes a fresh directory at their mountPath and removes it with the pod', async () => {
    const scratch = join(tmpdir(), `fk-scratch-${process.pid}-${Date.now()}`);
    const job = shellJob('scratchy', `ls -A ${scratch} | wc -l; touch ${scratch}/x`, { volumes: [{ name: 's', emptyDir: { medium: 'Memory' } }] });
    job.spec!.template.spec!.containers[0]!.volumeMounts = [{ name: 's', mountPath: scratch }];
    await c.batch.createNamespacedJob({ namespace: 'default', body: job });
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'scratchy', namespace: 'default' }), 'Complete'), 'complete');
    const pods = await c.core.listNamespacedPod({ namespace: 'default', labelSelector: 'job-name=scratchy' });
    expect(fake.podLogs('default', pods.items[0]!.metadata!.name!)?.trim()).toBe('0');
    await c.batch.deleteNamespacedJob({ name: 'scratchy', namespace: 'default', propagationPolicy: 'Background' });
    await eventually(async () => {
      const { existsSync } = await import('node:fs');
      return existsSync(scratch) ? undefined : true;
    }, 'emptyDir removed');
  });

  it('deletes finished Jobs after ttlSecondsAfterFinished', async () => {
    await c.batch.createNamespacedJob({ namespace: 'default', body: shellJob('ttl', 'true', {}, { ttlSecondsAfterFinished: 0 }) });
    await eventually(async () => {
      try {
        await c.batch.readNamespacedJob({ name: 'ttl', namespace: 'default' });
        return undefined;
      } catch (err) {
        return err instanceof k8s.ApiException && err.code === 404 ? true : undefined;
      }
    }, 'ttl deletion');
  });

  it('keeps finished Jobs when TTL is ignored (Kubernetes < 1.21)', async () => {
    const f2 = await startFakeKube({ ignoreTtlSecondsAfterFinished: true });
    try {
      const c2 = clientsFor(f2);
      await c2.batch.createNamespacedJob({ namespace: 'default', body: shellJob('ttl', 'true', {}, { ttlSecondsAfterFinished: 0 }) });
      await eventually(async () => jobCondition(await c2.batch.readNamespacedJob({ name: 'ttl', namespace: 'default' }), 'Complete'), 'complete');
      await new Promise((r) => setTimeout(r, 100));
      const j = await c2.batch.readNamespacedJob({ name: 'ttl', namespace: 'default' });
      expect(jobCondition(j, 'Complete')).toBeDefined();
    } finally {
      await f2.close();
    }
  });

  it('tracks the peak of concurrently active Jobs and counts API requests', async () => {
    const f2 = await startFakeKube();
    try {
      const c2 = clientsFor(f2);
      await Promise.all(['a', 'b', 'c'].map((n) => c2.batch.createNamespacedJob({ namespace: 'default', body: shellJob(n, 'sleep 0.3') })));
      for (const n of ['a', 'b', 'c']) await eventually(async () => jobCondition(await c2.batch.readNamespacedJob({ name: n, namespace: 'default' }), 'Complete'), n);
      expect(f2.peakActiveJobs).toBe(3);
      expect(f2.activeJobs()).toBe(0);
      expect(f2.requestCounts()['create jobs']).toBe(3);
      expect(f2.requests.find((r) => r.verb === 'create')).toMatchObject({ resource: 'jobs', namespace: 'default', status: 201, path: '/apis/batch/v1/namespaces/default/jobs' });
    } finally {
      await f2.close();
    }
  });
});
