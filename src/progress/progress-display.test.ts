import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../engine/events.js';
import type { TaskResult } from '../executor/executor.js';
import { createProgressDisplay, describeResult, estimateRemainingMs, formatElapsed, LOG_PROGRESS_MS, stepName } from './progress-display.js';

class FakeStream {
  writes: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns?: number,
  ) {}
  write(s: string): boolean {
    this.writes.push(s);
    return true;
  }
  get text(): string {
    return this.writes.join('');
  }
  /** What a terminal would show: each \r\x1b[2K wipes the current line. */
  get screen(): string[] {
    const lines: string[] = [''];
    const clear = '\r\x1b[2K';
    this.text.split(clear).forEach((chunk, i) => {
      if (i > 0) lines[lines.length - 1] = '';
      const parts = chunk.split('\n');
      lines[lines.length - 1] += parts[0] ?? '';
      for (const part of parts.slice(1)) lines.push(part);
    });
    return lines;
  }
}

const at = new Date('2026-01-01T00:00:00Z');
const ref = (i: number, attempt = 1) => ({ runId: 'r', taskId: `main/align/${i}`, stepPath: 'main/align', attempt });
const ok: TaskResult = { reason: 'completed', exitCode: 0, message: 'ok' };
const queued = (i: number): RunEvent => ({ type: 'task_queued', at, ...ref(i) });
const started = (i: number): RunEvent => ({ type: 'task_started', at, workDir: '/w', logDir: '/l', argv: ['x'], ...ref(i) });
const finished = (i: number, result: TaskResult = ok, phase: 'succeeded' | 'failed' | 'cancelled' | 'never_started' = result.reason === 'cancelled' ? 'cancelled' : result.reason === 'completed' && result.exitCode === 0 ? 'succeeded' : 'failed'): RunEvent => ({ type: 'task_finished', at, result, phase, ...ref(i) });
const reusedEv = (i: number): RunEvent => ({
  type: 'task_reused',
  at,
  exitCode: 0,
  cacheKey: 'k',
  reusedFrom: { key: 'k', entry: '/c/k', runId: 'r0' },
  ...ref(i),
});

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(at);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('helpers', () => {
  it('formats elapsed time', () => {
    expect(formatElapsed(42_000)).toBe('00:42');
    expect(formatElapsed(725_000)).toBe('12:05');
    expect(formatElapsed(3_723_000)).toBe('1:02:03');
  });
  it('estimates the time left from the pace of the tasks that ran', () => {
    expect(estimateRemainingMs(0, 10_000, 5)).toBeUndefined();
    expect(estimateRemainingMs(4, 10_000, 6)).toBe(15_000);
    expect(estimateRemainingMs(4, 10_000, 0)).toBe(0);
    expect(stepName('main/align')).toBe('align');
    expect(stepName('main/align/12')).toBe('align');
    expect(stepName('main/sub/3/call/0')).toBe('call');
    expect(stepName('tool')).toBe('tool');
  });
  it('describes results', () => {
    expect(describeResult(ok)).toBe('completed exit 0');
    expect(describeResult({ reason: 'timed_out', exitCode: null, message: '' })).toBe('timed_out');
  });
});

