/** The pod's wrapper script, run by the local /bin/sh as a pod would run it. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../executor.js';
import { taskScript } from './job-builder.js';
import { PathMap } from './path-map.js';

const root = mkdtempSync(join(tmpdir(), 'strand-task-script-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function run(over: Partial<TaskSpec> & { argv: string[] }, withLogs = true) {
  const dir = join(root, String(++n));
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  const spec = { workDir: work, tmpDir: dir, stdin: undefined, stdout: undefined, stderr: undefined, ...over } as TaskSpec;
  const logDir = join(dir, 'logs');
  const script = taskScript(spec, new PathMap([]), work, withLogs ? logDir : undefined);
  const r = spawnSync('/bin/sh', ['-c', script, 'strand-task', ...spec.argv], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: dir } });
  const read = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  return { status: r.status, podLog: { out: r.stdout, err: r.stderr }, work, logs: { out: read(join(logDir, 'stdout.log')), err: read(join(logDir, 'stderr.log')) }, dir };
}

describe('taskScript', () => {
  it('passes the exit code through and runs in the work dir', () => {
    const r = run({ argv: ['sh', '-c', 'pwd; exit 7'] });
    expect(r.status).toBe(7);
    expect(r.podLog.out.trim()).toBe(r.work);
  });

  it('sends unredirected output to the pod log and to the log files', () => {
    const r = run({ argv: ['sh', '-c', 'echo to-out; echo to-err >&2'] });
    expect(r.status).toBe(0);
    expect(r.podLog.out).toBe('to-out\n');
    expect(r.podLog.err).toBe('to-err\n');
    expect(r.logs).toEqual({ out: 'to-out\n', err: 'to-err\n' });
  });

  it('honours the CWL redirections, creating empty files, and reads stdin', () => {
    const dir = join(root, 'in');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "it's in.txt"), 'abc\n');
    const r = run({ argv: ['cat'], stdin: join(dir, "it's in.txt"), stdout: 'out.txt', stderr: 'err.txt' });
    expect(r.status).toBe(0);
    expect(readFileSync(join(r.work, 'out.txt'), 'utf8')).toBe('abc\n');
    expect(readFileSync(join(r.work, 'err.txt'), 'utf8')).toBe('');
    expect(r.logs).toEqual({ out: undefined, err: undefined });
  });

  it('gives an empty stdin when none is given', () => {
    const r = run({ argv: ['cat'] }, false);
    expect(r.status).toBe(0);
    expect(r.podLog.out).toBe('');
  });

  it('says plainly when the command does not exist', () => {
    const r = run({ argv: ['strand-no-such-tool-xyz', 'a'] });
    expect(r.status).toBe(127);
    expect(r.podLog.err).toContain('strand: command not found: strand-no-such-tool-xyz');
  });

  it('leaves files named .o and .e in the work dir alone', () => {
    const r = run({ argv: ['sh', '-c', 'touch .o .e'], stdout: 'o.txt', stderr: 'e.txt' });
    expect(r.status).toBe(0);
    expect(readFileSync(join(r.work, '.o'), 'utf8')).toBe('');
  });

  // A pod's wrapper is PID 1 of its container: run it so with unshare (root only) to see that SIGTERM
  // stops the task's children too. Before, it killed only the task's own process; a grandchild kept
  // the log FIFO open and the wrapper waited for it (a pod Terminating for its whole grace period).
  const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
  it.skipIf(!canUnshare)(`as PID 1, SIGTERM stops the task's children as well${canUnshare ? '' : ' (skipped: needs root and unshare)'}`, async () => {
    const dir = join(root, 'pid1');
    const work = join(dir, 'work');
    mkdirSync(work, { recursive: true });
    const spec = { workDir: work, tmpDir: dir } as TaskSpec;
    const script = taskScript(spec, new PathMap([]), work, join(dir, 'logs'));
    const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '/bin/sh', '-c', script, 'strand-task', 'sh', '-c', 'sleep 600; echo never'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: dir },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // The wrapper (unshare's only child) is up once the task's sleep runs.
    const wrapper = await new Promise<number>((resolve) => {
      const poll = setInterval(() => {
        const kids = (ppid: number) => spawnSync('pgrep', ['-P', String(ppid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
        const pid = kids(child.pid!)[0];
        if (pid !== undefined && kids(pid).some((k) => spawnSync('pgrep', ['-x', '-P', String(k), 'sleep']).status === 0)) {
          clearInterval(poll);
          resolve(pid);
        }
      }, 50);
    });
    process.kill(wrapper, 'SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(out).not.toContain('never');
    expect(code).not.toBe(0);
  }, 20_000);
});
