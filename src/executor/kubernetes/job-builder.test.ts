import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKube } from '../../../test/support/fake-kube/index.js';
import { expandVars } from '../../../test/support/fake-kube/kubelet.js';
import { clientsFor, eventually, jobCondition, type Clients } from '../../../test/support/fake-kube/test-helpers.js';
import type { TaskSpec } from '../executor.js';
import { buildAnchor } from './anchor.js';
import { InvisiblePathError, buildTaskJob, escapeKubeVars, resourcesFor, shellQuote, type JobBuildContext } from './job-builder.js';
import { jobName, labelValue } from '../../cluster/names.js';
import { PathMap } from './path-map.js';
import { KUBERNETES_DEFAULTS, type KubernetesSettings } from './settings.js';

const RUN = '20261123-025959-ab12cd';

function settings(over: Partial<KubernetesSettings> = {}): KubernetesSettings {
  return {
    owner: 'alice',
    defaultImage: 'debian:stable-slim',
    workspace: { claimName: 'strand-ws', mountPath: '/workspace', localPath: '/workspace' },
    dataVolumes: [{ claimName: 'reference', mountPath: '/data/reference' }],
    secretEnv: [],
    nodeSelector: {},
    tolerations: [],
    imagePullSecrets: [],
    maxParallel: KUBERNETES_DEFAULTS.maxParallel,
    maxMemoryMiB: KUBERNETES_DEFAULTS.maxMemoryMiB,
    ttlSecondsAfterFinished: 600,
    requestsPerSecond: 20,
    usageIntervalSeconds: 0,
    ...over,
  };
}

function task(over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    taskId: 'main/call_variants/3',
    runId: RUN,
    stepPath: 'main/call_variants',
    attempt: 1,
    argv: ['caller', '--ref=/data/reference/hg38.fa', '/workspace/runs/r/in.bam'],
    env: { HOME: '/workspace/runs/r/work', LANG: 'C' },
    workDir: '/workspace/runs/r/work',
    tmpDir: '/workspace/runs/r/tmp',
    mounts: [
      { hostPath: '/data/reference/hg38.fa', taskPath: '/data/reference/hg38.fa', readOnly: true },
      { hostPath: '/workspace/runs/r/in.bam', taskPath: '/workspace/runs/r/in.bam', readOnly: true },
    ],
    resources: { cores: 1, ramMiB: 1024, tmpdirMiB: 100, outdirMiB: 200 },
    networkAccess: false,
    logDir: '/workspace/runs/r/logs',
    ...over,
  };
}

function ctx(over: Partial<JobBuildContext> = {}): JobBuildContext {
  return {
    settings: settings(),
    namespace: 'genomics',
    anchor: { name: `strand-run-${RUN}`, uid: '0f4c6f7e-1111-2222-3333-444455556666' },
    paths: new PathMap([]),
    attempt: 2,
    ...over,
  };
}

const container = (job: k8s.V1Job) => job.spec!.template.spec!.containers[0]!;