describe('progress display on a terminal', () => {
  it('keeps one live status line: done/total and percent, what runs and waits, time left, steps with work left', () => {
    const out = new FakeStream(true);
    const p = createProgressDisplay(out, {});
    p.onEvent({ type: 'run_started', runId: 'r', processId: 'p', at });
    for (let i = 0; i < 5; i++) p.onEvent(queued(i));
    p.onEvent(started(0));
    p.onEvent(started(1));
    vi.advanceTimersByTime(10_000);
    p.onEvent(finished(0));
    vi.advanceTimersByTime(32_000);
    // One task took 42 s since the first started; 4 are left: about 2m48s.
    expect(out.screen).toEqual([
      '[strand] run r started',
      '[strand] 1/5 tasks (20%) · ~02:48 left · 1 running · 3 queued · 0 failed · elapsed 00:42  align 1/5',
    ]);
    p.stop();
    expect(out.screen).toEqual(['[strand] run r started', '']);
  });

  it('counts a scatter\'s tasks under their step (the engine gives each its own path as step path)', () => {
    const out = new FakeStream(true);
    const p = createProgressDisplay(out, {});
    for (let i = 0; i < 3; i++) p.onEvent({ type: 'task_queued', at, runId: 'r', taskId: `main/align/${i}`, stepPath: `main/align/${i}`, attempt: 1 });
    p.onEvent({ type: 'task_finished', at, result: ok, phase: 'succeeded', runId: 'r', taskId: 'main/align/1', stepPath: 'main/align/1', attempt: 1 });
    vi.advanceTimersByTime(100);
    expect(out.screen.at(-1)).toMatch(/ {2}align 1\/3$/);
    p.stop();
  });

  it('names at most three steps with work left', () => {
    const out = new FakeStream(true);
    const p = createProgressDisplay(out, {});
    for (const s of ['a', 'b', 'c', 'd', 'e']) p.onEvent({ type: 'task_queued', at, runId: 'r', taskId: `main/${s}/0`, stepPath: `main/${s}/0`, attempt: 1 });
    vi.advanceTimersByTime(100);
    expect(out.screen.at(-1)).toMatch(/ {2}a 0\/1 · b 0\/1 · c 0\/1 · 2 more steps$/);
    p.stop();
  });

  it('counts reused tasks as done and ends with a one-line summary: run, reused, failed, wall time', () => {
    const out = new FakeStream(true);
    const p = createProgressDisplay(out, {});
    p.onEvent({ type: 'run_started', runId: 'r', processId: 'p', at });
    p.onEvent(reusedEv(0));
    p.onEvent(reusedEv(1));
    p.onEvent(queued(2));
    p.onEvent(started(2));
    vi.advanceTimersByTime(1000);
    expect(out.screen.at(-1)).toBe('[strand] 2/3 tasks (66%) · 1 running · 0 queued · 0 failed · 2 reused · elapsed 00:01  align 2/3');
    vi.advanceTimersByTime(64_000);
    p.onEvent(finished(2));
    p.onEvent({ type: 'run_finished', runId: 'r', status: 'success', at: new Date() });
    vi.advanceTimersByTime(1000);
    p.stop();
    expect(out.screen).toEqual(['[strand] run r started', '[strand] tasks: 1 run, 2 reused, 0 failed · wall time 01:05', '']);
  });

  it('a failed attempt followed by another of its task counts as retried, not failed, in the summary', () => {
    const out = new FakeStream(false);
    const p = createProgressDisplay(out, {});
    p.onEvent({ type: 'run_started', runId: 'r', processId: 'p', at });
    p.onEvent(queued(0));
    p.onEvent(started(0));
    p.onEvent(finished(0, { reason: 'completed', exitCode: 5, message: 'exited 5' }));
    const second = { ...ref(0), attempt: 2 };
    p.onEvent({ type: 'task_queued', at, ...second });
    p.onEvent({ type: 'task_started', at, workDir: '/w', logDir: '/l', argv: ['x'], ...second });
    p.onEvent({ type: 'task_finished', at, result: ok, phase: 'succeeded', ...second });
    p.onEvent({ type: 'run_finished', runId: 'r', status: 'success', at });
    p.stop();
    expect(out.text).toMatch(/\[strand\] tasks: 1 run, 0 reused, 0 failed; 1 failed attempt retried · wall time/);
  });

  it('redraws at most every ~100 ms however many events arrive', () => {
    const out = new FakeStream(true);
    const p = createProgressDisplay(out, {});
    for (let i = 0; i < 1000; i++) {
      p.onEvent(queued(i));
      p.onEvent(started(i));
      p.onEvent(finished(i));
    }
    expect(out.writes).toHaveLength(0);
    vi.advanceTimersByTime(100);
    expect(out.writes).toHaveLength(1);
    expect(out.screen.at(-1)).toContain('1000/1000 tasks (100%) · 0 running · 0 queued · 0 failed');
    p.stop();
  });

  it('prints a permanent line above the status line for each failure, naming step and reason once; its stderr is left to the run error', () => {
    const out = new FakeStream(true);
    const p = createProgressDisplay(out, {});
    p.onEvent(queued(1));
    p.onEvent(started(1));
    vi.advanceTimersByTime(100);
    p.onEvent(finished(1, { reason: 'completed', exitCode: 3, message: 'task main/align/1 exited with code 3', logTail: 'a\nindex missing' }));
    vi.advanceTimersByTime(100);
    expect(out.screen).toEqual([
      '[strand] task main/align/1 of step main/align failed: exit code 3',
      '[strand] 0/1 tasks (0%) · 0 running · 0 queued · 1 failed · elapsed 00:00  align 0/1',
    ]);
    p.stop();
  });

  it('does not count cancelled tasks as failures', () => {
    const out = new FakeStream(true);
    const p = createProgressDisplay(out, {});
    p.onEvent(queued(1));
    p.onEvent(finished(1, { reason: 'cancelled', exitCode: null, message: 'cancelled' }));
    vi.advanceTimersByTime(100);
    expect(out.screen).toEqual(['[strand] 0/1 tasks (0%) · 0 running · 0 queued · 0 failed · 1 cancelled · elapsed 00:00  align 0/1']);
    p.stop();
  });

  it('fits the status line to the terminal width', () => {
    const out = new FakeStream(true, 30);
    const p = createProgressDisplay(out, {});
    p.onEvent(queued(1));
    vi.advanceTimersByTime(100);
    expect(out.screen.at(-1)).toHaveLength(29);
    p.stop();
  });

  it('in quiet mode shows no status line, only failures', () => {
    const out = new FakeStream(true);
    const p = createProgressDisplay(out, { quiet: true });
    p.onEvent({ type: 'run_started', runId: 'r', processId: 'p', at });
    p.onEvent(started(1));
    p.onEvent(finished(1, { reason: 'failed', exitCode: null, message: 'command not found: bwa' }));
    vi.advanceTimersByTime(5000);
    expect(out.text).toBe('[strand] task main/align/1 of step main/align failed: command not found: bwa\n');
    p.stop();
  });
});

