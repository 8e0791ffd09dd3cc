/**
 * Measures what local tasks use by sampling /proc. Every task is spawned detached, the leader of a
 * session of its own, and everything it starts stays in that session unless it calls setsid (a
 * daemon): so one scan of /proc/<pid>/stat finds every process of every tracked task by its session
 * id, also those in process groups of their own (`timeout` puts itself and its command in a new
 * group; so does a shell with job control). Per task it keeps the largest sums seen of CPU time
 * (utime+stime+cutime+cstime: a child that exits and is waited for moves its time into its
 * parent's cutime, so the sum over live members only grows), resident memory (and each member's
 * VmHWM), and rchar/wchar (/proc/<pid>/io, which also takes in waited children). A sample is a
 * lower bound: what a task does after its last sample is not seen, and a task that ends before its
 * first sample is "not measured" (no usage at all, never a made-up one).
 *
 * Processes outside the tracked sessions are read once, when first seen (see `sessionOf`).
 * One timer for the whole executor; a new task gets early samples 50 and 200 ms after it starts
 * (one pending early timer, due for the task that needs a look first), then every `intervalMs`.
 * A scan leaves out tasks not yet 40 ms old that were never sampled, and when only such tasks are
 * tracked there is no scan at all: a stream of short tasks (a scatter of `echo`) would otherwise
 * pay a scan of /proc every few tasks, the largest part of what Strand spent per task. CPU time is
 * over the sampled span (`sampledSeconds`: from the start to the last sample that saw the task), so
 * CPU time / sampledSeconds is the share of a core it used. Reads are synchronous (/proc is memory,
 * not disk); see bench/usage-sampler-bench.mjs for the cost per sample.
 *
 * A container's processes are not in the session of the runtime client that started it (podman's
 * conmon forks the container's first process, which leads a session of its own), so a container
 * task is tracked by the client's pid with a way to learn the container's first process
 * (`trackProcess`, from podman's --pidfile): once it exists, its session is the one measured, from
 * its start time. (Not "conmon's first child": for a while that is the OCI runtime, in conmon's
 * session, and a loaded machine made the sampler measure conmon instead of the container.)
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { TaskUsage } from '../executor.js';
import { procStatFields } from './proc-stat.js';

interface TaskAcc {
  /** The session measured (its leader's pid); undefined until a container's first process is found. */
  sid: number | undefined;
  /** For a container: the pid of its first process, which leads the session, once known. */
  firstPid?: () => number | undefined;
  cpuTicks: number;
  rssPages: number;
  hwmKiB: number;
  rchar?: number;
  wchar?: number;
  samples: number;
  /** Scans that included the task (found or not): which early sample it is owed next. */
  looks: number;
  trackedAt: number;
  lastSeenAt: number;
}

const CLK_TCK = 100;
const PAGE_KIB = 4;
/** Early samples of a new task (ms after it starts), so short tasks are seen too. */
const EARLY_MS = [50, 200];
/** A never-sampled task younger than this is left out of a scan (it may end before the next). */
const MIN_AGE_MS = 40;

export class UsageSampler {
  /** Tracked tasks by key: the pid given to `track` or `trackChild`. */
  private readonly tasks = new Map<number, TaskAcc>();
  /**
   * Session of every process seen in the last scan: a process changes session only by setsid
   * (tasks are started that way, then stay), so only new processes and members of tracked
   * sessions are read again. A pid gone from /proc is forgotten.
   */
  private readonly sessionOf = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The pending early sample, and when it is due (performance.now()). */
  private early: { timer: NodeJS.Timeout; at: number } | undefined;
  private readonly available: boolean;
  /** Scans of /proc made so far (what a sample costs is a scan). */
  scans = 0;

  constructor(
    private readonly intervalMs = 500,
    private readonly procRoot = '/proc',
  ) {
    this.available = process.platform === 'linux' && readable(`${procRoot}/self/stat`);
  }

  /** Start measuring the session led by `leader` (a task spawned detached). */
  track(leader: number): void {
    if (!this.available) return;
    // Seen before its setsid, in the launcher's session, maybe: read it again.
    this.sessionOf.delete(leader);
    this.start(leader, { sid: leader });
  }

  /**
   * Start measuring, under `key` (for `stop`), the session of the process that `firstPid` names
   * once it can (podman's --pidfile): a container's.
   */
  trackProcess(key: number, firstPid: () => number | undefined): void {
    if (!this.available) return;
    this.start(key, { sid: undefined, firstPid });
  }

  private start(key: number, task: Pick<TaskAcc, 'sid' | 'firstPid'>): void {
    const at = performance.now();
    this.tasks.set(key, { ...task, cpuTicks: 0, rssPages: 0, hwmKiB: 0, samples: 0, looks: 0, trackedAt: at, lastSeenAt: at });
    if (!this.timer) {
      this.timer = setInterval(() => this.sample(), this.intervalMs);
      this.timer.unref();
    }
    this.armEarly(at + (EARLY_MS[0] as number));
  }

  /** Make sure a sample comes by `at` (one pending early timer, moved earlier if need be). */
  private armEarly(at: number): void {
    if (this.early && this.early.at <= at) return;
    if (this.early) clearTimeout(this.early.timer);
    const timer = setTimeout(() => {
      this.early = undefined;
      this.sample();
      this.armNextEarly();
    }, Math.max(1, at - performance.now()));
    timer.unref();
    this.early = { timer, at };
  }

