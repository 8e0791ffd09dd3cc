/**
 * Who starts a task's process: the process launcher (launcher-main.ts), a small Node process that
 * kills every task it started when Strand dies (even by SIGKILL, which no exit hook sees), forks
 * more cheaply than a large engine and keeps that work off the engine's event loop; or this
 * process (`startProcess` directly). Both run the same code (process-start.ts); the launcher is a
 * transport.
 *
 * Every task goes through the launcher (`default`), so no run leaves a task behind however Strand
 * ends. It is started early (`warmUpLauncher`, called by the CLI before it loads the document), so a
 * run of one tool does not wait for it. Only when the launcher was never built (unit tests run
 * from the sources without `npm run build`) do tasks start in this process. `always` insists on
 * the launcher, `never` avoids it (tests of each path).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOrphan } from './process-group.js';
import { startProcess, type LaunchEvent, type LaunchHandle, type LaunchRequest } from './process-start.js';

export type LauncherMode = 'default' | 'always' | 'never';

export interface ProcessStarter {
  start(req: LaunchRequest, emit: (e: LaunchEvent) => void): LaunchHandle;
  /**
   * Start `req` the moment the process of `after` (a task this starter started) has exited, or at
   * once if it has; undefined when this starter cannot (the task is then started the usual way).
   */
  startAfter?(after: LaunchHandle, req: LaunchRequest, emit: (e: LaunchEvent) => void): LaunchHandle | undefined;
}

/** Chooses where tasks start. `launchers`: up to how many launcher processes (one per core the tasks get). */
export class StarterChoice implements ProcessStarter {
  constructor(
    private readonly mode: LauncherMode,
    private readonly launchers = 1,
  ) {
    if (mode !== 'never') warmUpLauncher();
  }

  start(req: LaunchRequest, emit: (e: LaunchEvent) => void): LaunchHandle {
    if (this.mode === 'never') return startProcess(req, emit);
    const launcher = sharedLaunchers()?.pick(this.launchers);
    if (launcher) return launcher.start(req, emit);
    if (this.mode === 'always') return failNow(emit, 'the process launcher cannot be found (run `npm run build`)');
    return startProcess(req, emit);
  }

  /** Only through the launcher: it starts the next task on its own when the previous one exits. */
  startAfter(after: LaunchHandle, req: LaunchRequest, emit: (e: LaunchEvent) => void): LaunchHandle | undefined {
    if (this.mode === 'never' || after.launchId === undefined) return undefined;
    // The launcher that started `after` is the one that sees it exit.
    const launcher = launcherOf.get(after);
    return launcher?.isUp ? launcher.start(req, emit, after.launchId) : undefined;
  }
}

/**
 * Start the process launcher now, in the background, so that it is up when the first task is
 * (Node takes a few tens of milliseconds to start). Idle, it does not keep this process alive.
 */
export function warmUpLauncher(): void {
  sharedLaunchers()?.pick(1).warmUp();
}

function failNow(emit: (e: LaunchEvent) => void, message: string): LaunchHandle {
  queueMicrotask(() => emit({ type: 'failed', message }));
  return { cancel: () => undefined };
}

type Reply = { id: number; event: LaunchEvent };

/** One launcher process, shared by every executor in this process; restarted after it dies. */
class Launcher implements ProcessStarter {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly inFlight = new Map<number, { emit: (e: LaunchEvent) => void; pid?: number; cleanup?: string[] }>();

  constructor(private readonly entry: string) {}

  warmUp(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(process.execPath, [this.entry], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], detached: true });
    this.child = child;
    child.on('message', (m: Reply) => this.onReply(m));
    child.on('error', () => this.onGone(child, 'could not be started'));
    child.on('exit', (code, sig) => this.onGone(child, `exited (${sig ?? `code ${code}`})`));
    this.setRef(child);
    return child;
  }

  /** Tasks started through it and not ended. */
  get load(): number {
    return this.inFlight.size;
  }

  /** Whether its process is there now (a task that is to follow one of its tasks must go to it). */
  get isUp(): boolean {
    return this.child !== undefined;
  }

  start(req: LaunchRequest, emit: (e: LaunchEvent) => void, after?: number): LaunchHandle {
    const child = this.warmUp();
    const id = this.nextId++;
    this.inFlight.set(id, { emit, cleanup: req.cleanup });
    this.setRef(child);
    child.send(after === undefined ? { id, req } : { id, req, after });
    const handle: LaunchHandle = {
      launchId: id,
      cancel: () => {
        if (this.inFlight.has(id) && child.connected) child.send({ id, cancel: true });
      },
    };
    launcherOf.set(handle, this);
    return handle;
  }

  private onReply(m: Reply): void {
    const task = this.inFlight.get(m.id);
    if (!task) return;
    if (m.event.type === 'started') task.pid = m.event.pid;
    else {
      this.inFlight.delete(m.id);
      if (this.child) this.setRef(this.child);
    }
    task.emit(m.event);
  }

  private onGone(child: ChildProcess, what: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    const tasks = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const t of tasks) {
      // Its tasks cannot be watched any more: stop them, and say why.
      if (t.pid !== undefined) killOrphan(t.pid, t.cleanup);
      t.emit({ type: 'failed', message: `the process launcher ${what} while the task was running` });
    }
  }

  /** Hold this process open only while tasks are in flight; an idle launcher must not. */
  private setRef(child: ChildProcess): void {
    const busy = this.inFlight.size > 0;
    const channel = child.channel as { ref?(): void; unref?(): void } | null | undefined;
    if (busy) {
      child.ref();
      channel?.ref?.();
    } else {
      child.unref();
      channel?.unref?.();
    }
  }
}

/** Which launcher started a task (a task promised its place must be sent to the same one). */
const launcherOf = new WeakMap<LaunchHandle, Launcher>();

/**
 * The launcher processes of this process, shared by every executor in it. A launcher starts its
 * tasks one after the other (a spawn blocks its event loop for a fork and an exec: ~9 ms on a busy
 * 2-core machine, most of what a short task costs), so tasks that run side by side are started by
 * as many launchers, up to one per place: a new one is made when every one has a task in flight.
 */
class LauncherSet {
  private readonly all: Launcher[] = [];

  constructor(private readonly entry: string) {}

  /** The least busy launcher, a new one while fewer than `most` exist and each is busy. */
  pick(most: number): Launcher {
    let best: Launcher | undefined;
    for (const l of this.all) if (!best || l.load < best.load) best = l;
    if (!best || (best.load > 0 && this.all.length < Math.max(1, most))) {
      best = new Launcher(this.entry);
      this.all.push(best);
    }
    return best;
  }
}

let shared: LauncherSet | null | undefined;

function sharedLaunchers(): LauncherSet | undefined {
  if (shared === undefined) {
    const entry = launcherEntry();
    shared = entry ? new LauncherSet(entry) : null;
  }
  return shared ?? undefined;
}

/**
 * The compiled launcher-main.js beside this module; when this module runs from its TypeScript
 * source (the unit tests), the build's copy under dist/.
 */
function launcherEntry(): string | undefined {
  const beside = fileURLToPath(new URL('./launcher-main.js', import.meta.url));
  if (existsSync(beside)) return beside;
  const parts = beside.split(path.sep);
  const src = parts.lastIndexOf('src');
  if (src < 0) return undefined;
  const built = [...parts.slice(0, src), 'dist', ...parts.slice(src)].join(path.sep);
  return existsSync(built) ? built : undefined;
}
