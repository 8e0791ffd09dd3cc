/**
 * The contract every Executor backend must pass. A backend's test file calls
 * `describeExecutorContract('name', make)`; `make` builds a fresh executor with the given options.
 *
 * Tasks use only /bin/sh, echo, cat, sleep, env, pwd, ls, wc, rm, touch, seq. Nothing here asserts
 * on durations: waiting loops have generous deadlines and only guard against hangs.
 */
import { isGone } from '../support/processes.js';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Executor, ExecutorOptions, TaskResult, TaskSpec } from '../../src/executor/executor.js';

export interface ContractOptions {
  /**
   * Tasks are host processes whose pids the test process can see: enables pid-is-gone checks, the
   * signal test and the exact-environment check. Default true.
   */
  hostProcesses?: boolean;
  /** The backend honours ExecutorOptions.parallel / ramMiB, so admission can be checked. Default true. */
  admission?: boolean;
  /** Where sandboxes are created; must be visible to tasks at the same path. Default os.tmpdir(). */
  tmpRoot?: string;
  /**
   * Tasks see Strand's paths as they are (default true). False for a backend that shows them at
   * other paths (object-store mode on the fake API server, whose pods cannot share Strand's own
   * directories): the working directory then ends with the same path below `tmpRoot`.
   */
  samePaths?: boolean;
  /**
   * The task's files can be read while it runs (default true). False when they come back only
   * after the task (object-store mode): tests that watch a running task wait for it to start.
   */
  liveFiles?: boolean;
  /** How many tasks the concurrency test runs (default 300). */
  manyTasks?: number;
}

export interface Sandbox {
  dir: string;
  workDir: string;
  tmpDir: string;
  logDir: string;
}

let seq = 0;

/** A TaskSpec with sensible defaults, running in `box`. */
export function taskSpec(box: Sandbox, over: Partial<TaskSpec> & { argv: string[] }): TaskSpec {
  const n = ++seq;
  return {
    taskId: `contract/task/${n}`,
    runId: 'contract-run',
    stepPath: 'contract/task',
    attempt: 1,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: box.workDir, TMPDIR: box.tmpDir },
    workDir: box.workDir,
    tmpDir: box.tmpDir,
    mounts: [],
    resources: { cores: 1, ramMiB: 1, tmpdirMiB: 1, outdirMiB: 1 },
    networkAccess: false,
    logDir: path.join(box.logDir, String(n)),
    ...over,
  };
}

