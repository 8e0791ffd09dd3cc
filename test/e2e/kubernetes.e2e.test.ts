/**
 * End-to-end test of the Kubernetes executor: runs examples/hello (and examples/variant-calling
 * when STRAND_E2E_IMAGE is set) with `node bin/strand.js run --executor kubernetes`, checks the
 * outputs, the Jobs the run created (labels, owner, requests/limits) and that nothing with the
 * run's label is left in the namespace afterwards.
 *
 *   STRAND_E2E_CONFIG=~/strand.yaml npm run test:e2e            # the cluster KUBECONFIG points to
 *   STRAND_E2E_IMAGE=registry.lab/strand-vc:1 STRAND_E2E_CONFIG=... npm run test:e2e
 *   STRAND_E2E_FAKE=1 npm run test:e2e                          # against test/support/fake-kube
 *
 * See e2e-env.ts for how the environment is detected; without a configured, reachable cluster
 * the whole file is skipped with one message saying why.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job, Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKube, startFakeKube } from '../support/fake-kube/index.js';
import { type ResolvedE2e, fakeConfigYaml, parseQuantity, resolveE2e, stepFromLabel, withDefaultImage } from './e2e-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STRAND = path.join(ROOT, 'bin', 'strand.js');
const OWNER = 'strand-e2e';
const RUN_LABEL = 'strand.dev/run';
const RUN_TIMEOUT_MS = Number(process.env.STRAND_E2E_RUN_TIMEOUT_S ?? 600) * 1000;
const CLEANUP_TIMEOUT_MS = 3 * 60_000;

const env: ResolvedE2e = await resolveE2e();
const skipReason = env.kind === 'skip' ? env.reason : undefined;
if (skipReason) console.warn(`kubernetes e2e skipped: ${skipReason}`);
/** Image for examples/variant-calling (known at collection time, for it.skipIf). */
const image = env.kind === 'skip' ? undefined : env.image;

interface Cluster {
  kc: KubeConfig;
  namespace: string;
  configPath: string;
  /** Environment for the strand child process. */
  childEnv: NodeJS.ProcessEnv;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runStrand(args: string[], childEnv: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [STRAND, ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // SIGTERM first: Strand deletes the run's Jobs on SIGTERM, so a timeout leaves nothing behind.
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Records every Job carrying the run's label while the run goes on (Strand may delete them at the end). */
async function recordJobs(kc: KubeConfig, namespace: string, runId: string): Promise<{ jobs: Map<string, V1Job>; stop: () => void }> {
  const jobs = new Map<string, V1Job>();
  let stopped = false;
  let abort: AbortController | undefined;
  const start = async (): Promise<void> => {
    abort = await new Watch(kc).watch(
      `/apis/batch/v1/namespaces/${namespace}/jobs`,
      { labelSelector: `${RUN_LABEL}=${runId}` },
      (type: string, obj: V1Job) => {
        const name = obj.metadata?.name;
        if (name && (type === 'ADDED' || type === 'MODIFIED') && !jobs.has(name)) jobs.set(name, obj);
      },
      () => {
        // Server-side timeout or a dropped connection: watch again (replays current Jobs as ADDED).
        if (!stopped) setTimeout(() => void start().catch(() => undefined), 500);
      },
    );
  };
  await start();
  return {
    jobs,
    stop: () => {
      stopped = true;
      abort?.abort();
    },
  };
}

/** What is still in the namespace with the run's label. */
async function leftovers(kc: KubeConfig, namespace: string, runId: string): Promise<string[]> {
  const labelSelector = `${RUN_LABEL}=${runId}`;
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const [jobs, pods, cms] = await Promise.all([
    batch.listNamespacedJob({ namespace, labelSelector }),
    core.listNamespacedPod({ namespace, labelSelector }),
    core.listNamespacedConfigMap({ namespace, labelSelector }),
  ]);
  return [
    ...jobs.items.map((o) => `job/${o.metadata?.name}`),
    ...pods.items.map((o) => `pod/${o.metadata?.name}`),
    ...cms.items.map((o) => `configmap/${o.metadata?.name}`),
  ];
}

async function waitForNothingLeft(kc: KubeConfig, namespace: string, runId: string): Promise<string[]> {
  const deadline = Date.now() + CLEANUP_TIMEOUT_MS;
  let left = await leftovers(kc, namespace, runId);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    left = await leftovers(kc, namespace, runId);
  }
  return left;
}

/** Best effort, after a failed test: delete whatever the run left (Foreground takes pods along). */
async function forceCleanup(kc: KubeConfig, namespace: string, runId: string): Promise<void> {
  const labelSelector = `${RUN_LABEL}=${runId}`;
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const ignore = () => undefined;
  await batch.deleteCollectionNamespacedJob({ namespace, labelSelector, propagationPolicy: 'Foreground' }).catch(ignore);
  await core.deleteCollectionNamespacedPod({ namespace, labelSelector }).catch(ignore);
  await core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector }).catch(ignore);
}

