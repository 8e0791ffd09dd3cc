import { spawn } from 'node:child_process';

/**
 * Process groups of running tasks. Every task is spawned detached (its own session and process
 * group), so signalling `-pid` reaches the task and everything it started. Groups still alive when
 * Node exits (e.g. a second Ctrl-C calls process.exit) are killed from an 'exit' hook.
 */

/** Live groups, with the command that cleans up what killing the group does not reach. */
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

export function trackGroup(pid: number, cleanup?: string[]): void {
  liveGroups.set(pid, cleanup);
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', killAllGroups);
  }
}

export function untrackGroup(pid: number): void {
  liveGroups.delete(pid);
}

function killAllGroups(): void {
  for (const [pid, cleanup] of liveGroups) {
    signalGroup(pid, 'SIGKILL');
    if (cleanup) runDetached(cleanup);
  }
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