describe('progress display on a pipe or file', () => {
  it('logs steps and failures, not every task, and never uses control characters', () => {
    const out = new FakeStream(false);
    const p = createProgressDisplay(out, {});
    p.onEvent({ type: 'step_started', runId: 'r', stepPath: 'main/align', at });
    p.onEvent(started(1));
    p.onEvent(finished(1));
    p.onEvent(started(2));
    p.onEvent(finished(2, { reason: 'timed_out', exitCode: null, message: 'exceeded 10 s' }));
    p.onEvent({ type: 'step_finished', runId: 'r', stepPath: 'main/align', status: 'success', at });
    vi.advanceTimersByTime(5000);
    p.stop();
    expect(out.text.split('\n')).toEqual([
      '[strand] step main/align started',
      '[strand] task main/align/2 of step main/align failed: timed_out: exceeded 10 s',
      '[strand] step main/align finished: success (1/2 tasks)',
      '',
    ]);
    expect(out.text).not.toContain('\r');
    expect(out.text).not.toContain('\x1b');
  });

  it('logs progress every 30 s while it changes, and the summary at the end, without control characters', () => {
    const out = new FakeStream(false);
    const p = createProgressDisplay(out, {});
    p.onEvent({ type: 'run_started', runId: 'r', processId: 'p', at });
    for (let i = 0; i < 4; i++) p.onEvent(queued(i));
    p.onEvent(reusedEv(0));
    p.onEvent(started(1));
    vi.advanceTimersByTime(10_000);
    p.onEvent(finished(1));
    p.onEvent(started(2));
    vi.advanceTimersByTime(LOG_PROGRESS_MS - 10_000);
    vi.advanceTimersByTime(3 * LOG_PROGRESS_MS); // nothing changed: no more lines
    p.onEvent(finished(2));
    p.onEvent(started(3));
    p.onEvent(finished(3));
    p.onEvent({ type: 'step_finished', runId: 'r', stepPath: 'main/align', status: 'success', at });
    p.onEvent({ type: 'run_finished', runId: 'r', status: 'success', at });
    p.stop();
    expect(out.text.split('\n')).toEqual([
      '[strand] run r started',
      '[strand] progress: 2/4 tasks (50%) · ~01:00 left · align 2/4',
      '[strand] step main/align finished: success (4/4 tasks)',
      '[strand] tasks: 3 run, 1 reused, 0 failed · wall time 02:00',
      '',
    ]);
    expect(out.text).not.toContain('\r');
    expect(out.text).not.toContain('\x1b');
  });

  it('logs task starts and finishes in verbose mode', () => {
    const out = new FakeStream(false);
    const p = createProgressDisplay(out, { verbose: true });
    p.onEvent(started(1));
    p.onEvent(finished(1));
    p.stop();
    expect(out.text).toBe('[strand] task main/align/1 started\n[strand] task main/align/1 finished: completed exit 0\n');
  });

  it('ignores events after stop()', () => {
    const out = new FakeStream(false);
    const p = createProgressDisplay(out, {});
    p.stop();
    p.onEvent(finished(1, { reason: 'failed', exitCode: null, message: 'x' }));
    p.stop();
    expect(out.text).toBe('');
  });
});
