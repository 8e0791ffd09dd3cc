import { describe, expect, it } from 'vitest';
import { buildAnchor } from '../executor/kubernetes/anchor.js';
import { parseKubernetesSettings } from '../executor/kubernetes/settings.js';
import {
  BUNDLE_MOUNT,
  LEADER_ENV,
  LEADER_SCRATCH,
  buildBundleConfigMap,
  buildLeaderJob,
  buildStatusConfigMap,
  bundleName,
  configMapPayloadBytes,
  leaderJobName,
  leaderSelector,
  statusName,
  type LeaderSpec,
} from './leader-manifests.js';

const spec: LeaderSpec = {
  runId: '20261201-120000-ab12',
  namespace: 'lab',
  owner: 'alice',
  image: 'registry.example.org/strand:0.1.0',
  imagePullPolicy: 'IfNotPresent',
  serviceAccountName: 'strand',
  workspace: { claimName: 'ws', mountPath: '/workspace' },
  dataVolumes: [{ claimName: 'ref', mountPath: '/data/ref' }],
  args: ['leader', '--bundle', BUNDLE_MOUNT],
  cpu: '250m',
  memory: '512Mi',
  restarts: 4,
};

describe('leader objects', () => {
  it('names every object after the run, as DNS-1123 names', () => {
    expect([leaderJobName(spec.runId), bundleName(spec.runId), statusName(spec.runId)]).toEqual([
      'strand-leader-20261201-120000-ab12',
      'strand-bundle-20261201-120000-ab12',
      'strand-status-20261201-120000-ab12',
    ]);
    expect(leaderJobName('My_Run.1')).toMatch(/^strand-leader-my-run-1-[0-9a-f]{10}$/);
    expect(leaderSelector(spec.runId)).toBe('app.kubernetes.io/managed-by=strand,strand.dev/leader=20261201-120000-ab12');
  });

  it('builds the leader Job: one pod, the service account, the bundle, workspace and data volumes, restarts by the Job', () => {
    const job = buildLeaderJob(spec);
    expect(job.metadata?.name).toBe('strand-leader-20261201-120000-ab12');
    // Not strand.dev/run: the run's own watch and `strand clean --run` see task Jobs only.
    expect(job.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'strand', 'strand.dev/leader': spec.runId, 'strand.dev/owner': 'alice' });
    expect(job.spec?.backoffLimit).toBe(4);
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.serviceAccountName).toBe('strand');
    expect(pod.securityContext).toBeUndefined();
    const c = pod.containers[0]!;
    expect({ image: c.image, pull: c.imagePullPolicy, args: c.args, resources: c.resources }).toEqual({
      image: spec.image,
      pull: 'IfNotPresent',
      args: ['leader', '--bundle', '/etc/strand/bundle'],
      resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '512Mi' } },
    });
    expect(Object.fromEntries((c.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath ?? e.value]))).toEqual({
      [LEADER_ENV.jobName]: "metadata.labels['job-name']",
      [LEADER_ENV.jobUid]: "metadata.labels['controller-uid']",
      [LEADER_ENV.namespace]: 'metadata.namespace',
      [LEADER_ENV.pod]: 'metadata.name',
      STRAND_CACHE_KEY_FILE: '/etc/strand/cache-key/key',
    });
    expect(c.volumeMounts).toEqual([
      { name: 'bundle', mountPath: '/etc/strand/bundle', readOnly: true },
      { name: 'workspace', mountPath: '/workspace' },
      { name: 'data-0', mountPath: '/data/ref', readOnly: true },
      { name: 'cache-key', mountPath: '/etc/strand/cache-key', readOnly: true },
      { name: 'job', mountPath: '/etc/strand/job', readOnly: true },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'bundle', configMap: { name: 'strand-bundle-20261201-120000-ab12' } },
      { name: 'workspace', persistentVolumeClaim: { claimName: 'ws' } },
      { name: 'data-0', persistentVolumeClaim: { claimName: 'ref', readOnly: true } },
      // The task cache's key: the leader's only (task Jobs never mount it), and optional.
      { name: 'cache-key', secret: { secretName: 'strand-cache-key', optional: true, defaultMode: 0o444 } },
      // The job (its URLs may carry credentials): in the run's own Secret, not in the bundle ConfigMap.
      { name: 'job', secret: { secretName: 'strand-job-20261201-120000-ab12', defaultMode: 0o444 } },
    ]);
  });

  it("without a workspace: the leader's own emptyDir for its store and temporary files, S3 credentials by Secret reference only", () => {
    const { workspace: _ws, ...noWs } = spec;
    void _ws;
    const pod = buildLeaderJob({ ...noWs, dataVolumes: [], credentialsSecret: 'lab-s3' }).spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(pod.volumes).toEqual([
      { name: 'bundle', configMap: { name: 'strand-bundle-20261201-120000-ab12' } },
      { name: 'scratch', emptyDir: {} },
      { name: 'cache-key', secret: { secretName: 'strand-cache-key', optional: true, defaultMode: 0o444 } },
      { name: 'job', secret: { secretName: 'strand-job-20261201-120000-ab12', defaultMode: 0o444 } },
    ]);
    expect(c.volumeMounts).toEqual([
      { name: 'bundle', mountPath: '/etc/strand/bundle', readOnly: true },
      { name: 'scratch', mountPath: LEADER_SCRATCH },
      { name: 'cache-key', mountPath: '/etc/strand/cache-key', readOnly: true },
      { name: 'job', mountPath: '/etc/strand/job', readOnly: true },
    ]);
    expect(c.env?.find((e) => e.name === 'TMPDIR')).toEqual({ name: 'TMPDIR', value: LEADER_SCRATCH });
    expect(c.envFrom).toEqual([{ secretRef: { name: 'lab-s3' } }]);
    expect(buildLeaderJob(spec).spec!.template.spec!.containers[0]!.envFrom).toBeUndefined();
  });

  it('passes scheduling settings and the user id through', () => {
    const pod = buildLeaderJob({ ...spec, runAsUser: 0, nodeSelector: { pool: 'batch' }, imagePullSecrets: ['regcred'], priorityClassName: 'low' }).spec!.template.spec!;
    expect({ sc: pod.securityContext, ns: pod.nodeSelector, ips: pod.imagePullSecrets, pc: pod.priorityClassName }).toEqual({
      sc: { runAsUser: 0 },
      ns: { pool: 'batch' },
      ips: [{ name: 'regcred' }],
      pc: 'low',
    });
  });

  it('puts text files in data and other bytes in binaryData, owned by the Job when given', () => {
    const files = new Map([
      ['f0-wf.cwl', Buffer.from('cwlVersion: v1.2\n')],
      ['f1-x.bam', Buffer.from([0x1f, 0x8b, 0xff, 0x00])],
    ]);
    const cm = buildBundleConfigMap(spec, files, { name: 'strand-leader-x', uid: 'u-1' });
    expect(cm.data).toEqual({ 'f0-wf.cwl': 'cwlVersion: v1.2\n' });
    expect(cm.binaryData).toEqual({ 'f1-x.bam': Buffer.from([0x1f, 0x8b, 0xff, 0x00]).toString('base64') });
    expect(cm.metadata?.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'Job', name: 'strand-leader-x', uid: 'u-1' }]);
    expect(buildBundleConfigMap(spec, files).metadata?.ownerReferences).toBeUndefined();
    expect(configMapPayloadBytes(cm)).toBe('f0-wf.cwl'.length + 17 + 'f1-x.bam'.length + 8);
    expect(() => buildBundleConfigMap(spec, new Map([['a/b', Buffer.from('x')]]))).toThrow(/not a valid ConfigMap key/);
  });

  it('holds the published state in the status ConfigMap', () => {
    const cm = buildStatusConfigMap(spec, '{"version":1}');
    expect({ name: cm.metadata?.name, data: cm.data }).toEqual({ name: 'strand-status-20261201-120000-ab12', data: { 'status.json': '{"version":1}' } });    // And the request the run was submitted with, when one was kept.
    expect(buildStatusConfigMap(spec, '{}', undefined, '{"format":1}').data).toEqual({ 'status.json': '{}', 'request.json': '{"format":1}' });
  });

  it('a run owner set in the settings owns the run anchor (deleting the leader Job deletes the run)', () => {
    const owner = { apiVersion: 'batch/v1', kind: 'Job', name: 'strand-leader-r', uid: 'u-9' };
    const settings = parseKubernetesSettings({ runOwner: owner }, 'test', 'me');
    expect(settings.runOwner).toEqual(owner);
    expect(buildAnchor('r', 'lab', 'me', { processId: '', startedAt: new Date(0), ownedBy: settings.runOwner }).metadata?.ownerReferences).toEqual([owner]);
    expect(buildAnchor('r', 'lab', 'me', { processId: '', startedAt: new Date(0) }).metadata?.ownerReferences).toBeUndefined();
    expect(() => parseKubernetesSettings({ runOwner: { kind: 'Job' } }, 'test', 'me')).toThrow(/kubernetes\.runOwner\.apiVersion/);
  });
});
