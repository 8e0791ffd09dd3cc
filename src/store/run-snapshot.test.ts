import { describe, expect, it } from 'vitest';
import type { AttemptRecord, RunDetail } from './run-store.js';
import { parseSnapshot, snapshotOf } from './run-snapshot.js';

const attempt = (i: number, status = 'completed', exitCode: number | null = 0): AttemptRecord => ({
  taskId: `main/s/${i}`,
  stepPath: 'main/s',
  attempt: 1,
  status,
  phase: status === 'completed' && exitCode === 0 ? 'succeeded' : 'failed',
  exitCode,
  startedAt: new Date(i * 1000).toISOString(),
  argv: ['sh', '-c', 'x'.repeat(200)],
  logTail: 'y'.repeat(100),
});

function run(attempts: AttemptRecord[]): RunDetail {
  return {
    id: 'r1',
    status: 'running',
    startedAt: new Date(0).toISOString(),
    tasks: { total: attempts.length, ok: attempts.filter((a) => a.status === 'completed').length, failed: 1, running: 0, reused: 0, queued: 0, cancelled: 0 },
    steps: [{ stepPath: 'main/s', status: 'running' }],
    attempts,
    outputs: { out: { class: 'File', location: 'file:///w/o' } },
  };
}

describe('run snapshots', () => {
  it('is the run as it is when it fits', () => {
    const r = run([attempt(1), attempt(2, 'failed', 1)]);
    const s = snapshotOf(r, new Date(5000));
    expect(s).toEqual({ version: 1, publishedAt: new Date(5000).toISOString(), run: r, attemptsOmitted: 0 });
    expect(parseSnapshot(JSON.stringify(s))).toEqual(s);
  });

  it('fits the bound on a big run: failures kept whole, the newest successes kept, counts exact', () => {
    const attempts = [...Array.from({ length: 2000 }, (_, i) => attempt(i)), attempt(5000, 'failed', 2)];
    const r = run(attempts);
    const s = snapshotOf(r, new Date(0), 100 * 1024);
    expect(Buffer.byteLength(JSON.stringify(s))).toBeLessThanOrEqual(100 * 1024);
    expect(s.run.tasks).toEqual(r.tasks);
    expect(s.run.outputs).toEqual(r.outputs);
    const failed = s.run.attempts.filter((a) => a.status === 'failed');
    expect(failed).toEqual([attempt(5000, 'failed', 2)]);
    const kept = s.run.attempts.filter((a) => a.status === 'completed');
    expect(kept.length).toBeGreaterThan(100);
    expect(kept.length + s.attemptsOmitted).toBe(2000);
    // The newest ones, without their command lines and log tails.
    expect(kept.at(-1)?.taskId).toBe('main/s/1999');
    expect(kept[0]!.taskId).toBe(`main/s/${s.attemptsOmitted}`);
    expect(kept.every((a) => a.argv === undefined && a.logTail === undefined)).toBe(true);
  });

  it('reads only snapshots', () => {
    expect(parseSnapshot(undefined)).toBeUndefined();
    expect(parseSnapshot('{}')).toBeUndefined();
    expect(parseSnapshot('not json')).toBeUndefined();
    expect(parseSnapshot('{"version":2,"run":{"id":"r"}}')).toBeUndefined();
  });
});
