/**
 * Leftovers on a real cluster's workspace (issue 18, point 9): a run killed outright, a submitted
 * run cancelled while its task runs, a submitted run that succeeded, then `strand clean --run`.
 * The workspace is listed before and after (only what these runs and this test made: other
 * sessions share the rig's workspace); a user's file and folder beside Strand's and the target of
 * a link planted in a task directory survive. Only against a real cluster whose workspace this
 * machine sees (the k8s rig: `eval "$(bash test/e2e/rig.sh env)"`), as root for the submitted runs
 * (the Strand image is imported into the rig's containerd); skipped with one line otherwise.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveE2e } from './e2e-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STRAND = path.join(ROOT, 'bin', 'strand.js');
const env = await resolveE2e();
const skip = env.kind === 'skip' ? env.reason : env.kind === 'fake' ? 'needs a real cluster (STRAND_E2E_FAKE=1 is set)' : process.getuid?.() !== 0 ? "importing the Strand image into the rig's containerd needs root" : undefined;
if (skip) console.warn(`strand clean e2e skipped: ${skip}`);
const cluster = env.kind === 'cluster' && !skip ? env : undefined;
const ws = cluster ? (parse(readFileSync(cluster.configPath, 'utf8')) as { kubernetes?: { workspace?: { localPath?: string } } }).kubernetes?.workspace?.localPath : undefined;
const describeReal = cluster && ws && existsSync(ws) ? describe : describe.skip;

const scratch = mkdtempSync(path.join(tmpdir(), 'strand-clean-e2e-'));
const store = path.join(scratch, 'store');
const stamp = Date.now().toString(36);
const SA = 'strand-clean-e2e';
const ids = { kill: `e2e-clean-k-${stamp}`, cancel: `e2e-clean-c-${stamp}`, done: `e2e-clean-d-${stamp}` };
const mine = (l: string) => Object.values(ids).some((id) => l.includes(id)) || l.includes(`user-${stamp}`);

function strand(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [STRAND, ...args], { cwd: scratch, encoding: 'utf8', env: { ...process.env, STRAND_STORE: store } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** This test's entries under the workspace's top folders: `dir/`, `link -> target`, files. */
function listing(): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string, deep: boolean) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (!deep && !mine(r)) {
        if (['runs', '.strand-staged', 'strand-submit'].includes(r)) walk(p, r, false);
        continue;
      }
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(p, r, true);
      } else out.push(r);
    }
  };
  walk(ws!, '', false);
  return out;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 180_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const api = () => ({ core: cluster!.kc.makeApiClient(CoreV1Api), batch: cluster!.kc.makeApiClient(BatchV1Api), ns: cluster!.namespace });
const runningPods = async (runId: string) =>
  (await api().core.listNamespacedPod({ namespace: api().ns, labelSelector: `strand.dev/run=${runId}` })).items.filter((p) => p.status?.phase === 'Running').length;

