/**
 * Issue 18's daily-use points on a real cluster, each once only checked on the fake API server:
 *
 *   point 3  a changed `kubernetes.defaultImage` runs a task again (the image is in the task
 *            cache's key); the same image again reuses it;
 *   point 4  a `--no-container` run resumed with `strand run --resume` alone keeps running every
 *            task in kubernetes.defaultImage (the options are recorded with the run);
 *            (`strand submit --no-container` is run by quota-namespace.e2e.test.ts, with the
 *            variant-calling example)
 *   point 6  `strand logs -f` of a submitted run follows the next leader pod when the first is
 *            deleted, and ends (0) with the run, printing the later leader's lines;
 *   point 7  a task in a non-root image (the Strand image: user 10001) cannot enter its work
 *            directory on the rig's root-owned workspace: the failure says so in the pod's own
 *            words instead of a bare exit code.
 *
 * Point 2 (no workstation PATH in a container task) is pod-confinement.e2e.test.ts's.
 *
 * Only against a real cluster (the k8s rig: `eval "$(bash test/e2e/rig.sh env)"`), in the config's
 * namespace; points 6 and 7 need the Strand image (scripts/strand-image.sh, as root). Skipped
 * with one line otherwise, and under STRAND_E2E_FAKE.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { resolveE2e, withDefaultImage } from './e2e-env.js';
import { until as untilWithin } from '../support/until.js';

/** Waits as long as this file's runs may take unless told otherwise. */
const until = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 180_000, everyMs = 500) => untilWithin(what, fn, timeoutMs, everyMs);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STRAND = path.join(ROOT, 'bin', 'strand.js');
const env = await resolveE2e();
const skip = env.kind === 'skip' ? env.reason : env.kind === 'fake' ? 'these cases need a real cluster (STRAND_E2E_FAKE=1 is set)' : undefined;
if (skip) console.warn(`cluster daily-use e2e skipped: ${skip}`);
const cluster = env.kind === 'cluster' ? env : undefined;
const describeReal = cluster ? describe : describe.skip;
const noImage = process.getuid?.() !== 0 ? "importing the Strand image into the rig's containerd needs root" : undefined;

const scratch = mkdtempSync(path.join(tmpdir(), 'strand-daily-'));
const store = path.join(scratch, 'store');
const SA = 'strand-daily-e2e';
const nonce = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const seconds: Record<string, number> = {};

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}
interface Started {
  child: ChildProcess;
  done: Promise<Done>;
}

function start(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [STRAND, ...args], { cwd: scratch, env: { ...process.env, STRAND_STORE: store, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // SIGTERM first: Strand deletes its Jobs then, so a hung case leaves nothing behind.
  const timer = setTimeout(() => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
  }, 10 * 60_000);
  const done = new Promise<Done>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done };
}
const strand = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => start(args, extraEnv).done;


/** A directory with the files given (name -> text or object, written as YAML). */
function files(name: string, content: Record<string, string | object>): string {
  const dir = mkdtempSync(path.join(scratch, `${name}-`));
  for (const [f, c] of Object.entries(content)) writeFileSync(path.join(dir, f), typeof c === 'string' ? c : stringify(c));
  return dir;
}

