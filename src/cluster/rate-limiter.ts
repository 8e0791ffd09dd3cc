/**
 * A client-side token bucket for API requests (like client-go's QPS/Burst): `burst` tokens at
 * most, refilled at `ratePerSecond`. Waiters are served first come, first served.
 */

/** Tolerance for floating-point refill arithmetic. */
const EPS = 1e-9;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly waiters: Waiter[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`TokenBucket: ratePerSecond must be positive, got ${ratePerSecond}`);
    if (!(burst >= 1)) throw new RangeError(`TokenBucket: burst must be at least 1, got ${burst}`);
    this.tokens = burst;
    this.last = now();
  }

  /** Resolves when a token is available (and takes it); rejects with the signal's reason on abort. */
  take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as unknown);
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1 - EPS) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason as unknown);
          this.schedule();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      this.schedule();
    });
  }

  /** Tokens available now (fractional), for tests and diagnostics. */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Waiters queued. */
  get waiting(): number {
    return this.waiters.length;
  }

  private refill(): void {
    const t = this.now();
    const elapsed = Math.max(0, t - this.last) / 1000;
    this.last = t;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
  }

  /** Hands tokens to waiters in order; arms a timer for the next token when some still wait. */
  private drain(): void {
    this.timer = undefined;
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= 1 - EPS) {
      const w = this.waiters.shift()!;
      this.tokens -= 1;
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.resolve();
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) {
      if (this.waiters.length > 0) return;
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.waiters.length === 0) return;
    this.refill();
    const missing = Math.max(0, 1 - this.tokens);
    const ms = Math.ceil((missing / this.ratePerSecond) * 1000);
    this.timer = setTimeout(() => this.drain(), ms);
  }
}

/**
 * The token buckets of this process, one per API server, namespace, rate and burst: every run a
 * process makes in one namespace (a server running several members' runs, two runs in one test)
 * shares one limit, as one client-go client would, instead of each run taking the whole rate.
 */
const shared = new Map<string, TokenBucket>();

export function sharedBucket(server: string, namespace: string, ratePerSecond: number, burst: number): TokenBucket {
  const key = `${server}\n${namespace}\n${ratePerSecond}\n${burst}`;
  let bucket = shared.get(key);
  if (!bucket) {
    bucket = new TokenBucket(ratePerSecond, burst);
    shared.set(key, bucket);
  }
  return bucket;
}
