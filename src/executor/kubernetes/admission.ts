/**
 * Admission: how many tasks may be in flight at once. At most `maxParallel` Jobs, and the sum of
 * their requests within what the namespace's ResourceQuotas leave free when the run starts.
 * First come, first served, so a big task is not starved by a stream of small ones.
 */
import type { V1ResourceQuota } from '@kubernetes/client-node';
import { quantityToMiB } from './settings.js';

export interface Demand {
  cpuMilli: number;
  memMiB: number;
  /** The pod's limits, when it has them (quotas on limits.cpu / limits.memory count these). */
  limitCpuMilli?: number;
  limitMemMiB?: number;
}

/** What the run may use at once; undefined fields are unlimited. */
export interface Capacity {
  cpuMilli?: number;
  memMiB?: number;
  /** Room for the sum of limits (quota keys limits.cpu / limits.memory). */
  limitsCpuMilli?: number;
  limitsMemMiB?: number;
  pods?: number;
  jobs?: number;
  /** Human description of where the limits come from. */
  source?: string;
}

/** `500m` -> 500, `2` -> 2000, `1.5` -> 1500. */
export function cpuToMilli(q: string | number): number | undefined {
  if (typeof q === 'number') return q * 1000;
  // `2`, `250m`, and as metrics-server writes rates, `12345678n` or `15u`.
  const m = /^(\d+(?:\.\d+)?(?:e[+-]?\d+)?)(n|u|m)?$/.exec(q.trim());
  if (!m) return undefined;
  const perMilli = { n: 1e-6, u: 1e-3, m: 1 }[m[2] as 'n' | 'u' | 'm'] ?? 1000;
  return Number(m[1]) * perMilli;
}

const min = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** Free room under every quota of the namespace: hard minus used, the tightest of all quotas. */
export function capacityFromQuotas(quotas: readonly V1ResourceQuota[]): Capacity {
  const cap: Capacity = {};
  const names: string[] = [];
  for (const q of quotas) {
    const hard = q.status?.hard ?? q.spec?.hard ?? {};
    const used = q.status?.used ?? {};
    const free = (key: string, parse: (s: string) => number | undefined): number | undefined => {
      const h = hard[key];
      if (h === undefined) return undefined;
      const hv = parse(String(h));
      if (hv === undefined) return undefined;
      const uv = used[key] !== undefined ? (parse(String(used[key])) ?? 0) : 0;
      return Math.max(0, hv - uv);
    };
    const count = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined);
    cap.cpuMilli = min(cap.cpuMilli, min(free('requests.cpu', cpuToMilli), free('cpu', cpuToMilli)));
    cap.memMiB = min(cap.memMiB, min(free('requests.memory', quantityToMiB), free('memory', quantityToMiB)));
    cap.limitsCpuMilli = min(cap.limitsCpuMilli, free('limits.cpu', cpuToMilli));
    cap.limitsMemMiB = min(cap.limitsMemMiB, free('limits.memory', quantityToMiB));
    cap.pods = min(cap.pods, free('pods', count));
    cap.jobs = min(cap.jobs, free('count/jobs.batch', count));
    names.push(q.metadata?.name ?? '?');
  }
  if (names.length > 0) cap.source = `ResourceQuota ${names.join(', ')}`;
  return cap;
}

interface Waiter {
  demand: Demand;
  resolve: (release: () => void) => void;
  reject: (err: unknown) => void;
}

export class Admission {
  private inFlight = 0;
  private cpu = 0;
  private mem = 0;
  private limCpu = 0;
  private limMem = 0;
  private readonly queue: Waiter[] = [];
  /** Highest number of tasks in flight at once. */
  peak = 0;

  constructor(
    readonly maxParallel: number,
    private capacity: Capacity = {},
  ) {}

  setCapacity(c: Capacity): void {
    this.capacity = c;
    this.pump();
  }

  /** Why `d` can never be admitted, or undefined when it can. */
  neverFits(d: Demand): string | undefined {
    const c = this.capacity;
    if (c.cpuMilli !== undefined && d.cpuMilli > c.cpuMilli) {
      return `it requests ${d.cpuMilli / 1000} CPU but ${c.source ?? 'the quota'} leaves ${c.cpuMilli / 1000} CPU free`;
    }
    if (c.memMiB !== undefined && d.memMiB > c.memMiB) {
      return `it requests ${Math.ceil(d.memMiB)}Mi memory but ${c.source ?? 'the quota'} leaves ${Math.floor(c.memMiB)}Mi free`;
    }
    if (c.limitsCpuMilli !== undefined && d.limitCpuMilli !== undefined && d.limitCpuMilli > c.limitsCpuMilli) {
      return `its CPU limit is ${d.limitCpuMilli / 1000} CPU but ${c.source ?? 'the quota'} leaves ${c.limitsCpuMilli / 1000} CPU of limits.cpu free`;
    }
    if (c.limitsMemMiB !== undefined && d.limitMemMiB !== undefined && d.limitMemMiB > c.limitsMemMiB) {
      return `its memory limit is ${Math.ceil(d.limitMemMiB)}Mi but ${c.source ?? 'the quota'} leaves ${Math.floor(c.limitsMemMiB)}Mi of limits.memory free`;
    }
    if (c.pods === 0 || c.jobs === 0) return `${c.source ?? 'the quota'} allows no more pods or Jobs in this namespace`;
    return undefined;
  }

  /** Wait for room; resolves a release function. Rejects with the signal's reason when aborted. */
  acquire(d: Demand, signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const w: Waiter = { demand: d, resolve, reject };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(w);
          if (i >= 0) {
            this.queue.splice(i, 1);
            reject(signal.reason);
          }
        },
        { once: true },
      );
      this.queue.push(w);
      this.pump();
    });
  }

  get running(): number {
    return this.inFlight;
  }

  private fits(d: Demand): boolean {
    if (this.inFlight >= this.maxParallel) return false;
    if (this.inFlight === 0) return true; // always let one through; a quota refusal then waits and retries
    const c = this.capacity;
    if (c.cpuMilli !== undefined && this.cpu + d.cpuMilli > c.cpuMilli) return false;
    if (c.memMiB !== undefined && this.mem + d.memMiB > c.memMiB) return false;
    if (c.limitsCpuMilli !== undefined && this.limCpu + (d.limitCpuMilli ?? 0) > c.limitsCpuMilli) return false;
    if (c.limitsMemMiB !== undefined && this.limMem + (d.limitMemMiB ?? 0) > c.limitsMemMiB) return false;
    if (c.pods !== undefined && this.inFlight + 1 > c.pods) return false;
    if (c.jobs !== undefined && this.inFlight + 1 > c.jobs) return false;
    return true;
  }

  private pump(): void {
    for (;;) {
      const head = this.queue[0];
      if (!head || !this.fits(head.demand)) return;
      this.queue.shift();
      this.inFlight++;
      this.peak = Math.max(this.peak, this.inFlight);
      this.cpu += head.demand.cpuMilli;
      this.mem += head.demand.memMiB;
      this.limCpu += head.demand.limitCpuMilli ?? 0;
      this.limMem += head.demand.limitMemMiB ?? 0;
      let released = false;
      head.resolve(() => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.cpu -= head.demand.cpuMilli;
        this.mem -= head.demand.memMiB;
        this.limCpu -= head.demand.limitCpuMilli ?? 0;
        this.limMem -= head.demand.limitMemMiB ?? 0;
        this.pump();
      });
    }
  }
}
