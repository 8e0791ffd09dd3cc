/**
 * The local executor: runs tasks as host processes (or, when a task names an image, through podman
 * or docker), within a pool of cores and RAM.
 *
 * Per task it does the minimum: open the stdio files as fds, spawn (no shell, no pipes through
 * Node), wait for exit. Each task is its own process group so cancelling kills its children too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { close, existsSync, open, write } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Executor, ExecutorOptions, TaskReason, TaskResult, TaskSpec } from '../executor.js';
import { containerArgv, containerName, findContainerRuntime, noRuntimeMessage, toHostPath } from './container.js';
import { readLogTail } from './log-tail.js';
import { signalGroup, trackGroup, untrackGroup } from './process-group.js';
import { ResourcePool, type Grant } from './resource-pool.js';

/** Knobs for tests; the registry only passes ExecutorOptions. */
export interface LocalExecutorInternals {
  /** Time between SIGTERM and SIGKILL when stopping a task (default 2000 ms). */
  killGraceMs?: number;
  /** Container runtime binary; null means none. Default: podman or docker found on PATH. */
  containerRuntime?: string | null;
}

type KillReason = 'cancelled' | 'timed_out' | 'shutdown';

export class LocalExecutor implements Executor {
  readonly name = 'local';
  readonly pool: ResourcePool;
  readonly killGraceMs: number;
  private readonly tasks = new Set<LocalTask>();
  /** Tasks per abort signal: one listener per signal, not per task (the engine shares one signal). */
  private readonly bySignal = new WeakMap<AbortSignal, Set<LocalTask>>();
  private closed = false;
  private shutdownDone: Promise<void> | undefined;
  private runtime: string | null | undefined;

  constructor(options: ExecutorOptions = {}, internals: LocalExecutorInternals = {}) {
    const cores = options.parallel ?? os.availableParallelism();
    const ramMiB = options.ramMiB ?? Math.floor(os.totalmem() / (1024 * 1024));
    this.pool = new ResourcePool(cores, ramMiB);
    this.killGraceMs = internals.killGraceMs ?? 2000;
    this.runtime = internals.containerRuntime;
  }

  get isShutDown(): boolean {
    return this.closed;
  }

  run(spec: TaskSpec, signal: AbortSignal, onStarted?: () => void): Promise<TaskResult> {
    if (this.closed) return Promise.resolve(endResult('cancelled', `task ${spec.taskId} was not run: the executor is shut down`));
    if (signal.aborted) return Promise.resolve(endResult('cancelled', `task ${spec.taskId} was cancelled`));
    const task = new LocalTask(this, spec, signal, onStarted);
    this.tasks.add(task);
    this.watch(signal, task);
    void task.done.then(() => {
      this.tasks.delete(task);
      this.bySignal.get(signal)?.delete(task);
    });
    task.enqueue();
    return task.done;
  }