interface Expectation {
  /** Step names of the workflow's command-line tools and the ramMin (MiB) of each. */
  ramMinByStep: Record<string, number>;
  /** How many Jobs (tasks) the run makes. */
  tasks: number;
}

function checkJobs(jobs: V1Job[], runId: string, exp: Expectation): void {
  const steps = Object.keys(exp.ramMinByStep);
  const tasks = new Set<string>();
  for (const job of jobs) {
    const name = job.metadata?.name ?? '?';
    const labels = job.metadata?.labels ?? {};
    expect(labels['app.kubernetes.io/managed-by'], `${name}: managed-by label`).toBe('strand');
    expect(labels[RUN_LABEL], `${name}: run label`).toBe(runId);
    expect(labels['strand.dev/owner'], `${name}: owner label`).toBe(OWNER);
    expect(labels['strand.dev/attempt'], `${name}: attempt label`).toMatch(/^\d+$/);
    const task = labels['strand.dev/task'];
    expect(task, `${name}: task label`).toBeTruthy();
    tasks.add(task!);
    const stepLabel = labels['strand.dev/step'] ?? '';
    const step = stepFromLabel(stepLabel, steps);
    expect(step, `${name}: step label "${stepLabel}" names one of ${steps.join(', ')}`).toBeDefined();

    expect(job.spec?.backoffLimit, `${name}: backoffLimit`).toBe(0);
    expect(job.spec?.ttlSecondsAfterFinished, `${name}: ttlSecondsAfterFinished`).toBeGreaterThan(0);
    const anchor = (job.metadata?.ownerReferences ?? []).find((r) => r.kind === 'ConfigMap');
    expect(anchor?.name, `${name}: ownerReference to the run's anchor ConfigMap`).toMatch(/^strand-run-/);

    const container = job.spec?.template.spec?.containers[0];
    expect(container?.image, `${name}: image`).toBeTruthy();
    const req = container?.resources?.requests ?? {};
    const lim = container?.resources?.limits ?? {};
    expect(parseQuantity(req['cpu']), `${name}: cpu request`).toBeGreaterThanOrEqual(1);
    const memReq = parseQuantity(req['memory']);
    expect(memReq, `${name}: memory request = ramMin of step ${step}`).toBe(exp.ramMinByStep[step!]! * 2 ** 20);
    expect(parseQuantity(lim['memory']), `${name}: memory limit >= request`).toBeGreaterThanOrEqual(memReq);
    if (lim['cpu'] !== undefined) expect(parseQuantity(lim['cpu']), `${name}: cpu limit >= request`).toBeGreaterThanOrEqual(parseQuantity(req['cpu']));
    expect(parseQuantity(req['ephemeral-storage']), `${name}: ephemeral-storage request (tmpdirMin + outdirMin)`).toBeGreaterThan(0);
  }
  expect(tasks.size, `distinct tasks (strand.dev/task) among ${jobs.length} Jobs`).toBe(exp.tasks);
}

/**
 * A task pod sees of the workspace only its own directories (read-write) and its inputs
 * (read-only), each by subPath, never the whole claim; data volumes are read-only.
 */
