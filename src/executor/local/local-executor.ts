/**
 * The local executor: runs tasks as host processes (or, when a task names an image, through podman
 * or docker), within a pool of cores and RAM.
 *
 * Per task it does the minimum: open the stdio files as fds, spawn (no shell, no pipes through
 * Node), wait for exit (process-start.ts). Each task is its own process group so cancelling kills
 * its children too. Processes are started through the process launcher (launcher.ts), which kills
 * them if Strand dies without stopping them.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Executor, ExecutorOptions, TaskReason, TaskResult, TaskSpec } from '../executor.js';
import {
  containerArgv,
  containerCleanupArgv,
  containerName,
  detectContainerRuntime,
  noRuntimeMessage,
  readPidFile,
  runtimeKind,
  toHostPath,
  type Detection,
} from './container.js';
import { readLogTail } from './log-tail.js';
import { StarterChoice, type LauncherMode, type ProcessStarter } from './launcher.js';
import { runDetached, signalTask, trackGroup, untrackGroup } from './process-group.js';
import type { LaunchEvent, LaunchHandle, LaunchRequest } from './process-start.js';
import { OversizeWarnings } from './oversized-requests.js';
import { ResourcePool, type Grant } from './resource-pool.js';
import { UsageSampler } from './usage-sampler.js';

/** Knobs for tests; the registry only passes ExecutorOptions. */
export interface LocalExecutorInternals {
  /** Time between SIGTERM and SIGKILL when stopping a task (default 2000 ms). */
  killGraceMs?: number;
  /** Container runtime binary, used without probing it; null means none. Default: detectContainerRuntime(). */
  containerRuntime?: string | null;
  /** Where task processes start: the launcher when built (`default`), the launcher `always`, or `never` (this process). */
  launcher?: LauncherMode;
}

type KillReason = 'cancelled' | 'timed_out' | 'shutdown';

export class LocalExecutor implements Executor {
  readonly name = 'local';
  readonly pool: ResourcePool<LocalTask>;
  /** Running host tasks whose place no queued task has been promised yet (standby starts, below). */
  private readonly hosts = new Set<LocalTask>();
  readonly killGraceMs: number;
  readonly starter: ProcessStarter;
  /** CPU and memory of tasks, sampled from /proc (host processes, podman containers; docker: not measured). */
  readonly usage = new UsageSampler();
  private readonly tasks = new Set<LocalTask>();
  /** Tasks per abort signal: one listener per signal, not per task (the engine shares one signal). */
  private readonly bySignal = new WeakMap<AbortSignal, Set<LocalTask>>();
  private closed = false;
  private shutdownDone: Promise<void> | undefined;
  private runtime: Promise<Detection> | undefined;
  /** `podman`, `docker` or a client's path (ExecutorOptions.containerRuntime); undefined: the first that works. */
  private readonly preferredRuntime: string | undefined;
  private readonly log: ExecutorOptions['log'];
  /** Says once per step when its tasks ask for more cores or memory than the machine has. */
  private readonly oversize: OversizeWarnings;

  constructor(options: ExecutorOptions = {}, internals: LocalExecutorInternals = {}) {
    const cores = options.parallel ?? os.availableParallelism();
    const ramMiB = options.ramMiB ?? Math.floor(os.totalmem() / (1024 * 1024));
    this.pool = new ResourcePool<LocalTask>(cores, ramMiB);
    this.killGraceMs = internals.killGraceMs ?? 2000;
    const fixed = internals.containerRuntime;
    if (fixed !== undefined) {
      const detection: Detection =
        fixed === null
          ? { ok: false, reasons: ['none configured'] }
          : { ok: true, runtime: { path: fixed, kind: runtimeKind(fixed), rootless: false, why: `container runtime: ${fixed}` } };
      this.runtime = Promise.resolve(detection);
    }
    this.preferredRuntime = options.containerRuntime || undefined;
    this.log = options.log;
    this.oversize = new OversizeWarnings((m) => this.log?.warn(m));
    this.starter = new StarterChoice(internals.launcher ?? 'default', Math.min(cores, os.availableParallelism()));
  }

  get slots(): number {
    return this.pool.cores;
  }

