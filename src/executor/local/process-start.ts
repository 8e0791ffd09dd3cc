/**
 * Starting one task process: open its stdio files, spawn it detached (its own process group), copy
 * the streams it does not redirect into log files made on first write, and report what happened.
 * Used in the Strand process itself and in the process launcher (launcher-main.ts), which runs it
 * on behalf of a large Strand process because forking a small process is much cheaper.
 *
 * Only Node built-ins here: the launcher loads this module and should stay small.
 */
import { spawn } from 'node:child_process';
import { close, existsSync, open, write } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fsPath, shownName } from '../../staging/raw-names.js';
import { signalGroup } from './process-group.js';

/** What to start. Paths are absolute; plain data so it can cross a process boundary. */
export interface LaunchRequest {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** File to read stdin from; none means no stdin. */
  stdin?: string;
  /** Files to send stdout and stderr to; an absent one is copied into `<logDir>/stdout.log` or `stderr.log`. */
  stdout?: string;
  stderr?: string;
  logDir: string;
  /** A directory whose absence explains ENOENT better than "command not found". */
  workDir?: string;
  /**
   * A command to run after the task's process group is killed because the Strand process that
   * owned it is gone, e.g. `podman rm -f <name>`: a container outlives its killed runtime client.
   */
  cleanup?: string[];
}

/** What happened to a launch: `started` then `exited`, or `failed` alone. */
export type LaunchEvent =
  | { type: 'started'; pid: number }
  | { type: 'failed'; message: string; cancelled?: boolean }
  | { type: 'exited'; code: number | null; signal: NodeJS.Signals | null };

export interface LaunchHandle {
  /** The launcher's number for the task (launcher.ts), for a task that is to follow it. */
  readonly launchId?: number;
  /** Before the process started: do not start it (a `failed` event with `cancelled` follows). */
  cancel(): void;
}

/** How long the pipes of an exited task may stay open (held by a process that left its group). */
const PIPE_GRACE_MS = 2000;
/** Bytes written to a log file but not yet on disk before the pipe is paused. */
const LOG_HIGH_WATER = 1024 * 1024;

type Stdio = ['ignore' | number, number | 'pipe', number | 'pipe'];

/**
 * Start `req`; `emit` gets its events. `exited` comes once the log pipes are drained into their
 * files, so the logs are complete when the caller reads them.
 */
export function startProcess(req: LaunchRequest, emit: (e: LaunchEvent) => void, onGone?: () => void): LaunchHandle {
  let cancelled = false;
  // `onGone`: the process has exited or will never start (sooner than `exited`, which waits for the
  // logs): the launcher starts a task waiting for this one's place then (launcher-main.ts).
  let gone = false;
  const goneOnce = () => {
    if (!gone && onGone) {
      gone = true;
      onGone();
    }
  };
  const inner = emit;
  emit = (e) => {
    if (e.type === 'failed') goneOnce();
    inner(e);
  };
  // The stdio files are opened off the event loop (creating files is slow on a busy file system).
  void openStdio(req)
    .catch(toError)
    .then((r) => {
      if (cancelled) {
        if (Array.isArray(r)) closeAll(r[1]);
        emit({ type: 'failed', message: 'cancelled before it started', cancelled: true });
      } else if (!Array.isArray(r)) emit({ type: 'failed', message: r.message });
      else spawnNow(req, r[0], r[1], emit, goneOnce);
    });
  return {
    cancel: () => {
      cancelled = true;
    },
  };
}

/**
 * Open stdin and the stdout/stderr files the tool redirects to: the stdio array and the fds to
 * close, or the error. A stream not redirected is a pipe into `<logDir>/stdout.log` or
 * `stderr.log`, made when the task first writes to it: most tasks write nothing there, and
 * creating a directory and a file per task is much of what a short task costs.
 */