describe('buildTaskJob: metadata', () => {
  it('names, labels, annotates and owns the Job', () => {
    const job = buildTaskJob(task(), ctx());
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.metadata?.name).toBe(jobName(RUN, 'main/call_variants/3', 2));
    expect(job.metadata?.namespace).toBe('genomics');
    const labels = {
      'app.kubernetes.io/managed-by': 'strand',
      'strand.dev/run': RUN,
      'strand.dev/step': labelValue('main/call_variants'),
      'strand.dev/owner': 'alice',
      'strand.dev/task': labelValue('main/call_variants/3'),
      'strand.dev/attempt': '2',
    };
    expect(job.metadata?.labels).toEqual(labels);
    expect(job.spec?.template.metadata?.labels).toEqual(labels);
    expect(job.metadata?.annotations).toEqual({ 'strand.dev/task-id': 'main/call_variants/3', 'strand.dev/step-path': 'main/call_variants' });
    expect(job.metadata?.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', name: `strand-run-${RUN}`, uid: '0f4c6f7e-1111-2222-3333-444455556666', blockOwnerDeletion: true, controller: false },
    ]);
  });

  it('leaves retries to Strand and sets TTL and the time limit', () => {
    const job = buildTaskJob(task({ timeLimitSeconds: 90 }), ctx());
    expect(job.spec?.backoffLimit).toBe(0);
    expect(job.spec?.ttlSecondsAfterFinished).toBe(600);
    expect(job.spec?.activeDeadlineSeconds).toBe(90);
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
    expect(job.spec?.template.spec?.enableServiceLinks).toBe(false);
    expect(buildTaskJob(task({ timeLimitSeconds: 0 }), ctx()).spec?.activeDeadlineSeconds).toBeUndefined();
    expect(buildTaskJob(task(), ctx()).spec?.activeDeadlineSeconds).toBeUndefined();
  });

  it('mounts no service-account token in a task pod (a tool could read it, or name it as an output)', () => {
    expect(buildTaskJob(task(), ctx()).spec?.template.spec?.automountServiceAccountToken).toBe(false);
    expect(buildTaskJob(task(), ctx({ settings: settings({ serviceAccountName: 'runner' }) })).spec?.template.spec?.automountServiceAccountToken).toBe(false);
  });

  it('uses the task image, else the default image', () => {
    expect(container(buildTaskJob(task({ image: 'quay.io/biocontainers/bwa:0.7.17' }), ctx())).image).toBe('quay.io/biocontainers/bwa:0.7.17');
    expect(container(buildTaskJob(task(), ctx())).image).toBe('debian:stable-slim');
  });

  it('passes pod settings through', () => {
    const s = settings({
      nodeSelector: { disktype: 'ssd' },
      tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }],
      serviceAccountName: 'strand-task',
      imagePullSecrets: ['regcred'],
      priorityClassName: 'batch-low',
      securityContext: { runAsUser: 1000, fsGroup: 1000 },
    });
    const pod = buildTaskJob(task(), ctx({ settings: s })).spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ disktype: 'ssd' });
    expect(pod.tolerations).toEqual([{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(pod.serviceAccountName).toBe('strand-task');
    expect(pod.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(pod.priorityClassName).toBe('batch-low');
    expect(pod.securityContext).toEqual({ runAsUser: 1000, fsGroup: 1000 });
    const bare = buildTaskJob(task(), ctx()).spec!.template.spec!;
    for (const k of ['nodeSelector', 'tolerations', 'serviceAccountName', 'imagePullSecrets', 'priorityClassName', 'securityContext'] as const) {
      expect(bare[k], k).toBeUndefined();
    }
  });

  it('explains a missing workspace', () => {
    expect(() => buildTaskJob(task(), ctx({ settings: settings({ workspace: undefined }) }))).toThrow(/kubernetes\.workspace.*must be configured/);
  });
});

