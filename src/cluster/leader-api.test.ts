import { afterEach, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKube } from '../../test/support/fake-kube/index.js';
import { eventually } from '../../test/support/fake-kube/test-helpers.js';
import { connect } from './connection.js';
import { KubeApi } from './kube-api.js';
import { PassThrough } from 'node:stream';
import { StatusPublisher, deleteLeader, readLeaderState, submitLeader, writeLeaderLogs } from './leader-api.js';
import { LEADER_CONTAINER, bundleName, jobSecretName, leaderJobName, leaderSelector, statusName, type LeaderSpec } from './leader-manifests.js';

let kube: FakeKube | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

const spec = (ns: string): LeaderSpec => ({
  runId: 'r1',
  namespace: ns,
  owner: 'tester',
  image: 'registry.invalid/strand:test',
  serviceAccountName: 'strand',
  workspace: { claimName: 'ws', mountPath: '/workspace' },
  dataVolumes: [],
  args: ['leader'],
  cpu: '100m',
  memory: '128Mi',
  restarts: 0,
});

async function start(): Promise<{ api: KubeApi; ns: string; k: FakeKube }> {
  const k = await startFakeKube({ kubeletBackoffMs: 50 });
  kube = k;
  // The leader pod never runs here: only the objects and their lifecycle are under test.
  k.imagePullFails('registry.invalid/strand:test', 'ErrImagePull');
  return { api: new KubeApi(connect({ kubeconfig: k.kubeconfigPath }), { requestsPerSecond: 100, baseBackoffMs: 10 }), ns: k.namespace, k };
}

describe('the leader objects on an API server (fake)', () => {
  it('makes the ConfigMaps and the job Secret before the Job, owned by it afterwards; deleting the Job removes them', async () => {
    const { api, ns, k } = await start();
    const made = await submitLeader(api, spec(ns), new Map([['submit.json', Buffer.from('{}')]]), '{}', Buffer.from('{"x": 1}'));
    expect(made.job).toBe(leaderJobName('r1'));
    const creates = k.requests.filter((r) => r.verb === 'create').map((r) => r.resource);
    expect(creates.slice(0, 4)).toEqual(['configmaps', 'configmaps', 'secrets', 'jobs']);
    const bundle = k.getObject('configmaps', ns, bundleName('r1'));
    const secret = k.getObject('secrets', ns, jobSecretName('r1')) as unknown as { data: Record<string, string>; metadata: { ownerReferences: unknown } };
    expect(Buffer.from(secret.data['job.json'] ?? '', 'base64').toString()).toBe('{"x": 1}');
    expect(secret.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'ConfigMap', name: bundleName('r1'), uid: bundle?.metadata.uid }]);
    for (const name of [bundleName('r1'), statusName('r1')]) {
      expect(k.getObject('configmaps', ns, name)?.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'Job', name: made.job, uid: made.uid }]);
    }
    const state = await readLeaderState(api, ns, 'r1');
    expect({ status: state.statusJson, job: state.job?.name, complete: state.job?.complete }).toEqual({ status: '{}', job: made.job, complete: false });

    // Submitting the same run again is refused, naming it.
    await expect(submitLeader(api, spec(ns), new Map([['submit.json', Buffer.from('{}')]]), '{}', Buffer.from('{}'))).rejects.toThrow(/run r1 was already submitted/);

    expect(await deleteLeader(api, ns, 'r1')).toBe(true);
    await eventually(
      () => (k.getObject('configmaps', ns, bundleName('r1')) || k.getObject('configmaps', ns, statusName('r1')) || k.getObject('secrets', ns, jobSecretName('r1')) || k.getObject('jobs', ns, made.job) ? undefined : true),
      'the run objects to be collected',
    );
    expect(await deleteLeader(api, ns, 'r1')).toBe(false);
    expect((await readLeaderState(api, ns, 'r1')).job).toBeUndefined();
  });

  it('publishes at a bounded rate, and the last state always gets out', async () => {
    const { api, ns, k } = await start();
    await submitLeader(api, spec(ns), new Map([['submit.json', Buffer.from('{}')]]), '{}', Buffer.from('{}'));
    const warnings: string[] = [];
    const pub = new StatusPublisher(api, ns, 'r1', 300, (m) => warnings.push(m));
    const t0 = Date.now();
    for (let i = 0; i < 50; i++) {
      pub.publish(JSON.stringify({ n: i }));
      await new Promise((r) => setTimeout(r, 10));
    }
    await pub.flush();
    const elapsed = Date.now() - t0;
    // One patch per 300 ms at most (and the final flush).
    expect(pub.sent).toBeLessThanOrEqual(Math.ceil(elapsed / 300) + 1);
    expect(pub.sent).toBeGreaterThanOrEqual(1);
    expect(k.getObject('configmaps', ns, statusName('r1'))?.['data']).toEqual({ 'status.json': '{"n":49}' });
    expect(warnings).toEqual([]);
  });
});

describe('strand logs -f of a submitted run (issue 18, point 6)', () => {
  it('follows the next leader pod when one is replaced, waiting for it to start instead of printing a 400 and giving up', async () => {
    const { api, ns, k } = await start();
    k.clearFaults();
    const labels = Object.fromEntries(leaderSelector('r1').split(',').map((kv) => kv.split('=') as [string, string]));
    await api.batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: leaderJobName('r1'), labels },
        spec: {
          backoffLimit: 3,
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: 'Never',
              terminationGracePeriodSeconds: 1,
              containers: [{ name: LEADER_CONTAINER, image: 'busybox:1.36', command: ['sh', '-c', 'echo "leader line from $STRAND_POD"; exec sleep 30'], env: [{ name: 'STRAND_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }],
            },
          },
        },
      },
    });
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const ctl = new AbortController();
    const following = writeLeaderLogs(api, ns, 'r1', out, { follow: true, signal: ctl.signal });
    const first = await eventually(() => /leader line from (\S+)/.exec(text)?.[1], "the first leader pod's line");
    // The next pod cannot be scheduled at first: it waits in Pending, where its log is a 400.
    k.unschedulable((p) => p.metadata.name !== first);
    k.deletePod(first, ns);
    await eventually(() => ((k.listObjects('pods', ns) as Array<{ metadata: { name?: string }; status?: { phase?: string } }>).some((p) => p.metadata.name !== first && p.status?.phase === 'Pending') ? true : undefined), 'a pending second pod');
    await new Promise((r) => setTimeout(r, 2500));
    k.clearFaults();
    const second = await eventually(() => [...text.matchAll(/leader line from (\S+)/g)].map((m) => m[1]).find((p) => p !== first), "the second leader pod's line");
    expect(second).toBeDefined();
    expect(text).not.toMatch(/HTTP|no log:/);
    ctl.abort();
    await deleteLeader(api, ns, 'r1');
    await following;
  }, 60_000);
});

