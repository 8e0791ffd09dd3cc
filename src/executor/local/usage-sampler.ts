/**
 * Measures what local tasks use by sampling /proc: every task is its own process group, so one
 * scan of /proc/<pid>/stat finds every process of every tracked group. Per group it keeps the
 * largest sums seen of CPU time (utime+stime+cutime+cstime: a child that exits and is waited for
 * moves its time into its parent's cutime, so the sum over live members only grows), resident
 * memory (and each member's VmHWM), and rchar/wchar (/proc/<pid>/io, which also takes in waited
 * children). A sample is a lower bound: what a task does after its last sample is not seen, and a
 * task that ends before its first sample is "not measured" (no usage at all, never a made-up one).
 *
 * Processes outside the tracked groups are read once, when first seen (their group does not change).
 * One timer for the whole executor; a new group gets early samples at most 50 and 200 ms after it starts
 * (one pending early sample of each kind, shared by the groups that start meanwhile, so a burst
 * of short tasks costs a few scans, not two per task), then every `intervalMs`. CPU time is over the sampled span (`sampledSeconds`: from the start to the
 * last sample that saw the group), so CPU time / sampledSeconds is the share of a core it used. Reads are synchronous (/proc is memory, not disk); see
 * bench/usage-sampler-bench.mjs for the cost per sample.
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { TaskUsage } from '../executor.js';

interface GroupAcc {
  cpuTicks: number;
  rssPages: number;
  hwmKiB: number;
  rchar?: number;
  wchar?: number;
  samples: number;
  trackedAt: number;
  lastSeenAt: number;
}

const CLK_TCK = 100;
const PAGE_KIB = 4;
/** Early samples of a new group (ms after it starts), so short tasks are seen too. */
const EARLY_MS = [50, 200];

export class UsageSampler {
  private readonly groups = new Map<number, GroupAcc>();
  /**
   * Process group of every process seen in the last scan: a process's group is fixed once it has
   * started (tasks start detached, in a group of their own), so only new processes and members
   * of tracked groups are read again. A pid gone from /proc is forgotten.
   */
  private readonly groupOf = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Pending early samples by offset: at most one each, shared by the groups that start meanwhile. */
  private readonly early = new Map<number, NodeJS.Timeout>();
  private readonly available: boolean;

  constructor(
    private readonly intervalMs = 500,
    private readonly procRoot = '/proc',
  ) {
    this.available = process.platform === 'linux' && readable(`${procRoot}/self/stat`);
  }

  /** Start measuring the process group led by `pgid`. */
  track(pgid: number): void {
    if (!this.available) return;
    // Seen before it left the launcher's group, maybe: read it again.
    this.groupOf.delete(pgid);
    const at = performance.now();
    this.groups.set(pgid, { cpuTicks: 0, rssPages: 0, hwmKiB: 0, samples: 0, trackedAt: at, lastSeenAt: at });
    if (!this.timer) {
      this.timer = setInterval(() => this.sample(), this.intervalMs);
      this.timer.unref();
    }
    for (const ms of EARLY_MS) {
      if (this.early.has(ms)) continue;
      const timer = setTimeout(() => {
        this.early.delete(ms);
        this.sample();
      }, ms);
      timer.unref();
      this.early.set(ms, timer);
    }
  }

  /** Stop measuring `pgid`: what it used, or undefined when it was never sampled. */
  stop(pgid: number): TaskUsage | undefined {
    const acc = this.groups.get(pgid);
    this.groups.delete(pgid);
    if (this.groups.size === 0) {
      this.clearTimers();
      this.groupOf.clear();
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

  /** One scan of /proc, folded into every tracked group. */
  sample(): void {
    if (this.groups.size === 0) return;
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
      const known = this.groupOf.get(pid);
      if (known !== undefined && !this.groups.has(known)) continue;
      const stat = readText(`${this.procRoot}/${name}/stat`);
      if (stat === undefined) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // f[0] is field 3 (state): pgrp is field 5, utime..cstime 14..17, rss 24.
      const pgrp = Number(f[2]);
      this.groupOf.set(pid, pgrp);
      if (!this.groups.has(pgrp)) continue;
      const sum = now.get(pgrp) ?? { cpu: 0, rss: 0, hwm: 0 };
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
      now.set(pgrp, sum);
    }
    for (const pid of this.groupOf.keys()) if (!live.has(pid)) this.groupOf.delete(pid);
    const at = performance.now();
    for (const [pgrp, s] of now) {
      const acc = this.groups.get(pgrp)!;
      acc.samples++;
      acc.lastSeenAt = at;
      acc.cpuTicks = Math.max(acc.cpuTicks, s.cpu);
      acc.rssPages = Math.max(acc.rssPages, s.rss);
      acc.hwmKiB = Math.max(acc.hwmKiB, s.hwm);
      if (s.rchar !== undefined) acc.rchar = Math.max(acc.rchar ?? 0, s.rchar);
      if (s.wchar !== undefined) acc.wchar = Math.max(acc.wchar ?? 0, s.wchar);
    }
  }

  private clearTimers(): void {
    clearInterval(this.timer);
    for (const t of this.early.values()) clearTimeout(t);
    this.early.clear();
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