describeReal('strand clean on a real cluster (issue 18, point 9)', () => {
  let image = '';
  afterAll(async () => {
    const { core, batch, ns } = api();
    for (const id of [ids.cancel, ids.done]) await batch.deleteNamespacedJob({ name: `strand-leader-${id}`, namespace: ns, propagationPolicy: 'Foreground' }).catch(() => undefined);
    for (const id of Object.values(ids)) strand(['clean', '--config', cluster!.configPath, '--run', id]);
    const rbac = cluster!.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteNamespacedRoleBinding({ name: `strand-submit-${SA}`, namespace: ns }).catch(() => undefined);
    await rbac.deleteNamespacedRole({ name: `strand-submit-${SA}`, namespace: ns }).catch(() => undefined);
    await core.deleteNamespacedServiceAccount({ name: SA, namespace: ns }).catch(() => undefined);
    rmSync(path.join(ws!, `user-${stamp}`), { recursive: true, force: true });
    rmSync(path.join(ws!, 'runs', `user-${stamp}.txt`), { force: true });
    rmSync(path.join(ws!, 'strand-submit', ids.done), { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('a run killed outright leaves its folders; strand clean --run removes them and nothing else', async () => {
    const config = cluster!.configPath;
    writeFileSync(path.join(scratch, 'in.txt'), 'input\n');
    mkdirSync(path.join(scratch, 'outside'));
    writeFileSync(path.join(scratch, 'outside', 'precious.txt'), 'keep me\n');
    writeFileSync(
      path.join(scratch, 'tool.cwl'),
      'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [sh, -c, "cat \\"$0\\" > copy.txt; sleep \\"$1\\""]\ninputs:\n  src: {type: File, inputBinding: {position: 1}}\n  secs: {type: int, inputBinding: {position: 2}}\noutputs:\n  copy: {type: File, outputBinding: {glob: copy.txt}}\n',
    );
    // The user's own things on the workspace, beside Strand's folders.
    mkdirSync(path.join(ws!, `user-${stamp}`));
    writeFileSync(path.join(ws!, `user-${stamp}`, 'keep.txt'), 'mine\n');
    writeFileSync(path.join(ws!, 'runs', `user-${stamp}.txt`), 'mine\n');
    const before = listing();

    // 1. Killed outright while its task runs.
    const killed: ChildProcess = spawn(process.execPath, [STRAND, 'run', '--executor', 'kubernetes', '--config', config, '--store', store, '--cache', 'off', '--run-id', ids.kill, '--outdir', path.join(scratch, 'o1'), path.join(scratch, 'tool.cwl'), '--src', path.join(scratch, 'in.txt'), '--secs', '600'], { cwd: scratch, stdio: 'ignore' });
    await until('the killed run\'s task to run', async () => (await runningPods(ids.kill)) > 0);
    const gone = new Promise((r) => killed.once('exit', r));
    killed.kill('SIGKILL');
    await gone;
    const workRoot = path.join(ws!, 'runs', `strand-${ids.kill}`);
    const taskDir = readdirSync(workRoot, { withFileTypes: true }).find((e) => e.isDirectory() && !e.name.startsWith('.'))!;
    symlinkSync(path.join(scratch, 'outside', 'precious.txt'), path.join(workRoot, taskDir.name, 'evil-file'));
    symlinkSync(path.join(scratch, 'outside'), path.join(workRoot, taskDir.name, 'evil-dir'));
    expect(listing()).toEqual(expect.arrayContaining([`runs/strand-${ids.kill}/`, `.strand-staged/${ids.kill}/`]));

    const r = strand(['clean', '--config', config, '--run', ids.kill]);
    expect(r.code, r.stderr).toBe(0);
    console.log(r.stdout.trim());
    expect(r.stdout).toContain(`deleted dir/${workRoot}: run ${ids.kill} is over`);
    expect(listing().sort()).toEqual([...before].sort());
    expect(readFileSync(path.join(scratch, 'outside', 'precious.txt'), 'utf8')).toBe('keep me\n');
    expect(readdirSync(path.join(scratch, 'outside'))).toEqual(['precious.txt']);
  }, 300_000);

  it('submitted runs, cancelled and succeeded, leave their folders; strand clean --run removes them but the outputs', async () => {
    image = execFileSync('bash', [path.join(ROOT, 'scripts', 'strand-image.sh')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    const config = cluster!.configPath;
    const before = listing();
    // 2. Submitted, cancelled while its task runs.
    writeFileSync(path.join(scratch, 'long.yml'), 'src: {class: File, path: in.txt}\nsecs: 600\n');
    const submit = (id: string, job: string) =>
      strand(['submit', '--config', config, '--image', image, '--image-pull-policy', 'Never', '--service-account', SA, '--setup-rbac', '--run-as-user', '0', '--cache', 'off', '--run-id', id, path.join(scratch, 'tool.cwl'), path.join(scratch, job)]);
    const c = submit(ids.cancel, 'long.yml');
    expect(c.code, c.stderr).toBe(0);
    await until('the cancelled run\'s task to run', async () => (await runningPods(ids.cancel)) > 0, 300_000);
    expect(strand(['cancel', ids.cancel]).code).toBe(0);
    await until('the cancelled run\'s pods to go', async () => {
      const { core, ns } = api();
      const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `strand.dev/leader=${ids.cancel}` });
      return pods.items.length === 0 && (await runningPods(ids.cancel)) === 0;
    });
    expect(listing()).toEqual(expect.arrayContaining([`runs/strand-${ids.cancel}/`, `strand-submit/${ids.cancel}/bundle/`, `strand-submit/${ids.cancel}/store/`]));

    // 3. Submitted, succeeded: only its store and outputs stay.
    writeFileSync(path.join(scratch, 'short.yml'), 'src: {class: File, path: in.txt}\nsecs: 1\n');
    const d = submit(ids.done, 'short.yml');
    expect(d.code, d.stderr).toBe(0);
    await until('the submitted run to end', () => JSON.parse(strand(['show', '--json', ids.done]).stdout).status !== 'running', 300_000);
    expect(JSON.parse(strand(['show', '--json', ids.done]).stdout).status).toBe('success');
    const afterDone = listing().filter((l) => l.includes(ids.done));
    expect(afterDone).toEqual(expect.arrayContaining([`strand-submit/${ids.done}/out/copy.txt`, `strand-submit/${ids.done}/store/`]));
    expect(afterDone.some((l) => l.includes('/bundle') || l.startsWith('runs/'))).toBe(false);
    await until('the leader Job to complete', async () => {
      const j = await api().batch.readNamespacedJob({ name: `strand-leader-${ids.done}`, namespace: api().ns });
      return (j.status?.succeeded ?? 0) > 0;
    });

    // 4. strand clean --run, for each.
    for (const id of [ids.cancel, ids.done]) {
      const r = strand(['clean', '--config', config, '--run', id]);
      expect(r.code, r.stderr).toBe(0);
      console.log(r.stdout.trim());
    }
    expect(listing().sort()).toEqual([...before, `strand-submit/${ids.done}/`, `strand-submit/${ids.done}/out/`, `strand-submit/${ids.done}/out/copy.txt`].sort());
  }, 900_000);
});
