import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../errors.js';
import type { TaskSpec } from '../../executor.js';
import { diagnosePod } from '../diagnose.js';
import { parseKubernetesSettings } from '../settings.js';
import { podLayout } from './layout.js';
import { buildObjectStoreJob, STAGE_IN_CONTAINER, UPLOAD_CONTAINER } from './pod-builder.js';
import { uploadVerdict } from './verdict.js';

const settings = parseKubernetesSettings(
  { storage: 'objectStore', objectStore: { location: 's3://lab-bucket/strand/', credentialsSecret: 'strand-s3', image: 'reg/strand:1' } },
  'strand.yaml',
  'alice',
);
const root = '/tmp/strand-os';
const spec: TaskSpec = {
  taskId: 'main/count/1',
  runId: 'r1',
  stepPath: 'main/count',
  attempt: 1,
  argv: ['wc', '-l', '/home/alice/data/reads.txt', `${root}/strand-r1/step1/out/a.txt`],
  env: { PATH: '/usr/bin:/bin', TMPDIR: `${root}/strand-r1/t/tmp` },
  workDir: `${root}/strand-r1/t/out`,
  tmpDir: `${root}/strand-r1/t/tmp`,
  stdout: 'count.txt',
  mounts: [
    { hostPath: '/home/alice/data/reads.txt', taskPath: '/home/alice/data/reads.txt', readOnly: true },
    { hostPath: `${root}/strand-r1/step1/out/a.txt`, taskPath: `${root}/strand-r1/step1/out/a.txt`, readOnly: true },
  ],
  resources: { cores: 1, ramMiB: 100, tmpdirMiB: 0, outdirMiB: 0 },
  networkAccess: false,
  logDir: '/home/alice/.strand/logs/r1/1',
};
const ctx = { settings, store: settings.objectStore!, s3: { endpoint: 'http://minio:9000', forcePathStyle: true }, namespace: 'lab', anchor: { name: 'strand-run-r1', uid: 'u' }, attempt: 1, job: 's-r1-count-a1' };

describe('object-store mode: settings', () => {
  it('parses the section, with the default image of this version; needs a location; refuses data volumes', () => {
    expect(settings.storage).toBe('objectStore');
    expect(settings.objectStore).toMatchObject({ bucket: 'lab-bucket', prefix: 'strand', credentialsSecret: 'strand-s3', command: ['strand'], keepIntermediate: false });
    expect(parseKubernetesSettings({ storage: 'objectStore', objectStore: { location: 's3://b-1/x' } }, 'f', 'a').objectStore!.image).toMatch(/^localhost\/strand:/);
    expect(() => parseKubernetesSettings({ storage: 'objectStore' }, 'strand.yaml', 'a')).toThrow(/strand.yaml: kubernetes.objectStore: is required/);
    expect(() => parseKubernetesSettings({ storage: 'objectStore', objectStore: { location: 'bucket/x' } }, 'f', 'a')).toThrow(UsageError);
    expect(() => parseKubernetesSettings({ storage: 'objectStore', objectStore: { location: 's3://b-1/x' }, dataVolumes: [{ claimName: 'r', mountPath: '/r' }] }, 'f', 'a')).toThrow(/dataVolumes: cannot be used/);
    expect(() => parseKubernetesSettings({ storage: 'bucket' }, 'f', 'a')).toThrow(/kubernetes.storage: expected "workspace" or "objectStore"/);
    expect(parseKubernetesSettings({}, 'f', 'a').storage).toBe('workspace');
  });
});

