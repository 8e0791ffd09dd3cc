import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TokenBucket } from './rate-limiter.js';

describe('TokenBucket', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Resolution order of takes, recorded as they resolve. */
  function track(bucket: TokenBucket, n: number, signal?: AbortSignal): { done: number[]; all: Promise<unknown> } {
    const done: number[] = [];
    const all = Promise.allSettled(Array.from({ length: n }, (_, i) => bucket.take(signal).then(() => done.push(i))));
    return { done, all };
  }

  it('lets a burst through at once, then one token per 1/rate seconds', async () => {
    const bucket = new TokenBucket(10, 3, () => Date.now());
    const { done } = track(bucket, 6);
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toEqual([0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(200);
    expect(done).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('refills up to the burst only', async () => {
    const bucket = new TokenBucket(10, 2, () => Date.now());
    await vi.advanceTimersByTimeAsync(10_000);
    expect(bucket.available()).toBe(2);
    const { done } = track(bucket, 3);
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toEqual([0, 1]);
  });

  it('serves waiters first come, first served, and a newcomer does not jump the queue', async () => {
    const bucket = new TokenBucket(1, 1, () => Date.now());
    const order: string[] = [];
    await bucket.take();
    const a = bucket.take().then(() => order.push('a'));
    const b = bucket.take().then(() => order.push('b'));
    await vi.advanceTimersByTimeAsync(1000);
    // A token is available again only after another second; c arrives while b waits.
    const c = bucket.take().then(() => order.push('c'));
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('rejects an aborted take with the signal reason and gives its turn to the next waiter', async () => {
    const bucket = new TokenBucket(1, 1, () => Date.now());
    await bucket.take();
    const ac = new AbortController();
    const aborted = bucket.take(ac.signal);
    const next = bucket.take();
    let nextDone = false;
    void next.then(() => (nextDone = true));
    ac.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    expect(bucket.waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(nextDone).toBe(true);
    await expect(bucket.take(ac.signal)).rejects.toThrow('stop');
  });

  it('uses the injected clock for refills', async () => {
    let t = 0;
    const bucket = new TokenBucket(2, 1, () => t);
    await bucket.take();
    expect(bucket.available()).toBe(0);
    t = 250;
    expect(bucket.available()).toBeCloseTo(0.5);
    t = 500;
    expect(bucket.available()).toBeCloseTo(1);
    await bucket.take(); // resolves without any timer
    expect(bucket.available()).toBeCloseTo(0);
  });

  it('refuses nonsense rates', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0)).toThrow(RangeError);
  });
});
