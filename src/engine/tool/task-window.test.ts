import { describe, expect, it } from 'vitest';
import { TaskWindow, taskWindowFor } from './task-window.js';

describe('TaskWindow', () => {
  it('lets in at most its size, then the waiting in their order as places are left', async () => {
    const w = new TaskWindow(2);
    const order: number[] = [];
    const leaves: Array<() => void> = [];
    const entered = [1, 2, 3, 4].map((k) => w.enter().then((leave) => (order.push(k), (leaves[k] = leave))));
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual([1, 2]);
    expect(w.counts).toEqual({ inside: 2, waiting: 2 });
    leaves[2]!();
    leaves[2]!(); // twice is once
    await entered[2];
    expect(order).toEqual([1, 2, 3]);
    expect(w.counts).toEqual({ inside: 2, waiting: 1 });
    leaves[1]!();
    await entered[3];
    expect(order).toEqual([1, 2, 3, 4]);
    leaves[3]!();
    leaves[4]!();
    expect(w.counts).toEqual({ inside: 0, waiting: 0 });
  });

  it('is twice the executor\'s slots, at least 8, and none for an executor without slots', () => {
    expect(taskWindowFor({ slots: 2 })?.size).toBe(8);
    expect(taskWindowFor({ slots: 32 })?.size).toBe(64);
    expect(taskWindowFor({})).toBeUndefined();
  });
});