async function openStdio(req: LaunchRequest): Promise<[Stdio, number[]] | Error> {
  const fds: number[] = [];
  // stdin first: when it cannot be opened, no output file is created (or truncated).
  let inFd: 'ignore' | number = 'ignore';
  if (req.stdin !== undefined) {
    inFd = await openFd(req.stdin, 'r', 'stdin');
    fds.push(inFd);
  }
  const { stdout, stderr } = req;
  const [out, err] = await Promise.allSettled([
    stdout !== undefined ? openFd(stdout, 'w', 'stdout') : Promise.resolve('pipe' as const),
    stderr === undefined ? Promise.resolve('pipe' as const) : stderr === stdout ? Promise.resolve(undefined) : openFd(stderr, 'w', 'stderr'),
  ]);
  if (out.status === 'fulfilled' && typeof out.value === 'number') fds.push(out.value);
  if (err.status === 'fulfilled' && typeof err.value === 'number') fds.push(err.value);
  if (out.status === 'rejected' || err.status === 'rejected') {
    closeAll(fds);
    return toError(out.status === 'rejected' ? out.reason : (err as PromiseRejectedResult).reason);
  }
  return [[inFd, out.value, err.value ?? out.value], fds];
}

function spawnNow(req: LaunchRequest, stdio: Stdio, fds: number[], emit: (e: LaunchEvent) => void, onExit?: () => void): void {
  let child;
  try {
    child = spawn(req.file, req.args, { cwd: req.cwd, env: req.env, stdio, detached: true });
  } catch (err) {
    closeAll(fds);
    emit({ type: 'failed', message: `cannot start ${req.file}: ${(err as Error).message}` });
    return;
  }
  closeAll(fds); // the child has its own copies
  const logs: LazyLog[] = [];
  if (child.stdout) logs.push(new LazyLog(child.stdout, req.logDir, 'stdout.log'));
  if (child.stderr) logs.push(new LazyLog(child.stderr, req.logDir, 'stderr.log'));
  const pid = child.pid;
  child.once('error', (err: NodeJS.ErrnoException) => {
    if (pid !== undefined) return; // errors after a successful spawn do not end the task; 'exit' does
    for (const l of logs) l.abandon();
    emit({ type: 'failed', message: spawnErrorMessage(err, req) });
  });
  child.once('exit', (code, signal) => {
    onExit?.();
    // Anything the task left behind in its group goes too (it would also hold the pipes open).
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
    if (logs.length === 0) emit({ type: 'exited', code, signal });
    else void Promise.all(logs.map((l) => l.finish())).then(() => emit({ type: 'exited', code, signal }));
  });
  if (pid !== undefined) emit({ type: 'started', pid });
}

function spawnErrorMessage(err: NodeJS.ErrnoException, req: LaunchRequest): string {
  if (err.code === 'ENOENT' && req.workDir !== undefined && !existsSync(req.workDir)) return `working directory does not exist: ${req.workDir}`;
  if (err.code === 'ENOENT') return `command not found: ${req.file}`;
  if (err.code === 'EACCES') return `permission denied: ${req.file}`;
  return `cannot start ${req.file}: ${err.message}`;
}

/**
 * Log directories and files are private to the user running Strand (a tool may print what a
 * secret input gave it): made 0700 and 0600, modes a umask can only narrow.
 */
const LOG_DIR_MODE = 0o700;
const LOG_FILE_MODE = 0o600;

/** `<logRoot>` directories (grandparents of log directories) made or being made; bounded for long-lived processes. */
const logRoots = new Map<string, Promise<void>>();

/**
 * mkdir -p of a log directory `<logRoot>/<task>/<attempt>`, in as few calls as the usual case
 * allows: `<logRoot>` once, then two plain mkdirs.
 */
async function ensureLogDir(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const logRoot = path.dirname(parent);
  let root = logRoots.get(logRoot);
  if (!root) {
    if (logRoots.size >= 64) logRoots.clear();
    root = mkdir(logRoot, { recursive: true, mode: LOG_DIR_MODE }).then(() => undefined);
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
    await mkdir(dir, { recursive: true, mode: LOG_DIR_MODE });
  }
}

async function mkdirIfMissing(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: LOG_DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

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
    this.fd ??= ensureLogDir(this.dir).then(() => openFd(path.join(this.dir, this.name), 'w', this.name, LOG_FILE_MODE));
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

function openFd(file: string, flags: 'r' | 'w', what: string, mode = 0o666): Promise<number> {
  return new Promise((resolve, reject) => {
    open(fsPath(file), flags, mode, (err, fd) => {
      if (err) reject(new Error(`cannot open ${what} file ${shownName(file)}: ${err.code ?? err.message}`));
      else resolve(fd);
    });
  });
}

/** Close our copies of the stdio fds, off the event loop. */
function closeAll(fds: number[]): void {
  for (const fd of fds) close(fd, () => undefined);
  fds.length = 0;
}