  get isShutDown(): boolean {
    return this.closed;
  }

  run(spec: TaskSpec, signal: AbortSignal, onStarted?: () => void): Promise<TaskResult> {
    if (this.closed) return Promise.resolve(endResult('cancelled', `task ${spec.taskId} was not run: the executor is shut down`));
    if (signal.aborted) return Promise.resolve(endResult('cancelled', `task ${spec.taskId} was cancelled`));
    this.oversize.check(spec.stepPath, spec.resources);
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

  /**
   * Standby starts. When every place is taken, the first queued task is promised the place of a
   * running host task whose grant it fits, and handed to the launcher at once with `after`: the
   * launcher starts it the moment that process exits, instead of Strand hearing of the exit,
   * releasing the place and sending the next task (a round trip that cost a short task as much as
   * its own run). The grant passes from one to the other when the first one is settled here; the
   * queue's order holds (only its head is taken). Without the launcher the promised task starts
   * when the first one is settled, as any queued task would.
   */
  offerPlaceOf(host: LocalTask): void {
    if (!host.canHost()) {
      this.hosts.delete(host);
      return;
    }
    const next = this.pool.takeHeadWithin(host.grantHeld as Grant, (t) => t.spec.image === undefined);
    if (next) {
      this.hosts.delete(host);
      host.follow(next);
    } else this.hosts.add(host);
  }

  /** A task was queued: it may be promised the place of a running one. */
  offerAnyPlace(): void {
    for (const host of this.hosts) {
      this.offerPlaceOf(host);
      if (this.pool.waiting === 0) return;
      if (this.hosts.has(host)) return; // the head does not fit there: it waits for the pool
    }
  }

  forgetHost(task: LocalTask): void {
    this.hosts.delete(task);
  }

  /** The container runtime to use: probed once, on the first task with an image. */
  containerRuntime(): Promise<Detection> {
    if (this.runtime === undefined) {
      this.runtime = detectContainerRuntime({ preferred: this.preferredRuntime });
      void this.runtime.then((d) => d.ok && this.log?.info(d.runtime.why));
    }
    return this.runtime;
  }
}

class LocalTask {
  state: 'queued' | 'running' | 'done' = 'queued';
  /** The task promised this one's place (its grant passes on when this one is settled). */
  private successor: LocalTask | undefined;
  /** Promised another task's place and not started by the launcher: it starts on inheriting. */
  private waitingForPlace = false;
  readonly done: Promise<TaskResult>;
  private resolve!: (r: TaskResult) => void;
  private withdraw: (() => void) | undefined;
  private grant: Grant | undefined;
  private pid: number | undefined;
  private killReason: KillReason | undefined;
  private timeLimitTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private startedAt: Date | undefined;
  private stderrPath = '';
  /** The directory the stderr file must really be in for its tail to be read: the work dir, or the task's log dir. */
  private stderrRoot = '';
  private runtime: string | undefined;
  private cleanup: string[] | undefined;
  /** podman: where it writes the pid of the container's first process, for measuring the container (usage-sampler.ts). */
  private containerPidFile: string | undefined;
  /** The start under way; the process runs once `pid` is known. */
  private handle: LaunchHandle | undefined;
  /** How a stop() that came while launching wants the task stopped. */
  private pendingStop: KillReason | undefined;