  /** The next early sample a tracked task is owed (the first at 50 ms, the second at 200 ms). */
  private armNextEarly(): void {
    let due = Infinity;
    for (const acc of this.tasks.values()) {
      const owed = EARLY_MS[acc.looks];
      if (owed !== undefined) due = Math.min(due, acc.trackedAt + owed);
    }
    if (due < Infinity) this.armEarly(Math.max(due, performance.now() + 1));
  }

  /** Stop measuring `key`: what it used, or undefined when it was never sampled. */
  stop(key: number): TaskUsage | undefined {
    const acc = this.tasks.get(key);
    this.tasks.delete(key);
    if (this.tasks.size === 0) {
      this.clearTimers();
      this.sessionOf.clear();
    }
    if (!acc || acc.samples === 0) return undefined;
    return {
      cpuSeconds: acc.cpuTicks / CLK_TCK,
      peakRssMiB: Math.max(acc.rssPages * PAGE_KIB, acc.hwmKiB) / 1024,
      ...(acc.rchar !== undefined ? { rcharBytes: acc.rchar } : {}),
      ...(acc.wchar !== undefined ? { wcharBytes: acc.wchar } : {}),
      source: 'proc',
      samples: acc.samples,
      sampledSeconds: (acc.lastSeenAt - acc.trackedAt) / 1000,
    };
  }

  /** One scan of /proc, folded into every tracked task. */
  sample(): void {
    if (this.tasks.size === 0) return;
    const measured = new Map<number, TaskAcc>();
    const young = performance.now() - MIN_AGE_MS;
    for (const acc of this.tasks.values()) {
      if (acc.samples === 0 && acc.trackedAt > young) continue;
      acc.looks++;
      if (acc.sid === undefined && acc.firstPid) this.findProcess(acc, acc.firstPid());
      if (acc.sid !== undefined) measured.set(acc.sid, acc);
    }
    if (measured.size === 0) return;
    this.scans++;
    let entries: string[];
    try {
      entries = readdirSync(this.procRoot);
    } catch {
      return;
    }
    const now = new Map<number, { cpu: number; rss: number; hwm: number; rchar?: number; wchar?: number }>();
    const live = new Set<number>();
    for (const name of entries) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(name);
      live.add(pid);
      const known = this.sessionOf.get(pid);
      if (known !== undefined && !measured.has(known)) continue;
      const f = procStatFields(this.procRoot, name);
      if (!f) continue;
      const sid = Number(f[3]);
      this.sessionOf.set(pid, sid);
      if (!measured.has(sid)) continue;
      const sum = now.get(sid) ?? { cpu: 0, rss: 0, hwm: 0 };
      sum.cpu += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      sum.rss += Number(f[21]);
      const status = readText(`${this.procRoot}/${name}/status`);
      const hwm = status ? /VmHWM:\s+(\d+)/.exec(status) : null;
      if (hwm) sum.hwm = Math.max(sum.hwm, Number(hwm[1]));
      const io = readText(`${this.procRoot}/${name}/io`);
      if (io) {
        const r = /rchar:\s+(\d+)/.exec(io);
        const w = /wchar:\s+(\d+)/.exec(io);
        if (r) sum.rchar = (sum.rchar ?? 0) + Number(r[1]);
        if (w) sum.wchar = (sum.wchar ?? 0) + Number(w[1]);
      }
      now.set(sid, sum);
    }
    for (const pid of this.sessionOf.keys()) if (!live.has(pid)) this.sessionOf.delete(pid);
    const at = performance.now();
    for (const [sid, s] of now) {
      const acc = measured.get(sid)!;
      acc.samples++;
      acc.lastSeenAt = at;
      acc.cpuTicks = Math.max(acc.cpuTicks, s.cpu);
      acc.rssPages = Math.max(acc.rssPages, s.rss);
      acc.hwmKiB = Math.max(acc.hwmKiB, s.hwm);
      if (s.rchar !== undefined) acc.rchar = Math.max(acc.rchar ?? 0, s.rchar);
      if (s.wchar !== undefined) acc.wchar = Math.max(acc.wchar ?? 0, s.wchar);
    }
  }

  /**
   * The session of process `first`, measured from its start (its stat's starttime, in ticks since
   * boot), not from when the runtime client started.
   */
  private findProcess(acc: TaskAcc, first: number | undefined): void {
    if (first === undefined) return;
    const f = procStatFields(this.procRoot, first);
    if (!f) return;
    const uptime = Number(readText(`${this.procRoot}/uptime`)?.split(' ')[0]);
    acc.sid = Number(f[3]);
    const ageMs = (uptime - Number(f[19]) / CLK_TCK) * 1000;
    if (Number.isFinite(ageMs) && ageMs >= 0) acc.trackedAt = Math.max(acc.trackedAt, performance.now() - ageMs);
    this.sessionOf.delete(first);
  }

  private clearTimers(): void {
    clearInterval(this.timer);
    if (this.early) clearTimeout(this.early.timer);
    this.early = undefined;
    this.timer = undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

function readable(file: string): boolean {
  return readText(file) !== undefined;
}
