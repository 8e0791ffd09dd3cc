/**
 * A namespace as labs set them up (issue 18, points 1, 4 and 5) on a real cluster: a ResourceQuota
 * on requests.cpu, requests.memory, limits.cpu and limits.memory, and a LimitRange with a minimum
 * and a maximum per container (no defaults of its own: Kubernetes makes the max the default limit
 * and the default request). In it:
 *
 *   - `strand doctor` in object-store mode as a member without rights fails, and passes once the
 *     output of `strand rbac --user` is applied (point 5): it checks the bucket, the pods'
 *     credentials Secret and the helper containers' resources as the LimitRange makes them,
 *     not a workspace claim;
 *   - examples/variant-calling runs in workspace mode, in object-store mode (the stage-in and
 *     upload containers fitted to the LimitRange: with no CPU request of their own they got the
 *     range's max, 2 CPU, beside a 1-CPU tool on a 2-CPU node), and through
 *     `strand submit --no-container` (point 4: the leader in the cluster runs every step in
 *     kubernetes.defaultImage, ignoring the tools' biocontainers hints) (point 1).
 *
 * Only against a real cluster (the k8s rig, host-link mode: `eval "$(bash test/e2e/rig.sh env)"`),
 * as root (the Strand image, built unless STRAND_E2E_OS_IMAGE names it; the rig's volumes.sh), with STRAND_E2E_IMAGE (samtools, bcftools,
 * freebayes). The namespace (strand-e2e-quota, or STRAND_E2E_QUOTA_NAMESPACE), its workspace
 * claim and the S3 server (127.254.0.1, STRAND_E2E_QUOTA_PORT, default 9237) are made and removed here.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { S3Store } from '../../src/storage/index.js';
import { startS3Server, type S3TestServer } from '../support/s3-server.js';
import { resolveE2e } from './e2e-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const STRAND = path.join(ROOT, 'bin', 'strand.js');
const RIG = process.env.STRAND_RIG ?? path.resolve(ROOT, '..', 'shared', 'k8s-rig');
const NS = process.env.STRAND_E2E_QUOTA_NAMESPACE ?? 'strand-e2e-quota';
const HOST = '127.254.0.1';
const PORT = Number(process.env.STRAND_E2E_QUOTA_PORT ?? '9237');
const BUCKET = 'strand-quota-e2e';
const SA = 'strand-quota-leader';
const ALICE = process.env.STRAND_E2E_ALICE_KUBECONFIG;
const KUBECTL = process.env.STRAND_E2E_KUBECTL ?? 'kubectl';

const env = await resolveE2e();
const skip =
  env.kind === 'skip' ? env.reason
  : env.kind === 'fake' ? 'the quota namespace needs a real cluster (STRAND_E2E_FAKE=1 is set)'
  : !env.image ? 'STRAND_E2E_IMAGE is not set (an image with samtools, bcftools and freebayes)'
  : process.getuid?.() !== 0 ? "the Strand image import and the rig's volumes.sh need root"
  : !existsSync(path.join(RIG, 'volumes.sh')) ? `no k8s rig at ${RIG} (its volumes.sh makes the workspace claim)`
  : undefined;
if (skip) console.warn(`quota namespace e2e skipped: ${skip}`);
const cluster = env.kind === 'cluster' && !skip ? env : undefined;
const describeReal = cluster ? describe : describe.skip;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

describeReal('a namespace with CPU and memory quotas and a LimitRange (issue 18, points 1, 4, 5)', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'strand-quota-e2e-'));
  const base = (cluster ? parse(readFileSync(cluster.configPath, 'utf8')) : null) as { kubernetes: Record<string, unknown> & { kubeconfig?: string; workspace?: { localPath?: string; mountPath?: string } } } | null;
  const adminKubeconfig = base?.kubernetes.kubeconfig ?? process.env.KUBECONFIG;
  const wsLocal = base?.kubernetes.workspace?.localPath ?? base?.kubernetes.workspace?.mountPath ?? '';
  // The example's data on the workspace (used in place; too large to travel with a submitted run).
  const data = path.join(wsLocal, `strand-e2e-quota-data-${Date.now().toString(36)}`);
  const vc = path.join(ROOT, 'examples', 'variant-calling');
  const seconds: Record<string, number> = {};
  const submitted: string[] = [];
  let s3: S3TestServer;
  let store: S3Store;
  let image = '';
  let childEnv: NodeJS.ProcessEnv;

  const kubectl = (args: string[], input?: string): string => {
    const r = spawnSync(KUBECTL, args, { env: { ...process.env, KUBECONFIG: adminKubeconfig }, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  const strand = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Ran> => {
    const t0 = Date.now();
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [STRAND, ...args], { cwd: work, env: { ...childEnv, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
      }, 10 * 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: Date.now() - t0 });
      });
    });
  };

  /** A strand.yaml for the namespace: the rig's, in workspace mode or (objectStore) with no claim at all. */
  const config = (name: string, opts: { objectStore?: boolean; kubeconfig?: string } = {}): string => {
    const k: Record<string, unknown> = { ...base!.kubernetes, namespace: NS, defaultImage: env.kind === 'cluster' ? env.image : undefined, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}) };
    delete k['dataVolumes'];
    if (opts.objectStore) {
      delete k['workspace'];
      Object.assign(k, { storage: 'objectStore', objectStore: { location: `s3://${BUCKET}/strand`, credentialsSecret: 'strand-s3', image } });
    }
    const f = path.join(work, name);
    writeFileSync(f, stringify({ executor: 'kubernetes', kubernetes: k, ...(opts.objectStore ? { storage: { s3: s3.settings } } : {}) }));
    return f;
  };

  const checkSnps = (calls: string) => {
    const r = spawnSync(process.execPath, [path.join(vc, 'check-snps.mjs'), calls, path.join(data, 'truth.tsv'), '--max-false-positives', '0'], { encoding: 'utf8' });
    expect(r.status, `check-snps.mjs:\n${r.stdout}${r.stderr}`).toBe(0);
  };

  const jobOnWorkspace = (): string => {
    const job = path.join(work, 'vc-ws-job.yml');
    writeFileSync(job, readFileSync(path.join(vc, 'job.yml'), 'utf8').replace(/path: data\//g, `path: ${data}/`));
    return job;
  };

  beforeAll(async () => {
    image = process.env.STRAND_E2E_OS_IMAGE || execFileSync('bash', [path.join(ROOT, 'scripts', 'strand-image.sh')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    s3 = await startS3Server({ host: HOST, port: PORT, buckets: [BUCKET], accessKeyId: 'strand-quota', secretAccessKey: `quota-${Date.now().toString(36)}` });
    store = new S3Store(s3.settings, { credentials: s3.credentials });
    childEnv = { ...process.env, ...s3.env, STRAND_STORE: path.join(work, 'store') };
    delete childEnv.STRAND_CONFIG;
    // A namespace left by an earlier, interrupted run goes first.
    spawnSync('bash', [path.join(RIG, 'volumes.sh'), 'release', 'strand-workspace', NS], { env: { ...process.env, KUBECONFIG: adminKubeconfig }, stdio: 'ignore' });
    kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=180s']);
    kubectl(['create', 'namespace', NS]);
    kubectl(['-n', NS, 'apply', '-f', '-'], stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'lab' }, spec: { hard: { 'requests.cpu': '4', 'requests.memory': '8Gi', 'limits.cpu': '16', 'limits.memory': '16Gi' } } },
        { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'lab' }, spec: { limits: [{ type: 'Container', min: { cpu: '50m', memory: '32Mi' }, max: { cpu: '2', memory: '4Gi' } }] } },
      ],
    }));
    const claimed = spawnSync('bash', [path.join(RIG, 'volumes.sh'), 'claim', 'strand-workspace', NS, 'workspace'], { env: { ...process.env, KUBECONFIG: adminKubeconfig }, encoding: 'utf8' });
    if (claimed.status !== 0) throw new Error(`volumes.sh claim: ${claimed.stderr}`);
    kubectl(['-n', NS, 'create', 'secret', 'generic', 'strand-s3', `--from-literal=AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.credentials.secretAccessKey}`]);
    // The example's data: on the workspace for the workspace-mode runs, in the bucket for object-store mode.
    mkdirSync(data, { recursive: true });
    const made = spawnSync(process.execPath, [path.join(vc, 'make-data.mjs'), data], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`make-data.mjs (needs samtools on the PATH): ${made.stderr}`);
    for (const f of ['reference.fa', 'reads.bam', 'reads.bam.bai']) await store.upload(path.join(data, f), { scheme: 's3', bucket: BUCKET, key: `inputs/${f}` });
  });

  afterAll(async () => {
    console.log(`quota namespace e2e seconds: ${JSON.stringify(seconds)}`);
    try {
      for (const id of submitted) kubectl(['-n', NS, 'delete', 'job', `strand-leader-${id}`, '--ignore-not-found', '--cascade=foreground', '--timeout=120s']);
      spawnSync('bash', [path.join(RIG, 'volumes.sh'), 'release', 'strand-workspace', NS], { env: { ...process.env, KUBECONFIG: adminKubeconfig }, stdio: 'ignore' });
      kubectl(['delete', 'namespace', NS, '--wait=false']);
    } catch (err) {
      console.warn(`quota namespace e2e cleanup: ${(err as Error).message}`);
    }
    store?.close();
    await s3?.stop();
    for (const id of submitted) rmSync(path.join(wsLocal, 'strand-submit', id), { recursive: true, force: true });
    if (wsLocal) rmSync(data, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it.skipIf(!ALICE)('strand doctor in object-store mode: a member without rights is told so, and passes after strand rbac --user (point 5)', async () => {
    const t0 = Date.now();
    const cfg = config('alice-os.yaml', { objectStore: true, kubeconfig: ALICE! });
    const before = await strand(['doctor', '--executor', 'kubernetes', '--config', cfg]);
    expect(before.code, before.stdout + before.stderr).toBe(1);
    expect(before.stdout + before.stderr).toMatch(/forbidden|not allowed/i);
    const rbac = await strand(['rbac', '--namespace', NS, '--user', 'alice', '--name', 'strand-e2e-alice']);
    expect(rbac.code, rbac.stderr).toBe(0);
    kubectl(['apply', '-f', '-'], rbac.stdout);
    const after = await strand(['doctor', '--executor', 'kubernetes', '--config', cfg]);
    expect(after.code, after.stdout + after.stderr).toBe(0);
    // What object-store mode needs, not a workspace claim.
    expect(after.stdout).not.toContain('kubernetes.workspace is not set');
    expect(after.stdout).toContain('object-store mode');
    expect(after.stdout).toMatch(new RegExp(`${BUCKET} exists`));
    expect(after.stdout).toContain('Secret strand-s3');
    // The helpers' resources as the LimitRange makes them: the CPU request raised to its minimum.
    expect(after.stdout).toMatch(/helper resources.*cpu request 0 -> 50m \(LimitRange lab min\)/);
    seconds['point 5 (doctor as alice, object store)'] = (Date.now() - t0) / 1000;
  });

  it('runs examples/variant-calling in workspace mode (point 1)', async () => {
    const out = path.join(work, 'vc-ws-out');
    const r = await strand(['run', '--executor', 'kubernetes', '--config', config('ws.yaml'), '--no-container', '--cache', 'off', '--pending-timeout', '90s', '--outdir', out, path.join(vc, 'variant-calling.cwl'), jobOnWorkspace()]);
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    seconds['point 1: variant calling, workspace mode'] = r.ms / 1000;
    checkSnps(path.join(out, 'calls.vcf'));
  });

  it('runs examples/variant-calling in object-store mode: the helper containers fitted to the LimitRange (point 1)', async () => {
    const job = path.join(work, 'vc-os-job.yml');
    const at = (f: string) => ({ class: 'File', location: `s3://${BUCKET}/inputs/${f}` });
    writeFileSync(job, stringify({ reference: at('reference.fa'), reads: { ...at('reads.bam'), secondaryFiles: [at('reads.bam.bai')] }, windows: 4, min_qual: 20 }));
    const r = await strand(['run', '--config', config('os.yaml', { objectStore: true }), '--no-container', '--cache', 'off', '--pending-timeout', '90s', '--outdir', `s3://${BUCKET}/results/vc`, path.join(vc, 'variant-calling.cwl'), job]);
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    seconds['point 1: variant calling, object-store mode'] = r.ms / 1000;
    expect(r.stderr).toContain('cpu request 0 -> 50m (LimitRange lab min)');
    const calls = path.join(work, 'os-calls.vcf');
    await store.download({ scheme: 's3', bucket: BUCKET, key: 'results/vc/calls.vcf' }, calls);
    checkSnps(calls);
  });

  it('runs examples/variant-calling through strand submit --no-container: the leader in the namespace, every step in kubernetes.defaultImage (points 1 and 4)', async () => {
    const t0 = Date.now();
    const sub = await strand([
      'submit', '--config', config('submit.yaml'), '--image', image, '--image-pull-policy', 'Never', '--service-account', SA, '--setup-rbac', '--run-as-user', '0',
      '--no-container', '--cache', 'off', '--pending-timeout', '90s', path.join(vc, 'variant-calling.cwl'), jobOnWorkspace(),
    ]);
    expect(sub.code, sub.stderr).toBe(0);
    const runId = sub.stdout.trim();
    submitted.push(runId);
    let shown: { status: string; outputs?: Record<string, { path?: string }> } = { status: 'running' };
    const end = Date.now() + 8 * 60_000;
    while (shown.status === 'running' && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 2000));
      const s = await strand(['show', '--json', runId]);
      if (s.code === 0) shown = JSON.parse(s.stdout) as typeof shown;
    }
    const logs = await strand(['logs', runId]);
    expect(shown.status, logs.stdout.slice(-4000)).toBe('success');
    seconds['point 1: variant calling, strand submit'] = (Date.now() - t0) / 1000;
    expect(logs.stdout).not.toMatch(/biocontainers|cannot pull image/);
    checkSnps(shown.outputs!['calls']!.path!);
  });
});
