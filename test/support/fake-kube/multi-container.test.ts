/** Init containers, several containers and a shared emptyDir, as a real 1.20 kubelet runs them. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKube, startFakeKube } from './index.js';
import { type Clients, apiError, clientsFor, eventually, jobCondition } from './test-helpers.js';

const NS = 'default';
const root = mkdtempSync(path.join(tmpdir(), 'fake-kube-multi-'));

function podOf(c: Clients, job: string): Promise<k8s.V1Pod | undefined> {
  return c.core.listNamespacedPod({ namespace: NS, labelSelector: `job-name=${job}` }).then((l) => l.items[0]);
}

function job(name: string, inits: Array<[string, string]>, apps: Array<[string, string]>, extra: Partial<k8s.V1Container> = {}): k8s.V1Job {
  const dir = path.join(root, name);
  const mk = ([n, script]: [string, string]): k8s.V1Container => ({
    name: n,
    image: 'busybox:1.36',
    command: ['sh', '-c', script],
    volumeMounts: [{ name: 'shared', mountPath: dir }],
    terminationMessagePolicy: 'FallbackToLogsOnError',
    ...extra,
  });
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: { spec: { restartPolicy: 'Never', initContainers: inits.map(mk), containers: apps.map(mk), volumes: [{ name: 'shared', emptyDir: {} }] } },
    },
  };
}

describe('fake-kube: init containers and several containers', () => {
  let fake: FakeKube;
  let c: Clients;
  beforeAll(async () => {
    fake = await startFakeKube({ kubeletBackoffMs: 20, emptyDirRoots: [root] });
    c = clientsFor(fake);
  });
  afterAll(async () => {
    await fake.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('runs init containers in order before the app containers, which share the emptyDir and run at once', async () => {
    const d = path.join(root, 'order');
    const j = job(
      'order',
      [
        ['first', `echo 1 > ${d}/seq`],
        ['second', `echo 2 >> ${d}/seq`],
      ],
      [
        ['tool', `sleep 0.3; cat ${d}/seq > ${d}/seen; echo done > ${d}/done`],
        ['waiter', `while [ ! -e ${d}/done ]; do sleep 0.05; done; cat ${d}/seen`],
      ],
    );
    await c.batch.createNamespacedJob({ namespace: NS, body: j });
    const during = await eventually(async () => {
      const p = await podOf(c, 'order');
      return p?.status?.phase === 'Running' ? p : undefined;
    }, 'Running');
    expect(during.status?.conditions?.find((x) => x.type === 'Initialized')?.status).toBe('True');
    expect(during.status?.initContainerStatuses?.map((s) => s.state?.terminated?.exitCode)).toEqual([0, 0]);
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'order', namespace: NS }), 'Complete'), 'Complete');
    const done = (await podOf(c, 'order'))!;
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.containerStatuses?.map((s) => [s.name, s.state?.terminated?.exitCode])).toEqual([
      ['tool', 0],
      ['waiter', 0],
    ]);
    // Logs need a container name when there are several, as on a real API server.
    const err = await apiError(c.core.readNamespacedPodLog({ name: done.metadata!.name!, namespace: NS }));
    expect(err.code).toBe(400);
    expect(JSON.stringify(err.body)).toContain('a container name must be specified for pod');
    expect(await c.core.readNamespacedPodLog({ name: done.metadata!.name!, namespace: NS, container: 'waiter' })).toBe('1\n2\n');
  });

  it('a failed init container fails the pod: the app containers never start, the pod is Pending until then', async () => {
    const j = job('initfail', [['stage', 'echo "cannot fetch s3://b/k: NoSuchKey" >&2; exit 3']], [['tool', 'echo never']]);
    await c.batch.createNamespacedJob({ namespace: NS, body: j });
    const p = await eventually(async () => {
      const x = await podOf(c, 'initfail');
      return x?.status?.phase === 'Failed' ? x : undefined;
    }, 'Failed');
    const init = p.status?.initContainerStatuses?.[0]?.state?.terminated;
    expect(init?.exitCode).toBe(3);
    expect(init?.message).toBe('cannot fetch s3://b/k: NoSuchKey');
    expect(p.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('PodInitializing');
    expect(p.status?.conditions?.find((x) => x.type === 'Initialized')?.status).toBe('False');
  });

  it('the pod fails when one app container fails, after all have exited; each keeps its own exit code', async () => {
    const j = job('onefails', [], [
      ['tool', 'exit 0'],
      ['upload', 'sleep 0.2; echo "upload failed: SlowDown" >&2; exit 1'],
    ]);
    await c.batch.createNamespacedJob({ namespace: NS, body: j });
    const p = await eventually(async () => {
      const x = await podOf(c, 'onefails');
      return x?.status?.phase === 'Failed' ? x : undefined;
    }, 'Failed');
    expect(p.status?.containerStatuses?.map((s) => s.state?.terminated?.exitCode)).toEqual([0, 1]);
    expect(p.status?.containerStatuses?.[1]?.state?.terminated?.message).toBe('upload failed: SlowDown');
    expect(existsSync(path.join(root, 'onefails'))).toBe(true);
  });

  it('a deleted pod stops every container and goes, with its emptyDir', async () => {
    const j = job('killed', [], [
      ['tool', 'exit 0'],
      ['upload', 'sleep 30'],
    ]);
    await c.batch.createNamespacedJob({ namespace: NS, body: j });
    const p = await eventually(async () => {
      const x = await podOf(c, 'killed');
      return x?.status?.containerStatuses?.[1]?.state?.running ? x : undefined;
    }, 'upload running');
    await c.core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: NS, gracePeriodSeconds: 1 });
    await eventually(async () => ((await podOf(c, 'killed')) === undefined ? true : undefined), 'pod gone');
    expect(existsSync(path.join(root, 'killed'))).toBe(false);
    expect(fake.runningPids()).toEqual([]);
  });

  it('envFrom a Secret gives its keys as variables; a missing Secret leaves the container in CreateContainerConfigError', async () => {
    await c.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'creds' }, stringData: { AWS_ACCESS_KEY_ID: 'AKIAFAKE' } } });
    const d = path.join(root, 'envfrom');
    const ok = job('envfrom', [['stage', `echo $AWS_ACCESS_KEY_ID > ${d}/k`]], [['tool', `cat ${d}/k`]], { envFrom: [{ secretRef: { name: 'creds' } }] });
    await c.batch.createNamespacedJob({ namespace: NS, body: ok });
    await eventually(async () => jobCondition(await c.batch.readNamespacedJob({ name: 'envfrom', namespace: NS }), 'Complete'), 'Complete');
    const p = (await podOf(c, 'envfrom'))!;
    expect(await c.core.readNamespacedPodLog({ name: p.metadata!.name!, namespace: NS, container: 'tool' })).toBe('AKIAFAKE\n');
    const missing = job('nosecret', [['stage', 'true']], [['tool', 'true']], { envFrom: [{ secretRef: { name: 'absent' } }] });
    await c.batch.createNamespacedJob({ namespace: NS, body: missing });
    const w = await eventually(async () => {
      const x = await podOf(c, 'nosecret');
      return x?.status?.initContainerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError' ? x : undefined;
    }, 'CreateContainerConfigError');
    expect(w.status?.initContainerStatuses?.[0]?.state?.waiting?.message).toBe('secret "absent" not found');
  });
});
