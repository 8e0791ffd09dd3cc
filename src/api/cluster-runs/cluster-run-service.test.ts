/**
 * The run service of a server without a run store, against the fake API server. The leader pod
 * cannot run there (the fake kubelet runs commands, and the leader image has an entrypoint only;
 * its pull fails here): where a run must go on to its end, the real leader (runLeader) runs in
 * this process on what submit put in the cluster (the bundle ConfigMap, the job Secret) and
 * publishes through the real StatusPublisher, as its pod would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../../../test/support/fake-cluster.js';
import { eventually } from '../../../test/support/fake-kube/test-helpers.js';
import { runLeaderInProcess } from '../../../test/support/in-process-leader.js';
import { connect } from '../../cluster/connection.js';
import { KubeApi } from '../../cluster/kube-api.js';
import { LEADER_ANNOTATIONS, bundleName, leaderJobName, statusName } from '../../cluster/leader-manifests.js';
import { LABELS, labelValue } from '../../cluster/names.js';
import { UsageError } from '../../errors.js';
import { loadDocument } from '../../loader/index.js';
import type { MemberAccess } from '../member-access.js';
import type { Principal } from '../principal.js';
import { RunNotFoundError, type RunService } from '../run-service.js';
import type { SubmitRequest } from '../submitted/submit-run.js';
import { clusterRunService } from './cluster-run-service.js';

const IMAGE = 'registry.invalid/strand:test';
const OTHER_NS = 'lab-bob';

// User names as a server gets them: not label values (an e-mail address, a service account).
const alice: Principal = { user: 'alice@lab.example.org', groups: [] };
const carol: Principal = { user: 'system:serviceaccount:lab:carol', groups: [] };
const bob: Principal = { user: 'bob', groups: [] };

let cluster: FakeCluster;
let tmp = '';
let api: KubeApi;
const savedKubeconfig = process.env.KUBECONFIG;

/** Alice and carol share the fake's namespace; bob has one of his own. */
const access: MemberAccess = {
  async forMember(p) {
    if (p.user === bob.user) return { namespace: OTHER_NS, api };
    if (p.user === alice.user || p.user === carol.user) return { namespace: cluster.kube.namespace, api };
    throw new UsageError(`${p.user} is not a member of this lab`);
  },
};

const service = (): RunService =>
  clusterRunService({
    access,
    config: { path: '/etc/strand/server.yaml', kubernetes: cluster.settings },
    leader: { image: IMAGE, serviceAccount: 'strand', cpu: '100m', memory: '128Mi', restarts: 0 },
  });

const ECHO = ['cwlVersion: v1.2', 'class: ExpressionTool', 'requirements: {InlineJavascriptRequirement: {}}', 'inputs: {word: string}', 'outputs: {same: string}', 'expression: "$({same: inputs.word})"'].join('\n');

async function request(word: string): Promise<SubmitRequest> {
  const doc = path.join(tmp, 'echo.cwl');
  return {
    document: doc,
    documentPath: 'echo.cwl',
    process: await loadDocument(doc),
    documentFiles: [doc],
    inputs: { word },
    // What the server's own settings replace: a request never chooses them.
    overrides: { namespace: 'kube-system', workspace: { claimName: 'someone-elses', mountPath: '/x', localPath: '/x' } },
    leader: { image: 'registry.invalid/evil:1', serviceAccount: 'admin', cpu: '64', memory: '1Ti', restarts: 99 },
    bundleLimit: 1 << 20,
    run: { cache: 'off' },
    cwd: tmp,
  };
}

const quiet = { info: () => undefined, warn: () => undefined };

/** The real leader of `runId`, in this process, from its bundle ConfigMap and job Secret (as its pod would see them). */
const lead = (ns: string, runId: string): Promise<string> => runLeaderInProcess(cluster.kube, { api, namespace: ns, runId, mountsDir: path.join(tmp, 'mounts') });

const notFound = (ref: string) => new RunNotFoundError(ref).message;