interface Shown {
  status: string;
  tasks: { total: number; reused: number };
  attempts: Array<{ taskId: string; status: string; reusedFrom?: unknown }>;
}
async function show(runId: string): Promise<Shown> {
  const r = await strand(['show', '--json', runId]);
  if (r.code !== 0) throw new Error(`strand show ${runId}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Shown;
}

/** The Strand image: STRAND_E2E_OS_IMAGE, else built once (cached by the script; its content tag). */
let image: string | undefined = process.env.STRAND_E2E_OS_IMAGE || undefined;
function strandImage(): string {
  image ??= execFileSync('bash', [path.join(ROOT, 'scripts', 'strand-image.sh')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return image;
}

const api = () => ({ core: cluster!.kc.makeApiClient(CoreV1Api), batch: cluster!.kc.makeApiClient(BatchV1Api), ns: cluster!.namespace });

describeReal("issue 18's daily-use points on a real cluster", () => {
  const submitted: string[] = [];
  afterAll(async () => {
    console.log(`cluster daily-use e2e seconds: ${JSON.stringify(seconds)}`);
    const { core, batch, ns } = api();
    for (const id of submitted) await batch.deleteNamespacedJob({ name: `strand-leader-${id}`, namespace: ns, propagationPolicy: 'Foreground' }).catch(() => undefined);
    if (submitted.length) {
      const rbac = cluster!.kc.makeApiClient(RbacAuthorizationV1Api);
      await rbac.deleteNamespacedRoleBinding({ name: `strand-submit-${SA}`, namespace: ns }).catch(() => undefined);
      await rbac.deleteNamespacedRole({ name: `strand-submit-${SA}`, namespace: ns }).catch(() => undefined);
      await core.deleteNamespacedServiceAccount({ name: SA, namespace: ns }).catch(() => undefined);
      // The submitted runs' directories on the workspace (bundle, leader store, outputs): made by these runs.
      const ws = (parse(readFileSync(cluster!.configPath, 'utf8')) as { kubernetes?: { workspace?: { localPath?: string; mountPath?: string } } }).kubernetes?.workspace;
      const local = ws?.localPath ?? ws?.mountPath;
      if (local) for (const id of submitted) rmSync(path.join(local, 'strand-submit', id), { recursive: true, force: true });
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  it('a changed kubernetes.defaultImage runs the task again; the same image again reuses it (point 3)', async () => {
    const t0 = Date.now();
    const text = readFileSync(cluster!.configPath, 'utf8');
    // Two names the rig's containerd holds (the same Debian image under both: only the name differs).
    const cfg = files('images', { 'a.yaml': withDefaultImage(text, 'localhost/bio:bookworm'), 'b.yaml': withDefaultImage(text, 'docker.io/library/debian:stable-slim') });
    // A task no earlier run made: the rig's workspace keeps the task cache across test runs.
    const dir = files('image-tool', {
      'tool.cwl': { cwlVersion: 'v1.2', class: 'CommandLineTool', inputs: { n: { type: 'string', inputBinding: { position: 1 } } }, baseCommand: ['sh', '-c', 'echo "made $0"'], stdout: 'out.txt', outputs: { out: 'stdout' } },
      'job.yml': { n: nonce() },
    });
    const run = async (config: string, label: string) => {
      const runId = `e2e-img-${label}-${nonce()}`;
      const r = await strand(['run', '--executor', 'kubernetes', '--config', path.join(cfg, config), '--run-id', runId, '--outdir', path.join(dir, `out-${label}`), path.join(dir, 'tool.cwl'), path.join(dir, 'job.yml')]);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      return (await show(runId)).tasks;
    };
    expect(await run('a.yaml', 'a')).toMatchObject({ total: 1, reused: 0 });
    // Another default image: another environment, so the task runs again (it was reused before the fix).
    expect(await run('b.yaml', 'b')).toMatchObject({ total: 1, reused: 0 });
    expect(await run('b.yaml', 'b2')).toMatchObject({ total: 1, reused: 1 });
    seconds['point 3 (changed image)'] = (Date.now() - t0) / 1000;
  });

  it('a --no-container run resumed with `strand run --resume` alone runs its tasks in kubernetes.defaultImage again (point 4)', async () => {
    const t0 = Date.now();
    // Every step requires an image no node has: only --no-container runs them. Step b fails until its gate says "open".
    const dir = files('resume', {
      'wf.cwl': {
        cwlVersion: 'v1.2',
        class: 'Workflow',
        requirements: { DockerRequirement: { dockerPull: 'localhost/strand-no-such-image:1' } },
        inputs: { n: 'string', gate: 'File' },
        outputs: { out: { type: 'File', outputSource: 'b/out' } },
        steps: {
          a: {
            run: { class: 'CommandLineTool', inputs: { n: { type: 'string', inputBinding: { position: 1 } } }, baseCommand: ['sh', '-c', 'echo "a $0"'], stdout: 'a.txt', outputs: { out: 'stdout' } },
            in: { n: 'n' },
            out: ['out'],
          },
          b: {
            run: {
              class: 'CommandLineTool',
              inputs: { a: { type: 'File', inputBinding: { position: 1 } }, gate: { type: 'File', inputBinding: { position: 2 } } },
              baseCommand: ['sh', '-c', 'grep -q open "$1" || exit 4; cat "$0"'],
              stdout: 'b.txt',
              outputs: { out: 'stdout' },
            },
            in: { a: 'a/out', gate: 'gate' },
            out: ['out'],
          },
        },
      },
      'gate.txt': 'closed\n',
    });
    const n = nonce();
    writeFileSync(path.join(dir, 'job.yml'), stringify({ n, gate: { class: 'File', path: path.join(dir, 'gate.txt') } }));
    // The config names the executor (executor: kubernetes); the flag given is --no-container alone.
    const cfgEnv = { STRAND_CONFIG: cluster!.configPath };
    const failed = await strand(['run', '--no-container', '--retries', '0', '--outdir', path.join(dir, 'out'), path.join(dir, 'wf.cwl'), path.join(dir, 'job.yml')], cfgEnv);
    expect(failed.code, failed.stderr.slice(-3000)).toBe(1);
    const runId = /\[strand\] run (\S+) started/.exec(failed.stderr)?.[1];
    expect(runId, failed.stderr).toBeDefined();
    expect(failed.stderr).toMatch(/exit(ed with)? (code )?4/);
    writeFileSync(path.join(dir, 'gate.txt'), 'open\n');
    const r = await strand(['run', '--resume', runId!], cfgEnv);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toContain(`run ${runId} ran with --no-container`);
    expect(r.stderr).not.toMatch(/cannot pull image|strand-no-such-image/);
    expect(readFileSync(path.join(dir, 'out', 'b.txt'), 'utf8')).toBe(`a ${n}\n`);
    const resumed = /\[strand\] run (\S+) started/.exec(r.stderr)?.[1];
    expect((await show(resumed!)).tasks).toMatchObject({ total: 2, reused: 1 });
    seconds['point 4 (resumed --no-container)'] = (Date.now() - t0) / 1000;
  });

  it.skipIf(noImage)("`strand logs -f` of a submitted run follows the next leader pod when the first is deleted, and ends with the run (point 6)", async () => {
    const t0 = Date.now();
    const dir = files('follow', {
      'slow.cwl': `cwlVersion: v1.2
class: Workflow
requirements: { ScatterFeatureRequirement: {} }
inputs: { items: { type: 'int[]' } }
outputs: { out: { type: 'File[]', outputSource: s/out } }
steps:
  s:
    run:
      class: CommandLineTool
      requirements: { ResourceRequirement: { coresMin: 0.1, ramMin: 32 } }
      inputs: { i: { type: int, inputBinding: { position: 1 } } }
      baseCommand: [sh, -c, 'sleep 5; echo "item $0" > out.txt']
      outputs: { out: { type: File, outputBinding: { glob: out.txt } } }
    scatter: i
    in: { i: items }
    out: [out]
`,
      'job.json': JSON.stringify({ items: [1, 2, 3, 4] }),
    });
    const sub = await strand([
      'submit', '--config', cluster!.configPath, '--image', strandImage(), '--image-pull-policy', 'Never', '--service-account', SA, '--setup-rbac', '--run-as-user', '0',
      // Every task must run (the rig's workspace keeps the cache across test runs), two at a time: the run lasts ~15 s of tasks.
      '--max-parallel', '2', '--cache', 'off', path.join(dir, 'slow.cwl'), path.join(dir, 'job.json'),
    ]);
    expect(sub.code, sub.stderr).toBe(0);
    const runId = sub.stdout.trim();
    submitted.push(runId);
    const follow = start(['logs', runId, '-f']);
    const { core, ns } = api();
    await until('a running task pod', async () => ((await core.listNamespacedPod({ namespace: ns, labelSelector: `strand.dev/run=${runId}` })).items.some((p) => p.status?.phase === 'Running') ? true : undefined));
    const first = (await core.listNamespacedPod({ namespace: ns, labelSelector: `strand.dev/leader=${runId}` })).items;
    expect(first.length).toBe(1);
    const firstName = first[0]!.metadata!.name!;
    await core.deleteNamespacedPod({ name: firstName, namespace: ns });
    const ended = await Promise.race([follow.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 300_000))]);
    if (!ended) follow.child.kill('SIGINT');
    const logs = ended ?? (await follow.done);
    expect(ended, `strand logs -f did not end with the run:\n${logs.stdout.slice(-3000)}`).toBeDefined();
    expect(logs.code, logs.stderr).toBe(0);
    const headers = [...logs.stdout.matchAll(/==> leader \(pod (\S+)\) <==/g)].map((m) => m[1]);
    expect(headers[0]).toBe(firstName);
    expect(headers.filter((h) => h !== firstName).length, logs.stdout.slice(-3000)).toBe(1);
    // The later leader's lines: it adopted the task Jobs and finished the run.
    const later = logs.stdout.slice(logs.stdout.lastIndexOf('==> leader (pod '));
    expect(later).toContain('adopting its Jobs');
    expect(later).toContain(`run ${runId} finished: success`);
    expect(logs.stdout).not.toMatch(/\(no log:|HTTP/);
    expect((await show(runId)).status).toBe('success');
    seconds['point 6 (logs -f across a leader replacement)'] = (Date.now() - t0) / 1000;
  });

  it.skipIf(noImage)("a task in a non-root image that cannot enter its work directory fails with the pod's own words, not a bare exit code (point 7)", async () => {
    const t0 = Date.now();
    // The Strand image runs as user 10001; the rig's workspace and the task's directories there belong to root.
    const dir = files('nonroot', {
      'tool.cwl': { cwlVersion: 'v1.2', class: 'CommandLineTool', requirements: { DockerRequirement: { dockerPull: strandImage() } }, inputs: [], baseCommand: ['echo', 'the tool ran'], stdout: 'out.txt', outputs: { out: 'stdout' } },
    });
    const r = await strand(['run', '--executor', 'kubernetes', '--config', cluster!.configPath, '--cache', 'off', '--retries', '0', '--outdir', path.join(dir, 'out'), path.join(dir, 'tool.cwl')]);
    expect(r.code).toBe(1);
    // The pod's first lines (its shell cannot cd into the task's directory), not only "exited with code 2".
    expect(r.stderr).toMatch(/can't cd|cannot cd|Permission denied/);
    expect(r.stderr).not.toContain('the tool ran');
    seconds['point 7 (non-root image)'] = (Date.now() - t0) / 1000;
  });
});
