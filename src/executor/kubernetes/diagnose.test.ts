import type { V1ContainerState, V1Job, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeKube, startFakeKube } from '../../../test/support/fake-kube/index.js';
import { clientsFor, eventually } from '../../../test/support/fake-kube/test-helpers.js';
import { diagnoseJob, diagnosePod, type PodVerdict } from './diagnose.js';

const IMAGE = 'quay.io/biocontainers/samtools:1.19--h50ea8bc_0';

/** A pod shaped like the API server returns it for a Strand task. */
function pod(o: {
  phase?: string;
  reason?: string;
  message?: string;
  state?: V1ContainerState;
  lastState?: V1ContainerState;
  conditions?: V1PodCondition[];
  deleting?: boolean;
}): V1Pod {
  const p: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 's-abc123-xyz',
      namespace: 'genomics',
      labels: { 'job-name': 's-abc123' },
      ...(o.deleting ? { deletionTimestamp: new Date('2024-05-01T10:00:00Z'), deletionGracePeriodSeconds: 30 } : {}),
    },
    spec: { restartPolicy: 'Never', nodeName: 'node-1', containers: [{ name: 'main', image: IMAGE, command: ['samtools'] }] },
    status: {
      phase: o.phase ?? 'Pending',
      ...(o.reason ? { reason: o.reason } : {}),
      ...(o.message ? { message: o.message } : {}),
      conditions: o.conditions ?? [{ type: 'PodScheduled', status: 'True' }],
      ...(o.state
        ? {
            containerStatuses: [
              { name: 'main', image: IMAGE, imageID: '', ready: false, restartCount: 0, state: o.state, ...(o.lastState ? { lastState: o.lastState } : {}) },
            ],
          }
        : {}),
    },
  };
  return p;
}

const terminated = (exitCode: number, reason: string, message?: string): V1ContainerState => ({
  terminated: { exitCode, reason, ...(message ? { message } : {}), startedAt: new Date(), finishedAt: new Date() },
});

