import { describe, expect, it } from 'vitest';
import { countTasks, formatWesRunDetail, formatWesRunList, printable } from './wes-format.js';
import type { WesRunLog, WesTaskLog } from './wes-client.js';

const utc = { utc: true };

describe('formatWesRunList', () => {
  it('prints a table of run, state, started, duration and tags', () => {
    const text = formatWesRunList(
      [
        { run_id: '20261120-090010-aa', state: 'EXECUTOR_ERROR', start_time: '2026-11-20T09:00:10Z', end_time: '2026-11-20T09:03:15Z', tags: { project: 'pilot' } },
        { run_id: '20261120-090000-bb', state: 'COMPLETE', start_time: '2026-11-20T09:00:00Z', end_time: '2026-11-20T09:00:04Z', tags: {} },
      ],
      utc,
    );
    expect(text).toBe(
      [
        'RUN                 STATE           STARTED              DURATION  TAGS',
        '20261120-090010-aa  EXECUTOR_ERROR  2026-11-20 09:00:10  3m05s     project=pilot',
        '20261120-090000-bb  COMPLETE        2026-11-20 09:00:00  4s',
      ].join('\n'),
    );
    expect(formatWesRunList([])).toMatch(/^no runs on this server yet/);
  });
});

describe('formatWesRunDetail', () => {
  const tasks: WesTaskLog[] = [
    { id: 'main.a.0.1', name: 'main/a/0', start_time: '2026-11-20T09:00:01Z', end_time: '2026-11-20T09:00:02Z', exit_code: 0, system_logs: ['step: main/a', 'attempt: 1', 'phase: succeeded', 'reason: completed'] },
    { id: 'main.b.0.1', name: 'main/b/0', start_time: '2026-11-20T09:00:02Z', end_time: '2026-11-20T09:00:05Z', exit_code: 3, cmd: ['tool', 'two words'], system_logs: ['step: main/b', 'attempt: 1', 'phase: failed', 'reason: completed', 'retried: a later attempt of this task followed', 'message: exit 3', 'last lines of stderr:\nboom\nbang'] },
    { id: 'main.b.0.2', name: 'main/b/0', start_time: '2026-11-20T09:00:06Z', exit_code: 137, system_logs: ['step: main/b', 'attempt: 2', 'phase: failed', 'reason: oom_killed'] },
    { id: 'main.c.0.1', name: 'main/c/0', system_logs: ['phase: reused', 'reused from the task cache (made by run r0)'] },
    { id: 'main.d.0.1', name: 'main/d/0', system_logs: ['phase: running'] },
  ];
  const log: WesRunLog = {
    run_id: 'r1',
    state: 'EXECUTOR_ERROR',
    run_log: { name: 'wf.cwl#main', start_time: '2026-11-20T09:00:00Z', end_time: '2026-11-20T09:00:10Z', system_logs: ['step main/b failed', 'a note\u001b[2J'] },
    task_logs_url: 'https://x/ga4gh/wes/v1/runs/r1/tasks',
    outputs: { out: { class: 'File', location: 's3://lab/out.txt', size: 3 } },
  };

  it('prints state, times, tasks counted from their phases, messages, outputs and each failed attempt', () => {
    expect(countTasks(tasks)).toEqual({ total: 5, ok: 2, failed: 2, running: 1, queued: 0, cancelled: 0, reused: 1, retried: 1, unknown: 0 });
    expect(formatWesRunDetail(log, tasks, { ...utc, logsCommand: 'strand logs --server lab r1' })).toBe(
      [
        'run r1: EXECUTOR_ERROR',
        '  process   wf.cwl#main',
        '  started   2026-11-20 09:00:00',
        '  finished  2026-11-20 09:00:10 (took 10s)',
        '  tasks     5 attempts: 2 ok (1 reused from the cache), 2 failed (1 of them retried), 1 running',
        '  message   step main/b failed',
        '            a note?[2J',
        '  logs      strand logs --server lab r1',
        '',
        'outputs:',
        '  {',
        '    "out": {',
        '      "class": "File",',
        '      "location": "s3://lab/out.txt",',
        '      "size": 3',
        '    }',
        '  }',
        '',
        'failed task attempts:',
        '  main/b/0 (attempt 1): failed, exit 3, 3s, retried',
        '      exit 3',
        "      command: tool 'two words'",
        '      stderr (last lines):',
        '        boom',
        '        bang',
        '  main/b/0 (attempt 2): failed (oom_killed), exit 137',
      ].join('\n'),
    );
  });

  it('says when the tasks were not all read', () => {
    expect(formatWesRunDetail({ ...log, outputs: undefined } as unknown as WesRunLog, tasks.slice(0, 1), { ...utc, tasksComplete: false })).toContain('1+ attempts: 1 ok, 0 failed');
  });

  it('never lets a server write terminal escapes', () => {
    expect(printable('a\u001b]0;title\u0007b')).toBe('a?]0;title?b');
    expect(printable('a\nb', true)).toBe('a\nb');
  });
});