/** Poll `check` until it is true; fail after a deadline that only guards against a hang. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function readPids(file: string): Promise<number[]> {
  try {
    const text = await readFile(file, 'utf8');
    return text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  } catch {
    return [];
  }
}

export function describeExecutorContract(
  name: string,
  make: (options: ExecutorOptions) => Promise<Executor>,
  opts: ContractOptions = {},
): void {
  const hostProcesses = opts.hostProcesses ?? true;
  const admission = opts.admission ?? true;

  describe(`Executor contract: ${name}`, () => {
    let root = '';
    const executors: Executor[] = [];
    const LEAK = 'STRAND_CONTRACT_LEAK_CHECK';

    beforeAll(async () => {
      root = await mkdtemp(path.join(opts.tmpRoot ?? os.tmpdir(), 'strand-contract-'));
      process.env[LEAK] = 'leaked';
    });
    afterEach(async () => {
      await Promise.all(executors.splice(0).map((e) => e.shutdown()));
    });
    afterAll(async () => {
      delete process.env[LEAK];
      await rm(root, { recursive: true, force: true });
    });

    async function executor(options: ExecutorOptions = { parallel: 4 }): Promise<Executor> {
      const e = await make(options);
      executors.push(e);
      return e;
    }

    async function sandbox(): Promise<Sandbox> {
      const dir = await mkdtemp(path.join(root, 'box-'));
      const box = { dir, workDir: path.join(dir, 'work'), tmpDir: path.join(dir, 'tmp'), logDir: path.join(dir, 'logs') };
      await mkdir(box.workDir);
      await mkdir(box.tmpDir);
      return box;
    }

    const never = () => new AbortController().signal;

    it('runs echo with stdout redirected to a file (relative to workDir)', async () => {
      const ex = await executor();
      const box = await sandbox();
      const r = await ex.run(taskSpec(box, { argv: ['echo', 'hello', 'world'], stdout: 'out.txt' }), never());
      expect(r.reason).toBe('completed');
      expect(r.exitCode).toBe(0);
      expect(await readFile(path.join(box.workDir, 'out.txt'), 'utf8')).toBe('hello world\n');
    });

    it('reports exit codes as completed with the code', async () => {
      const ex = await executor();
      const box = await sandbox();
      const [ok, three] = await Promise.all([
        ex.run(taskSpec(box, { argv: ['sh', '-c', 'exit 0'] }), never()),
        ex.run(taskSpec(box, { argv: ['sh', '-c', 'exit 3'] }), never()),
      ]);
      expect(ok).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(three).toMatchObject({ reason: 'completed', exitCode: 3 });
    });

    it('reports a missing command as failed, naming it', async () => {
      const ex = await executor();
      const box = await sandbox();
      const r = await ex.run(taskSpec(box, { argv: ['strand-no-such-command-xyz', 'a'] }), never());
      expect(r.reason).toBe('failed');
      expect(r.exitCode).toBeNull();
      expect(r.message).toContain('strand-no-such-command-xyz');
    });

    it('gives the task exactly spec.env, nothing inherited', async () => {
      const ex = await executor();
      const box = await sandbox();
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', STRAND_A: 'one', STRAND_B: 'two words = 2' };
      const r = await ex.run(taskSpec(box, { argv: ['env'], env, stdout: 'env.txt' }), never());
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      const seen = new Map<string, string>();
      for (const line of (await readFile(path.join(box.workDir, 'env.txt'), 'utf8')).split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) seen.set(line.slice(0, eq), line.slice(eq + 1));
      }
      for (const [k, v] of Object.entries(env)) expect(seen.get(k)).toBe(v);
      expect(seen.has(LEAK)).toBe(false);
      if (hostProcesses) expect([...seen.keys()].sort()).toEqual(Object.keys(env).sort());
    });

    it('runs the task in workDir', async () => {
      const ex = await executor();
      const box = await sandbox();
      const r = await ex.run(taskSpec(box, { argv: ['sh', '-c', 'pwd -P'], stdout: path.join(box.workDir, 'pwd.txt') }), never());
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      const pwd = (await readFile(path.join(box.workDir, 'pwd.txt'), 'utf8')).trim();
      if (opts.samePaths ?? true) expect(pwd).toBe(await realpath(box.workDir));
      else expect(pwd.endsWith(`/${path.relative(opts.tmpRoot ?? os.tmpdir(), box.workDir)}`)).toBe(true);
    });

    it('connects stdin to a file', async () => {
      const ex = await executor();
      const box = await sandbox();
      const input = path.join(box.dir, 'in.txt');
      await writeFile(input, 'line one\nline two\n');
      const r = await ex.run(taskSpec(box, { argv: ['cat'], stdin: input, stdout: 'copy.txt' }), never());
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(await readFile(path.join(box.workDir, 'copy.txt'), 'utf8')).toBe('line one\nline two\n');
    });

    it('gives a task without stdin an empty stdin (it does not hang)', async () => {
      const ex = await executor();
      const box = await sandbox();
      const r = await ex.run(taskSpec(box, { argv: ['cat'], stdout: 'empty.txt', timeLimitSeconds: 60 }), never());
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(await readFile(path.join(box.workDir, 'empty.txt'), 'utf8')).toBe('');
    });

    it('redirects stderr to a file', async () => {
      const ex = await executor();
      const box = await sandbox();
      const errFile = path.join(box.workDir, 'err.txt');
      const r = await ex.run(
        taskSpec(box, { argv: ['sh', '-c', 'echo to-out; echo to-err >&2'], stdout: 'out.txt', stderr: errFile }),
        never(),
      );
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(await readFile(errFile, 'utf8')).toBe('to-err\n');
      expect(await readFile(path.join(box.workDir, 'out.txt'), 'utf8')).toBe('to-out\n');
    });

    it('writes stdout/stderr to logDir when not redirected (creating logDir)', async () => {
      const ex = await executor();
      const box = await sandbox();
      const spec = taskSpec(box, { argv: ['sh', '-c', 'echo to-out; echo to-err >&2'] });
      const r = await ex.run(spec, never());
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(await readFile(path.join(spec.logDir, 'stdout.log'), 'utf8')).toBe('to-out\n');
      expect(await readFile(path.join(spec.logDir, 'stderr.log'), 'utf8')).toBe('to-err\n');
    });

    it('stops a task that exceeds its time limit: timed_out', async () => {
      const ex = await executor();
      const box = await sandbox();
      const pidFile = path.join(box.workDir, 'pid');
      const r = await ex.run(taskSpec(box, { argv: ['sh', '-c', 'echo $$ > pid; exec sleep 100'], timeLimitSeconds: 1 }), never());
      expect(r.reason).toBe('timed_out');
      expect(r.exitCode).toBeNull();
      if (hostProcesses) {
        // On a very loaded machine the task may be stopped before it wrote its pid; then there is nothing to check.
        for (const pid of await readPids(pidFile)) await waitUntil(() => isGone(pid), `pid ${pid} to be gone`);
      }
    });

    it('cancels on abort and kills the task and the processes it started', async () => {
      const ex = await executor();
      const box = await sandbox();
      const pidFile = path.join(box.workDir, 'pids');
      const ctl = new AbortController();
      let started = 0;
      const p = ex.run(
        taskSpec(box, { argv: ['sh', '-c', 'sleep 100 & echo $! > pids.tmp; echo $$ >> pids.tmp; mv pids.tmp pids; wait'] }),
        ctl.signal,
        () => started++,
      );
      if (opts.liveFiles ?? true) await waitUntil(async () => (await readPids(pidFile)).length === 2, 'the task to write its pids');
      else {
        await waitUntil(() => started === 1, 'the task to start');
        await new Promise((r) => setTimeout(r, 500));
      }
      ctl.abort();
      const r = await p;
      expect(r.reason).toBe('cancelled');
      expect(r.exitCode).toBeNull();
      expect(started).toBe(1);
      if (hostProcesses) {
        for (const pid of await readPids(pidFile)) await waitUntil(() => isGone(pid), `pid ${pid} to be gone`);
      }
    });

    it('resolves cancelled without starting when the signal is already aborted', async () => {
      const ex = await executor();
      const box = await sandbox();
      const ctl = new AbortController();
      ctl.abort();
      let started = 0;
      const r = await ex.run(taskSpec(box, { argv: ['touch', 'ran'] }), ctl.signal, () => started++);
      expect(r.reason).toBe('cancelled');
      expect(started).toBe(0);
      await expect(readdir(box.workDir)).resolves.not.toContain('ran');
    });

    it('calls onStarted exactly once per started task', async () => {
      const ex = await executor();
      const box = await sandbox();
      const calls: number[] = [0, 0, 0];
      const results = await Promise.all(
        [0, 1, 2].map((i) => ex.run(taskSpec(box, { argv: ['echo', String(i)] }), never(), () => (calls[i] = (calls[i] ?? 0) + 1))),
      );
      for (const r of results) expect(r.reason).toBe('completed');
      expect(calls).toEqual([1, 1, 1]);
    });

    it('runs many concurrent tasks to completion', async () => {
      const ex = await executor({ parallel: 8 });
      const box = await sandbox();
      const n = opts.manyTasks ?? 300;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => ex.run(taskSpec(box, { argv: ['echo', `task-${i}`], stdout: `out-${i}.txt` }), never())),
      );
      const bad = results.map((r, i) => ({ i, ...r })).filter((r) => !(r.reason === 'completed' && r.exitCode === 0));
      expect(bad.map((r) => `task-${r.i}: ${r.reason} ${String(r.exitCode)} ${r.message ?? ''}`)).toEqual([]);
      for (let i = 0; i < n; i += 37) {
        expect(await readFile(path.join(box.workDir, `out-${i}.txt`), 'utf8')).toBe(`task-${i}\n`);
      }
    });

    it('returns the last lines of stderr as logTail on failure', async () => {
      const ex = await executor();
      const box = await sandbox();
      const r = await ex.run(
        taskSpec(box, { argv: ['sh', '-c', 'for i in $(seq 1 200); do echo noise-$i >&2; done; echo boom >&2; exit 2'] }),
        never(),
      );
      expect(r).toMatchObject({ reason: 'completed', exitCode: 2 });
      const lines = (r.logTail ?? '').split('\n');
      expect(lines).toContain('boom');
      expect(lines).not.toContain('noise-1');
      expect(lines.length).toBeLessThan(100);
    });

    it('returns logTail from a redirected stderr file too', async () => {
      const ex = await executor();
      const box = await sandbox();
      const r = await ex.run(taskSpec(box, { argv: ['sh', '-c', 'echo bad-thing >&2; exit 5'], stderr: 'e.txt' }), never());
      expect(r).toMatchObject({ reason: 'completed', exitCode: 5 });
      expect(r.logTail).toContain('bad-thing');
    });

    if (hostProcesses) {
      it('reports death by signal as failed with no exit code, naming the signal', async () => {
        const ex = await executor();
        const box = await sandbox();
        const r = await ex.run(taskSpec(box, { argv: ['sh', '-c', 'kill -KILL $$'] }), never());
        expect(r.reason).toBe('failed');
        expect(r.exitCode).toBeNull();
        expect(r.message).toContain('SIGKILL');
      });
    }

    it('shutdown() stops running and queued tasks, resolves them cancelled, and is idempotent', async () => {
      const ex = await make({ parallel: 1 });
      const box = await sandbox();
      const started: string[] = [];
      const a = ex.run(taskSpec(box, { argv: ['sleep', '100'] }), never(), () => started.push('a'));
      const b = ex.run(taskSpec(box, { argv: ['sleep', '100'] }), never(), () => started.push('b'));
      await waitUntil(() => started.length === 1, 'the first task to start');
      await Promise.all([ex.shutdown(), ex.shutdown()]);
      const [ra, rb] = await Promise.all([a, b]);
      expect(ra.reason).toBe('cancelled');
      expect(rb.reason).toBe('cancelled');
      expect(started).toEqual(['a']);
      await ex.shutdown();
      const late = await ex.run(taskSpec(box, { argv: ['echo', 'late'] }), never());
      expect(late.reason).toBe('cancelled');
    });

    if (admission) {
      /** A task that notes how many tasks are inside its critical section while it is in it. */
      const overlapScript = 'touch running/$ID; ls running | wc -l > counts/$ID; sleep 0.2; rm running/$ID';

      async function maxOverlap(box: Sandbox): Promise<number> {
        const counts = await Promise.all(
          (await readdir(path.join(box.workDir, 'counts'))).map(async (f) => Number(await readFile(path.join(box.workDir, 'counts', f), 'utf8'))),
        );
        return Math.max(...counts);
      }

      it('never runs more cores at once than the pool holds', async () => {
        const ex = await executor({ parallel: 2 });
        const box = await sandbox();
        await mkdir(path.join(box.workDir, 'running'));
        await mkdir(path.join(box.workDir, 'counts'));
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            ex.run(taskSpec(box, { argv: ['sh', '-c', overlapScript], env: { PATH: process.env.PATH ?? '', ID: String(i) } }), never()),
          ),
        );
        expect(results.every((r) => r.reason === 'completed' && r.exitCode === 0)).toBe(true);
        expect((await readdir(path.join(box.workDir, 'counts'))).length).toBe(10);
        expect(await maxOverlap(box)).toBeLessThanOrEqual(2);
      });

      it('counts a task\'s cores: two 2-core tasks never overlap in a 3-core pool', async () => {
        const ex = await executor({ parallel: 3 });
        const box = await sandbox();
        await mkdir(path.join(box.workDir, 'running'));
        await mkdir(path.join(box.workDir, 'counts'));
        const results = await Promise.all(
          Array.from({ length: 4 }, (_, i) =>
            ex.run(
              taskSpec(box, {
                argv: ['sh', '-c', overlapScript],
                env: { PATH: process.env.PATH ?? '', ID: String(i) },
                resources: { cores: 2, ramMiB: 1, tmpdirMiB: 1, outdirMiB: 1 },
              }),
              never(),
            ),
          ),
        );
        expect(results.every((r) => r.reason === 'completed')).toBe(true);
        expect(await maxOverlap(box)).toBe(1);
      });

      it('counts RAM: tasks needing 60% of the pool RAM never overlap', async () => {
        const ex = await executor({ parallel: 8, ramMiB: 1000 });
        const box = await sandbox();
        await mkdir(path.join(box.workDir, 'running'));
        await mkdir(path.join(box.workDir, 'counts'));
        const results = await Promise.all(
          Array.from({ length: 4 }, (_, i) =>
            ex.run(
              taskSpec(box, {
                argv: ['sh', '-c', overlapScript],
                env: { PATH: process.env.PATH ?? '', ID: String(i) },
                resources: { cores: 1, ramMiB: 600, tmpdirMiB: 1, outdirMiB: 1 },
              }),
              never(),
            ),
          ),
        );
        expect(results.every((r) => r.reason === 'completed')).toBe(true);
        expect(await maxOverlap(box)).toBe(1);
      });

      it('runs tasks in parallel up to the pool size (two tasks that wait for each other both finish)', async () => {
        const ex = await executor({ parallel: 2 });
        const box = await sandbox();
        const waitFor = (mine: string, other: string) =>
          `touch ${mine}; while [ ! -f ${other} ]; do sleep 0.05; done; echo done`;
        const [a, b] = await Promise.all([
          ex.run(taskSpec(box, { argv: ['sh', '-c', waitFor('a', 'b')], timeLimitSeconds: 60 }), never()),
          ex.run(taskSpec(box, { argv: ['sh', '-c', waitFor('b', 'a')], timeLimitSeconds: 60 }), never()),
        ]);
        expect(a).toMatchObject({ reason: 'completed', exitCode: 0 });
        expect(b).toMatchObject({ reason: 'completed', exitCode: 0 });
      });

      it('still runs a task asking for more than the pool has', async () => {
        const ex = await executor({ parallel: 2, ramMiB: 100 });
        const box = await sandbox();
        const r = await ex.run(
          taskSpec(box, { argv: ['echo', 'big'], resources: { cores: 64, ramMiB: 1e6, tmpdirMiB: 1, outdirMiB: 1 } }),
          never(),
        );
        expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      });

      it('cancels a queued task without starting it', async () => {
        const ex = await executor({ parallel: 1 });
        const box = await sandbox();
        const first = new AbortController();
        const second = new AbortController();
        const started: string[] = [];
        const a = ex.run(taskSpec(box, { argv: ['sleep', '100'] }), first.signal, () => started.push('a'));
        const b = ex.run(taskSpec(box, { argv: ['touch', 'b-ran'] }), second.signal, () => started.push('b'));
        await waitUntil(() => started.length === 1, 'the first task to start');
        second.abort();
        const rb: TaskResult = await b;
        expect(rb.reason).toBe('cancelled');
        first.abort();
        expect((await a).reason).toBe('cancelled');
        expect(started).toEqual(['a']);
        await expect(readdir(box.workDir)).resolves.not.toContain('b-ran');
      });
    }
  });
}
