/**
 * End-to-end test of `kubernetes.storage: objectStore` on a real cluster with no workspace claim:
 * a real S3 server (s3rver) on the host, reached by pods through the k8s rig's host link
 * (127.254.0.1, ports 9000-9999), inputs and outputs in its bucket.
 *
 *   STRAND_E2E_OS_IMAGE   the Strand image in the cluster's containerd (scripts/strand-image.sh prints its content tag)
 *   STRAND_E2E_CONFIG     the rig's strand.yaml (for its kubeconfig), as for kubernetes.e2e.test.ts
 *   STRAND_E2E_IMAGE      image with samtools, bcftools and freebayes (variant calling; skipped when unset)
 *   STRAND_E2E_OS_HOST    address pods reach the host at (default 127.254.0.1); STRAND_E2E_OS_PORT (default 9201)
 *   STRAND_E2E_OS_NAMESPACE  default strand-k8sobj-e2e (made and removed here)
 *
 * Checks: hello and variant calling give the outputs (sha1) of a local run; the Secret's values
 * appear in no Job or pod spec, no log and not in the run store; wrong credentials and a missing
 * bucket fail before any task; the server stopped mid-run fails the run with nothing under the
 * final names; a pod deleted while it uploads is retried; `strand submit` with no workspace (the
 * leader in the cluster, its credentials from the same Secret) gives the outputs of a local run;
 * an s3:// input in the run's bucket is read by the pod in place (Strand's own S3 traffic counted
 * by a proxy on loopback: a HEAD, none of the input's bytes).
 * Prints the figures (times, bytes).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/storage/index.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { startS3Server, type S3TestServer } from '../support/s3-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** STRAND_TEST_BIN runs another build (an older one, to see a test fail on it), as in test/support/strand-cli.ts. */
const STRAND = process.env.STRAND_TEST_BIN ?? path.join(ROOT, 'bin', 'strand.js');
const STRAND_IMAGE = process.env.STRAND_E2E_OS_IMAGE;
const RIG_CONFIG = process.env.STRAND_E2E_CONFIG;
const BIO_IMAGE = process.env.STRAND_E2E_IMAGE;
const HOST = process.env.STRAND_E2E_OS_HOST ?? '127.254.0.1';
const PORT = Number(process.env.STRAND_E2E_OS_PORT ?? '9201');
const NS = process.env.STRAND_E2E_OS_NAMESPACE ?? 'strand-k8sobj-e2e';
const BUCKET = 'strand-e2e-data';
const SECRET_VALUE = 'e2e-secret-Zq81xWv3';

const kubeconfig = RIG_CONFIG && existsSync(RIG_CONFIG) ? ((parse(readFileSync(RIG_CONFIG, 'utf8')) as { kubernetes?: { kubeconfig?: string } }).kubernetes?.kubeconfig ?? process.env.KUBECONFIG) : undefined;
const skip = !STRAND_IMAGE ? 'STRAND_E2E_OS_IMAGE is not set (the Strand image tag printed by scripts/strand-image.sh)' : !kubeconfig ? 'STRAND_E2E_CONFIG does not name a cluster (bash test/e2e/rig.sh env)' : undefined;
const KUBECTL = process.env.STRAND_E2E_KUBECTL ?? 'kubectl';