describe('buildTaskJob: command', () => {
  it('runs argv through /bin/sh with cd and exec, not the image entrypoint', () => {
    const c = container(buildTaskJob(task(), ctx()));
    expect(c.name).toBe('task');
    expect(c.args).toBeUndefined();
    expect(c.command?.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(c.command?.[2]).toContain(`cd '/workspace/runs/r/work' || exit 1\n`);
    expect(c.command?.[2]).toContain(`"$@" </dev/null &`);
    expect(c.command?.slice(3)).toEqual(['strand-task', 'caller', '--ref=/data/reference/hg38.fa', '/workspace/runs/r/in.bam']);
    expect(c.workingDir).toBe('/workspace/runs/r/work');
  });

  it('quotes the redirections', () => {
    const c = container(
      buildTaskJob(
        task({ stdin: "/workspace/in put's.txt", stdout: '/workspace/runs/r/work/out $HOME.txt', stderr: '/workspace/runs/r/work/err.txt' }),
        ctx(),
      ),
    );
    expect(c.command?.[2]).toContain(
      `"$@" <'/workspace/in put'\\''s.txt' >'/workspace/runs/r/work/out $HOME.txt' 2>'/workspace/runs/r/work/err.txt' &`,
    );
  });

  it('shell-quotes anything', () => {
    expect(shellQuote("a'b c")).toBe(`'a'\\''b c'`);
    expect(shellQuote('')).toBe(`''`);
  });

  it("protects strings from Kubernetes' $(VAR) expansion", () => {
    expect(escapeKubeVars('$(HOME) $$ $x "$@" a$')).toBe('$$(HOME) $$$ $x "$@" a$');
    // Kubernetes' expansion (as fake-kube implements it) gives back the original strings.
    for (const raw of ['$(HOME)', '$$(HOME)', '$$$(X)', '$', '$$', 'a$(b', '$()', '${X} $X', 'x$)$(', '$(A)$(B)$$']) {
      expect(expandVars(escapeKubeVars(raw), { HOME: '/root', X: 'x', A: 'a', B: 'b' }), raw).toBe(raw);
    }
    const c = container(buildTaskJob(task({ argv: ['echo', '$(HOME)'], env: { A: '$(B)' } }), ctx()));
    expect(c.command?.slice(4)).toEqual(['echo', '$$(HOME)']);
    expect(c.env).toContainEqual({ name: 'A', value: '$$(B)' });
  });
});

describe('buildTaskJob: resources', () => {
  const res = (r: Partial<TaskSpec['resources']>, over: Partial<JobBuildContext> = {}) =>
    container(buildTaskJob(task({ resources: { cores: 1, ramMiB: 1024, tmpdirMiB: 0, outdirMiB: 0, ...r } }), ctx(over))).resources;

  it('maps cores to cpu in whole cores or millicores', () => {
    expect(res({ cores: 2 })?.requests?.['cpu']).toBe('2');
    expect(res({ cores: 0.5 })?.requests?.['cpu']).toBe('500m');
    expect(res({ cores: 1.25, coresMax: 4 })?.requests?.['cpu']).toBe('1250m');
    expect(res({ cores: 1.25, coresMax: 4 })?.limits?.['cpu']).toBe('4');
    expect(res({ cores: 1 })?.limits?.['cpu']).toBeUndefined();
  });

  it('maps memory request and limit', () => {
    expect(res({ ramMiB: 1024 })).toMatchObject({ requests: { memory: '1024Mi' }, limits: { memory: '1024Mi' } });
    expect(res({ ramMiB: 1000, ramMaxMiB: 3000 })).toMatchObject({ requests: { memory: '1000Mi' }, limits: { memory: '3000Mi' } });
    expect(res({ ramMiB: 100.5 })?.requests?.['memory']).toBe('101Mi');
  });

  it('doubles request and limit on an OOM retry, the limit capped at maxMemory', () => {
    expect(res({ ramMiB: 1000, ramMaxMiB: 1500 }, { memoryMiB: 2000 })).toMatchObject({
      requests: { memory: '2000Mi' },
      limits: { memory: '3000Mi' },
    });
    expect(res({ ramMiB: 1000 }, { memoryMiB: 2000 })).toMatchObject({ requests: { memory: '2000Mi' }, limits: { memory: '2000Mi' } });
    const capped = res({ ramMiB: 1000, ramMaxMiB: 4000 }, { memoryMiB: 2000, settings: settings({ maxMemoryMiB: 5000 }) });
    expect(capped).toMatchObject({ requests: { memory: '2000Mi' }, limits: { memory: '5000Mi' } });
  });

  it('requests ephemeral storage for tmpdir + outdir, and GPUs', () => {
    const r = res({ tmpdirMiB: 1024, outdirMiB: 512, gpus: 2 });
    expect(r?.requests?.['ephemeral-storage']).toBe('1536Mi');
    expect(r?.requests?.['nvidia.com/gpu']).toBe('2');
    expect(r?.limits?.['nvidia.com/gpu']).toBe('2');
    expect(res({})?.limits?.['nvidia.com/gpu']).toBeUndefined();
  });
});

describe('resourcesFor: a memory-backed scratch', () => {
  const memScratch = (scratch: Record<string, unknown>) => settings({ scratch });
  it('adds the scratch size to the memory request and limit, and asks no node disk for the tmpdir', () => {
    const r = resourcesFor(task({ resources: { cores: 1, ramMiB: 1000, tmpdirMiB: 1024, outdirMiB: 512 } }), { settings: memScratch({ medium: 'Memory', sizeLimit: '2Gi' }) });
    expect(r.requests).toMatchObject({ memory: '3048Mi', 'ephemeral-storage': '512Mi' });
    expect(r.limits).toMatchObject({ memory: '3048Mi' });
    // Without a sizeLimit the tmpdir can grow to what the tool asked for (tmpdirMin).
    const noLimit = resourcesFor(task({ resources: { cores: 1, ramMiB: 1000, tmpdirMiB: 1024, outdirMiB: 512 } }), { settings: memScratch({ medium: 'Memory' }) });
    expect(noLimit.requests?.['memory']).toBe('2024Mi');
    // A scratch on node disk changes nothing.
    const disk = resourcesFor(task({ resources: { cores: 1, ramMiB: 1000, tmpdirMiB: 1024, outdirMiB: 512 } }), { settings: memScratch({}) });
    expect(disk.requests).toMatchObject({ memory: '1000Mi', 'ephemeral-storage': '1536Mi' });
  });
});

describe('buildTaskJob: env and secrets', () => {
  it('passes env values and references secrets, never their values', () => {
    const s = settings({ secretEnv: [{ name: 'AWS_SECRET_ACCESS_KEY', secretName: 'minio', key: 'secretkey' }] });
    const job = buildTaskJob(task({ env: { LANG: 'C', AWS_SECRET_ACCESS_KEY: 'hunter2-plaintext' } }), ctx({ settings: s }));
    const env = container(job).env!;
    expect(env).toContainEqual({ name: 'LANG', value: 'C' });
    expect(env.filter((e) => e.name === 'AWS_SECRET_ACCESS_KEY')).toEqual([
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'minio', key: 'secretkey' } } },
    ]);
    expect(JSON.stringify(job)).not.toContain('hunter2-plaintext');
  });
});