describe('diagnosePod', () => {
  it('a pod waiting to be scheduled for lack of resources is pending with the scheduler message', () => {
    const msg = '0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
    const v = diagnosePod(pod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: msg }] }));
    expect(v).toEqual({ state: 'pending', unschedulable: msg });
  });

  it('a scheduled pod creating its container is pending with the waiting reason', () => {
    expect(diagnosePod(pod({ state: { waiting: { reason: 'ContainerCreating' } } }))).toEqual({ state: 'pending', waitingReason: 'ContainerCreating' });
    expect(diagnosePod(pod({}))).toEqual({ state: 'pending' });
  });

  it('a running container is running', () => {
    expect(diagnosePod(pod({ phase: 'Running', state: { running: { startedAt: new Date() } } }))).toEqual({ state: 'running' });
  });

  it.each(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName'])('waiting reason %s is an image error naming the image', (reason) => {
    const message = `Back-off pulling image "${IMAGE}"`;
    const v = diagnosePod(pod({ state: { waiting: { reason, message } } }));
    expect(v.state).toBe('image_error');
    if (v.state !== 'image_error') return;
    expect(v.reason).toBe(reason);
    expect(v.image).toBe(IMAGE);
    expect(v.message).toContain('s-abc123-xyz');
    expect(v.message).toContain(reason);
    expect(v.message).toContain(message);
  });

  it('CreateContainerConfigError (a missing Secret) fails the task with the kubelet message', () => {
    const message = 'secret "minio" not found';
    const v = diagnosePod(pod({ state: { waiting: { reason: 'CreateContainerConfigError', message } } }));
    expect(v).toMatchObject({ state: 'finished', reason: 'failed', exitCode: null });
    if (v.state === 'finished') {
      expect(v.message).toContain('CreateContainerConfigError');
      expect(v.message).toContain(message);
      expect(v.message).toContain('s-abc123-xyz');
    }
  });

  it('OOMKilled is oom_killed (from the terminated reason)', () => {
    const v = diagnosePod(pod({ phase: 'Failed', state: terminated(137, 'OOMKilled') }));
    expect(v).toMatchObject({ state: 'finished', reason: 'oom_killed', exitCode: 137 });
    if (v.state === 'finished') expect(v.message).toMatch(/s-abc123-xyz.*OOMKilled/);
  });

  it('exit 137 without OOMKilled is not an OOM kill: completed with 137', () => {
    const v = diagnosePod(pod({ phase: 'Failed', state: terminated(137, 'Error') }));
    expect(v).toMatchObject({ state: 'finished', reason: 'completed', exitCode: 137 });
  });

  it('a normal exit is completed with its code, whatever it is', () => {
    expect(diagnosePod(pod({ phase: 'Succeeded', state: terminated(0, 'Completed') }))).toMatchObject({ state: 'finished', reason: 'completed', exitCode: 0 });
    const v = diagnosePod(pod({ phase: 'Failed', state: terminated(3, 'Error') }));
    expect(v).toMatchObject({ state: 'finished', reason: 'completed', exitCode: 3 });
    if (v.state === 'finished') expect(v.message).toContain('exited with code 3');
  });

  it('a container that could not start (StartError) failed, without a tool exit code', () => {
    const msg = 'exec: "samtools": executable file not found in $PATH: unknown';
    const v = diagnosePod(pod({ phase: 'Failed', state: terminated(128, 'StartError', msg) }));
    expect(v).toMatchObject({ state: 'finished', reason: 'failed', exitCode: null });
    if (v.state === 'finished') expect(v.message).toContain(msg);
  });

  it('kubelet eviction is evicted with the kubelet message, not the SIGKILL exit', () => {
    const msg = 'The node was low on resource: memory.';
    const v = diagnosePod(
      pod({
        phase: 'Failed',
        reason: 'Evicted',
        message: msg,
        state: terminated(137, 'Error'),
        conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet', message: msg }],
      }),
    );
    expect(v).toMatchObject({ state: 'finished', reason: 'evicted', exitCode: null });
    if (v.state === 'finished') {
      expect(v.message).toContain(msg);
      expect(v.message).toContain('s-abc123-xyz');
    }
  });

  it('an API-initiated eviction (drain) is evicted', () => {
    const v = diagnosePod(
      pod({
        phase: 'Running',
        deleting: true,
        state: { running: { startedAt: new Date() } },
        conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' }],
      }),
    );
    expect(v).toMatchObject({ state: 'finished', reason: 'evicted' });
  });

  it('node loss (taint manager) is lost, even with a stale running container status', () => {
    const v = diagnosePod(
      pod({
        phase: 'Failed',
        deleting: true,
        state: { running: { startedAt: new Date() } },
        conditions: [
          { type: 'Ready', status: 'False', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' },
          { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' },
        ],
      }),
    );
    expect(v).toMatchObject({ state: 'finished', reason: 'lost', exitCode: null });
    if (v.state === 'finished') expect(v.message).toContain('DeletionByTaintManager');
  });

  it('a pod being deleted before its container terminated is lost', () => {
    const v = diagnosePod(pod({ phase: 'Running', deleting: true, state: { running: { startedAt: new Date() } } }));
    expect(v).toMatchObject({ state: 'finished', reason: 'lost', exitCode: null });
    if (v.state === 'finished') expect(v.message).toContain('deleted');
  });

  it('a pod being deleted whose container already exited reports that exit', () => {
    expect(diagnosePod(pod({ phase: 'Failed', deleting: true, state: terminated(143, 'Error') }))).toMatchObject({ reason: 'completed', exitCode: 143 });
  });

  it('activeDeadlineSeconds (pod reason DeadlineExceeded) is timed_out', () => {
    const v = diagnosePod(
      pod({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline', state: terminated(137, 'Error') }),
    );
    expect(v).toMatchObject({ state: 'finished', reason: 'timed_out', exitCode: null });
    if (v.state === 'finished') expect(v.message).toContain('longer than the specified deadline');
  });

  it('a failed pod without a container status failed with its reason', () => {
    const v = diagnosePod(pod({ phase: 'Failed', reason: 'FakeKubeUnsupported', message: 'fake-kube: volume type nfs is not supported' }));
    expect(v).toMatchObject({ state: 'finished', reason: 'failed' });
    if (v.state === 'finished') expect(v.message).toContain('volume type nfs');
  });

  it('a pod rejected by the node at admission is lost (to be retried elsewhere)', () => {
    expect(diagnosePod(pod({ phase: 'Failed', reason: 'UnexpectedAdmissionError', message: 'Allocate failed' }))).toMatchObject({ reason: 'lost' });
  });
});

describe('diagnoseJob', () => {
  const job = (conditions: Array<{ type: string; status: string; reason?: string; message?: string }>, deleting = false): V1Job => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 's-abc123', namespace: 'genomics', ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    status: { conditions: conditions.map((c) => ({ ...c, lastTransitionTime: new Date() })) },
  });

  it('a running Job is active', () => {
    expect(diagnoseJob(job([]))).toEqual({ state: 'active' });
  });

  it('DeadlineExceeded is timed_out', () => {
    const v = diagnoseJob(job([{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }]));
    expect(v).toMatchObject({ state: 'finished', reason: 'timed_out' });
    if (v.state === 'finished') expect(v.message).toMatch(/s-abc123.*DeadlineExceeded.*longer than specified deadline/);
  });

  it('BackoffLimitExceeded is failed, naming the reason', () => {
    const v = diagnoseJob(job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }]));
    expect(v).toMatchObject({ state: 'finished', reason: 'failed' });
    if (v.state === 'finished') expect(v.message).toContain('BackoffLimitExceeded');
  });

  it('Complete is completed; a condition that is not True does not count', () => {
    expect(diagnoseJob(job([{ type: 'Complete', status: 'True' }]))).toMatchObject({ state: 'finished', reason: 'completed' });
    expect(diagnoseJob(job([{ type: 'Failed', status: 'False', reason: 'DeadlineExceeded' }]))).toEqual({ state: 'active' });
  });

  it('a Job being deleted before it finished is lost', () => {
    expect(diagnoseJob(job([], true))).toMatchObject({ state: 'finished', reason: 'lost' });
  });
});

