/**
 * `strand run --resume`: a run killed with SIGKILL in the middle of a scatter, or one that failed,
 * continues from everything that had finished (its task cache), with the recorded document,
 * inputs and --outdir; also on the Kubernetes executor (fake API server) for a run made locally.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster.js';
import { isGone } from '../support/processes.js';
import { built, runStrand } from '../support/strand-cli.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-resume-'));
  const log = path.join(dir, 'ran.log');
  writeFileSync(
    path.join(dir, 'scatter.cwl'),
    `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {ns: "int[]", gate: string}
outputs: {all: {type: File, outputSource: gather/all}}
steps:
  work:
    scatter: n
    in: {n: ns}
    out: [o]
    run:
      class: CommandLineTool
      inputs: {n: {type: int, inputBinding: {position: 1}}}
      baseCommand: [sh, -c, 'sleep 0.3; echo "work $0" >> ${log}; echo "item $0"']
      stdout: item.txt
      outputs: {o: stdout}
  gather:
    in: {fs: work/o, gate: gate}
    out: [all]
    run:
      class: CommandLineTool
      inputs: {gate: {type: string, inputBinding: {position: 1}}, fs: {type: "File[]", inputBinding: {position: 2}}}
      baseCommand: [sh, -c, 'echo gather >> ${log}; test -e "$0" || exit 4; shift 0; cat "$@"']
      stdout: all.txt
      outputs: {all: stdout}
`,
  );
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

// TMPDIR in the test's directory: a run killed with SIGKILL cannot remove its scratch directory.
const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...process.env, STRAND_STORE: path.join(dir, 'store'), TMPDIR: dir, ...extra });
const strand = (args: string[], extra: NodeJS.ProcessEnv = {}) => runStrand(args, { cwd: dir, env: env(extra) });
const ranLog = () => (existsSync(path.join(dir, 'ran.log')) ? readFileSync(path.join(dir, 'ran.log'), 'utf8').trim().split('\n').filter(Boolean) : []);
const entries = () => {
  // The cache's scope directory: this user's (docs/caching.md).
  const cache = path.join(dir, 'store', 'cache', `user-${os.userInfo().uid}`);
  return existsSync(cache) ? readdirSync(cache).filter((n) => /^[0-9a-f]{40}\.json$/.test(n)) : [];
};
const nsFlags = (n: number) => Array.from({ length: n }, (_, i) => ['--ns', String(i)]).flat();

async function showJson(runId: string) {
  const r = await strand(['show', '--json', runId]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    id: string;
    status: string;
    resumedFrom?: string;
    resumedBy?: string[];
    durationMs?: number;
    tasks: { total: number; reused: number; ok: number; failed: number; cancelled: number; running: number; queued: number };
    attempts: Array<{ taskId: string; reusedFrom?: { runId: string } }>;
  };
}
const runIdOf = (stderr: string) => /\[strand\] run (\S+) started/.exec(stderr)?.[1] as string;

describe.skipIf(!built)('strand run --resume', () => {
  it('after kill -9 in the middle of a scatter, skips every task that had finished', async () => {
    const gate = path.join(dir, 'gate');
    writeFileSync(gate, '');
    let pid = 0;
    const killed = await runStrand(['run', '--parallel', '2', '--outdir', 'out', 'scatter.cwl', ...nsFlags(12), '--gate', gate], {
      cwd: dir,
      env: env(),
      onSpawn: (child) => {
        pid = child.pid as number;
        const poll = setInterval(() => {
          if (entries().length >= 4) {
            clearInterval(poll);
            child.kill('SIGKILL');
          }
        }, 20);
        child.on('exit', () => clearInterval(poll));
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    const deadline = Date.now() + 5000;
    while (!isGone(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const finished = entries().length;
    expect(finished).toBeGreaterThanOrEqual(4);
    expect(finished).toBeLessThan(12);
    const killedRun = runIdOf(killed.stderr);
    const before = ranLog().length;
    const diedAt = Date.now();

    const resumed = await strand(['run', '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resumes run ${killedRun}`);
    expect(readFileSync(path.join(dir, 'out', 'all.txt'), 'utf8')).toBe(Array.from({ length: 12 }, (_, i) => `item ${i}\n`).join(''));
    const run = await showJson(runIdOf(resumed.stderr));
    expect(run).toMatchObject({ status: 'success', resumedFrom: killedRun });
    expect(run.tasks.reused).toBe(finished);
    expect(run.attempts.filter((a) => a.reusedFrom).every((a) => a.reusedFrom?.runId === killedRun)).toBe(true);
    // Only the tasks without a cached result ran again, and gather once.
    const again = ranLog().slice(before);
    expect(again.filter((l) => l.startsWith('work'))).toHaveLength(12 - finished);
    expect(again.filter((l) => l === 'gather')).toHaveLength(1);
    expect(resumed.stderr).toContain(`[strand] tasks: ${13 - finished} run, ${finished} reused, 0 failed`);
    // The killed run is closed in the store as interrupted, not shown as running, and the resume
    // did not rewrite it: it ended when its heartbeat stopped (not when it was resumed), its
    // finished tasks are ok, the killed ones failed, the ones never started are cancelled, and
    // the counts add up. It names the run that resumed it.
    const old = await showJson(killedRun);
    expect(old.status).toBe('interrupted');
    expect(old.resumedBy).toEqual([runIdOf(resumed.stderr)]);
    expect(old.durationMs).toBeLessThanOrEqual(diedAt - Date.parse((old as unknown as { startedAt: string }).startedAt));
    const t = old.tasks;
    // (The store learns of finished tasks in batches, so it may know fewer than the cache holds.)
    expect(t.ok).toBeLessThanOrEqual(finished);
    expect(t.running + t.queued).toBe(0);
    expect(t.ok + t.failed + t.cancelled).toBe(t.total);
  }, 60_000);

  it('continues a failed run by id with its recorded inputs and --outdir', async () => {
    const gate = path.join(dir, 'gate');
    const failed = await strand(['run', '--outdir', 'out', 'scatter.cwl', ...nsFlags(3), '--gate', gate]);
    expect(failed.code).toBe(1);
    const failedRun = runIdOf(failed.stderr);
    writeFileSync(gate, '');
    const r = await strand(['run', '--resume', failedRun]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'out', 'all.txt'), 'utf8')).toBe('item 0\nitem 1\nitem 2\n');
    expect(ranLog().filter((l) => l.startsWith('work'))).toHaveLength(3);
    expect(ranLog().filter((l) => l === 'gather')).toHaveLength(2);
    const text = await strand(['show', runIdOf(r.stderr)]);
    expect(text.stdout).toContain(`resumes   ${failedRun}`);
    expect(text.stdout).toContain(`scatter/work/0 (attempt 1): reused from run ${failedRun}`);
  });

  it('runs the resumed run with the options it was given (--no-container, --retries), unless given otherwise', async () => {
    // The tools require an image no runtime here has: only --no-container runs them.
    const doc = readFileSync(path.join(dir, 'scatter.cwl'), 'utf8').replace(
      'requirements: {ScatterFeatureRequirement: {}}',
      'requirements: {ScatterFeatureRequirement: {}, DockerRequirement: {dockerPull: "registry.invalid/strand-test/none:1"}}',
    );
    writeFileSync(path.join(dir, 'in-image.cwl'), doc);
    const gate = path.join(dir, 'gate');
    const failed = await strand(['run', '--no-container', '--retries', '0', '--outdir', 'out', 'in-image.cwl', ...nsFlags(2), '--gate', gate]);
    expect(failed.code, failed.stderr).toBe(1);
    const failedRun = runIdOf(failed.stderr);
    expect((await showJson(failedRun) as unknown as { options?: unknown }).options).toEqual({ noContainer: true, retries: 0 });
    writeFileSync(gate, '');
    const r = await strand(['run', '--resume', failedRun]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`run ${failedRun} ran with --no-container --retries 0`);
    expect(readFileSync(path.join(dir, 'out', 'all.txt'), 'utf8')).toBe('item 0\nitem 1\n');
    // Recorded again on the resuming run, so a resume of it keeps them too.
    expect((await showJson(runIdOf(r.stderr)) as unknown as { options?: unknown }).options).toEqual({ noContainer: true, retries: 0 });
  });

  it('says what is wrong when there is nothing to resume, or when the cache is off', async () => {
    const none = await strand(['run', '--resume']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no failed, cancelled or interrupted run to resume');
    const unknown = await strand(['run', '--resume', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no run "nope"');
    const off = await strand(['run', '--resume', '--cache', 'off']);
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('cannot be used with --cache off');
  });
});

describe.skipIf(!built)('strand run --resume --executor kubernetes (fake API server)', () => {
  let cluster: FakeCluster;
  beforeAll(async () => {
    cluster = await startFakeCluster();
  });
  afterAll(async () => {
    await cluster.close();
  });

  const onCluster = (args: string[]) => runStrand(args, { cwd: dir, env: { ...cluster.env, STRAND_STORE: path.join(dir, 'store') } });

  it('continues on the cluster a run that failed there, reusing its finished tasks', async () => {
    const gate = path.join(dir, 'gate');
    const failed = await onCluster(['run', '--executor', 'kubernetes', '--outdir', 'out', 'scatter.cwl', ...nsFlags(4), '--gate', gate]);
    expect(failed.code, failed.stderr).toBe(1);
    writeFileSync(gate, '');
    cluster.kube.resetRequestLog();
    // No --executor: the resumed run's own (recorded) is taken again.
    const r = await onCluster(['run', '--resume', runIdOf(failed.stderr)]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'out', 'all.txt'), 'utf8')).toBe('item 0\nitem 1\nitem 2\nitem 3\n');
    const run = await showJson(runIdOf(r.stderr));
    expect(run.tasks.reused).toBe(4);
    // Only gather ran, as one Job.
    expect(cluster.kube.requestCounts()['create jobs']).toBe(1);
    expect(ranLog().filter((l) => l.startsWith('work'))).toHaveLength(4);
  }, 60_000);

  it('continues on the cluster a run that failed locally: what ran on the host runs again in the image (issue 18: the image is in the key)', async () => {
    const gate = path.join(dir, 'gate');
    const local = await strand(['run', '--executor', 'local', '--outdir', 'out', 'scatter.cwl', ...nsFlags(4), '--gate', gate]);
    expect(local.code).toBe(1);
    writeFileSync(gate, '');
    cluster.kube.resetRequestLog();
    const r = await onCluster(['run', '--resume', runIdOf(local.stderr), '--executor', 'kubernetes']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'out', 'all.txt'), 'utf8')).toBe('item 0\nitem 1\nitem 2\nitem 3\n');
    const run = await showJson(runIdOf(r.stderr));
    expect(run.tasks.reused).toBe(0);
    expect(cluster.kube.requestCounts()['create jobs']).toBe(5);
    expect(ranLog().filter((l) => l.startsWith('work'))).toHaveLength(8);
  }, 60_000);
});