describe('object-store mode: the pod', () => {
  const layout = podLayout(spec, settings.objectStore!, root, ctx.job);
  const job = buildObjectStoreJob(spec, { ...ctx, layout });
  const pod = job.spec!.template.spec!;

  it('stage-in (init), the task, then upload; one emptyDir; no claim', () => {
    expect(pod.initContainers!.map((c) => c.name)).toEqual([STAGE_IN_CONTAINER]);
    expect(pod.containers.map((c) => c.name)).toEqual(['task', UPLOAD_CONTAINER]);
    expect(pod.volumes).toEqual([{ name: 'strand-data', emptyDir: {} }]);
    expect(pod.restartPolicy).toBe('Never');
    expect(job.spec!.backoffLimit).toBe(0);
    expect(pod.initContainers![0]!.command).toEqual(['strand', '_pod-io', 'stage-in', '--manifest', 's3://lab-bucket/strand/runs/r1/jobs/s-r1-count-a1/stage-in.json', '--root', root, '--task-dir', `${root}/.strand-task/s-r1-count-a1`]);
    expect(pod.containers[1]!.command).toContain('s3://lab-bucket/strand/runs/r1/jobs/s-r1-count-a1/result.json');
  });

  it('paths under the work root are the same in the pod; other inputs move under .strand-in, read-only', () => {
    const task = pod.containers[0]!;
    const argv = task.command!.slice(4);
    expect(argv[3]).toBe(`${root}/strand-r1/step1/out/a.txt`);
    expect(argv[2]).toMatch(new RegExp(`^${root}/\\.strand-in/[0-9a-f]{16}/reads\\.txt$`));
    expect(task.workingDir).toBe(spec.workDir);
    const ro = task.volumeMounts!.filter((m) => m.readOnly);
    expect(ro.map((m) => m.mountPath).sort()).toEqual([argv[3], argv[2]].sort());
    for (const m of ro) expect(m.subPath).toBe(m.mountPath.slice(root.length + 1));
    expect(task.volumeMounts![0]).toEqual({ name: 'strand-data', mountPath: root });
  });

  it('credentials only as envFrom a Secret, and only in Strand\'s containers; the done-file is written on any exit', () => {
    for (const c of [pod.initContainers![0]!, pod.containers[1]!]) {
      expect(c.envFrom).toEqual([{ secretRef: { name: 'strand-s3' } }]);
      expect(c.env).toEqual(expect.arrayContaining([{ name: 'STRAND_S3_ENDPOINT', value: 'http://minio:9000' }, { name: 'STRAND_S3_FORCE_PATH_STYLE', value: 'true' }]));
      expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    }
    expect(pod.containers[0]!.envFrom).toBeUndefined();
    expect(JSON.stringify(job)).not.toMatch(/AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID/);
    expect(pod.containers[0]!.command![2]).toContain(`sd='${root}/.strand-task/s-r1-count-a1/exit-status'`);
    expect(pod.containers[0]!.command![2]).toContain('EXIT');
  });
});

describe('object-store mode: how a pod ended', () => {
  const base = (upload: Record<string, unknown>, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
    metadata: { name: 'p', ...extra },
    spec: { containers: [{ name: 'task' }, { name: 'upload' }] },
    status: {
      phase: 'Failed',
      containerStatuses: [
        { name: 'task', ready: false, restartCount: 0, image: 'i', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        { name: 'upload', ready: false, restartCount: 0, image: 's', imageID: '', state: upload },
      ],
    },
  });
  it('an upload that failed by itself fails the task with its message; one killed is a lost pod; done is done', () => {
    const failed = base({ terminated: { exitCode: 1, reason: 'Error', message: 'strand: error: s3://b/k: writing refused (403 AccessDenied)' } });
    expect(uploadVerdict(diagnosePod(failed), failed)).toMatchObject({ reason: 'failed', message: expect.stringContaining('uploading the outputs failed: strand: error: s3://b/k: writing refused') });
    const killed = base({ terminated: { exitCode: 143, reason: 'Error' } }, { deletionTimestamp: new Date() });
    expect(uploadVerdict(diagnosePod(killed), killed)).toMatchObject({ reason: 'lost' });
    const ok = base({ terminated: { exitCode: 0, reason: 'Completed' } });
    expect(uploadVerdict(diagnosePod(ok), ok)).toMatchObject({ reason: 'completed', exitCode: 0 });
  });
  it('the pod is not over while the upload runs, unless the tool was OOM-killed', () => {
    const running = { ...base({ running: { startedAt: new Date() } }), status: { ...base({}).status, phase: 'Running' as const } };
    running.status.containerStatuses![1]!.state = { running: { startedAt: new Date() } };
    expect(diagnosePod(running).state).toBe('running');
    running.status.containerStatuses![0]!.state = { terminated: { exitCode: 137, reason: 'OOMKilled' } };
    expect(diagnosePod(running)).toMatchObject({ state: 'finished', reason: 'oom_killed', stuck: true });
  });
});
