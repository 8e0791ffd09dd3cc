import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../executor.js';
import { isGone } from '../../../test/support/processes.js';
import { LocalExecutor } from './local-executor.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const builtExecutor = path.join(repo, 'dist', 'src', 'executor', 'local', 'local-executor.js');


function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function until<T>(what: string, probe: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let root = '';
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-launcher-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
function spec(argv: string[]): TaskSpec {
  n++;
  return {
    taskId: `t/${n}`,
    runId: 'r',
    stepPath: 't',
    attempt: 1,
    argv,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    workDir: root,
    tmpDir: root,
    mounts: [],
    resources: { cores: 1, ramMiB: 1, tmpdirMiB: 1, outdirMiB: 1 },
    networkAccess: false,
    logDir: path.join(root, 'logs', String(n)),
  };
}
const never = new AbortController().signal;

describe('the process launcher', () => {
  it('auto: a run starts its first tasks itself, then through the launcher once it is up', async () => {
    const ex = new LocalExecutor({ parallel: 2 });
    const parents = new Set<number>();
    for (let i = 0; i < 400 && !(parents.size === 2); i++) {
      const pidFile = path.join(root, `auto-${i}`);
      const r = await ex.run(spec(['/bin/sh', '-c', `echo $PPID > ${pidFile}`]), never);
      expect(r.reason).toBe('completed');
      parents.add(Number(readFileSync(pidFile, 'utf8')));
    }
    expect(parents.has(process.pid)).toBe(true);
    expect(parents.size).toBe(2); // this process, then the launcher
  });

  it('fails the running task with a clear message when the launcher dies, and kills the task', async () => {
    const ex = new LocalExecutor({}, { launcher: 'always' });
    const pidFile = path.join(root, 'orphan');
    const done = ex.run(spec(['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`]), never);
    const taskPid = await until('the task', () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')));
    const launcherPid = parentOf(taskPid);
    expect(launcherPid).not.toBe(process.pid);
    process.kill(launcherPid, 'SIGKILL');
    const r = await done;
    expect(r.reason).toBe('failed');
    expect(r.message).toMatch(/the process launcher exited \(SIGKILL\) while the task was running/);
    await until('the task to be killed', () => isGone(taskPid));
    // The next task gets a new launcher.
    expect((await ex.run(spec(['true']), never)).reason).toBe('completed');
  });

  it.skipIf(!existsSync(builtExecutor))('kills the tasks of a Strand process that is killed with SIGKILL', async () => {
    const pidFile = path.join(root, 'survivor');
    const script = `
      const { LocalExecutor } = await import(${JSON.stringify(builtExecutor)});
      const ex = new LocalExecutor({}, { launcher: 'always' });
      await ex.run({ taskId: 't', runId: 'r', stepPath: 't', attempt: 1, argv: ['/bin/sh', '-c', 'echo $$ > ${pidFile}; exec sleep 30'],
        env: { PATH: process.env.PATH }, workDir: ${JSON.stringify(root)}, tmpDir: ${JSON.stringify(root)}, mounts: [],
        resources: { cores: 1, ramMiB: 1, tmpdirMiB: 1, outdirMiB: 1 }, networkAccess: false, logDir: ${JSON.stringify(path.join(root, 'logs', 'k'))} },
        new AbortController().signal);`;
    const strand = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    const exited = new Promise((r) => strand.once('exit', r));
    const taskPid = await until('the task', () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')));
    strand.kill('SIGKILL');
    await exited;
    await until('the task to be killed', () => isGone(taskPid));
  });
});
