import { describe, expect, it } from 'vitest';
import { ResourcePool } from './resource-pool.js';

describe('ResourcePool', () => {
  it('clamps requests to at least one core and at most the pool', () => {
    const pool = new ResourcePool(4, 1000);
    expect(pool.fit({ cores: 0.5, ramMiB: 10.2 })).toEqual({ cores: 1, ramMiB: 11 });
    expect(pool.fit({ cores: 16, ramMiB: 5000 })).toEqual({ cores: 4, ramMiB: 1000 });
    expect(pool.fit({})).toEqual({ cores: 1, ramMiB: 0 });
  });

  it('grants at once when free, queues otherwise, and starts queued requests in order on release', () => {
    const pool = new ResourcePool(2, 100);
    const order: string[] = [];
    pool.acquire({ cores: 2, ramMiB: 10 }, () => order.push('a'));
    pool.acquire({ cores: 1, ramMiB: 10 }, () => order.push('b'));
    pool.acquire({ cores: 1, ramMiB: 10 }, () => order.push('c'));
    expect(order).toEqual(['a']);
    expect(pool.waiting).toBe(2);
    pool.release({ cores: 2, ramMiB: 10 });
    expect(order).toEqual(['a', 'b', 'c']);
    expect(pool.available).toEqual({ cores: 0, ramMiB: 80 });
  });

  it('is FIFO: a small request does not overtake a big one waiting at the head', () => {
    const pool = new ResourcePool(2, 100);
    const order: string[] = [];
    pool.acquire({ cores: 1, ramMiB: 0 }, () => order.push('small-1'));
    pool.acquire({ cores: 2, ramMiB: 0 }, () => order.push('big'));
    pool.acquire({ cores: 1, ramMiB: 0 }, () => order.push('small-2'));
    expect(order).toEqual(['small-1']); // one core free, but big is first in line
    pool.release({ cores: 1, ramMiB: 0 });
    expect(order).toEqual(['small-1', 'big']);
    pool.release({ cores: 2, ramMiB: 0 });
    expect(order).toEqual(['small-1', 'big', 'small-2']);
  });

  it('withdrawing a queued request skips it and unblocks what is behind it', () => {
    const pool = new ResourcePool(2, 100);
    const order: string[] = [];
    pool.acquire({ cores: 1, ramMiB: 0 }, () => order.push('a'));
    const withdrawBig = pool.acquire({ cores: 2, ramMiB: 0 }, () => order.push('big'));
    pool.acquire({ cores: 1, ramMiB: 0 }, () => order.push('c'));
    withdrawBig();
    expect(order).toEqual(['a', 'c']);
    withdrawBig(); // idempotent
    pool.release({ cores: 2, ramMiB: 0 });
    expect(order).toEqual(['a', 'c']);
    expect(pool.available.cores).toBe(2);
  });

  it('handles thousands of queued requests and ends with everything released', () => {
    const pool = new ResourcePool(3, 100);
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    const granted: (() => void)[] = [];
    for (let i = 0; i < 5000; i++) {
      pool.acquire({ cores: 1, ramMiB: 1 }, () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        granted.push(() => {
          running--;
          done++;
          pool.release({ cores: 1, ramMiB: 1 });
        });
      });
    }
    while (granted.length > 0) granted.shift()?.();
    expect(done).toBe(5000);
    expect(maxRunning).toBe(3);
    expect(pool.available).toEqual({ cores: 3, ramMiB: 100 });
    expect(pool.waiting).toBe(0);
  });
});