describe('buildTaskJob: volumes and paths', () => {
  it("mounts of the workspace only the task's own directories (read-write) and its inputs (read-only), data volumes read-only, no scratch unless configured", () => {
    const pod = buildTaskJob(task(), ctx()).spec!.template.spec!;
    expect(pod.volumes).toEqual([
      { name: 'workspace', persistentVolumeClaim: { claimName: 'strand-ws' } },
      { name: 'data-0', persistentVolumeClaim: { claimName: 'reference', readOnly: true } },
    ]);
    expect(pod.containers[0]!.volumeMounts).toEqual([
      { name: 'workspace', mountPath: '/workspace/runs/r/in.bam', subPath: 'runs/r/in.bam', readOnly: true },
      { name: 'workspace', mountPath: '/workspace/runs/r/tmp', subPath: 'runs/r/tmp' },
      { name: 'workspace', mountPath: '/workspace/runs/r/work', subPath: 'runs/r/work' },
      { name: 'data-0', mountPath: '/data/reference', readOnly: true },
    ]);
    expect(pod.containers[0]!.volumeMounts!.some((m) => m.mountPath === '/workspace')).toBe(false);
  });

  it('mounts an emptyDir at the tmpdir when scratch is configured', () => {
    const job = buildTaskJob(task(), ctx({ settings: settings({ scratch: { medium: 'Memory', sizeLimit: '2Gi' } }) }));
    const pod = job.spec!.template.spec!;
    expect(pod.volumes).toContainEqual({ name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '2Gi' } });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({ name: 'scratch', mountPath: '/workspace/runs/r/tmp' });
  });

  it('maps every path when Strand sees the workspace elsewhere', () => {
    const s = settings({ workspace: { claimName: 'strand-ws', mountPath: '/workspace', localPath: '/mnt/nfs/strand' }, scratch: {} });
    const paths = new PathMap([
      { from: '/mnt/nfs/strand', to: '/workspace' },
      { from: '/home/alice/reads.fq', to: '/workspace/.strand-staged/abc/reads.fq' },
    ]);
    const spec = task({
      argv: ['bwa', '-o', '/mnt/nfs/strand/r/work/out.sam', '--reads=/home/alice/reads.fq'],
      env: { TMPDIR: '/mnt/nfs/strand/r/tmp', PATHS: '/mnt/nfs/strand/a:/mnt/nfs/strand/b' },
      workDir: '/mnt/nfs/strand/r/work',
      tmpDir: '/mnt/nfs/strand/r/tmp',
      stdout: '/mnt/nfs/strand/r/work/out.txt',
      mounts: [{ hostPath: '/home/alice/reads.fq', taskPath: '/home/alice/reads.fq', readOnly: true }],
    });
    const job = buildTaskJob(spec, ctx({ settings: s, paths }));
    const c = container(job);
    expect(c.command?.slice(3)).toEqual(['strand-task', 'bwa', '-o', '/workspace/r/work/out.sam', '--reads=/workspace/.strand-staged/abc/reads.fq']);
    expect(c.command?.[2]).toContain(`cd '/workspace/r/work' || exit 1\n`);
    expect(c.command?.[2]).toContain(`"$@" </dev/null >'/workspace/r/work/out.txt' &`);
    expect(c.workingDir).toBe('/workspace/r/work');
    expect(c.env).toEqual([
      { name: 'TMPDIR', value: '/workspace/r/tmp' },
      { name: 'PATHS', value: '/workspace/a:/workspace/b' },
    ]);
    expect(c.volumeMounts).toContainEqual({ name: 'scratch', mountPath: '/workspace/r/tmp' });
    expect(JSON.stringify(job)).not.toContain('/mnt/nfs');
  });

  it('refuses a mount that no volume shows, naming the path', () => {
    const spec = task({ mounts: [{ hostPath: '/home/alice/reads.fq', taskPath: '/home/alice/reads.fq', readOnly: true }] });
    let err: unknown;
    try {
      buildTaskJob(spec, ctx());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvisiblePathError);
    expect((err as InvisiblePathError).path).toBe('/home/alice/reads.fq');
    expect((err as Error).message).toContain('/home/alice/reads.fq');
    expect((err as Error).message).toContain('main/call_variants');
  });

  it('checks path boundaries and writability of mounts', () => {
    const near = task({ mounts: [{ hostPath: '/workspacex/f', taskPath: '/workspacex/f', readOnly: true }] });
    expect(() => buildTaskJob(near, ctx())).toThrow(InvisiblePathError);
    const writableData = task({ mounts: [{ hostPath: '/data/reference/out', taskPath: '/data/reference/out', readOnly: false }] });
    expect(() => buildTaskJob(writableData, ctx())).toThrow(InvisiblePathError);
    const writableWs = task({ mounts: [{ hostPath: '/workspace/x', taskPath: '/workspace/x', readOnly: false }] });
    expect(() => buildTaskJob(writableWs, ctx())).not.toThrow();
  });

  it('accepts a mount once the path map stages it into the workspace', () => {
    const spec = task({ mounts: [{ hostPath: '/home/alice/reads.fq', taskPath: '/home/alice/reads.fq', readOnly: true }] });
    const paths = new PathMap([{ from: '/home/alice/reads.fq', to: '/workspace/.strand-staged/x/reads.fq' }]);
    expect(() => buildTaskJob(spec, ctx({ paths }))).not.toThrow();
  });

  it('refuses a working directory outside the workspace', () => {
    expect(() => buildTaskJob(task({ workDir: '/tmp/work' }), ctx())).toThrow(InvisiblePathError);
  });
});