beforeAll(async () => {
  cluster = await startFakeCluster();
  cluster.kube.imagePullFails(IMAGE, 'ErrImagePull');
  process.env.KUBECONFIG = cluster.kube.kubeconfigPath;
  api = new KubeApi(connect({ kubeconfig: cluster.kube.kubeconfigPath }), { requestsPerSecond: 1000, baseBackoffMs: 10 });
  await api.core.createNamespace({ body: { metadata: { name: OTHER_NS } } });
  await api.core.createNamespacedPersistentVolumeClaim({
    namespace: OTHER_NS,
    body: { metadata: { name: 'strand-workspace' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } },
  });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'strand-cluster-runs-'));
  writeFileSync(path.join(tmp, 'echo.cwl'), ECHO);
});
afterAll(async () => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await cluster?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the run service of a server without a run store (runs found from the cluster)', () => {
  const ids: Record<string, string> = {};

  it("submits each member's run to their namespace with the server's settings, recording its submitter on the cluster", async () => {
    const s = service();
    const a = await s.submit(alice, { ...(await request('from alice')), runId: 'alice-run-1' }, quiet);
    const c = await s.submit(carol, { ...(await request('from carol')), runId: 'carol-run-1' }, quiet);
    const b = await s.submit(bob, await request('from bob'), quiet);
    Object.assign(ids, { alice: a.runId, carol: c.runId, bob: b.runId });
    expect([a.namespace, c.namespace, b.namespace]).toEqual([cluster.kube.namespace, cluster.kube.namespace, OTHER_NS]);
    expect(a.image).toBe(IMAGE);

    const job = cluster.kube.getObject('jobs', cluster.kube.namespace, leaderJobName('alice-run-1'))!;
    const annotations = job.metadata.annotations ?? {};
    expect(annotations[LEADER_ANNOTATIONS.submittedBy]).toBe(alice.user);
    expect(annotations[LEADER_ANNOTATIONS.document]).toBe('echo.cwl');
    expect(Date.parse(annotations[LEADER_ANNOTATIONS.submittedAt] ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(job.metadata.labels?.[LABELS.owner]).toBe(labelValue(alice.user));
    const spec = (job as unknown as { spec: { template: { spec: { serviceAccountName: string; containers: Array<{ image: string }>; volumes: Array<{ persistentVolumeClaim?: { claimName: string } }> } } } }).spec.template.spec;
    expect(spec.serviceAccountName).toBe('strand');
    expect(spec.containers[0]?.image).toBe(IMAGE);
    expect(spec.volumes.flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []))).toEqual(['strand-workspace']);
    expect(cluster.kube.getObject('configmaps', cluster.kube.namespace, statusName('alice-run-1'))?.metadata.annotations?.[LEADER_ANNOTATIONS.submittedBy]).toBe(alice.user);
    // The leader's plan: the member's namespace and owner label, whatever the request said.
    const plan = JSON.parse((cluster.kube.getObject('configmaps', cluster.kube.namespace, bundleName('alice-run-1')) as unknown as { data: Record<string, string> }).data['submit.json']!) as {
      kubernetes: { namespace: string; owner: string; workspace: { claimName: string } };
    };
    expect(plan.kubernetes).toMatchObject({ namespace: cluster.kube.namespace, owner: labelValue(alice.user), workspace: { claimName: 'strand-workspace' } });
    expect(cluster.kube.getObject('jobs', OTHER_NS, leaderJobName(b.runId))).toBeDefined();
  });

  it('lists and shows each member only their own runs; another\'s is answered as one never submitted', async () => {
    const s = service();
    expect((await s.list(alice)).map((r) => r.id)).toEqual([ids.alice]);
    expect((await s.list(carol)).map((r) => r.id)).toEqual([ids.carol]);
    expect((await s.list(bob)).map((r) => r.id)).toEqual([ids.bob]);

    const row = (await s.list(alice))[0]!;
    expect(row).toMatchObject({ id: ids.alice, status: 'running', owner: alice.user, documentPath: 'echo.cwl', executor: 'kubernetes-leader', tasks: { total: 0 } });

    const v = await s.get(alice, ids.alice!);
    expect(v.run).toMatchObject({ id: ids.alice, status: 'running', owner: alice.user });
    expect(v.notes.join('\n')).toContain('the leader has not published its state yet');
    // Its pod exists, and cannot pull its image here: the leader is starting, not running.
    await eventually(async () => ((await s.get(alice, ids.alice!)).leader === 'starting' ? true : undefined), 'the leader pod to be starting');
    expect(v.cancelRequested).toBeUndefined();
    // A unique prefix of one's own run names it.
    expect((await s.get(alice, 'alice-run')).run.id).toBe(ids.alice);

    for (const [who, ref] of [
      [alice, ids.carol!], // another's, in the same namespace
      [alice, 'carol-run'], // a prefix of another's
      [carol, ids.alice!],
      [bob, ids.alice!], // another's, in another namespace
      [alice, ids.bob!],
      [alice, 'never-submitted'],
      [alice, 'x'.repeat(300)],
    ] as const) {
      await expect(s.get(who, ref)).rejects.toThrow(RunNotFoundError);
      await expect(s.get(who, ref)).rejects.toThrow(notFound(ref));
      await expect(s.cancel(who, ref)).rejects.toThrow(notFound(ref));
      await expect(s.logs(who, ref, new PassThrough())).rejects.toThrow(notFound(ref));
    }
    // Nothing of carol's was touched by alice's attempts.
    expect(cluster.kube.getObject('jobs', cluster.kube.namespace, leaderJobName(ids.carol!))?.metadata.deletionTimestamp).toBeUndefined();
  });

  it('follows a run to its end: the leader publishes, get and list show success and its outputs', async () => {
    const s = service();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const r of s.watch(alice, ids.alice!, { intervalMs: 50 })) seen.push(`${r.status}`);
    })();
    expect(await lead(cluster.kube.namespace, ids.alice!)).toBe('success');
    await watching;
    expect(seen[0]).toBe('running');
    expect(seen.at(-1)).toBe('success');
    const v = await s.get(alice, ids.alice!);
    expect(v.run.status).toBe('success');
    expect(v.run.outputs).toEqual({ same: 'from alice' });
    expect(v.run.finishedAt).toBeDefined();
    expect(v.leader).toBeUndefined();
    expect(v.notes.join('\n')).toMatch(/state published by the leader at/);
    expect((await s.list(alice))[0]).toMatchObject({ id: ids.alice, status: 'success' });
  });

  it('a new service (a restarted server) finds the same runs', async () => {
    const before = service();
    const after = service();
    for (const p of [alice, carol, bob]) {
      expect(await after.list(p)).toEqual(await before.list(p));
    }
    expect((await after.get(alice, ids.alice!)).run).toEqual((await before.get(alice, ids.alice!)).run);
    before.close();
    after.close();
  });

  it('a leader Job being deleted is a cancel asked for; deleted outside Strand, the run is cancelled', async () => {
    const s = service();
    const ns = cluster.kube.namespace;
    const { runId } = await s.submit(carol, await request('to delete'), quiet);
    const job = leaderJobName(runId);
    // Held by a finalizer, the Job stays, being deleted.
    await api.batch.patchNamespacedJob(
      { name: job, namespace: ns, body: [{ op: 'add', path: '/metadata/finalizers', value: ['test.strand.dev/hold'] }] },
    );
    await api.batch.deleteNamespacedJob({ name: job, namespace: ns, propagationPolicy: 'Orphan' });
    const deleting = await s.get(carol, runId);
    expect({ status: deleting.run.status, cancelRequested: deleting.cancelRequested, leader: deleting.leader }).toEqual({ status: 'running', cancelRequested: true, leader: undefined });
    await api.batch.patchNamespacedJob({ name: job, namespace: ns, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await eventually(() => (cluster.kube.getObject('jobs', ns, job) ? undefined : true), 'the Job to go');
    // Orphaned (kubectl delete --cascade=orphan), its status ConfigMap stays: the run was cancelled.
    const gone = await s.get(carol, runId);
    expect(gone.run.status).toBe('cancelled');
    expect(gone.run.message).toBe(`the leader Job ${job} was deleted`);
    expect(gone.cancelRequested).toBeUndefined();
  });

  it('cancel deletes the leader Job and keeps the run, cancelled, for list and get', async () => {
    const s = service();
    const ns = cluster.kube.namespace;
    const { runId } = await s.submit(alice, await request('to cancel'), quiet);
    const r = await s.cancel(alice, runId);
    expect(r).toEqual({ runId, said: `cancelled run ${runId}: deleted job/${leaderJobName(runId)} in namespace ${ns}; its pods, task Jobs and bundle go with it` });
    await eventually(
      () => (cluster.kube.getObject('jobs', ns, leaderJobName(runId)) || cluster.kube.getObject('configmaps', ns, bundleName(runId)) ? undefined : true),
      'the Job and its bundle to go',
    );
    const after = service();
    const v = await after.get(alice, runId);
    expect(v.run).toMatchObject({ id: runId, status: 'cancelled', owner: alice.user });
    expect(Date.parse(v.run.finishedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    const rows = await after.list(alice);
    expect(rows.map((x) => [x.id, x.status])).toEqual([
      [runId, 'cancelled'],
      [ids.alice, 'success'],
    ]);
    // Still nobody else's.
    await expect(after.get(carol, runId)).rejects.toThrow(notFound(runId));
    expect((await after.list(carol)).map((x) => x.id)).not.toContain(runId);
    expect((await after.cancel(alice, runId)).said).toBe(`run ${runId}: job/${leaderJobName(runId)} is already gone from namespace ${ns}`);
  });

  it('runs nothing in its own process', () => {
    expect(() => service().start(alice, {} as never)).toThrow(UsageError);
  });

  it("writes a run's leader pod logs, each under its header", async () => {
    const s = service();
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const w = await s.logs(bob, ids.bob!, out);
    expect(w.written).toBe(1);
    expect(text).toMatch(/^==> leader \(pod strand-leader-/);
  });
});
