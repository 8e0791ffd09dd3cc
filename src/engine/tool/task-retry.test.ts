import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../errors.js';
import type { TaskResult } from '../../executor/executor.js';
import { decideRetry, notRetriable, retriesFor, retryDelayMs, TASK_RETRY_HINT } from './task-retry.js';

const exit = (code: number): TaskResult => ({ reason: 'completed', exitCode: code, message: `exited ${code}` });
const ended = (reason: TaskResult['reason'], extra: Partial<TaskResult> = {}): TaskResult => ({ reason, exitCode: null, message: reason, ...extra });
const tool = { permanentFailCodes: [] as number[] };
const waits = { backoffMs: 1000, maxBackoffMs: 30_000 };

describe('which failures are retried', () => {
  it('retries what another try may mend: a non-zero exit, a time limit, a kill, memory, a lost node', () => {
    expect(notRetriable(exit(1), tool)).toBeUndefined();
    for (const r of ['timed_out', 'oom_killed', 'evicted', 'lost'] as const) expect(notRetriable(ended(r), tool)).toBeUndefined();
    expect(notRetriable(ended('failed', { signal: 'SIGKILL' }), tool)).toBeUndefined();
  });

  it('never retries what cannot change: permanentFailCodes, 126/127, a task that could not start, a missing image', () => {
    expect(notRetriable(exit(5), { permanentFailCodes: [5] })).toMatch(/permanentFailCodes/);
    expect(notRetriable(exit(126), tool)).toMatch(/cannot be executed/);
    expect(notRetriable(exit(127), tool)).toMatch(/not found/);
    expect(notRetriable(ended('failed'), tool)).toMatch(/could not be run/);
    expect(notRetriable(ended('image_unavailable'), tool)).toMatch(/image/);
    expect(notRetriable(ended('unschedulable'), tool)).toMatch(/fits nowhere/);
    expect(notRetriable(ended('cancelled'), tool)).toMatch(/cancelled/);
  });
});

describe('decideRetry', () => {
  it('gives `retries` more attempts, then stops saying how many it had', () => {
    expect(decideRetry(exit(1), 1, 2, tool, waits, false, () => 0)).toEqual({ retry: true, delayMs: 1000, of: 2 });
    expect(decideRetry(exit(1), 2, 2, tool, waits, false, () => 0)).toEqual({ retry: true, delayMs: 2000, of: 2 });
    expect(decideRetry(exit(1), 3, 2, tool, waits)).toEqual({ retry: false, why: 'it had 2 retries' });
  });

  it('without retries nothing is retried and nothing is said, except temporaryFailCodes (one retry, as before)', () => {
    expect(decideRetry(exit(1), 1, 0, tool, waits)).toEqual({ retry: false });
    expect(decideRetry(exit(1), 1, 0, { permanentFailCodes: [1] }, waits)).toEqual({ retry: false });
    expect(decideRetry(exit(75), 1, 0, tool, waits, true, () => 0)).toMatchObject({ retry: true, of: 1 });
    expect(decideRetry(exit(75), 2, 0, tool, waits, true)).toMatchObject({ retry: false });
    // A code in both lists is a temporary failure (the reference runner's order).
    expect(decideRetry(exit(75), 1, 0, { permanentFailCodes: [75] }, waits, true)).toMatchObject({ retry: true });
  });
});

describe('retryDelayMs', () => {
  it('doubles from the base, is capped, and is at most a quarter shorter at random', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, waits, () => 0))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(10, waits, () => 0)).toBe(30_000);
    expect(retryDelayMs(1, waits, () => 1)).toBe(750);
  });
});

describe('retriesFor: the strand:TaskRetry hint wins over the run default', () => {
  const eff = (hints: { class: string; [k: string]: unknown }[], requirements: { class: string; [k: string]: unknown }[] = []) => ({ requirements, hints });
  it('reads the hint, expanded or written with its prefix, and a requirement over a hint', () => {
    expect(retriesFor(eff([]), 2, 'tool.cwl')).toBe(2);
    expect(retriesFor(eff([{ class: TASK_RETRY_HINT, retries: 0 }]), 2, 'tool.cwl')).toBe(0);
    expect(retriesFor(eff([{ class: 'strand:TaskRetry', retries: 4 }]), 0, 'tool.cwl')).toBe(4);
    expect(retriesFor(eff([{ class: TASK_RETRY_HINT, retries: 1 }], [{ class: TASK_RETRY_HINT, retries: 3 }]), 0, 'tool.cwl')).toBe(3);
  });

  it('refuses a value that is not a whole number from 0 to 100, naming the tool', () => {
    for (const bad of [-1, 1.5, 'three', 101]) {
      expect(() => retriesFor(eff([{ class: TASK_RETRY_HINT, retries: bad }]), 0, 'tool.cwl')).toThrow(ValidationError);
    }
    expect(() => retriesFor(eff([{ class: TASK_RETRY_HINT, retries: -1 }]), 0, 'tool.cwl')).toThrow(/tool\.cwl: strand:TaskRetry\.retries/);
  });
});
