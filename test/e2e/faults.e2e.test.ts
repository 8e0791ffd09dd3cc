/**
 * The fault matrix on a real cluster (issue 9): OOM doubling, a missing image, a request no node can
 * hold and a busy node, a ResourceQuota of 2 pods, a LimitRange below the request, Ctrl-C, SIGKILL then restart with --run-id,
 * `strand clean`, `strand doctor` as a user without rights before and after `strand rbac`, Secret
 * values, `strand logs -f`. Only against a real cluster (STRAND_E2E_CONFIG, see e2e-env.ts; the k8s
 * rig: `eval "$(bash test/e2e/rig.sh env)"`); skipped with one line otherwise, and under STRAND_E2E_FAKE.
 * Tests run one after another in the config's namespace and remove what they add (quota, limits).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveE2e } from './e2e-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STRAND = path.join(ROOT, 'bin', 'strand.js');
const env = await resolveE2e();
const skip = env.kind === 'skip' ? env.reason : env.kind === 'fake' ? 'the fault matrix needs a real cluster (STRAND_E2E_FAKE=1 is set)' : undefined;
if (skip) console.warn(`kubernetes fault-matrix e2e skipped: ${skip}`);
const cluster = env.kind === 'cluster' ? env : undefined;
const describeReal = cluster ? describe : describe.skip;

const scratch = mkdtempSync(path.join(tmpdir(), 'strand-faults-'));
const store = path.join(scratch, 'store');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  stderr: () => string;
}

function start(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [STRAND, ...args], { cwd: ROOT, env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

let seq = 0;
function runArgs(doc: string, job: Record<string, unknown>, opts: { runId?: string; extra?: string[]; config?: string } = {}): { args: string[]; runId: string } {
  const runId = opts.runId ?? `e2e-f${++seq}-${Date.now().toString(36)}`;
  const dir = mkdtempSync(path.join(scratch, 'run-'));
  writeFileSync(path.join(dir, 'tool.cwl'), doc);
  writeFileSync(path.join(dir, 'job.json'), JSON.stringify(job));
  // --cache off: these faults need their tasks to run; the task cache on the rig's workspace outlives the test run.
  const args = ['run', '--executor', 'kubernetes', '--config', opts.config ?? cluster!.configPath, '--run-id', runId, '--store', store, '--cache', 'off', '--outdir', path.join(dir, 'out'), ...(opts.extra ?? []), path.join(dir, 'tool.cwl'), path.join(dir, 'job.json')];
  return { args, runId };
}

const api = () => ({ core: cluster!.kc.makeApiClient(CoreV1Api), batch: cluster!.kc.makeApiClient(BatchV1Api), ns: cluster!.namespace });

async function runObjects(runId: string): Promise<string[]> {
  const { core, batch, ns } = api();
  const labelSelector = `strand.dev/run=${runId}`;
  const [jobs, pods, cms] = await Promise.all([
    batch.listNamespacedJob({ namespace: ns, labelSelector }),
    core.listNamespacedPod({ namespace: ns, labelSelector }),
    core.listNamespacedConfigMap({ namespace: ns, labelSelector }),
  ]);
  return [...jobs.items.map((o) => `job/${o.metadata?.name}`), ...pods.items.map((o) => `pod/${o.metadata?.name}`), ...cms.items.map((o) => `configmap/${o.metadata?.name}`)];
}

async function runPods(runId: string): Promise<V1Pod[]> {
  const { core, ns } = api();
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: `strand.dev/run=${runId}` })).items;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const TOOL = (body: string) => `cwlVersion: v1.2\nclass: CommandLineTool\n${body}\n`;
const SCATTER = (n: number, cmd: string, cores = 1) =>
  `cwlVersion: v1.2
class: Workflow
requirements: { ScatterFeatureRequirement: {} }
inputs: { items: { type: 'int[]' } }
outputs: { out: { type: 'File[]', outputSource: s/out } }
steps:
  s:
    run:
      class: CommandLineTool
      requirements: { ResourceRequirement: { coresMin: ${cores}, ramMin: 32 } }
      inputs: { i: { type: int, inputBinding: { position: 1 } } }
      baseCommand: [sh, -c, '${cmd}', sh]
      stdout: out.txt
      outputs: { out: { type: stdout } }
    scatter: i
    in: { i: items }
    out: [out]
`;
const items = (n: number) => ({ items: Array.from({ length: n }, (_, i) => i) });

describeReal('kubernetes fault matrix on a real cluster', () => {
  it('OOM: 40Mi -> 80Mi -> 160Mi, then succeeds (up to --max-memory)', async () => {
    const { args } = runArgs(
      TOOL(`requirements: { ResourceRequirement: { ramMin: 40, ramMax: 40 } }
baseCommand: [python3, -c, "x = bytearray(100 * 1024 * 1024); print(len(x))"]
inputs: []
stdout: out.txt
outputs: { out: { type: stdout } }`),
      {},
      { extra: ['--max-memory', '200Mi'] },
    );
    const r = await start(args).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/OOMKilled with a 40Mi memory limit; retrying with 80Mi/);
    expect(r.stderr).toMatch(/OOMKilled with a 80Mi memory limit; retrying with 160Mi/);
  });

  it('a missing image fails fast with one short message', async () => {
    const { args } = runArgs(
      TOOL(`requirements: { DockerRequirement: { dockerPull: "localhost/strand-no-such-image:1" } }
baseCommand: ["true"]
inputs: []
outputs: []`),
      {},
    );
    const t0 = Date.now();
    const r = await start(args).done;
    const seconds = (Date.now() - t0) / 1000;
    console.log(`missing image: failed after ${seconds.toFixed(1)} s`);
    expect(r.code).toBe(1);
    // The task's failure line and the run's error (the CLI's), each one short line; never paragraphs.
    const lines = r.stderr.split('\n').filter((l) => l.includes('cannot pull image'));
    expect(lines.length, r.stderr).toBeGreaterThanOrEqual(1);
    expect(lines.length, r.stderr).toBeLessThanOrEqual(2);
    for (const l of lines) expect(l.length, l).toBeLessThan(400);
    expect(r.stderr).not.toContain('rpc error');
  });

  it('a request no node can hold fails fast naming the largest node', async () => {
    const { args } = runArgs(TOOL(`requirements: { ResourceRequirement: { coresMin: 64 } }\nbaseCommand: ["true"]\ninputs: []\noutputs: []`), {});
    const r = await start(args).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no node could ever hold it: it requests 64 CPU/);
  });

  it('a busy node: six 1-CPU tasks on a 2-CPU node wait for room and all succeed, --pending-timeout notwithstanding', async () => {
    const { args } = runArgs(SCATTER(6, 'sleep 3; echo $1'), items(6), { extra: ['--pending-timeout', '2s'] });
    const r = await start(args).done;
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect((JSON.parse(r.stdout) as { out: unknown[] }).out).toHaveLength(6);
  });

  it('ResourceQuota pods: 2 with a 20-way scatter: all succeed, never more than 2 pods at once', async () => {
    const { core, ns } = api();
    await core.createNamespacedResourceQuota({ namespace: ns, body: { metadata: { name: 'strand-e2e-pods' }, spec: { hard: { pods: '2' } } } });
    try {
      await until('the quota to be counted', async () => ((await core.readNamespacedResourceQuota({ name: 'strand-e2e-pods', namespace: ns })).status?.hard ? true : undefined));
      const { args, runId } = runArgs(SCATTER(20, 'echo $1', 0.1), items(20));
      const p = start(args);
      let peak = 0;
      let finished = false;
      void p.done.then(() => (finished = true));
      while (!finished) {
        const live = (await runPods(runId)).filter((x) => x.status?.phase === 'Pending' || x.status?.phase === 'Running');
        peak = Math.max(peak, live.length);
        await new Promise((r) => setTimeout(r, 200));
      }
      const r = await p.done;
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect((JSON.parse(r.stdout) as { out: unknown[] }).out).toHaveLength(20);
      expect(peak).toBeLessThanOrEqual(2);
    } finally {
      await core.deleteNamespacedResourceQuota({ name: 'strand-e2e-pods', namespace: ns });
    }
  });

  it('a LimitRange whose max is below the request: the pod is refused after the Job is accepted, and the task fails with the cluster\'s reason within seconds', async () => {
    const { core, ns } = api();
    await core.createNamespacedLimitRange({ namespace: ns, body: { metadata: { name: 'strand-e2e-limits' }, spec: { limits: [{ type: 'Container', max: { memory: '64Mi' } }] } } });
    try {
      const { args, runId } = runArgs(TOOL(`requirements: { ResourceRequirement: { ramMin: 256 } }\nbaseCommand: ["true"]\ninputs: []\noutputs: []`), {});
      const t0 = Date.now();
      const r = await start(args).done;
      const seconds = (Date.now() - t0) / 1000;
      expect(r.code, r.stderr.slice(-3000)).toBe(1);
      // The admission plugin's own words (maximum memory usage per Container is 64Mi ...), not a timeout.
      expect(r.stderr).toMatch(/64Mi/);
      expect(seconds).toBeLessThan(60);
      await until('the run to leave nothing behind', async () => ((await runObjects(runId)).length === 0 ? true : undefined));
    } finally {
      await core.deleteNamespacedLimitRange({ name: 'strand-e2e-limits', namespace: ns });
    }
  });

  it('Ctrl-C: Strand exits 130 and leaves nothing of the run', async () => {
    const { args, runId } = runArgs(SCATTER(2, 'sleep 300; echo $1', 0.1), items(2));
    const p = start(args);
    await until('the pods to run', async () => ((await runPods(runId)).filter((x) => x.status?.phase === 'Running').length === 2 ? true : undefined));
    const t0 = Date.now();
    p.child.kill('SIGINT');
    const r = await p.done;
    const seconds = (Date.now() - t0) / 1000;
    console.log(`Ctrl-C: Strand exited after ${seconds.toFixed(1)} s`);
    expect(r.code).toBe(130);
    expect(await runObjects(runId)).toEqual([]);
  });

  it('SIGKILL during a 6-way scatter, then the same command with --run-id: no duplicate Jobs, every output, success; strand clean after another SIGKILL', async () => {
    const doc = SCATTER(6, 'sleep 4; echo $1');
    const first = runArgs(doc, items(6));
    const p = start(first.args);
    await until('two pods to run', async () => ((await runPods(first.runId)).filter((x) => x.status?.phase === 'Running').length >= 2 ? true : undefined));
    p.child.kill('SIGKILL');
    await p.done;
    const { batch, ns } = api();
    const before = (await batch.listNamespacedJob({ namespace: ns, labelSelector: `strand.dev/run=${first.runId}` })).items.map((j) => j.metadata!.name!);
    const again = start(first.args);
    const r = await again.done;
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const out = (JSON.parse(r.stdout) as { out: Array<{ path: string }> }).out;
    expect(out.map((f) => readFileSync(f.path, 'utf8').trim()).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(r.stderr).toContain('adopting Job');
    expect(new Set(before).size).toBe(before.length);

    // strand clean: what a killed Strand left goes.
    const second = runArgs(SCATTER(2, 'sleep 300', 0.1), items(2));
    const k = start(second.args);
    await until('the pods to run', async () => ((await runPods(second.runId)).filter((x) => x.status?.phase === 'Running').length === 2 ? true : undefined));
    k.child.kill('SIGKILL');
    await k.done;
    expect((await runObjects(second.runId)).length).toBeGreaterThan(0);
    const c = await start(['clean', '--config', cluster!.configPath, '--run', second.runId]).done;
    expect(c.code, c.stderr).toBe(0);
    // Its Jobs go at once; the kubelet may take a minute to let go of the stopped pods.
    expect(await until('nothing left', async () => ((await runObjects(second.runId)).length === 0 ? true : undefined), 180_000)).toBe(true);
  });

  it.skipIf(!process.env.STRAND_E2E_ALICE_KUBECONFIG)('strand doctor as a user without rights fails, and passes after strand rbac --user', async () => {
    const alice = process.env.STRAND_E2E_ALICE_KUBECONFIG!;
    const { ns } = api();
    const cfg = path.join(scratch, 'alice.yaml');
    writeFileSync(cfg, readFileSync(cluster!.configPath, 'utf8').replace(/kubeconfig: .*/, `kubeconfig: ${alice}`));
    const before = await start(['doctor', '--executor', 'kubernetes', '--config', cfg]).done;
    expect(before.code).toBe(1);
    expect(before.stdout + before.stderr).toMatch(/forbidden|not allowed|missing/i);
    const rbac = await start(['rbac', '--namespace', ns, '--user', 'alice', '--name', 'strand-e2e-alice']).done;
    expect(rbac.code).toBe(0);
    const kubectl = process.env.STRAND_E2E_KUBECTL ?? 'kubectl';
    const apply = spawn(kubectl, ['apply', '-f', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
    apply.stdin.end(rbac.stdout);
    expect(await new Promise((r) => apply.on('close', r))).toBe(0);
    try {
      const after = await start(['doctor', '--executor', 'kubernetes', '--config', cfg]).done;
      expect(after.code, after.stdout + after.stderr).toBe(0);
    } finally {
      const del = spawn(kubectl, ['-n', ns, 'delete', 'role,rolebinding', 'strand-e2e-alice'], { stdio: 'ignore' });
      await new Promise((r) => del.on('close', r));
    }
  });

  it('Secret values reach the task by reference only: never in Job specs, logs or the run store', async () => {
    const { core, batch, ns } = api();
    const value = `s3cr3t-${Date.now().toString(36)}`;
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'strand-e2e-secret' }, stringData: { token: value } } }).catch(() => undefined);
    await core.replaceNamespacedSecret({ name: 'strand-e2e-secret', namespace: ns, body: { metadata: { name: 'strand-e2e-secret' }, stringData: { token: value } } });
    const cfg = path.join(scratch, 'secret.yaml');
    writeFileSync(cfg, readFileSync(cluster!.configPath, 'utf8').replace(/^kubernetes:\n/m, 'kubernetes:\n  secretEnv: [ { name: TOKEN, secretName: strand-e2e-secret, key: token } ]\n'));
    // The task proves it saw the value by its length and hash; the value itself is never an input.
    const safe = runArgs(
      TOOL(`requirements: { EnvVarRequirement: { envDef: { TOKEN: "placeholder" } } }
baseCommand: [sh, -c, 'echo "len=\${#TOKEN}"; printf %s "$TOKEN" | sha1sum']
inputs: []
stdout: out.txt
outputs: { out: { type: stdout } }`),
      {},
      { config: cfg },
    );
    const jobs: string[] = [];
    const r = await start(safe.args).done;
    expect(r.code, r.stderr).toBe(0);
    const out = readFileSync((JSON.parse(r.stdout) as { out: { path: string } }).out.path, 'utf8');
    expect(out).toContain(`len=${value.length}`);
    expect(out).toContain(createHash('sha1').update(value).digest('hex'));
    for (const j of (await batch.listNamespacedJob({ namespace: ns, labelSelector: `strand.dev/run=${safe.runId}` })).items) jobs.push(JSON.stringify(j));
    expect(jobs.join('\n')).not.toContain(value);
    expect(r.stdout + r.stderr).not.toContain(value);
    const found = grepTree(store, value);
    expect(found, `files of the run store holding the secret value`).toEqual([]);
  });

  it('strand logs -f follows a running pod', async () => {
    const { args, runId } = runArgs(TOOL(`baseCommand: [sh, -c, 'for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done']\ninputs: []\noutputs: []`), {});
    const p = start(args);
    await until('the pod to run', async () => ((await runPods(runId)).some((x) => x.status?.phase === 'Running') ? true : undefined));
    const logs = start(['logs', runId, '-f', '--store', store], { STRAND_CONFIG: cluster!.configPath });
    const r = await p.done;
    expect(r.code, r.stderr).toBe(0);
    const l = await logs.done;
    expect(l.stdout).toContain('tick-1');
    expect(l.stdout).toContain('tick-6');
  });
});

function grepTree(dir: string, needle: string): string[] {
  const hits: string[] = [];
  if (!existsSync(dir)) return hits;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) hits.push(...grepTree(p, needle));
    else if (e.isFile() && statSync(p).size < 64 * 1024 * 1024 && readFileSync(p).includes(needle)) hits.push(p);
  }
  return hits;
}
