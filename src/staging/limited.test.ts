import { describe, expect, it } from 'vitest';
import { forEachLimited, mapLimited } from './limited.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('mapLimited', () => {
  it('keeps at most `width` going, keeps the order of results, and goes through every item', async () => {
    let now = 0;
    let most = 0;
    const out = await mapLimited(Array.from({ length: 100 }, (_, i) => i), async (x) => {
      most = Math.max(most, ++now);
      await tick();
      now--;
      return x * 2;
    }, 7);
    expect(most).toBe(7);
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
  });

  it('after a failure starts no more, lets the running ones end, and throws the first error', async () => {
    const started: number[] = [];
    let running = 0;
    const err = await forEachLimited(Array.from({ length: 50 }, (_, i) => i), async (x) => {
      started.push(x);
      running++;
      await tick();
      running--;
      if (x === 3) throw new Error('three');
    }, 4).catch((e: unknown) => e);
    expect((err as Error).message).toBe('three');
    expect(running).toBe(0);
    expect(started.length).toBeLessThan(10);
  });
});
