/**
 * Process groups of running tasks. Every task is spawned detached (its own session and process
 * group), so signalling `-pid` reaches the task and everything it started. Groups still alive when
 * Node exits (e.g. a second Ctrl-C calls process.exit) are killed from an 'exit' hook.
 */

const liveGroups = new Set<number>();
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

export function trackGroup(pid: number): void {
  liveGroups.add(pid);
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', killAllGroups);
  }
}

export function untrackGroup(pid: number): void {
  liveGroups.delete(pid);
}

function killAllGroups(): void {
  for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  liveGroups.clear();
}