describe('buildTaskJob: a real Job on the fake API server', () => {
  let fake: FakeKube;
  let c: Clients;
  const ws = mkdtempSync(join(tmpdir(), 'strand-jb-'));
  beforeAll(async () => {
    fake = await startFakeKube({ pvcHostPaths: { 'strand-ws': ws } });
    c = clientsFor(fake);
  });
  afterAll(async () => {
    await fake?.close();
    rmSync(ws, { recursive: true, force: true });
  });

  it('is accepted (strict validation), runs to completion and writes its stdout file', async () => {
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: { metadata: { name: 'strand-ws' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } },
    });
    const anchor = await c.core.createNamespacedConfigMap({
      namespace: 'default',
      body: buildAnchor(RUN, 'default', 'alice', { processId: 'test:1', startedAt: new Date() }),
    });
    const workDir = join(ws, 'runs', 'r1', 'work');
    mkdirSync(workDir, { recursive: true });
    const s = settings({ workspace: { claimName: 'strand-ws', mountPath: ws, localPath: ws }, dataVolumes: [] });
    const spec = task({
      argv: ['sh', '-c', 'echo hi "$1" "$GREETING"', 'sh', '$(HOME)'],
      env: { LANG: 'C', GREETING: 'hello $(LANG)' },
      workDir,
      tmpDir: join(ws, 'runs', 'r1', 'tmp'),
      stdout: join(workDir, 'out.txt'),
      stderr: join(workDir, 'err.txt'),
      mounts: [],
      resources: { cores: 0.25, ramMiB: 64, tmpdirMiB: 16, outdirMiB: 16 },
      timeLimitSeconds: 60,
    });
    const job = buildTaskJob(spec, {
      settings: s,
      namespace: 'default',
      anchor: { name: anchor.metadata!.name!, uid: anchor.metadata!.uid! },
      paths: new PathMap([{ from: ws, to: ws }]),
      attempt: 1,
    });
    const created = await c.batch.createNamespacedJob({ namespace: 'default', body: job });
    expect(created.metadata?.name).toBe(job.metadata?.name);
    const done = await eventually(async () => {
      const j = await c.batch.readNamespacedJob({ name: job.metadata!.name!, namespace: 'default' });
      if (jobCondition(j, 'Failed')) throw new Error(`job failed: ${JSON.stringify(j.status)}`);
      return jobCondition(j, 'Complete') ? j : undefined;
    }, 'the job to complete');
    expect(done.status?.succeeded).toBe(1);
    expect(readFileSync(join(workDir, 'out.txt'), 'utf8')).toBe('hi $(HOME) hello $(LANG)\n');
    // CWL: a named stderr file exists even when nothing was written to it.
    expect(readFileSync(join(workDir, 'err.txt'), 'utf8')).toBe('');

    // The ownerReference is real: deleting the anchor garbage-collects the Job.
    await c.core.deleteNamespacedConfigMap({ name: anchor.metadata!.name!, namespace: 'default' });
    await eventually(() => (fake.getObject('jobs', 'default', job.metadata!.name!) ? undefined : true), 'the job to be collected');
  });
});
