/**
 * Process groups and sessions of running tasks. Every task is spawned detached (the leader of its
 * own session and process group), so signalling `-pid` reaches the task and everything it started
 * in its group. Some of what it starts moves to a group of its own within the session (GNU
 * `timeout` does, with its command; so do shells with job control): stopping a task
 * (`signalTask`) also signals those groups, found by session id in /proc. Tasks still alive when
 * Node exits (e.g. a second Ctrl-C calls process.exit) are killed from an 'exit' hook; when this
 * process dies without one (SIGKILL), the process launcher kills them (launcher-main.ts).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { procStatFields } from './proc-stat.js';

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
 * Send `sig` to every process of the task whose session `leader` leads: its process group, and the
 * other groups of its session (Linux, from /proc: one read of each process's stat, ~15 µs each
 * here). A process that left the session (setsid: a daemon) is not reached. False when nothing was
 * signalled.
 */
export function signalTask(leader: number, sig: NodeJS.Signals, procRoot = '/proc'): boolean {
  let any = signalGroup(leader, sig);
  for (const pgid of otherGroupsOfSession(leader, procRoot)) any = signalGroup(pgid, sig) || any;
  return any;
}

/** The process groups of session `sid` other than the leader's own. */
export function otherGroupsOfSession(sid: number, procRoot = '/proc'): number[] {
  if (process.platform !== 'linux') return [];
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const groups = new Set<number>();
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const f = procStatFields(procRoot, name);
    if (!f) continue;
    const pgrp = Number(f[2]);
    if (Number(f[3]) === sid && pgrp !== sid && pgrp > 0) groups.add(pgrp);
  }
  return [...groups];
}

/**
 * Kill a task nobody can watch any more (its session's groups), then run its cleanup command (e.g. remove
 * its container, which outlives a killed runtime client) detached, so it outlives this process.
 */
export function killOrphan(pid: number, cleanup: readonly string[] | undefined): void {
  signalTask(pid, 'SIGKILL');
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
