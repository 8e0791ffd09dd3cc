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

/**
 * The room of one namespace as this process spends it: what every run's admission has let in
 * there, and what the namespace has free. Runs of one process (a server, a leader of several runs)
 * share it, so two runs do not both spend the same quota; a run alone has a room of its own.
 */
export class NamespaceRoom {
  cpu = 0;
  mem = 0;
  limCpu = 0;
  limMem = 0;
  count = 0;
  private capacity: Capacity = {};
  private readonly members: Admission[] = [];

  get free(): Capacity {
    return this.capacity;
  }

  /**
   * What a run read from the namespace's quotas: free room that does not count what this process
   * has in flight there (the quota's `used` already includes its pods), so that is added back.
   */
  setCapacity(read: Capacity): void {
    const plus = (v: number | undefined, own: number) => (v === undefined ? undefined : v + own);
    const pods = plus(read.pods, this.count);
    const jobs = plus(read.jobs, this.count);
    const cpuMilli = plus(read.cpuMilli, this.cpu);
    const memMiB = plus(read.memMiB, this.mem);
    const limitsCpuMilli = plus(read.limitsCpuMilli, this.limCpu);
    const limitsMemMiB = plus(read.limitsMemMiB, this.limMem);
    this.capacity = {
      ...(cpuMilli !== undefined ? { cpuMilli } : {}),
      ...(memMiB !== undefined ? { memMiB } : {}),
      ...(limitsCpuMilli !== undefined ? { limitsCpuMilli } : {}),
      ...(limitsMemMiB !== undefined ? { limitsMemMiB } : {}),
      ...(pods !== undefined ? { pods } : {}),
      ...(jobs !== undefined ? { jobs } : {}),
      ...(read.source ? { source: read.source } : {}),
    };
    this.wake(undefined);
  }

  fits(d: Demand): boolean {
    if (this.count === 0) return true; // always let one through; a quota refusal then waits and retries
    const c = this.capacity;
    if (c.cpuMilli !== undefined && this.cpu + d.cpuMilli > c.cpuMilli) return false;
    if (c.memMiB !== undefined && this.mem + d.memMiB > c.memMiB) return false;
    if (c.limitsCpuMilli !== undefined && this.limCpu + (d.limitCpuMilli ?? 0) > c.limitsCpuMilli) return false;
    if (c.limitsMemMiB !== undefined && this.limMem + (d.limitMemMiB ?? 0) > c.limitsMemMiB) return false;
    if (c.pods !== undefined && this.count + 1 > c.pods) return false;
    if (c.jobs !== undefined && this.count + 1 > c.jobs) return false;
    return true;
  }

  take(d: Demand, sign: 1 | -1): void {
    this.count += sign;
    this.cpu += sign * d.cpuMilli;
    this.mem += sign * d.memMiB;
    this.limCpu += sign * (d.limitCpuMilli ?? 0);
    this.limMem += sign * (d.limitMemMiB ?? 0);
  }

  join(a: Admission): void {
    if (!this.members.includes(a)) this.members.push(a);
  }

  leave(a: Admission): void {
    const i = this.members.indexOf(a);
    if (i >= 0) this.members.splice(i, 1);
  }

  /** Room was freed by `from` (or the capacity changed): the other runs' queues first, then its own. */
  wake(from: Admission | undefined): void {
    const i = from ? this.members.indexOf(from) : -1;
    const order = i < 0 ? [...this.members] : [...this.members.slice(i + 1), ...this.members.slice(0, i + 1)];
    for (const a of order) a.pump();
  }
}

const rooms = new Map<string, NamespaceRoom>();

/** The room of `namespace` on `server` that every run of this process shares. */
export function sharedRoom(server: string, namespace: string): NamespaceRoom {
  const key = `${server}\n${namespace}`;
  let room = rooms.get(key);
  if (!room) {
    room = new NamespaceRoom();
    rooms.set(key, room);
  }
  return room;
}

export class Admission {
  private inFlight = 0;
  private readonly queue: Waiter[] = [];
  /** Highest number of tasks in flight at once. */
  peak = 0;

  constructor(
    readonly maxParallel: number,
    capacity: Capacity = {},
    private readonly room: NamespaceRoom = new NamespaceRoom(),
  ) {
    room.join(this);
    if (Object.keys(capacity).length > 0) room.setCapacity(capacity);
  }

  setCapacity(c: Capacity): void {
    this.room.setCapacity(c);
    this.pump();
  }

  /** This run is over: the room stops waking it. */
  close(): void {
    this.room.leave(this);
  }

  /** Why `d` can never be admitted, or undefined when it can. */
  neverFits(d: Demand): string | undefined {
    const c = this.room.free;
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
    return this.room.fits(d);
  }

  /** Admit from the head of the queue while there is room (the room calls it when room is freed). */
  pump(): void {
    for (;;) {
      const head = this.queue[0];
      if (!head || !this.fits(head.demand)) return;
      this.queue.shift();
      this.inFlight++;
      this.peak = Math.max(this.peak, this.inFlight);
      this.room.take(head.demand, 1);
      let released = false;
      head.resolve(() => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.room.take(head.demand, -1);
        this.room.wake(this);
      });
    }
  }
}
