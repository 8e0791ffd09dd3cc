import { spawn, spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TaskSpec } from '../executor.js';
import { waitUntil } from '../../../test/contract/executor-contract.js';
import { isGone, processesInGroups } from '../../../test/support/processes.js';
import { LocalExecutor } from './local-executor.js';

let root = '';
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-local-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
function spec(over: Partial<TaskSpec> & { argv: string[] }): TaskSpec {
  n++;
  return {
    taskId: `t/${n}`,
    runId: 'r',
    stepPath: 't',
    attempt: 1,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    workDir: root,
    tmpDir: root,
    mounts: [],
    resources: { cores: 1, ramMiB: 1, tmpdirMiB: 1, outdirMiB: 1 },
    networkAccess: false,
    logDir: path.join(root, 'logs', String(n)),
    ...over,
  };
}
const never = new AbortController().signal;

describe('LocalExecutor', () => {
  it('defaults the pool to all cores and total memory', () => {
    const ex = new LocalExecutor({});
    expect(ex.pool.cores).toBe(os.availableParallelism());
    expect(ex.pool.ramMiB).toBe(Math.floor(os.totalmem() / 1024 / 1024));
  });

  it('resolves image_unavailable with a helpful message when no container runtime exists', async () => {
    const ex = new LocalExecutor({}, { containerRuntime: null });
    const r = await ex.run(spec({ argv: ['echo', 'x'], image: 'alpine:3' }), never);
    expect(r.reason).toBe('image_unavailable');
    expect(r.message).toContain('no working container runtime to run image alpine:3');
    expect(r.message).toContain('--no-container');
  });

  it('probes the runtime it is told to use once, and says why it cannot use it', async () => {
    const fake = path.join(root, 'docker-without-daemon');
    const calls = path.join(root, 'probe-calls');
    await writeFile(fake, `#!/bin/sh\necho "$1" >> ${calls}\necho "Cannot connect to the Docker daemon. Is the docker daemon running?" >&2\nexit 1\n`);
    await chmod(fake, 0o755);
    const ex = new LocalExecutor({ containerRuntime: fake });
    const [a, b] = await Promise.all([1, 2].map(() => ex.run(spec({ argv: ['true'], image: 'debian:stable-slim' }), never)));
    for (const r of [a, b]) {
      expect(r?.reason).toBe('image_unavailable');
      expect(r?.message).toContain(`${fake}: \`version --format {{.Server.Version}}\` failed (exit 1): Cannot connect to the Docker daemon`);
    }
    expect(readFileSync(calls, 'utf8')).toBe('version\n');
  });

  it('runs an image task through the runtime with the container argv', async () => {
    // A fake runtime that records its arguments, to check the wiring without a container engine.
    const fake = path.join(root, 'fake-docker');
    await writeFile(fake, '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n');
    await chmod(fake, 0o755);
    const ex = new LocalExecutor({}, { containerRuntime: fake });
    const s = spec({ argv: ['cat', 'x y'], image: 'alpine:3', stdout: 'args.txt' });
    const r = await ex.run(s, never);
    expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
    const args = (await readFile(path.join(root, 'args.txt'), 'utf8')).trimEnd().split('\n');
    expect(args[0]).toBe('run');
    expect(args.slice(-3)).toEqual(['alpine:3', 'cat', 'x y']);
  });

  it('turns runtime failures (exit 125 with a runtime error) into image_unavailable or failed', async () => {
    const fake = path.join(root, 'docker');
    await writeFile(
      fake,
      '#!/bin/sh\nfor last in "$@"; do :; done\n' +
        'if [ "$last" = pull ]; then echo "Unable to find image \'nope:1\' locally" >&2; echo "docker: Error response from daemon: pull access denied for nope" >&2; exit 125; fi\n' +
        'if [ "$last" = daemon ]; then echo "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 125; fi\n' +
        'echo "tool says 125" >&2; exit 125\n',
    );
    await chmod(fake, 0o755);
    const ex = new LocalExecutor({}, { containerRuntime: fake });
    const pull = await ex.run(spec({ argv: ['x', 'pull'], image: 'nope:1' }), never);
    expect(pull).toMatchObject({ reason: 'image_unavailable', exitCode: null });
    expect(pull.message).toContain('cannot get image nope:1');
    const daemon = await ex.run(spec({ argv: ['x', 'daemon'], image: 'nope:1' }), never);
    expect(daemon).toMatchObject({ reason: 'failed', exitCode: null });
    expect(daemon.message).toContain('docker could not run image nope:1');
    const tool = await ex.run(spec({ argv: ['x', 'tool'], image: 'nope:1' }), never);
    expect(tool).toMatchObject({ reason: 'completed', exitCode: 125 });
  });

  it('kills a task that ignores SIGTERM after the grace period', async () => {
    const ex = new LocalExecutor({}, { killGraceMs: 200 });
    const ctl = new AbortController();
    const p = ex.run(spec({ argv: ['sh', '-c', 'trap "" TERM; echo ready > ready-' + n + '; sleep 100'] }), ctl.signal, () =>
      setTimeout(() => ctl.abort(), 100),
    );
    const r = await p;
    expect(r.reason).toBe('cancelled');
  });

  it('explains a missing working directory instead of blaming the command', async () => {
    const ex = new LocalExecutor({});
    const r = await ex.run(spec({ argv: ['echo', 'x'], workDir: path.join(root, 'nope'), stdout: path.join(root, 'o.txt') }), never);
    expect(r.reason).toBe('failed');
    expect(r.message).toContain('working directory does not exist');
  });

  it('fails clearly when the stdin file is missing', async () => {
    const ex = new LocalExecutor({});
    const r = await ex.run(spec({ argv: ['cat'], stdin: path.join(root, 'missing.txt') }), never);
    expect(r.reason).toBe('failed');
    expect(r.message).toMatch(/cannot open stdin file .*missing\.txt: ENOENT/);
  });

  it('reports a non-executable command as permission denied', async () => {
    const f = path.join(root, 'not-exec.sh');
    await writeFile(f, 'echo hi\n');
    const ex = new LocalExecutor({});
    const r = await ex.run(spec({ argv: [f] }), never);
    expect(r.reason).toBe('failed');
    expect(r.message).toContain(`permission denied: ${f}`);
  });

  it('adds one abort listener per signal, however many tasks share it, and cancels them all', async () => {
    const ex = new LocalExecutor({ parallel: 2 });
    const ctl = new AbortController();
    const started: number[] = [];
    const runs = Array.from({ length: 50 }, (_, i) => ex.run(spec({ argv: ['sleep', '100'] }), ctl.signal, () => started.push(i)));
    expect(getEventListeners(ctl.signal, 'abort')).toHaveLength(1);
    // The first two are granted at once; they spawn once their stdio files are open.
    await vi.waitFor(() => expect(started).toHaveLength(2));
    ctl.abort();
    const results = await Promise.all(runs);
    expect(results.every((r) => r.reason === 'cancelled')).toBe(true);
    expect([...started].sort()).toEqual([0, 1]);
  });

  it('cancels granted tasks that have not spawned yet (their stdio files still opening)', async () => {
    const ex = new LocalExecutor({ parallel: 2 });
    const ctl = new AbortController();
    const started: number[] = [];
    const runs = [0, 1, 2].map((i) => ex.run(spec({ argv: ['sleep', '100'] }), ctl.signal, () => started.push(i)));
    ctl.abort();
    const results = await Promise.all(runs);
    expect(results.map((r) => r.reason)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    await new Promise((r) => setTimeout(r, 50));
    expect(started).toEqual([]);
  });

  it('makes the log directory only when a task writes to a stream that is not redirected', async () => {
    const ex = new LocalExecutor({});
    const quiet = spec({ argv: ['true'] });
    expect(await ex.run(quiet, never)).toMatchObject({ reason: 'completed', exitCode: 0 });
    await expect(readFile(path.join(quiet.logDir, 'stderr.log'))).rejects.toThrow(/ENOENT/);
    const loud = spec({ argv: ['sh', '-c', 'echo out; echo err >&2'], stdout: 'loud.txt' });
    expect(await ex.run(loud, never)).toMatchObject({ reason: 'completed', exitCode: 0 });
    expect(await readFile(path.join(loud.logDir, 'stderr.log'), 'utf8')).toBe('err\n');
    expect(await readFile(path.join(root, 'loud.txt'), 'utf8')).toBe('out\n');
  });

  it('copies a large stderr completely into its log', async () => {
    const ex = new LocalExecutor({});
    const s = spec({ argv: ['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x >&2; exit 3'] });
    const r = await ex.run(s, never);
    expect(r).toMatchObject({ reason: 'completed', exitCode: 3 });
    expect((await readFile(path.join(s.logDir, 'stderr.log'))).length).toBe(3000000);
  });

  it('stops what a cancelled task runs under timeout (a process group of its own in the task session)', async () => {
    const ex = new LocalExecutor({}, { killGraceMs: 200 });
    const ctl = new AbortController();
    const pidFile = path.join(root, `timeout-${n}.pid`);
    // timeout(1) moves itself and its command to a new process group; the inner shell ignores
    // SIGTERM, so only the SIGKILL after the grace period ends it.
    const argv = ['sh', '-c', `timeout 100 sh -c 'trap "" TERM; echo $$ > ${pidFile}; while :; do sleep 1; done'`];
    const done = ex.run(spec({ argv }), ctl.signal);
    const inner = await pidFrom(pidFile);
    expect(processesInGroups([inner]), 'the inner shell leads no group').toEqual([]);
    ctl.abort();
    expect((await done).reason).toBe('cancelled');
    await waitUntil(() => isGone(inner), 'the process under timeout to be killed');
  });

  it('stops what a task runs under timeout when the task leader exits at SIGTERM', async () => {
    const ex = new LocalExecutor({}, { killGraceMs: 60_000 });
    const ctl = new AbortController();
    const pidFile = path.join(root, `timeout-${n}.pid`);
    // The leader (sh) goes at SIGTERM; timeout forwards SIGTERM to its command, which ignores it.
    const argv = ['sh', '-c', `timeout 100 sh -c 'trap "" TERM; echo $$ > ${pidFile}; while :; do sleep 1; done'; sleep 100`];
    const done = ex.run(spec({ argv }), ctl.signal);
    const inner = await pidFrom(pidFile);
    ctl.abort();
    expect((await done).reason).toBe('cancelled');
    await waitUntil(() => isGone(inner), 'the process under timeout to be killed (long before the 60 s grace)');
  });

  it('kills background processes a task leaves behind when it exits', async () => {
    const ex = new LocalExecutor({});
    const pidFile = path.join(root, `bg-${n}.pid`);
    const r = await ex.run(spec({ argv: ['sh', '-c', `sleep 100 & echo $! > ${pidFile}`] }), never);
    expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    for (let i = 0; i < 400 && !isGone(pid); i++) await new Promise((res) => setTimeout(res, 25));
    expect(isGone(pid)).toBe(true);
  });
});

/**
 * Run `task` in a Strand-like owner process (the built executor, through the launcher), wait for
 * the task to write its pid to `pidFile`, SIGKILL the owner, and return that pid.
 */
async function killOwnerOf(task: TaskSpec, options: Record<string, unknown>, pidFile: string): Promise<number> {
  const script = `
    const { LocalExecutor } = await import(${JSON.stringify(path.join(repo, 'dist/src/executor/local/local-executor.js'))});
    const ex = new LocalExecutor({}, { launcher: 'always', ...${JSON.stringify(options)} });
    await ex.run(${JSON.stringify(task)}, new AbortController().signal);`;
  const owner = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const exited = new Promise((r) => owner.once('exit', r));
  const pid = await pidFrom(pidFile);
  owner.kill('SIGKILL');
  await exited;
  return pid;
}

/** The pid a task wrote to `file`, once it is there. */
async function pidFrom(file: string): Promise<number> {
  await waitUntil(() => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n'), `the task to write ${file}`);
  return Number(readFileSync(file, 'utf8'));
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

const repo = path.resolve(fileURLToPath(import.meta.url), '../../../..');
/** A local podman image to run a task in, if podman and the shared images are installed. */
const podmanImage = ['docker.io/library/debian:stable-slim'].find(
  (image) => spawnSync('podman', ['image', 'exists', image], { stdio: 'ignore', timeout: 20_000 }).status === 0,
);
const strandCli = path.join(repo, 'dist/src/cli/main.js');

describe('the process launcher', () => {
  it('starts every task, from the first, so that none outlives Strand', async () => {
    const ex = new LocalExecutor({});
    const pidFile = path.join(root, 'first-parent');
    const r = await ex.run(spec({ argv: ['/bin/sh', '-c', `echo $PPID > ${pidFile}`] }), never);
    expect(r.reason).toBe('completed');
    const parent = Number(readFileSync(pidFile, 'utf8'));
    expect(parent).not.toBe(process.pid);
    expect(parentOf(parent)).toBe(process.pid);
  });

  it('starts tasks that run side by side through as many launchers (a spawn blocks a launcher)', async () => {
    const ex = new LocalExecutor({ parallel: 2 }, { launcher: 'always' });
    const gate = path.join(root, 'two-launchers-gate');
    const parents = [path.join(root, 'parent-a'), path.join(root, 'parent-b')];
    const runs = parents.map((f) => ex.run(spec({ argv: ['/bin/sh', '-c', `echo $PPID > ${f}; while [ ! -e ${gate} ]; do sleep 0.01; done`] }), never));
    await waitUntil(() => parents.every((f) => existsSync(f) && readFileSync(f, 'utf8').trim() !== ''), 'both tasks to start');
    writeFileSync(gate, '');
    expect((await Promise.all(runs)).map((r) => r.reason)).toEqual(['completed', 'completed']);
    const [a, b] = parents.map((f) => Number(readFileSync(f, 'utf8')));
    expect(a).not.toBe(b);
    expect([parentOf(a!), parentOf(b!)]).toEqual([process.pid, process.pid]);
  });

  it('starts a queued task the moment a running one exits, without waiting for Strand to hear of it', async () => {
    // One place. The second task is promised the first one's place and handed to the launcher at
    // once; the first ends while this process is busy (its event loop blocked for 600 ms), so only
    // the launcher can have started the second before the block ended.
    const ex = new LocalExecutor({ parallel: 1 }, { launcher: 'always' });
    const gate = path.join(root, 'standby-gate');
    const stamp = path.join(root, 'standby-stamp');
    const first = ex.run(spec({ argv: ['/bin/sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.01; done`] }), never);
    let secondStarted = false;
    const second = ex.run(spec({ argv: ['/bin/sh', '-c', `date +%s%N > ${stamp}`] }), never, () => (secondStarted = true));
    await waitUntil(() => ex.pool.available.cores === 0 && ex.pool.waiting === 0, 'the second task to be promised the place');
    await new Promise((r) => setTimeout(r, 100)); // the promise has reached the launcher
    writeFileSync(gate, '');
    const blockEnd = Date.now() + 600;
    while (Date.now() < blockEnd); // busy: no event of the launcher is seen here meanwhile
    const endedAt = BigInt(blockEnd) * 1_000_000n;
    expect((await first).reason).toBe('completed');
    expect((await second).reason).toBe('completed');
    expect(secondStarted).toBe(true);
    expect(BigInt(readFileSync(stamp, 'utf8').trim())).toBeLessThan(endedAt);
    expect(ex.pool.available.cores).toBe(1);
  });

  it('a task promised a place and cancelled before it starts never runs, and the place comes back', async () => {
    const ex = new LocalExecutor({ parallel: 1 }, { launcher: 'always' });
    const gate = path.join(root, 'standby-cancel-gate');
    const ran = path.join(root, 'standby-cancel-ran');
    const first = ex.run(spec({ argv: ['/bin/sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.01; done`] }), never);
    const stop = new AbortController();
    const second = ex.run(spec({ argv: ['/bin/sh', '-c', `touch ${ran}`] }), stop.signal);
    await waitUntil(() => ex.pool.waiting === 0, 'the second task to be promised the place');
    stop.abort();
    const r2 = await second;
    expect(r2.reason).toBe('cancelled');
    writeFileSync(gate, '');
    expect((await first).reason).toBe('completed');
    expect(existsSync(ran)).toBe(false);
    expect(ex.pool.available.cores).toBe(1);
    // and the place serves the next task
    expect((await ex.run(spec({ argv: ['true'] }), never)).reason).toBe('completed');
    expect(ex.pool.available.cores).toBe(1);
  });

  it('runs a scatter of short tasks through promised places, never more at once than the pool holds', async () => {
    const ex = new LocalExecutor({ parallel: 2 }, { launcher: 'always' });
    const log = path.join(root, 'standby-overlap');
    // Each task appends "+" on start and "-" on exit, under a lock: the running count never passes 2.
    const body = `flock ${log}.lock sh -c 'echo + >> ${log}'; sleep 0.02; flock ${log}.lock sh -c 'echo - >> ${log}'`;
    const results = await Promise.all(Array.from({ length: 30 }, () => ex.run(spec({ argv: ['/bin/sh', '-c', body] }), never)));
    expect(results.every((r) => r.reason === 'completed')).toBe(true);
    let running = 0;
    let most = 0;
    for (const c of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
      running += c === '+' ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(2);
    expect(ex.pool.available.cores).toBe(2);
  });

  it('fails the running task with a clear message when the launcher dies, and kills the task', async () => {
    const ex = new LocalExecutor({}, { launcher: 'always' });
    const pidFile = path.join(root, 'orphan.pid');
    const done = ex.run(spec({ argv: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`] }), never);
    const taskPid = await pidFrom(pidFile);
    const launcherPid = parentOf(taskPid);
    expect(launcherPid).not.toBe(process.pid);
    process.kill(launcherPid, 'SIGKILL');
    const r = await done;
    expect(r.reason).toBe('failed');
    expect(r.message).toMatch(/the process launcher exited \(SIGKILL\) while the task was running/);
    await waitUntil(() => isGone(taskPid), 'the task to be killed');
    // The next task gets a new launcher.
    expect((await ex.run(spec({ argv: ['true'] }), never)).reason).toBe('completed');
  });

  it('kills what a task runs under timeout when the launcher loses its owner', async () => {
    const pidFile = path.join(root, 'owned-timeout.pid');
    const argv = ['sh', '-c', `timeout 100 sh -c 'echo $$ > ${pidFile}; exec sleep 30'`];
    const inner = await killOwnerOf(spec({ argv }), {}, pidFile);
    await waitUntil(() => isGone(inner), 'the process under timeout to be killed');
  });

  it('runs the cleanup command of a task it kills because its owner died (a container to remove)', async () => {
    const pidFile = path.join(root, 'owned.pid');
    const cleaned = path.join(root, 'cleaned');
    // A fake runtime: `run ...` records its pid and sleeps; `rm ... <name>` records the name (its last argument).
    await writeFile(
      path.join(root, 'fake-runtime'),
      `#!/bin/sh\nif [ "$1" = rm ]; then for a; do last=$a; done; echo "$last" > ${cleaned}; exit 0; fi\necho $$ > ${pidFile}; exec sleep 30\n`,
    );
    await chmod(path.join(root, 'fake-runtime'), 0o755);
    const taskPid = await killOwnerOf(spec({ argv: ['x'], image: 'img:1' }), { containerRuntime: path.join(root, 'fake-runtime') }, pidFile);
    await waitUntil(() => isGone(taskPid), 'the task to be killed');
    await waitUntil(() => existsSync(cleaned) && readFileSync(cleaned, 'utf8').endsWith('\n'), 'the cleanup command to run');
    expect(readFileSync(cleaned, 'utf8')).toMatch(/^strand-r-t_\d+-1\n$/);
  });
});

/**
 * Strand killed during a run, through the CLI: each task (a shell that starts a child and waits
 * for it) must go with its whole process group, however Strand ends and whatever the run's size.
 */
describe.skipIf(!existsSync(strandCli))('when Strand dies during a run', () => {
  const tool = (dir: string) => {
    writeFileSync(
      path.join(dir, 'sleeper.cwl'),
      [
        'cwlVersion: v1.2',
        'class: CommandLineTool',
        'inputs: {dir: string, name: string, trap: string}',
        'baseCommand: [sh, -c]',
        'arguments:',
        // $0 = dir, $1 = name, $2 = the trap; the child pid is written before the task's own.
        `  - 'trap "" $2; sleep 300 & echo $! > "$0/$1.child"; echo $$ > "$0/$1.pid"; wait'`,
        '  - $(inputs.dir)',
        '  - $(inputs.name)',
        '  - $(inputs.trap)',
        'outputs: []',
      ].join('\n'),
    );
    writeFileSync(
      path.join(dir, 'sleepers.cwl'),
      [
        'cwlVersion: v1.2',
        'class: Workflow',
        'requirements: {ScatterFeatureRequirement: {}}',
        'inputs: {dir: string, names: "string[]", trap: string}',
        'outputs: []',
        'steps:',
        '  sleep: {run: sleeper.cwl, scatter: name, in: {dir: dir, name: names, trap: trap}, out: []}',
      ].join('\n'),
    );
  };

  // A service manager's stop: SIGTERM, then SIGKILL before Strand's grace period (2 s) is over.
  const ways: { name: string; signals: NodeJS.Signals[]; trap: string }[] = [
    { name: 'SIGKILL', signals: ['SIGKILL'], trap: 'HUP' },
    { name: 'SIGTERM then SIGKILL, the tasks ignoring SIGTERM', signals: ['SIGTERM', 'SIGKILL'], trap: 'TERM' },
    { name: 'SIGTERM', signals: ['SIGTERM'], trap: 'HUP' },
    { name: 'Ctrl-C twice', signals: ['SIGINT', 'SIGINT'], trap: 'TERM' },
  ];
  const cases = [1, 3].flatMap((tasks) => ways.map((w) => ({ ...w, tasks })));

  it.each(cases)('$name, $tasks task(s): no task process is left', async ({ signals, trap, tasks }) => {
    const dir = mkdtempSync(path.join(root, 'cli-'));
    tool(dir);
    const names = ['a', 'b', 'c'].slice(0, tasks);
    const job = path.join(dir, 'job.json');
    writeFileSync(job, JSON.stringify(tasks === 1 ? { dir, name: 'a', trap } : { dir, names, trap }));
    const doc = path.join(dir, tasks === 1 ? 'sleeper.cwl' : 'sleepers.cwl');
    const args = ['run', '--no-record', '--parallel', '4', '--outdir', path.join(dir, 'out'), '--tmpdir-prefix', path.join(dir, 'work-'), doc, job];
    const strand = spawn(process.execPath, [path.join(repo, 'bin/strand.js'), ...args], { stdio: 'ignore' });
    const exited = new Promise((r) => strand.once('exit', r));
    const pids = await Promise.all(names.map((x) => pidFrom(path.join(dir, `${x}.pid`))));
    const children = await Promise.all(names.map((x) => pidFrom(path.join(dir, `${x}.child`))));
    for (const [i, sig] of signals.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 300));
      strand.kill(sig);
    }
    await exited;
    await waitUntil(() => processesInGroups(pids).length === 0 && children.every(isGone), 'every task process to be gone', 10_000);
  });

  // The container outlives its killed `podman run` (conmon keeps it): the launcher removes it.
  it.skipIf(!podmanImage)('SIGKILL during a container task: the container is removed too', async () => {
    const dir = mkdtempSync(path.join(root, 'podman-'));
    const runId = `killtest-${path.basename(dir).slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
    writeFileSync(
      path.join(dir, 'sleeper.cwl'),
      ['cwlVersion: v1.2', 'class: CommandLineTool', `requirements: {DockerRequirement: {dockerPull: "${podmanImage}"}}`, 'baseCommand: [sleep, "300"]', 'inputs: []', 'outputs: []'].join('\n'),
    );
    const args = ['run', '--no-record', '--run-id', runId, '--outdir', path.join(dir, 'out'), '--tmpdir-prefix', path.join(dir, 'work-'), path.join(dir, 'sleeper.cwl')];
    const strand = spawn(process.execPath, [path.join(repo, 'bin/strand.js'), ...args], { stdio: 'ignore' });
    const exited = new Promise((r) => strand.once('exit', r));
    const containers = () => spawnSync('podman', ['ps', '-a', '--filter', `name=strand-${runId}`, '--format', '{{.Names}}'], { encoding: 'utf8' }).stdout.trim();
    await waitUntil(() => containers() !== '', 'the container to start', 60_000);
    strand.kill('SIGKILL');
    await exited;
    await waitUntil(() => containers() === '', 'the container to be removed', 30_000);
  }, 120_000);
});
