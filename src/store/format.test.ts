import { describe, expect, it } from 'vitest';
import { formatDuration, formatRunDetail, formatRunList, formatTime, shellQuote, shortProcessName, utcOffsetLabel } from './format.js';
import type { RunDetail, RunSummary } from './run-store.js';

const summary = (over: Partial<RunSummary> = {}): RunSummary => ({
  id: '20260102-030405-ab12',
  status: 'success',
  processId: 'file:///home/me/wf/align.cwl#main',
  startedAt: '2026-01-02T03:04:05.000Z',
  finishedAt: '2026-01-02T03:06:10.000Z',
  durationMs: 125_000,
  tasks: { total: 12, ok: 10, failed: 2, running: 0, reused: 0, queued: 0, cancelled: 0 },
  ...over,
});

describe('small formatters', () => {
  it('formats durations', () => {
    expect(formatDuration(undefined)).toBe('-');
    expect(formatDuration(400)).toBe('<1s');
    expect(formatDuration(42_000)).toBe('42s');
    expect(formatDuration(185_000)).toBe('3m05s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
  });

  it('formats times in UTC when asked', () => {
    expect(formatTime('2026-01-02T03:04:05.000Z', { utc: true })).toBe('2026-01-02 03:04:05');
    expect(formatTime(undefined)).toBe('-');
  });

  it('shortens process ids', () => {
    expect(shortProcessName({ processId: 'file:///a/b/wf.cwl#main' })).toBe('wf.cwl#main');
    expect(shortProcessName({ processId: 'file:///a/b/tool.cwl' })).toBe('tool.cwl');
    expect(shortProcessName({ documentPath: 'x/y.cwl' })).toBe('y.cwl');
  });

  it('quotes shell arguments only when needed', () => {
    expect(shellQuote('bwa')).toBe('bwa');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
  });
});

describe('formatRunList', () => {
  it('prints an aligned table, one run per line', () => {
    const text = formatRunList(
      [summary(), summary({ id: '20260101-000000-ffff', status: 'running', tasks: { total: 3, ok: 1, failed: 0, running: 2, reused: 1, queued: 0, cancelled: 0 }, durationMs: 5000, finishedAt: undefined })],
      { utc: true },
    );
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^RUN\s+STATUS\s+STARTED\s+DURATION\s+TASKS OK\/FAILED\s+PROCESS$/);
    expect(lines[1]).toMatch(/^20260102-030405-ab12\s+success\s+2026-01-02 03:04:05\s+2m05s\s+10\/2\s+align\.cwl#main$/);
    expect(lines[2]).toContain('1/0 (2 running, 1 reused)');
    // columns line up: STATUS starts at the same offset on every line
    const col = lines[0]?.indexOf('STATUS');
    expect(lines[1]?.indexOf('success')).toBe(col);
    expect(lines[2]?.indexOf('running')).toBe(col);
  });

  it('counts a failed attempt that was retried as retried, not as a failed task', () => {
    const text = formatRunList([summary({ tasks: { total: 11, ok: 10, failed: 1, running: 0, reused: 0, queued: 0, cancelled: 0, retried: 1 } })]);
    expect(text.split('\n')[1]).toMatch(/\s10\/0 \(1 retried\)\s/);
  });

  it('says so when there are no runs', () => {
    expect(formatRunList([])).toMatch(/no runs recorded/);
  });
});

describe('formatRunDetail', () => {
  const detail = (over: Partial<RunDetail> = {}): RunDetail => ({
    ...summary({ status: 'failed', message: 'step main/align failed', tasks: { total: 3, ok: 2, failed: 1, running: 0, reused: 0, queued: 0, cancelled: 0 } }),
    jobPath: 'job.yml',
    outdir: '/out',
    steps: [
      { stepPath: 'main/align', status: 'failed', startedAt: '2026-01-02T03:04:06.000Z', finishedAt: '2026-01-02T03:05:06.000Z', message: 'task main/align/1 failed' },
    ],
    attempts: [
      { taskId: 'main/align/0', stepPath: 'main/align', attempt: 1, status: 'completed', phase: 'succeeded', exitCode: 0, startedAt: '2026-01-02T03:04:06.000Z', finishedAt: '2026-01-02T03:04:16.000Z', logDir: '/logs/0' },
      {
        taskId: 'main/align/1',
        stepPath: 'main/align',
        attempt: 1,
        status: 'completed',
        phase: 'failed',
        exitCode: 3,
        startedAt: '2026-01-02T03:04:06.000Z',
        finishedAt: '2026-01-02T03:04:09.000Z',
        argv: ['bwa', 'mem', 'my ref.fa'],
        workDir: '/work/1',
        logDir: '/logs/1',
        message: 'task main/align/1 exited with code 3',
        logTail: 'reading index\nerror: index missing',
      },
      { taskId: 'main/align/1', stepPath: 'main/align', attempt: 2, status: 'timed_out', phase: 'failed', exitCode: null, message: 'time limit' },
    ],
    ...over,
  });

  it('shows the header, steps and attempts with reasons, commands, log paths and stderr tails', () => {
    const text = formatRunDetail(detail(), { utc: true });
    expect(text.split('\n')[0]).toBe('run 20260102-030405-ab12: failed');
    expect(text).toContain('  job       job.yml');
    expect(text).toContain('  finished  2026-01-02 03:06:10 (took 2m05s)');
    expect(text).toContain('  tasks     3 attempts: 2 ok, 1 failed');
    expect(text).toMatch(/steps:\n\s+main\/align\s+failed\s+1m00s\s+task main\/align\/1 failed/);
    expect(text).toContain('  main/align/0 (attempt 1): succeeded, exit 0, 10s');
    expect(text).toContain('  main/align/1 (attempt 1): failed, exit 3, 3s');
    expect(text).toContain("      command: bwa mem 'my ref.fa'");
    expect(text).toContain('      logs:    /logs/1/stdout.log, /logs/1/stderr.log\n');
    expect(text).toContain('        error: index missing');
    expect(text).toContain('  main/align/1 (attempt 2): failed (timed_out)');
    // successful attempts are one line: no log paths for them
    expect(text).not.toContain('/logs/0/');
  });

  it('says how many attempts the store left out (a window of a large run), beside those it hid itself', () => {
    const base = detail({});
    const text = formatRunDetail({ ...base, attemptsLeftOut: { ok: 99_000, other: 12 } }, { utc: true, maxOkAttempts: 0 });
    const okHere = base.attempts.filter((a) => a.phase === 'succeeded' || a.phase === 'reused').length;
    expect(text).toContain('  ... and 12 more attempts that did not succeed (see --json');
    expect(text).toContain(`  ... and ${99_000 + okHere} more successful attempts (see --json)`);
  });

  it('marks an attempt the store says was retried, even when the later attempt is not in the list', () => {
    const base = detail({});
    const failed = base.attempts.find((a) => a.phase === 'failed');
    if (!failed) throw new Error('the fixture has a failed attempt');
    const text = formatRunDetail({ ...base, attempts: [{ ...failed, retried: true }] }, { utc: true });
    expect(text).toContain(`  ${failed.taskId} (attempt ${failed.attempt}): failed`);
    expect(text).toMatch(/, retried\n/);
  });

  it('marks an attempt that another attempt of its task followed as retried, and counts it', () => {
    const text = formatRunDetail(detail({ tasks: { total: 3, ok: 1, failed: 2, running: 0, reused: 0, queued: 0, cancelled: 0, retried: 1 } }), { utc: true });
    expect(text).toContain('  tasks     3 attempts: 1 ok, 2 failed (1 of them retried)');
    expect(text).toContain('  main/align/1 (attempt 1): failed, exit 3, 3s, retried\n');
    // The last attempt is the task's verdict: not retried.
    expect(text).toMatch(/main\/align\/1 \(attempt 2\): failed \(timed_out\)\n/);
  });

  it("shows what happened within an attempt (the memory an OOM retry finally got), also for one that succeeded", () => {
    const attempts = [
      {
        taskId: 'main/index',
        stepPath: 'main/index',
        attempt: 1,
        status: 'completed',
        phase: 'succeeded' as const,
        exitCode: 0,
        notes: [
          { at: '2026-01-02T03:04:07.000Z', message: 'main/index: OOMKilled with a 200Mi memory limit; retrying with 400Mi' },
          { at: '2026-01-02T03:04:09.000Z', message: 'main/index: OOMKilled with a 400Mi memory limit; retrying with 800Mi' },
        ],
      },
    ];
    const text = formatRunDetail(detail({ attempts }), { utc: true });
    expect(text).toContain('  main/index (attempt 1): succeeded, exit 0\n      note: main/index: OOMKilled with a 200Mi memory limit; retrying with 400Mi\n');
    expect(text).toContain('retrying with 800Mi');
  });

  it('says which tasks were reused from the cache, and from which run', () => {
    const attempts = [
      {
        taskId: 'main/align/0',
        stepPath: 'main/align',
        attempt: 1,
        status: 'completed',
        phase: 'reused' as const,
        exitCode: 0,
        reusedFrom: { key: 'k', entry: '/c/k', runId: '20260101-000000-aaaa', taskId: 'main/align/0', attempt: 1 },
      },
    ];
    const text = formatRunDetail(
      detail({ attempts, resumedFrom: '20260101-000000-aaaa', cacheDir: '/c', cacheMode: 'readwrite', tasks: { total: 1, ok: 1, failed: 0, running: 0, reused: 1, queued: 0, cancelled: 0 } }),
      { utc: true },
    );
    expect(text).toContain('  resumes   20260101-000000-aaaa');
    expect(text).toContain('  cache     /c (readwrite)');
    expect(text).toContain('  tasks     1 attempts: 1 ok (1 reused from the cache), 0 failed');
    expect(text).toContain('  main/align/0 (attempt 1): reused from run 20260101-000000-aaaa, exit 0');
  });

  it('says which directories are gone and lists only the logs that exist', () => {
    const present = new Set(['/logs/1/stderr.log']);
    const text = formatRunDetail(detail({ workDir: '/tmp/strand-x' }), { utc: true, exists: (p) => present.has(p) });
    expect(text).toContain('  workdir   /tmp/strand-x (removed after the run; --leave-tmpdir keeps it)');
    expect(text).toContain('      workdir: removed after the run');
    expect(text).not.toContain('/work/1');
    expect(text).toContain('      logs:    /logs/1/stderr.log\n');
    expect(text).not.toContain('/logs/1/stdout.log');
  });

  it('summarises many successful attempts but always lists failures', () => {
    const attempts = Array.from({ length: 200 }, (_, i) => ({
      taskId: `main/s/${i}`,
      stepPath: 'main/s',
      attempt: 1,
      status: i === 150 ? 'failed' : 'completed',
      phase: i === 150 ? ('failed' as const) : ('succeeded' as const),
      exitCode: i === 150 ? null : 0,
      message: i === 150 ? 'command not found: x' : undefined,
    }));
    const text = formatRunDetail(detail({ attempts, steps: [] }), { maxOkAttempts: 10 });
    expect(text.match(/\(attempt 1\): succeeded/g)).toHaveLength(10);
    expect(text).toContain('main/s/150 (attempt 1): failed');
    expect(text).toContain('command not found: x');
    expect(text).toContain('... and 189 more successful attempts');
    expect(text).not.toContain('steps:');
  });
});

describe('utcOffsetLabel', () => {
  it("says the local zone's offset at that instant, half hours and west of Greenwich too", () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = 'Asia/Kolkata';
      expect(utcOffsetLabel(new Date('2026-01-02T03:04:05Z'))).toBe('UTC+05:30');
      process.env.TZ = 'America/St_Johns';
      expect(utcOffsetLabel(new Date('2026-01-02T03:04:05Z'))).toBe('UTC-03:30');
      expect(utcOffsetLabel(new Date('2026-07-02T03:04:05Z'))).toBe('UTC-02:30');
      expect(utcOffsetLabel(new Date('2026-07-02T03:04:05Z'), { utc: true })).toBe('UTC+00:00');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});