function kubectl(args: string[], input?: string): string {
  const r = spawnSync(KUBECTL, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function strand(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15 * 60_000, onStart?: (pid: number) => void): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [STRAND, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) onStart?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const sha1 = (f: string) => createHash('sha1').update(readFileSync(f)).digest('hex');

const describeE2e = skip ? describe.skip : describe;

describeE2e(`kubernetes object-store mode e2e${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let s3: S3TestServer;
  let store: S3Store;
  let work: string;
  let config: string;
  let localConfig: string;
  let env: NodeJS.ProcessEnv;
  const figures: Record<string, unknown> = {};
  let restartedDir: string | undefined;
  const settings = (over: Record<string, unknown> = {}) => ({
    executor: 'kubernetes',
    kubernetes: {
      kubeconfig,
      namespace: NS,
      owner: 'strand-e2e-os',
      defaultImage: BIO_IMAGE ?? 'localhost/bio:bookworm',
      requestsPerSecond: 100,
      storage: 'objectStore',
      objectStore: { location: `s3://${BUCKET}/strand`, credentialsSecret: 'strand-s3', image: STRAND_IMAGE, ...over },
    },
    storage: { s3: s3.settings },
  });
  const writeConfig = (name: string, over: Record<string, unknown> = {}) => {
    const f = path.join(work, name);
    writeFileSync(f, stringify(settings(over)));
    return f;
  };
  const put = async (local: string, key: string) => store.upload(local, { scheme: 's3', bucket: BUCKET, key });
  const get = async (key: string, dest: string) => store.download({ scheme: 's3', bucket: BUCKET, key }, dest);
  const keys = async (prefix: string) => {
    const out: string[] = [];
    for await (const o of store.list({ scheme: 's3', bucket: BUCKET, key: prefix })) out.push(o.key);
    return out;
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'strand-os-e2e-'));
    s3 = await startS3Server({ host: HOST, port: PORT, buckets: [BUCKET], secretAccessKey: SECRET_VALUE, accessKeyId: 'strand-e2e' });
    store = new S3Store(s3.settings, { credentials: s3.credentials });
    // A namespace left by an earlier, interrupted run goes first.
    kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=180s']);
    kubectl(['create', 'namespace', NS]);
    kubectl(['-n', NS, 'create', 'secret', 'generic', 'strand-s3', `--from-literal=AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${SECRET_VALUE}`]);
    config = writeConfig('strand.yaml');
    localConfig = path.join(work, 'local.yaml');
    writeFileSync(localConfig, stringify({ executor: 'local', storage: { s3: s3.settings } }));
    // The task cache off: the local and the cluster runs of one test share a store, and the
    // cluster run would reuse the local run's results (same keys on both executors) instead of
    // running its pods: the comparison would be of the local run with itself.
    env = { ...process.env, ...s3.env, STRAND_STORE: path.join(work, 'store'), STRAND_CACHE: 'off' };
    // The hello example's inputs in the bucket.
    for (const f of readdirSync(path.join(ROOT, 'examples/hello/texts'))) await put(path.join(ROOT, 'examples/hello/texts', f), `inputs/hello/${f}`);
  });

  afterAll(async () => {
    process.stdout.write(`object-store e2e figures: ${JSON.stringify(figures, null, 2)}\n`);
    try {
      kubectl(['delete', 'namespace', NS, '--wait=false']);
    } catch {
      // already gone
    }
    store?.close();
    await s3?.stop();
    if (restartedDir) rmSync(restartedDir, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** The namespace's Jobs and pods, as JSON, every 1.5 s until stop(): to check the specs a run made. */
  const watchSpecs = () => {
    const specs: string[] = [];
    const poll = setInterval(() => {
      try {
        specs.push(kubectl(['-n', NS, 'get', 'jobs,pods', '-o', 'json']));
      } catch {
        // between runs
      }
    }, 1500);
    return { specs, stop: () => clearInterval(poll) };
  };

  const helloJob = () => {
    const f = path.join(work, 'hello-job.yml');
    writeFileSync(
      f,
      stringify({ texts: ['river.txt', 'lighthouse.txt', 'orchard.txt'].map((n) => ({ class: 'File', location: `s3://${BUCKET}/inputs/hello/${n}` })), top: 10 }),
    );
    return f;
  };

  it('runs examples/hello with inputs and outputs in the bucket: the outputs of a local run, no secret anywhere', async () => {
    const job = helloJob();
    const local = await strand(['run', '--config', localConfig, '--no-container', '--outdir', `s3://${BUCKET}/results/hello-local`, 'examples/hello/wordcount.cwl', job], env);
    expect(local.code, local.stderr).toBe(0);
    // Watch the run's pods while it runs, to check their specs.
    const { specs, stop } = watchSpecs();
    const r = await strand(['run', '--config', config, '--outdir', `s3://${BUCKET}/results/hello-k8s`, 'examples/hello/wordcount.cwl', job], env).finally(stop);
    expect(r.code, r.stderr).toBe(0);
    figures['hello (object store) ms'] = r.ms;
    for (const name of ['top-words.txt', 'counts.txt']) {
      const a = path.join(work, `local-${name}`);
      const b = path.join(work, `k8s-${name}`);
      await get(`results/hello-local/${name}`, a);
      await get(`results/hello-k8s/${name}`, b);
      expect(sha1(b), name).toBe(sha1(a));
    }
    expect(sha1(path.join(work, 'k8s-top-words.txt'))).toBe(sha1(path.join(ROOT, 'examples/hello/expected/top-words.txt')));
    // Pods got the credentials only by reference, and the tool's container not at all.
    const seen = specs.join('\n');
    expect(seen).toContain('"secretRef"');
    expect(seen).toContain('"strand-s3"');
    expect(seen).not.toContain(SECRET_VALUE);
    for (const spec of specs) {
      for (const item of (JSON.parse(spec) as { items: Array<{ kind: string; spec?: { containers?: Array<{ name: string; envFrom?: unknown }> } }> }).items) {
        if (item.kind !== 'Pod') continue;
        const task = item.spec?.containers?.find((c) => c.name === 'task');
        expect(task?.envFrom, 'the tool sees no credentials').toBeUndefined();
      }
    }
    expect(r.stdout + r.stderr).not.toContain(SECRET_VALUE);
    const storeDir = path.join(work, 'store');
    const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(path.join(d, n)).isDirectory() ? walk(path.join(d, n)) : [path.join(d, n)]));
    for (const f of walk(storeDir)) expect(readFileSync(f).includes(SECRET_VALUE), f).toBe(false);
    // The run's intermediate objects are gone; only inputs and results stay.
    expect((await keys('strand/')).length).toBe(0);
  });

  it('strand submit with no workspace: the leader in the cluster runs examples/hello from and to the bucket', async () => {
    const job = helloJob();
    const local = await strand(['run', '--config', localConfig, '--no-container', '--outdir', `s3://${BUCKET}/results/hello-submit-local`, 'examples/hello/wordcount.cwl', job], env);
    expect(local.code, local.stderr).toBe(0);
    const { specs, stop } = watchSpecs();
    try {
      const t0 = Date.now();
      const sub = await strand(
        ['submit', '--config', config, '--image', STRAND_IMAGE!, '--image-pull-policy', 'Never', '--service-account', 'strand-os-leader', '--setup-rbac',
          '--outdir', `s3://${BUCKET}/results/hello-submit`, 'examples/hello/wordcount.cwl', job],
        env,
      );
      expect(sub.code, sub.stderr).toBe(0);
      const runId = sub.stdout.trim();
      expect(sub.stderr).toContain(`outputs: s3://${BUCKET}/results/hello-submit`);
      let shown: { status: string; outputs?: Record<string, { location?: string }> } = { status: 'running' };
      for (let i = 0; i < 300 && shown.status === 'running'; i++) {
        await new Promise((res) => setTimeout(res, 1000));
        const r = await strand(['show', '--json', runId], env);
        if (r.code === 0) shown = JSON.parse(r.stdout) as typeof shown;
      }
      const logs = await strand(['logs', runId], env);
      expect(shown.status, logs.stdout).toBe('success');
      figures['hello (submitted, object store) ms'] = Date.now() - t0;
      expect(shown.outputs?.top_words?.location ?? JSON.stringify(shown.outputs)).toMatch(new RegExp(`^s3://${BUCKET}/results/hello-submit/`));
      for (const name of ['top-words.txt', 'counts.txt']) {
        const a = path.join(work, `submit-local-${name}`);
        const b = path.join(work, `submit-${name}`);
        await get(`results/hello-submit-local/${name}`, a);
        await get(`results/hello-submit/${name}`, b);
        expect(sha1(b), name).toBe(sha1(a));
      }
      // The leader got the bucket's credentials by reference (envFrom), like Strand's pod containers.
      const leaderPods = specs.flatMap((j) => (JSON.parse(j) as { items: Array<{ kind: string; metadata: { labels?: Record<string, string> }; spec?: { containers?: Array<{ envFrom?: Array<{ secretRef?: { name: string } }> }> } }> }).items)
        .filter((o) => o.kind === 'Pod' && o.metadata.labels?.['strand.dev/leader'] === runId);
      expect(leaderPods.length).toBeGreaterThan(0);
      expect(leaderPods[0]!.spec?.containers?.[0]?.envFrom).toEqual([{ secretRef: { name: 'strand-s3' } }]);
      expect(specs.join('\n')).not.toContain(SECRET_VALUE);
      expect(logs.stdout + sub.stderr).not.toContain(SECRET_VALUE);
      // The run's intermediate objects are gone.
      expect((await keys('strand/runs/')).length).toBe(0);
    } finally {
      stop();
    }
  });

  it('strand submit with no workspace: a leader pod deleted mid-run is followed by one that adopts the task Jobs, none runs twice', async () => {
    const dir = mkdtempSync(path.join(work, 'adopt-'));
    writeFileSync(
      path.join(dir, 'slow.cwl'),
      stringify({
        cwlVersion: 'v1.2',
        class: 'Workflow',
        requirements: { ScatterFeatureRequirement: {} },
        inputs: { items: 'int[]' },
        outputs: { out: { type: 'File[]', outputSource: 's/out' } },
        steps: {
          s: {
            run: {
              class: 'CommandLineTool',
              requirements: { ResourceRequirement: { coresMin: 0.1, ramMin: 32 } },
              inputs: { i: { type: 'int', inputBinding: { position: 1 } } },
              baseCommand: ['sh', '-c', 'sleep 6; echo "item $0" > out.txt'],
              outputs: { out: { type: 'File', outputBinding: { glob: 'out.txt' } } },
            },
            scatter: 'i',
            in: { i: 'items' },
            out: ['out'],
          },
        },
      }),
    );
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ items: [1, 2, 3, 4] }));
    const sub = await strand(
      ['submit', '--config', config, '--image', STRAND_IMAGE!, '--image-pull-policy', 'Never', '--service-account', 'strand-os-leader', '--setup-rbac',
        '--max-parallel', '2', '--outdir', `s3://${BUCKET}/results/adopted`, path.join(dir, 'slow.cwl'), path.join(dir, 'job.json')],
      env,
    );
    expect(sub.code, sub.stderr).toBe(0);
    const runId = sub.stdout.trim();
    const jobUids = new Map<string, Set<string>>();
    const seen = () => {
      const list = JSON.parse(kubectl(['-n', NS, 'get', 'jobs', '-l', `strand.dev/run=${runId}`, '-o', 'json'])) as { items: Array<{ metadata: { name: string; uid: string } }> };
      for (const j of list.items) jobUids.set(j.metadata.name, (jobUids.get(j.metadata.name) ?? new Set()).add(j.metadata.uid));
    };
    const phases = () => kubectl(['-n', NS, 'get', 'pods', '-l', `strand.dev/run=${runId}`, '-o', 'jsonpath={.items[*].status.phase}']);
    // Delete the leader pod once two tasks have finished and others run.
    for (let i = 0; i < 240 && !(phases().includes('Succeeded') && phases().includes('Running')); i++) {
      seen();
      await new Promise((res) => setTimeout(res, 500));
    }
    const first = kubectl(['-n', NS, 'get', 'pods', '-l', `strand.dev/leader=${runId}`, '-o', 'jsonpath={.items[0].metadata.name}']).trim();
    expect(first).not.toBe('');
    kubectl(['-n', NS, 'delete', 'pod', first, '--wait=false']);
    let shown: { status: string } = { status: 'running' };
    for (let i = 0; i < 300 && shown.status === 'running'; i++) {
      seen();
      await new Promise((res) => setTimeout(res, 1000));
      const r = await strand(['show', '--json', runId], env);
      if (r.code === 0) shown = JSON.parse(r.stdout) as typeof shown;
    }
    const logs = await strand(['logs', runId], env);
    expect(shown.status, logs.stdout).toBe('success');
    expect(logs.stdout).toContain('adopting its Jobs');
    // Four tasks, each one Job made once.
    expect(jobUids.size).toBe(4);
    expect([...jobUids.values()].every((u) => u.size === 1)).toBe(true);
    expect((await keys('results/adopted/')).sort()).toEqual(['results/adopted/out.txt', 'results/adopted/out_2.txt', 'results/adopted/out_3.txt', 'results/adopted/out_4.txt']);
    const a = path.join(work, 'adopted-4.txt');
    await get('results/adopted/out_4.txt', a);
    expect(readFileSync(a, 'utf8')).toBe('item 4\n');
  });

  it.skipIf(!BIO_IMAGE)('runs examples/variant-calling with no workspace claim: the outputs of a local run', async () => {
    const vc = path.join(ROOT, 'examples/variant-calling');
    const data = path.join(work, 'vc-data');
    const made = spawnSync(process.execPath, [path.join(vc, 'make-data.mjs'), data], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    // The inputs are in the bucket too (the BAM with its index as a secondary file): nothing of
    // the run is on a shared volume or on the host's file system.
    for (const f of ['reference.fa', 'reads.bam', 'reads.bam.bai']) await put(path.join(data, f), `inputs/vc/${f}`);
    const job = path.join(work, 'vc-job.yml');
    writeFileSync(
      job,
      stringify({
        reference: { class: 'File', location: `s3://${BUCKET}/inputs/vc/reference.fa` },
        reads: { class: 'File', location: `s3://${BUCKET}/inputs/vc/reads.bam`, secondaryFiles: [{ class: 'File', location: `s3://${BUCKET}/inputs/vc/reads.bam.bai` }] },
        windows: 4,
        min_qual: 20,
      }),
    );
    const local = await strand(['run', '--config', localConfig, '--no-container', '--outdir', `s3://${BUCKET}/results/vc-local`, path.join(vc, 'variant-calling.cwl'), job], env);
    expect(local.code, local.stderr).toBe(0);
    figures['variant calling (local) ms'] = local.ms;
    const stats = path.join(work, 'vc-stats.json');
    const r = await strand(['run', '--config', config, '--no-container', '--outdir', `s3://${BUCKET}/results/vc-k8s`, path.join(vc, 'variant-calling.cwl'), job], { ...env, STRAND_KUBE_API_STATS: stats });
    expect(r.code, r.stderr).toBe(0);
    figures['variant calling (object store) ms'] = r.ms;
    const out = JSON.parse(r.stdout) as Record<string, { basename: string }>;
    for (const o of Object.values(out)) {
      if (!o || typeof o !== 'object' || !('basename' in o)) continue;
      const a = path.join(work, `vc-local-${o.basename}`);
      const b = path.join(work, `vc-k8s-${o.basename}`);
      await get(`results/vc-local/${o.basename}`, a);
      await get(`results/vc-k8s/${o.basename}`, b);
      // VCF headers name the tools' command lines, with the paths of each run's task directories:
      // the records (and every other output) are byte for byte those of the local run, but for
      // one thing: freebayes 1.3.6 prints a QUAL near zero that depends on the path strings it is
      // given, not only on the bytes (measured 2026-12-01 on this data, same binary, same files:
      // chr1:22103 QUAL 2.00477e-14 with `data/reads.bam` or a link `s/stg2/reads.bam`, 2.0055e-14
      // with `/tmp/fbt/data/reads.bam`). Such QUALs (below 1e-6) are compared as "about zero".
      const record = (l: string) => {
        const c = l.split('\t');
        if (c.length > 5 && Number(c[5]) < 1e-6) c[5] = '~0';
        return c.join('\t');
      };
      const body = (f: string) => createHash('sha1').update(readFileSync(f, 'utf8').split('\n').filter((l) => !l.startsWith('##')).map(record).join('\n')).digest('hex');
      if (o.basename.endsWith('.vcf')) expect(body(b), o.basename).toBe(body(a));
      else expect(sha1(b), o.basename).toBe(sha1(a));
    }
    const transfers = (JSON.parse(readFileSync(stats, 'utf8')) as { executor: { transfers: Array<Record<string, unknown>> } }).executor.transfers;
    figures['variant calling bytes per pod'] = transfers;
    // Each pod fetched only its task's inputs: never more than the run's inputs and intermediates.
    const inputsBytes = ['reference.fa', 'reads.bam', 'reads.bam.bai'].reduce((n, f) => n + statSync(path.join(data, f)).size, 0);
    for (const t of transfers) expect((t['podFetched'] as { bytes: number }).bytes).toBeLessThan(inputsBytes * 3);
  });

  it('reads an s3:// input in the run\'s bucket in place: the pod fetches it, none of its bytes pass through Strand', async () => {
    // Strand reaches the store through a byte-counting proxy on loopback; the pods go direct.
    const proxy = await startFaultProxy({ host: HOST, port: PORT });
    try {
      const size = 20 * 1024 * 1024 + 3;
      const big = path.join(work, 'in-place.bin');
      const bytes = randomBytes(size);
      writeFileSync(big, bytes);
      await put(big, 'inputs/in-place/reads.bin');
      const tool = path.join(work, 'in-place.cwl');
      writeFileSync(
        tool,
        stringify({
          cwlVersion: 'v1.2',
          class: 'CommandLineTool',
          inputs: { reads: { type: 'File', inputBinding: { position: 1 } } },
          baseCommand: ['sh', '-c', 'sha1sum "$0" | cut -c1-40 > sum.txt'],
          outputs: { sum: { type: 'File', outputBinding: { glob: 'sum.txt', loadContents: true } } },
        }),
      );
      const job = path.join(work, 'in-place.json');
      writeFileSync(job, JSON.stringify({ reads: { class: 'File', location: `s3://${BUCKET}/inputs/in-place/reads.bin` } }));
      const cfg = path.join(work, 'in-place.yaml');
      const base = settings({ endpoint: s3.endpoint });
      writeFileSync(cfg, stringify({ ...base, storage: { s3: { ...s3.settings, endpoint: proxy.endpoint } } }));
      const stats = path.join(work, 'in-place-stats.json');
      const r = await strand(['run', '--config', cfg, '--outdir', path.join(work, 'in-place-out'), tool, job], { ...env, STRAND_KUBE_API_STATS: stats });
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { sum: { contents: string } }).sum.contents.trim()).toBe(createHash('sha1').update(bytes).digest('hex'));
      const onInput = proxy.requests.filter((q) => q.url.startsWith(`/${BUCKET}/inputs/in-place/`));
      expect(onInput.map((q) => q.method)).toEqual(['HEAD']);
      const strandBytes = proxy.requests.reduce((n, q) => n + q.sentBytes + q.receivedBytes, 0);
      expect(strandBytes).toBeLessThan(256 * 1024);
      const transfers = (JSON.parse(readFileSync(stats, 'utf8')) as { executor: { transfers: Array<{ inPlace: { bytes: number }; podFetched: { bytes: number }; leaderUploaded: { bytes: number } }> } }).executor.transfers;
      expect(transfers[0]!.inPlace.bytes).toBe(size);
      expect(transfers[0]!.podFetched.bytes).toBeGreaterThanOrEqual(size);
      expect(transfers[0]!.leaderUploaded.bytes).toBe(0);
      figures['in-place input: bytes through Strand / fetched by the pod'] = { strand: strandBytes, pod: transfers[0]!.podFetched.bytes, input: size, ms: r.ms };
    } finally {
      await proxy.close();
    }
  });

  it('fails before any task, naming the bucket, when the bucket is missing or the credentials are wrong', async () => {
    const job = helloJob();
    const missing = await strand(['run', '--config', writeConfig('missing.yaml', { location: 's3://no-such-bucket-e2e/strand' }), 'examples/hello/wordcount.cwl', job], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('no-such-bucket-e2e');
    const wrong = await strand(['run', '--config', config, 'examples/hello/wordcount.cwl', job], { ...env, AWS_SECRET_ACCESS_KEY: 'wrong' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/s3:\/\/strand-e2e-data/);
    expect(wrong.stderr).not.toContain('step wordcount');
    // Wrong credentials in the pods' Secret: the pod's stage-in fails and says why.
    kubectl(['-n', NS, 'create', 'secret', 'generic', 'strand-s3-wrong', `--from-literal=AWS_ACCESS_KEY_ID=${s3.credentials.accessKeyId}`, '--from-literal=AWS_SECRET_ACCESS_KEY=wrong']);
    const podWrong = await strand(['run', '--config', writeConfig('wrong-secret.yaml', { credentialsSecret: 'strand-s3-wrong' }), 'examples/hello/wordcount.cwl', job], env);
    expect(podWrong.code).toBe(1);
    expect(podWrong.stderr).toMatch(/init container stage-in exited with code 1/);
    expect(podWrong.stderr).toMatch(/s3:\/\/strand-e2e-data\/strand\/runs\//);
  });

  it('retries a task whose pod is deleted while it uploads; the run succeeds', async () => {
    // The pods reach the server through a proxy that holds the first pod's result.json (its
    // upload hangs): the pod is deleted then, and the next attempt goes through.
    const proxy = await startFaultProxy({ host: HOST, port: PORT }, { host: HOST, port: PORT + 1 });
    proxy.inject({ match: (m, u) => m === 'PUT' && u.includes('-a1/result.json'), fault: { delayMs: 600_000 }, times: 1 });
    const tool = path.join(work, 'big.cwl');
    writeFileSync(
      tool,
      stringify({
        cwlVersion: 'v1.2',
        class: 'CommandLineTool',
        baseCommand: ['sh', '-c', 'head -c 30000000 /dev/zero > big.bin; echo done'],
        inputs: [],
        outputs: { big: { type: 'File', outputBinding: { glob: 'big.bin' } } },
      }),
    );
    let deleted = '';
    const watch = setInterval(() => {
      if (deleted || !proxy.requests.some((q) => q.fault?.startsWith('delay'))) return;
      // The first attempt's upload hangs on its result.json: its tool has exited. Delete its pod.
      try {
        deleted = kubectl(['-n', NS, 'get', 'pods', '-l', 'strand.dev/attempt=1', '-o', 'jsonpath={.items[0].metadata.name}']).trim();
        if (deleted) kubectl(['-n', NS, 'delete', 'pod', deleted, '--wait=false']);
      } catch (err) {
        deleted = '';
        process.stderr.write(`deleting the uploading pod: ${(err as Error).message}\n`);
      }
    }, 300);
    const cfg = writeConfig('via-proxy.yaml', { endpoint: proxy.endpoint });
    const r = await strand(['run', '--config', cfg, '--outdir', `s3://${BUCKET}/results/big`, tool], env).finally(() => {
      clearInterval(watch);
      return proxy.close();
    });
    expect(r.code, r.stderr).toBe(0);
    expect(deleted, 'a pod was caught uploading').not.toBe('');
    // Kubernetes 1.20's Job controller replaces a deleted pod itself (it does not count it as
    // failed): the Job's next pod uploads, and Strand follows it. Newer clusters count it failed,
    // and Strand retries with a new Job (as on the fake: test/kubernetes/object-store-faults.test.ts).
    expect((await store.head({ scheme: 's3', bucket: BUCKET, key: 'results/big/big.bin' })).size).toBe(30000000);
  });

  it('fails cleanly when the server stops mid-run: nothing under the final names', async () => {
    const tool = path.join(work, 'slow.cwl');
    writeFileSync(
      tool,
      stringify({ cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: ['sh', '-c', 'sleep 20; echo late > late.txt'], inputs: [], outputs: { late: { type: 'File', outputBinding: { glob: 'late.txt' } } } }),
    );
    const run = strand(['run', '--config', config, '--outdir', `s3://${BUCKET}/results/stopped`, tool], env);
    // Stop the server while the tool runs (its pod is up), start it again on the same data after the run.
    for (let i = 0; i < 120; i++) {
      const pods = kubectl(['-n', NS, 'get', 'pods', '-o', 'jsonpath={.items[*].status.phase}']);
      if (pods.includes('Running')) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    const dir = s3.dir;
    restartedDir = dir;
    await s3.kill();
    const r = await run;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/upload|cannot reach the S3 endpoint|connection refused/i);
    s3 = await startS3Server({ host: HOST, port: PORT, dir, secretAccessKey: SECRET_VALUE, accessKeyId: 'strand-e2e' });
    store.close();
    store = new S3Store(s3.settings, { credentials: s3.credentials });
    expect(await keys('results/stopped')).toEqual([]);
  });
});
