/**
 * Process groups of running tasks. Every task is spawned detached (its own session and process
 * group), so signalling `-pid` reaches the task and everything it started. Groups still alive when
 * Node exits (e.g. a second Ctrl-C calls process.exit) are killed from an 'exit' hook; when this
 * process dies without one (SIGKILL), the process launcher kills them (launcher-main.ts).
 */
import { spawn } from 'node:child_process';

/** pid -> the task's cleanup command, if any. */
const liveGroups = new Map<number, string[] | undefined>();
let hookInstalled = false;

/** Send `sig` to the whole process group led by `pid`; false when the group is gone. */
export function signalGroup(pid: number, sig: NodeJS.Signals): boolean {
  // The group is usually gone already (every task's group is signalled once it exits): skip the
  // stack trace of the error process.kill throws then, which costs more than the kill itself.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    return false;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Kill the group of a task nobody can watch any more, then run its cleanup command (e.g. remove
 * its container, which outlives a killed runtime client) detached, so it outlives this process.
 */
export function killOrphan(pid: number, cleanup: readonly string[] | undefined): void {
  signalGroup(pid, 'SIGKILL');
  if (cleanup?.[0]) runDetached(cleanup);
}

export function trackGroup(pid: number, cleanup?: readonly string[]): void {
  liveGroups.set(pid, cleanup ? [...cleanup] : undefined);
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', killAllGroups);
  }
}

export function untrackGroup(pid: number): void {
  liveGroups.delete(pid);
}

function killAllGroups(): void {
  for (const [pid, cleanup] of liveGroups) killOrphan(pid, cleanup);
  liveGroups.clear();
}

/**
 * Start `argv` in its own session and do not wait for it (it outlives this process). Best effort:
 * used on kill paths (e.g. `podman rm --force`), where nothing more can be done if it fails.
 */
export function runDetached(argv: readonly string[]): void {
  try {
    const p = spawn(argv[0] as string, argv.slice(1), { stdio: 'ignore', detached: true });
    p.on('error', () => undefined);
    p.unref();
  } catch {
    // nothing more to do
  }
}
