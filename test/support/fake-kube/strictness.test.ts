/** Behaviour of the real cluster (the k8s rig) the fake copies: found by running Strand on both. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKube, startFakeKube } from './index.js';
import { type Clients, apiError, clientsFor, eventually, shellJob } from './test-helpers.js';

const NS = 'default';
const root = mkdtempSync(path.join(tmpdir(), 'fake-kube-strict-'));
const ws = path.join(root, 'ws');

describe('fake-kube: as strict as a real cluster', () => {
  let fake: FakeKube;
  let c: Clients;
  beforeAll(async () => {
    mkdirSync(ws);
    fake = await startFakeKube({ pvcHostPaths: { ws }, kubeletBackoffMs: 20 });
    c = clientsFor(fake);
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: { metadata: { name: 'ws' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } },
    });
  });
  afterAll(async () => {
    await fake.close();
    rmSync(root, { recursive: true, force: true });
  });

  const withMounts = (name: string, mounts: Array<{ mountPath: string; subPath?: string }>) => {
    const j = shellJob(name, 'true');
    const pod = j.spec!.template.spec!;
    pod.volumes = [{ name: 'w', persistentVolumeClaim: { claimName: 'ws' } }];
    pod.containers[0]!.volumeMounts = mounts.map((m) => ({ name: 'w', ...m }));
    return j;
  };

  it('refuses a subPath that leads out of its volume through a link: the container waits in CreateContainerConfigError', async () => {
    writeFileSync(path.join(root, 'outside.txt'), 'x');
    symlinkSync(path.join(root, 'outside.txt'), path.join(ws, 'link.txt'));
    await c.batch.createNamespacedJob({ namespace: NS, body: withMounts('link', [{ mountPath: path.join(ws, 'link.txt'), subPath: 'link.txt' }]) });
    const waiting = await eventually(async () => {
      const pods = (await c.core.listNamespacedPod({ namespace: NS, labelSelector: 'job-name=link' })).items;
      const w = pods[0]?.status?.containerStatuses?.[0]?.state?.waiting;
      return w?.reason === 'CreateContainerConfigError' ? w : undefined;
    }, 'CreateContainerConfigError');
    expect(waiting.message).toBe('failed to prepare subPath for volumeMount "w" of container "main"');
  });

  it('refuses two mounts at one path, and absolute or .. subPaths', async () => {
    const dup = await apiError(c.batch.createNamespacedJob({ namespace: NS, body: withMounts('dup', [{ mountPath: ws }, { mountPath: ws }]) }));
    expect(dup.code).toBe(422);
    expect(JSON.stringify(dup.body)).toContain('must be unique');
    const up = await apiError(c.batch.createNamespacedJob({ namespace: NS, body: withMounts('up', [{ mountPath: path.join(ws, 'a'), subPath: '../a' }]) }));
    expect(up.code).toBe(422);
  });
});