  constructor(
    private readonly executor: LocalExecutor,
    readonly spec: TaskSpec,
    private readonly signal: AbortSignal,
    private readonly onStarted: (() => void) | undefined,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  enqueue(): void {
    const need = this.executor.pool.fit(this.spec.resources ?? {});
    let granted = false;
    this.withdraw = this.executor.pool.acquire(
      need,
      () => {
        granted = true;
        this.grant = need;
        this.start();
      },
      this,
    );
    if (!granted) this.executor.offerAnyPlace();
  }

  /** The grant this task holds, if any (a promised task holds none until it inherits one). */
  get grantHeld(): Grant | undefined {
    return this.grant;
  }

  /** Whether a queued task may be promised this one's place now. */
  canHost(): boolean {
    return (
      this.state === 'running' && this.pid !== undefined && this.grant !== undefined && this.successor === undefined &&
      this.spec.image === undefined && !this.killReason && !this.pendingStop && !this.executor.isShutDown
    );
  }

  /** `next` (taken from the pool's queue) gets this task's place: handed to the launcher now if it can. */
  follow(next: LocalTask): void {
    this.successor = next;
    next.state = 'running';
    next.launch(undefined, this.handle);
  }

  /** This task's predecessor was settled: its grant is this task's now. */
  private inherit(grant: Grant): void {
    this.grant = grant;
    if (this.waitingForPlace) {
      this.waitingForPlace = false;
      this.launch(undefined);
    } else if (this.pid !== undefined) this.executor.offerPlaceOf(this);
  }

  stop(reason: KillReason): void {
    if (this.state === 'queued') {
      this.withdraw?.();
      const why = reason === 'shutdown' ? 'the executor was shut down' : 'it was cancelled';
      this.settle(endResult('cancelled', `task ${this.spec.taskId} did not start: ${why}`));
      return;
    }
    if (this.state === 'running' && this.pid === undefined) {
      // The start is under way (or waits for the container runtime): cancel it, or stop the
      // process once it reports its pid.
      this.pendingStop ??= reason;
      if (this.waitingForPlace) this.settle(endResult('cancelled', `task ${this.spec.taskId} was cancelled before it started`));
      else this.handle?.cancel();
      return;
    }
    if (this.state !== 'running' || this.killReason || this.pid === undefined) return;
    this.killReason = reason;
    const pid = this.pid;
    signalTask(pid, 'SIGTERM');
    // The group kill stops the runtime's client, not the container (podman's conmon keeps it).
    if (this.runtime) runDetached(containerCleanupArgv(this.runtime, containerName(this.spec)));
    this.graceTimer = setTimeout(() => signalTask(pid, 'SIGKILL'), this.executor.killGraceMs);
  }

  private start(): void {
    const { spec } = this;
    this.state = 'running';
    if (spec.image === undefined) return this.launch(undefined);
    void this.executor.containerRuntime().then((d) => {
      if (this.state !== 'running') return;
      if (d.ok) return this.launch(d.runtime.path);
      this.settle(endResult('image_unavailable', `task ${spec.taskId}: ${noRuntimeMessage(spec.image ?? '', d.reasons)}`));
    });
  }

  /** `after`: start once that task's process has exited (a standby start; see offerPlaceOf). */
  private launch(runtime: string | undefined, after?: LaunchHandle): void {
    const { spec } = this;
    if (this.executor.isShutDown || this.signal.aborted || this.pendingStop) {
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
    if (runtime) {
      this.runtime = runtime;
      const user = typeof process.getuid === 'function' ? { uid: process.getuid(), gid: process.getgid?.() ?? 0 } : undefined;
      if (runtimeKind(runtime) === 'podman') {
        // The log directory is otherwise made only once the task writes to a log (process-start.ts).
        mkdirSync(spec.logDir, { recursive: true, mode: 0o700 });
        this.containerPidFile = path.join(spec.logDir, 'container.pid');
      }
      const full = containerArgv(spec, { runtime, interactive: spec.stdin !== undefined, user, pidFile: this.containerPidFile });
      file = full[0] as string;
      args = full.slice(1);
      env = process.env;
      hostPath = (p) => toHostPath(p, spec.mounts);
      cwd = hostPath(spec.workDir);
    }
    const inWorkDir = (p: string | undefined) => (p === undefined ? undefined : hostPath(path.resolve(spec.workDir, p)));
    const req: LaunchRequest = {
      file,
      args,
      cwd,
      env,
      stdin: inWorkDir(spec.stdin),
      stdout: inWorkDir(spec.stdout),
      stderr: inWorkDir(spec.stderr),
      logDir: spec.logDir,
      workDir: spec.image ? undefined : spec.workDir,
      // Killing `podman run` or `docker run` does not stop the container: remove it too, at once
      // (podman would first wait 10 s for SIGTERM, which a shell as PID 1 ignores).
      cleanup: runtime ? containerCleanupArgv(runtime, containerName(spec)) : undefined,
    };
    this.cleanup = req.cleanup;
    this.stderrPath = req.stderr ?? path.join(spec.logDir, 'stderr.log');
    this.stderrRoot = req.stderr !== undefined ? spec.workDir : spec.logDir;
    const emit = (e: LaunchEvent) => this.onLaunchEvent(e);
    if (after) {
      const handle = this.executor.starter.startAfter?.(after, req, emit);
      if (handle) this.handle = handle;
      else this.waitingForPlace = true; // the launcher cannot: started on inheriting the place
      return;
    }
    this.handle = this.executor.starter.start(req, emit);
  }

  private onLaunchEvent(e: LaunchEvent): void {
    if (this.state !== 'running') return;
    const { spec } = this;
    if (e.type === 'started') {
      this.pid = e.pid;
      this.startedAt = new Date();
      trackGroup(e.pid, this.cleanup);
      // A container's processes are not in the runtime client's group: podman's are the session of
      // the container's first process, whose pid podman writes (docker's daemon starts them out of
      // sight: not measured).
      const pidFile = this.containerPidFile;
      if (!this.runtime) this.executor.usage.track(e.pid);
      else if (pidFile) this.executor.usage.trackProcess(e.pid, () => readPidFile(pidFile));
      if (this.pendingStop) {
        // Stopped while it was being started: stop it now.
        this.stop(this.pendingStop);
        return;
      }
      if (spec.timeLimitSeconds && spec.timeLimitSeconds > 0) {
        this.timeLimitTimer = setTimeout(() => this.stop('timed_out'), spec.timeLimitSeconds * 1000);
      }
      if (this.grant !== undefined && this.executor.pool.waiting > 0) this.executor.offerPlaceOf(this);
      try {
        this.onStarted?.();
      } catch (err) {
        // A throwing callback is a caller bug: surface it without corrupting the executor's state.
        process.nextTick(() => {
          throw err;
        });
      }
    } else if (e.type === 'failed') {
      if (e.cancelled) this.settle(endResult('cancelled', `task ${spec.taskId} was cancelled before it started`));
      else this.settle(endResult('failed', `task ${spec.taskId}: ${e.message}`));
    } else this.onExit(e.code, e.signal);
  }

  private onExit(code: number | null, sig: NodeJS.Signals | null): void {
    const { spec } = this;
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
    const runtime = this.runtime;
    const classify =
      runtime && code === 125 ? (r: TaskResult) => classifyRuntimeFailure(r, spec, path.basename(runtime)) : undefined;
    const usage = this.pid !== undefined ? this.executor.usage.stop(this.pid) : undefined;
    const killedBy = reason === 'failed' && sig ? { signal: sig } : {};
    this.settle({ reason, exitCode, message, startedAt, finishedAt, ...killedBy, ...(usage ? { usage } : {}) }, wantTail ? this.stderrPath : undefined, classify);
  }

  /** Release everything and resolve, once. With `tailFrom`, attach that file's last lines. */
  private settle(result: TaskResult, tailFrom?: string, classify?: (r: TaskResult) => TaskResult): void {
    if (this.state === 'done') return;
    this.state = 'done';
    clearTimeout(this.timeLimitTimer);
    clearTimeout(this.graceTimer);
    if (this.pid !== undefined) {
      untrackGroup(this.pid);
      this.executor.usage.stop(this.pid);
      // A stopped task whose leader went at SIGTERM: what it started in other groups of its session
      // (under `timeout`, say) may not have; the exit's own kill reaches only the leader's group.
      if (this.killReason) signalTask(this.pid, 'SIGKILL');
    }
    this.executor.forgetHost(this);
    const grant = this.grant;
    this.grant = undefined;
    const next = this.successor;
    if (grant) {
      if (next && next.state !== 'done') next.inherit(grant);
      else this.executor.pool.release(grant);
    }
    if (tailFrom === undefined) {
      this.resolve(result);
      return;
    }
    void readLogTail(tailFrom, this.stderrRoot).then((logTail) => {
      const withTail = logTail === undefined ? result : { ...result, logTail };
      this.resolve(classify ? classify(withTail) : withTail);
    });
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