describe('diagnosePod on pods produced by fake-kube', () => {
  let fake: FakeKube | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const taskPod = (name: string, script: string, memory?: string): V1Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: 'busybox:1.36', command: ['sh', '-c', script], ...(memory ? { resources: { limits: { memory } } } : {}) }],
    },
  });

  async function verdictOf(name: string, accept: (v: PodVerdict) => boolean): Promise<PodVerdict> {
    const f = fake!;
    return eventually(() => {
      const p = f.getObject('pods', 'default', name) as V1Pod | undefined;
      if (!p) return undefined;
      const v = diagnosePod(p);
      return accept(v) ? v : undefined;
    }, `verdict for ${name}`);
  }

  it('recognises OOM kills, exits, image pull failures, unschedulable pods and evictions', async () => {
    fake = await startFakeKube({ kubeletBackoffMs: 50 });
    const { core } = clientsFor(fake);
    fake.oomKillBelow(1024);
    fake.imagePullFails('nosuch/image', 'ImagePullBackOff');
    fake.unschedulable((p) => p.metadata.name === 'stuck', '0/1 nodes are available: 1 Insufficient memory.');
    await core.createNamespacedPod({ namespace: 'default', body: taskPod('oom', 'sleep 30', '100Mi') });
    await core.createNamespacedPod({ namespace: 'default', body: taskPod('exit3', 'exit 3') });
    const bad = taskPod('pull', 'true');
    bad.spec!.containers[0]!.image = 'nosuch/image:1';
    await core.createNamespacedPod({ namespace: 'default', body: bad });
    await core.createNamespacedPod({ namespace: 'default', body: taskPod('stuck', 'true') });
    await core.createNamespacedPod({ namespace: 'default', body: taskPod('victim', 'sleep 30') });

    expect(await verdictOf('oom', (v) => v.state === 'finished')).toMatchObject({ reason: 'oom_killed', exitCode: 137 });
    expect(await verdictOf('exit3', (v) => v.state === 'finished')).toMatchObject({ reason: 'completed', exitCode: 3 });
    expect(await verdictOf('pull', (v) => v.state === 'image_error' && v.reason === 'ImagePullBackOff')).toMatchObject({ image: 'nosuch/image:1' });
    expect(await verdictOf('stuck', (v) => v.state === 'pending' && v.unschedulable !== undefined)).toEqual({
      state: 'pending',
      unschedulable: '0/1 nodes are available: 1 Insufficient memory.',
    });
    await verdictOf('victim', (v) => v.state === 'running');
    fake.evictPod('victim');
    const ev = await verdictOf('victim', (v) => v.state === 'finished');
    expect(ev).toMatchObject({ reason: 'evicted' });
    if (ev.state === 'finished') expect(ev.message).toContain('The node was low on resource: memory.');
  });
});

describe('pullFailure', () => {
  it('keeps the innermost cause of a kubelet pull message', async () => {
    const { pullFailure } = await import('./diagnose.js');
    const kubelet =
      'pod p in namespace n: cannot pull image localhost/x:1 (ErrImagePull): rpc error: code = Unknown desc = failed to pull and unpack image "localhost/x:1": failed to resolve reference "localhost/x:1": failed to do request: Head "http://localhost/v2/x/manifests/1": dial tcp 127.0.0.1:80: connect: connection refused';
    expect(pullFailure(kubelet)).toBe('dial tcp 127.0.0.1:80: connect: connection refused');
    expect(pullFailure('rpc error: code = NotFound desc = failed to pull and unpack image "quay.io/a/b:1": quay.io/a/b:1: not found')).toBe('quay.io/a/b:1: not found');
    expect(pullFailure('x'.repeat(400)).length).toBeLessThanOrEqual(160);
  });
});