  private watch(signal: AbortSignal, task: LocalTask): void {
    let set = this.bySignal.get(signal);
    if (!set) {
      const tasks = new Set<LocalTask>();
      set = tasks;
      this.bySignal.set(signal, tasks);
      const onAbort = () => {
        this.bySignal.delete(signal);
        // Queued ones first, so stopping running tasks does not start queued ones.
        const all = [...tasks];
        for (const t of all) if (t.state === 'queued') t.stop('cancelled');
        for (const t of all) t.stop('cancelled');
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
    set.add(task);
  }

  shutdown(): Promise<void> {
    if (!this.shutdownDone) {
      this.closed = true;
      const all = [...this.tasks];
      // Withdraw queued tasks first, so stopping running ones does not start queued ones.
      for (const t of all) if (t.state === 'queued') t.stop('shutdown');
      for (const t of all) if (t.state === 'running') t.stop('shutdown');
      this.shutdownDone = Promise.all(all.map((t) => t.done)).then(() => undefined);
    }
    return this.shutdownDone;
  }

  /** The container runtime to use, looked up once. */
  containerRuntime(): string | null {
    if (this.runtime === undefined) this.runtime = findContainerRuntime() ?? null;
    return this.runtime;
  }
}

class LocalTask {
  state: 'queued' | 'running' | 'done' = 'queued';
  readonly done: Promise<TaskResult>;
  private resolve!: (r: TaskResult) => void;
  private withdraw: (() => void) | undefined;
  private grant: Grant | undefined;
  private child: ChildProcess | undefined;
  private pid: number | undefined;
  private killReason: KillReason | undefined;
  private timeLimitTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private startedAt: Date | undefined;
  private stderrPath = '';
  private runtime: string | undefined;
  /** Log files fed from the task's stdout/stderr pipes (streams not redirected to a file). */
  private logs: LazyLog[] = [];
  /** Granted, but not spawned yet: waiting for the log directory and the stdio files. */
  private launching = false;

  constructor(
    private readonly executor: LocalExecutor,
    private readonly spec: TaskSpec,
    private readonly signal: AbortSignal,
    private readonly onStarted: (() => void) | undefined,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  enqueue(): void {
    const need = this.executor.pool.fit(this.spec.resources ?? {});
    this.withdraw = this.executor.pool.acquire(need, () => {
      this.grant = need;
      this.start();
    });
  }

  stop(reason: KillReason): void {
    if (this.state === 'queued') {
      this.withdraw?.();
      const why = reason === 'shutdown' ? 'the executor was shut down' : 'it was cancelled';
      this.settle(endResult('cancelled', `task ${this.spec.taskId} did not start: ${why}`));
      return;
    }
    if (this.state === 'running' && this.launching) {
      this.launching = false;
      this.settle(endResult('cancelled', `task ${this.spec.taskId} was cancelled before it started`));
      return;
    }
    if (this.state !== 'running' || this.killReason || this.pid === undefined) return;
    this.killReason = reason;
    const pid = this.pid;
    signalGroup(pid, 'SIGTERM');
    if (this.runtime) removeContainer(this.runtime, containerName(this.spec));
    this.graceTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.executor.killGraceMs);
  }

  private start(): void {
    const { spec } = this;
    this.state = 'running';
    if (this.executor.isShutDown || this.signal.aborted) {
      this.settle(endResult('cancelled', `task ${spec.taskId} was cancelled before it started`));
      return;
    }
    if (spec.argv.length === 0 || !spec.argv[0]) {
      this.settle(endResult('failed', `task ${spec.taskId}: empty command line`));
      return;
    }
    let file = spec.argv[0];
    let args = spec.argv.slice(1);
    let env: NodeJS.ProcessEnv = spec.env;
    let cwd = spec.workDir;
    let hostPath = (p: string) => p;
    if (spec.image) {
      const runtime = this.executor.containerRuntime();
      if (!runtime) {
        this.settle(endResult('image_unavailable', `task ${spec.taskId}: ${noRuntimeMessage(spec.image)}`));
        return;
      }
      this.runtime = runtime;
      const user = typeof process.getuid === 'function' ? { uid: process.getuid(), gid: process.getgid?.() ?? 0 } : undefined;
      const full = containerArgv(spec, { runtime, interactive: spec.stdin !== undefined, user });
      file = full[0] as string;
      args = full.slice(1);
      env = process.env;
      hostPath = (p) => toHostPath(p, spec.mounts);
      cwd = hostPath(spec.workDir);
    }

    // The stdio files are opened off the event loop (creating files is slow on a busy file system);
    // stop() during that settles the task, and the launch is then dropped.
    this.launching = true;
    void this.openStdio(hostPath)
      .catch(toError)
      .then((r) => this.launch(r, file, args, cwd, env));
  }

  private launch(
    r: [Stdio, number[]] | Error,
    file: string,
    args: string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
  ): void {
    const { spec } = this;
    if (!this.launching) {
      if (Array.isArray(r)) closeAll(r[1]);
      return;
    }
    this.launching = false;
    if (!Array.isArray(r)) this.settle(endResult('failed', `task ${spec.taskId}: ${r.message}`));
    else if (this.executor.isShutDown || this.signal.aborted) {
      closeAll(r[1]);
      this.settle(endResult('cancelled', `task ${spec.taskId} was cancelled before it started`));
    } else this.spawnNow(file, args, { cwd, env, stdio: r[0] }, r[1]);
  }

  /**
   * Open stdin and the stdout/stderr files the tool redirects to: the stdio array and the fds to
   * close, or the error. A stream not redirected is a pipe into `<logDir>/stdout.log` or
   * `stderr.log`, made when the task first writes to it: most tasks write nothing there, and
   * creating a directory and a file per task is much of what a short task costs.
   */
  private async openStdio(hostPath: (p: string) => string): Promise<[Stdio, number[]] | Error> {
    const { spec } = this;
    const inPath = spec.stdin !== undefined ? hostPath(path.resolve(spec.workDir, spec.stdin)) : undefined;
    const outPath = spec.stdout !== undefined ? hostPath(path.resolve(spec.workDir, spec.stdout)) : undefined;
    const errPath = spec.stderr !== undefined ? hostPath(path.resolve(spec.workDir, spec.stderr)) : undefined;
    this.stderrPath = errPath ?? path.join(spec.logDir, 'stderr.log');
    const fds: number[] = [];
    // stdin first: when it cannot be opened, no output file is created (or truncated).
    let inFd: 'ignore' | number = 'ignore';
    if (inPath !== undefined) {
      try {
        inFd = await openFd(inPath, 'r', 'stdin');
      } catch (err) {
        return toError(err);
      }
      fds.push(inFd);
    }
    const [out, err] = await Promise.allSettled([
      outPath !== undefined ? openFd(outPath, 'w', 'stdout') : Promise.resolve('pipe' as const),
      errPath === undefined ? Promise.resolve('pipe' as const) : errPath === outPath ? Promise.resolve(undefined) : openFd(errPath, 'w', 'stderr'),
    ]);
    if (out.status === 'fulfilled' && typeof out.value === 'number') fds.push(out.value);
    if (err.status === 'fulfilled' && typeof err.value === 'number') fds.push(err.value);
    if (out.status === 'rejected' || err.status === 'rejected') {
      closeAll(fds);
      return toError(out.status === 'rejected' ? out.reason : (err as PromiseRejectedResult).reason);
    }
    return [[inFd, out.value, err.value ?? out.value], fds];
  }

  private spawnNow(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; stdio: Stdio }, fds: number[]): void {
    const { spec } = this;
    const { cwd, env, stdio } = opts;
    let child: ChildProcess;
    try {
      child = spawn(file, args, { cwd, env, stdio, detached: true });
    } catch (err) {
      closeAll(fds);
      this.settle(endResult('failed', `task ${spec.taskId}: cannot start ${file}: ${(err as Error).message}`));
      return;
    }
    closeAll(fds); // the child has its own copies
    this.child = child;
    if (child.stdout) this.logs.push(new LazyLog(child.stdout, spec.logDir, 'stdout.log'));
    if (child.stderr) this.logs.push(new LazyLog(child.stderr, spec.logDir, 'stderr.log'));
    child.once('error', (err: NodeJS.ErrnoException) => this.onSpawnError(err, file));
    child.once('exit', (code, sig) => this.onExit(code, sig));
    if (child.pid === undefined) return; // 'error' follows
    this.pid = child.pid;
    this.startedAt = new Date();
    trackGroup(child.pid);
    if (spec.timeLimitSeconds && spec.timeLimitSeconds > 0) {
      this.timeLimitTimer = setTimeout(() => this.stop('timed_out'), spec.timeLimitSeconds * 1000);
    }
    try {
      this.onStarted?.();
    } catch (err) {
      // A throwing callback is a caller bug: surface it without corrupting the executor's state.
      process.nextTick(() => {
        throw err;
      });
    }
  }

  private onSpawnError(err: NodeJS.ErrnoException, file: string): void {
    if (this.state !== 'running') return;
    if (this.pid !== undefined) return; // errors after a successful spawn do not end the task; 'exit' does
    const { spec } = this;
    let msg: string;
    if (err.code === 'ENOENT' && !existsSync(this.spec.workDir) && !spec.image) {
      msg = `working directory does not exist: ${spec.workDir}`;
    } else if (err.code === 'ENOENT') msg = `command not found: ${file}`;
    else if (err.code === 'EACCES') msg = `permission denied: ${file}`;
    else msg = `cannot start ${file}: ${err.message}`;
    for (const l of this.logs) l.abandon();
    this.settle(endResult('failed', `task ${spec.taskId}: ${msg}`));
  }

  private onExit(code: number | null, sig: NodeJS.Signals | null): void {
    if (this.state !== 'running') return;
    const { spec } = this;
    // Anything the task left behind in its group goes too.
    if (this.pid !== undefined) signalGroup(this.pid, 'SIGKILL');
    const startedAt = this.startedAt;
    const finishedAt = new Date();
    let reason: TaskReason;
    let message: string;
    if (this.killReason === 'timed_out') {
      reason = 'timed_out';
      message = `task ${spec.taskId} exceeded its time limit of ${spec.timeLimitSeconds} s and was stopped`;
    } else if (this.killReason) {
      reason = 'cancelled';
      message = `task ${spec.taskId} was cancelled${this.killReason === 'shutdown' ? ' (executor shut down)' : ''}`;
    } else if (code === null) {
      reason = 'failed';
      message = `task ${spec.taskId} was killed by signal ${sig ?? 'unknown'}`;
    } else {
      reason = 'completed';
      message = `task ${spec.taskId} exited with code ${code}`;
    }
    const exitCode = reason === 'completed' ? code : null;
    const wantTail = reason === 'failed' || reason === 'timed_out' || (reason === 'completed' && code !== 0);
    const stderrPath = this.stderrPath;
    const runtime = this.runtime;
    const classify =
      runtime && code === 125 ? (r: TaskResult) => classifyRuntimeFailure(r, spec, path.basename(runtime)) : undefined;
    const result: TaskResult = { reason, exitCode, message, startedAt, finishedAt };
    if (this.logs.length === 0) {
      this.settle(result, wantTail ? stderrPath : undefined, classify);
      return;
    }
    // The result waits for the log pipes to be drained into their files.
    void Promise.all(this.logs.map((l) => l.finish())).then(() => this.settle(result, wantTail ? stderrPath : undefined, classify));
  }

  /** Release everything and resolve, once. With `tailFrom`, attach that file's last lines. */
  private settle(result: TaskResult, tailFrom?: string, classify?: (r: TaskResult) => TaskResult): void {
    if (this.state === 'done') return;
    this.state = 'done';
    clearTimeout(this.timeLimitTimer);
    clearTimeout(this.graceTimer);
    if (this.pid !== undefined) untrackGroup(this.pid);
    this.child = undefined;
    const grant = this.grant;
    this.grant = undefined;
    if (grant) this.executor.pool.release(grant);
    if (tailFrom === undefined) {
      this.resolve(result);
      return;
    }
    void readLogTail(tailFrom).then((logTail) => {
      const withTail = logTail === undefined ? result : { ...result, logTail };
      this.resolve(classify ? classify(withTail) : withTail);
    });
  }
}

/** `<logRoot>` directories (grandparents of log directories) made or being made; bounded for long-lived processes. */
const logRoots = new Map<string, Promise<void>>();

/**
 * mkdir -p of a log directory `<logRoot>/<task>/<attempt>`, in as few calls as the usual case
 * allows: `<logRoot>` once, then two plain mkdirs.
 */
export async function ensureLogDir(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const logRoot = path.dirname(parent);
  let root = logRoots.get(logRoot);
  if (!root) {
    if (logRoots.size >= 64) logRoots.clear();
    root = mkdir(logRoot, { recursive: true }).then(() => undefined);
    logRoots.set(logRoot, root);
    root.catch(() => logRoots.delete(logRoot));
  }
  try {
    await root;
    await mkdirIfMissing(parent);
    await mkdirIfMissing(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // Removed since it was last seen: the long way.
    logRoots.delete(logRoot);
    await mkdir(dir, { recursive: true });
  }
}

async function mkdirIfMissing(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function endResult(reason: TaskReason, message: string): TaskResult {
  return { reason, exitCode: null, message };
}

/**
 * `docker run` / `podman run` exit with 125 when the runtime itself failed. When its stderr says so,
 * report the image as unavailable or the runtime as failing, instead of a tool exit code.
 */
export function classifyRuntimeFailure(r: TaskResult, spec: TaskSpec, runtime: string): TaskResult {
  const tail = r.logTail ?? '';
  const last = tail.split('\n').pop() ?? '';
  if (/unable to find image|pull access denied|manifest unknown|repository does not exist|image not known|error pulling image|initializing source/i.test(tail)) {
    return { ...r, reason: 'image_unavailable', exitCode: null, message: `task ${spec.taskId}: cannot get image ${spec.image}: ${last}` };
  }
  if (/docker daemon|error response from daemon|podman|oci runtime|cannot connect/i.test(tail)) {
    return { ...r, reason: 'failed', exitCode: null, message: `task ${spec.taskId}: ${runtime} could not run image ${spec.image}: ${last}` };
  }
  return r;
}

type Stdio = ['ignore' | number, number | 'pipe', number | 'pipe'];

/** How long the pipes of an exited task may stay open (held by a process that left its group). */
const PIPE_GRACE_MS = 2000;
/** Bytes written to a log file but not yet on disk before the pipe is paused. */
const LOG_HIGH_WATER = 1024 * 1024;

/**
 * A task's stdout or stderr pipe copied into `<dir>/<name>`; the directory and the file are only
 * made when the first bytes arrive.
 */
class LazyLog {
  private fd: Promise<number> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private failed = false;
  private readonly ended: Promise<void>;

  constructor(
    private readonly stream: NodeJS.ReadableStream & { destroy(): void },
    private readonly dir: string,
    private readonly name: string,
  ) {
    this.ended = new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', resolve);
    });
    stream.on('data', (chunk: Buffer) => this.write(chunk));
  }

  private write(chunk: Buffer): void {
    if (this.failed) return;
    this.fd ??= ensureLogDir(this.dir).then(() => openFd(path.join(this.dir, this.name), 'w', this.name));
    const fd = this.fd;
    this.pending += chunk.length;
    if (this.pending > LOG_HIGH_WATER) this.stream.pause();
    this.chain = this.chain.then(async () => {
      if (this.failed) return;
      try {
        await writeAll(await fd, chunk);
      } catch {
        this.failed = true; // the log is best effort; the task goes on
      }
      this.pending -= chunk.length;
      if (this.pending <= LOG_HIGH_WATER && this.stream.isPaused()) this.stream.resume();
    });
  }

  /** The task never ran: drop the pipe. */
  abandon(): void {
    this.stream.destroy();
  }

  /** After the task exited: wait for the pipe to end (not forever), write what is left, close. */
  async finish(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, PIPE_GRACE_MS);
    });
    await Promise.race([this.ended, grace]);
    clearTimeout(timer);
    this.stream.destroy();
    await this.chain;
    if (this.fd) {
      const fd = await this.fd.catch(() => undefined);
      if (fd !== undefined) await new Promise<void>((resolve) => close(fd, () => resolve()));
    }
  }
}

function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number) => {
      write(fd, buf, off, buf.length - off, null, (err, n) => {
        if (err) reject(err);
        else if (off + n < buf.length) step(off + n);
        else resolve();
      });
    };
    step(0);
  });
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function openFd(file: string, flags: 'r' | 'w', what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    open(file, flags, (err, fd) => {
      if (err) reject(new Error(`cannot open ${what} file ${file}: ${err.code ?? err.message}`));
      else resolve(fd);
    });
  });
}

/** Close our copies of the stdio fds, off the event loop. */
function closeAll(fds: number[]): void {
  for (const fd of fds) close(fd, () => undefined);
  fds.length = 0;
}

/** Best effort: make the runtime stop and remove a task's container (the client may not forward signals). */
function removeContainer(runtime: string, name: string): void {
  try {
    const p = spawn(runtime, ['rm', '-f', name], { stdio: 'ignore', detached: true });
    p.on('error', () => undefined);
    p.unref();
  } catch {
    // nothing more to do
  }
}