function checkMounts(job: V1Job, dataDir: string | undefined): void {
  const name = job.metadata?.name ?? '?';
  const pod = job.spec?.template.spec;
  const mounts = pod?.containers[0]?.volumeMounts ?? [];
  const claimOf = (vol: string) => pod?.volumes?.find((v) => v.name === vol)?.persistentVolumeClaim;
  const workDir = job.metadata?.annotations?.['strand.dev/workdir'];
  for (const m of mounts) {
    const claim = claimOf(m.name);
    if (!claim) continue;
    if (claim.readOnly) {
      expect(m.readOnly, `${name}: ${m.mountPath} of read-only claim ${claim.claimName} is mounted read-only`).toBe(true);
      continue;
    }
    expect(m.subPath, `${name}: ${m.mountPath} of the workspace is a subPath, not the whole claim`).toBeTruthy();
    if (!m.readOnly) {
      const own = workDir !== undefined && (m.mountPath === workDir || m.mountPath === `${workDir}-tmp` || m.mountPath.includes('/.strand-logs/'));
      expect(own, `${name}: read-write mount ${m.mountPath} is the task's own directory (${workDir})`).toBe(true);
    }
  }
  if (dataDir) {
    // Reference data is used in place from the read-only claim, never copied into the workspace.
    const command = JSON.stringify(pod?.containers[0]?.command ?? []);
    expect(command, `${name}: no copy of the reference data`).not.toMatch(/\.strand-staged\/[^"]*(reads\.bam|reference\.fa)/);
  }
}

function outputPath(stdout: string, name: string): string {
  const out = JSON.parse(stdout) as Record<string, { class?: string; path?: string; location?: string } | undefined>;
  const f = out[name];
  if (!f || f.class !== 'File') throw new Error(`no File output "${name}" in ${stdout}`);
  return f.path ?? decodeURIComponent(new URL(f.location!).pathname);
}

const describeE2e = skipReason ? describe.skip : describe;

describeE2e(`kubernetes executor e2e${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let cluster: Cluster;
  let fake: FakeKube | undefined;
  /** With the fake API server: the directory of its ReadOnlyMany reference claim. */
  let fakeReference: string | undefined;
  const scratch = mkdtempSync(path.join(tmpdir(), 'strand-e2e-'));
  const runIds: string[] = [];

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist'))) throw new Error('dist/ is missing: run `npm run build` first (npm run test:e2e does)');
    if (env.kind === 'fake') {
      // Workspace seen at the same path by Strand and by the fake kubelet (as on a one-node cluster).
      const workspace = mkdtempSync(path.join(scratch, 'workspace-'));
      // Reference data on a ReadOnlyMany claim, used in place, as on the real cluster (the fake's
      // pods are host processes, so it cannot show a copied input at its original path).
      fakeReference = mkdtempSync(path.join(scratch, 'reference-'));
      fake = await startFakeKube({ pvcHostPaths: { 'strand-workspace': workspace, 'strand-reference': fakeReference }, jobBackoffBaseMs: 200, kubeletBackoffMs: 200 });
      const kc = new KubeConfig();
      kc.loadFromFile(fake.kubeconfigPath);
      for (const [name, mode] of [['strand-workspace', 'ReadWriteMany'], ['strand-reference', 'ReadOnlyMany']] as const) {
        await kc.makeApiClient(CoreV1Api).createNamespacedPersistentVolumeClaim({
          namespace: fake.namespace,
          body: { metadata: { name }, spec: { accessModes: [mode], resources: { requests: { storage: '1Gi' } } } },
        });
      }
      const configPath = path.join(scratch, 'strand.yaml');
      writeFileSync(
        configPath,
        fakeConfigYaml({ workspaceDir: workspace, claimName: 'strand-workspace', namespace: fake.namespace, reference: { claimName: 'strand-reference', dir: fakeReference } }),
      );
      cluster = { kc, namespace: fake.namespace, configPath, childEnv: { ...process.env, KUBECONFIG: fake.kubeconfigPath } };
    } else if (env.kind === 'cluster') {
      cluster = { kc: env.kc, namespace: env.namespace, configPath: env.configPath, childEnv: { ...process.env } };
    }
  });

  afterAll(async () => {
    if (cluster) for (const id of runIds) await forceCleanup(cluster.kc, cluster.namespace, id);
    await fake?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Run one workflow on the cluster; returns strand's stdout and the Jobs seen. */
  async function runOnCluster(name: string, opts: { cwl: string; job: string; configPath?: string; extra?: string[] }): Promise<{ stdout: string; outdir: string; jobs: V1Job[]; runId: string }> {
    const runId = `e2e-${name}-${Date.now().toString(36)}`;
    runIds.push(runId);
    const outdir = mkdtempSync(path.join(scratch, `${name}-out-`));
    const rec = await recordJobs(cluster.kc, cluster.namespace, runId);
    let result: RunResult;
    try {
      result = await runStrand(
        [
          'run',
          '--executor', 'kubernetes',
          '--config', opts.configPath ?? cluster.configPath,
          '--run-id', runId,
          '--owner', OWNER,
          '--outdir', outdir,
          '--store', path.join(scratch, 'store'),
          // The Jobs are what is checked: no task may be reused from the workspace's cache of an earlier run.
          '--cache', 'off',
          '--quiet',
          ...(opts.extra ?? []),
          opts.cwl,
          opts.job,
        ],
        cluster.childEnv,
        RUN_TIMEOUT_MS,
      );
    } finally {
      // Give the watch a moment to deliver the last events.
      await new Promise((r) => setTimeout(r, 500));
      rec.stop();
    }
    expect(result.code, `strand exited ${result.code}; stderr:\n${result.stderr.slice(-4000)}`).toBe(0);
    return { stdout: result.stdout, outdir, jobs: [...rec.jobs.values()], runId };
  }

  it('runs examples/hello: outputs, Job labels and resources, nothing left behind', async () => {
    const hello = path.join(ROOT, 'examples', 'hello');
    const { stdout, jobs, runId } = await runOnCluster('hello', { cwl: path.join(hello, 'wordcount.cwl'), job: path.join(hello, 'job.yml') });

    const out = JSON.parse(stdout) as { line_counts?: number[] };
    expect(out.line_counts).toEqual([11, 11, 9]);
    expect(readFileSync(outputPath(stdout, 'top_words'), 'utf8')).toBe(readFileSync(path.join(hello, 'expected', 'top-words.txt'), 'utf8'));

    // 3 x words + 3 x lines + count + keep_top; no ResourceRequirement, so CWL's defaults (ramMin 256).
    checkJobs(jobs, runId, { ramMinByStep: { words: 256, lines: 256, count: 256, keep_top: 256 }, tasks: 8 });
    for (const job of jobs) checkMounts(job, undefined);

    expect(await waitForNothingLeft(cluster.kc, cluster.namespace, runId), 'objects left with the run label').toEqual([]);
  });

  it.skipIf(!image)(
    `runs examples/variant-calling with STRAND_E2E_IMAGE${image ? '' : ' (skipped: set STRAND_E2E_IMAGE to an image with samtools, bcftools and freebayes; see examples/kubernetes/Dockerfile.variant-calling)'}`,
    async () => {
      const vc = path.join(ROOT, 'examples', 'variant-calling');
      const data = path.join(vc, 'data');
      if (!['reference.fa', 'reads.bam', 'reads.bam.bai', 'truth.tsv'].every((f) => existsSync(path.join(data, f)))) {
        // make-data.mjs needs samtools on this machine (for sort + index).
        const made = await runNode([path.join(vc, 'make-data.mjs'), data]);
        expect(made.code, `make-data.mjs failed (needs samtools on the PATH):\n${made.stderr}`).toBe(0);
      }
      // With STRAND_E2E_REFERENCE (a directory on a ReadOnlyMany data volume, as Strand sees it and
      // pods are shown it), the data is put there and used in place: nothing is copied per run.
      let jobFile = path.join(vc, 'job.yml');
      const ref = process.env.STRAND_E2E_REFERENCE ?? fakeReference;
      if (ref) {
        const dest = path.join(ref, 'strand-e2e-variant-calling');
        mkdirSync(dest, { recursive: true });
        for (const f of ['reference.fa', 'reads.bam', 'reads.bam.bai']) copyFileSync(path.join(data, f), path.join(dest, f));
        jobFile = path.join(scratch, 'vc-job.yml');
        writeFileSync(
          jobFile,
          readFileSync(path.join(vc, 'job.yml'), 'utf8').replace(/path: data\//g, `path: ${dest}/`),
        );
      }
      // --no-container: ignore the tools' biocontainers hints, so every step runs in defaultImage.
      const configPath = path.join(scratch, 'strand-vc.yaml');
      writeFileSync(configPath, withDefaultImage(readFileSync(cluster.configPath, 'utf8'), image!));
      const { stdout, jobs, runId } = await runOnCluster('vc', {
        cwl: path.join(vc, 'variant-calling.cwl'),
        job: jobFile,
        configPath,
        extra: ['--no-container'],
      });

      const check = await runNode([path.join(vc, 'check-snps.mjs'), outputPath(stdout, 'calls'), path.join(data, 'truth.tsv'), '--max-false-positives', '0']);
      expect(check.code, `check-snps.mjs:\n${check.stdout}${check.stderr}`).toBe(0);

      if (ref) {
        const commands = jobs.map((j) => JSON.stringify(j.spec?.template.spec?.containers[0]?.command ?? [])).join('\n');
        expect(commands, 'the reads are read in place from the reference claim').toContain(`${ref}/strand-e2e-variant-calling/reads.bam`);
      }
      for (const job of jobs) {
        const c = job.spec?.template.spec?.containers[0];
        expect(c?.image, 'every step runs in STRAND_E2E_IMAGE').toBe(image);
        checkMounts(job, ref);
      }
      // index + 8 x call (2 contigs x 4 windows) + merge + filter; split is an ExpressionTool (no Job).
      checkJobs(jobs, runId, { ramMinByStep: { index: 256, call: 1024, merge: 512, filter: 256 }, tasks: 11 });

      expect(await waitForNothingLeft(cluster.kc, cluster.namespace, runId), 'objects left with the run label').toEqual([]);
    },
  );
});

function runNode(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
