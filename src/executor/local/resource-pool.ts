/**
 * Admission for the local executor: a pool of cores and RAM handed out first come, first served.
 *
 * Strict FIFO: a task waits until everything queued before it has started, so a big task is never
 * starved by a stream of small ones. Requests larger than the pool are clamped to the pool size,
 * so such a task still runs (alone). Queue operations are O(1) amortised, so thousands of queued
 * tasks cost nothing noticeable.
 */

export interface Grant {
  readonly cores: number;
  readonly ramMiB: number;
}

interface Waiter<T> {
  readonly need: Grant;
  readonly onGranted: () => void;
  readonly tag: T | undefined;
  cancelled: boolean;
}

export class ResourcePool<T = unknown> {
  private freeCores: number;
  private freeRam: number;
  private readonly queue: Waiter<T>[] = [];
  private head = 0;

  constructor(
    readonly cores: number,
    readonly ramMiB: number,
  ) {
    if (!(cores >= 1)) throw new RangeError(`resource pool needs at least 1 core (got ${cores})`);
    if (!(ramMiB > 0)) throw new RangeError(`resource pool needs some RAM (got ${ramMiB} MiB)`);
    this.freeCores = cores;
    this.freeRam = ramMiB;
  }

  /** What a task asking for `req` takes from this pool: at least 1 core, at most the whole pool. */
  fit(req: { cores?: number; ramMiB?: number }): Grant {
    const c = Number.isFinite(req.cores) ? Math.ceil(req.cores as number) : 1;
    const r = Number.isFinite(req.ramMiB) ? Math.ceil(req.ramMiB as number) : 0;
    return { cores: Math.min(Math.max(1, c), this.cores), ramMiB: Math.min(Math.max(0, r), this.ramMiB) };
  }

  /** Tasks waiting for resources (cancelled ones excluded once they reach the queue head). */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  get available(): Grant {
    return { cores: this.freeCores, ramMiB: this.freeRam };
  }

  /**
   * Ask for `need` (already passed through fit()). `onGranted` runs when the resources are taken —
   * synchronously when they are free and nobody is queued. Returns a function that withdraws the
   * request if it has not been granted yet (and does nothing afterwards).
   */
  acquire(need: Grant, onGranted: () => void, tag?: T): () => void {
    if (this.head === this.queue.length && this.fits(need)) {
      this.take(need);
      onGranted();
      return noop;
    }
    const w: Waiter<T> = { need, onGranted, tag, cancelled: false };
    this.queue.push(w);
    return () => {
      if (w.cancelled) return;
      w.cancelled = true;
      // A cancelled head may have been blocking smaller requests behind it.
      this.drain();
    };
  }

  /** Give resources back and start whatever now fits, in order. */
  release(g: Grant): void {
    this.freeCores += g.cores;
    this.freeRam += g.ramMiB;
    this.drain();
  }

  /**
   * The first task in the queue, taken out of it without resources, if it needs no more than `g`:
   * a grant about to be given back that it is to inherit (the local executor's standby start). Its
   * `onGranted` is not called. The queue's order holds: only its head can be taken.
   */
  takeHeadWithin(g: Grant, accept: (tag: T) => boolean = () => true): T | undefined {
    while (this.head < this.queue.length && (this.queue[this.head] as Waiter<T>).cancelled) this.head++;
    const w = this.queue[this.head];
    if (!w || w.need.cores > g.cores || w.need.ramMiB > g.ramMiB || w.tag === undefined || !accept(w.tag)) return undefined;
    this.head++;
    w.cancelled = true;
    return w.tag;
  }

  private fits(g: Grant): boolean {
    return g.cores <= this.freeCores && g.ramMiB <= this.freeRam;
  }

  private take(g: Grant): void {
    this.freeCores -= g.cores;
    this.freeRam -= g.ramMiB;
  }

  private drain(): void {
    while (this.head < this.queue.length) {
      const w = this.queue[this.head] as Waiter<T>;
      if (w.cancelled) {
        this.head++;
        continue;
      }
      if (!this.fits(w.need)) break;
      this.head++;
      w.cancelled = true; // granted: a later withdraw is a no-op
      this.take(w.need);
      w.onGranted();
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}

function noop(): void {}
