import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWesSpec } from '../../../test/support/wes-spec.js';
import type { RunEvent } from '../../engine/events.js';
import { openRunStore, type AttemptRecord, type RunDetail, type RunStore } from '../../store/run-store.js';
import { CWL_VERSIONS, RequestProblem, type RunRequest } from './run-request.js';
import { WES_STATES } from './wes-state.js';
import {
  MAX_PAGE_SIZE,
  WES_TASK_ID,
  encodePageToken,
  endingFailures,
  pageOf,
  readPageQuery,
  runLog,
  runSummary,
  runsInOrder,
  runSortKey,
  serviceInfo,
  serviceTags,
  taskLog,
  taskLogsInOrder,
  wesTaskId,
  wesTime,
  workflowName,
} from './wes-views.js';

const spec = loadWesSpec();

let dir = '';
let store: RunStore | undefined;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-wes-views-'));
});
afterEach(async () => {
  store?.close();
  store = undefined;
  await rm(dir, { recursive: true, force: true });
});

const t = (s: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, s, 250));
const ref = (runId: string, taskId: string, attempt = 1) => ({ runId, taskId, stepPath: taskId.replace(/\/\d+$/, ''), attempt });

/** A run recorded through the store's own API: a scatter of two, one retried after OOM then failing with exit 3. */
function recordFailedRun(runId: string): RunDetail {
  store ??= openRunStore(dir);
  store.createRun({ runId, processId: 'file:///srv/req/abc/align.cwl#main', documentPath: '/srv/req/abc/align.cwl', pid: process.pid, startedAt: t(0), owner: 'ada' });
  const events: RunEvent[] = [
    { type: 'run_started', runId, processId: 'file:///srv/req/abc/align.cwl#main', at: t(0) },
    { type: 'task_queued', at: t(1), ...ref(runId, 'main/align/0') },
    { type: 'task_queued', at: t(1), ...ref(runId, 'main/align/1') },
    { type: 'task_started', at: t(2), workDir: '/w/0', logDir: '/l/0', argv: ['bwa', 'mem'], ...ref(runId, 'main/align/0') },
    { type: 'task_started', at: t(2), workDir: '/w/1', logDir: '/l/1', argv: ['bwa', 'mem', 'x y'], image: 'bwa:1', ...ref(runId, 'main/align/1') },
    { type: 'task_finished', at: t(5), result: { reason: 'completed', exitCode: 0, message: 'ok', startedAt: t(2), finishedAt: t(5) }, phase: 'succeeded', ...ref(runId, 'main/align/0') },
    { type: 'task_finished', at: t(6), result: { reason: 'oom_killed', exitCode: 137, message: 'out of memory', startedAt: t(2), finishedAt: t(6) }, phase: 'failed', ...ref(runId, 'main/align/1') },
    { type: 'task_queued', at: t(7), ...ref(runId, 'main/align/1', 2) },
    { type: 'task_started', at: t(8), workDir: '/w/1b', logDir: '/l/1b', argv: ['bwa', 'mem', 'x y'], ...ref(runId, 'main/align/1', 2) },
    { type: 'task_finished', at: t(9), result: { reason: 'completed', exitCode: 3, message: 'exited 3', logTail: 'boom', startedAt: t(8), finishedAt: t(9) }, phase: 'failed', ...ref(runId, 'main/align/1', 2) },
    { type: 'run_finished', runId, status: 'failed', at: t(10), message: 'step main/align failed', outputs: { aligned: [{ class: 'File', location: 's3://b/out/0.bam' }] } },
  ];
  for (const e of events) store.record(e);
  store.flush();
  return store.getRun(runId)!;
}

describe('WES views of a recorded run', () => {
  it("gives GetRunLog's RunLog: state from the failures that ended the run, the spec's times, log URLs, outputs; valid against the spec", () => {
    const run = recordFailedRun('20260102-030400-00000000000000aa');
    const log = runLog({ run, notes: ['leader pod p1 on node n1'] }, 'https://wes.example/ga4gh/wes/v1');
    // The retried OOM did not end the run; the exit code 3 did: a tool's failure.
    expect(endingFailures(run.attempts)).toEqual(['completed']);
    expect(log).toEqual({
      run_id: '20260102-030400-00000000000000aa',
      state: 'EXECUTOR_ERROR',
      run_log: {
        name: 'align.cwl#main',
        start_time: '2026-01-02T03:04:00Z',
        end_time: '2026-01-02T03:04:10Z',
        stdout: 'https://wes.example/ga4gh/wes/v1/runs/20260102-030400-00000000000000aa/logs/stdout',
        stderr: 'https://wes.example/ga4gh/wes/v1/runs/20260102-030400-00000000000000aa/logs/stderr',
        system_logs: ['step main/align failed', 'leader pod p1 on node n1'],
      },
      task_logs_url: 'https://wes.example/ga4gh/wes/v1/runs/20260102-030400-00000000000000aa/tasks',
      outputs: { aligned: [{ class: 'File', location: 's3://b/out/0.bam' }] },
    });
    expect(spec.checkSchema('RunLog', log)).toEqual([]);
    // The server's directory the workflow was read from is never named.
    expect(JSON.stringify(log)).not.toContain('/srv/req');
  });

  it('gives the request as submitted when it was kept, valid against RunRequest', () => {
    const run = recordFailedRun('r1');
    const request: RunRequest = {
      workflowUrl: 'tools/align.cwl#main',
      workflowFile: 'tools/align.cwl',
      workflowType: 'CWL',
      workflowTypeVersion: 'v1.2',
      workflowParams: { reads: { class: 'File', location: 'data/r.fq' } },
      tags: { project: 'pilot' },
      workflowEngineParameters: {},
      workflowEngine: 'Strand',
      attachments: ['tools/align.cwl', 'data/r.fq'],
    };
    const log = runLog({ run, notes: [] }, '/ga4gh/wes/v1', request);
    expect(log.request).toEqual({
      workflow_params: { reads: { class: 'File', location: 'data/r.fq' } },
      workflow_type: 'CWL',
      workflow_type_version: 'v1.2',
      tags: { project: 'pilot' },
      workflow_engine_parameters: {},
      workflow_engine: 'Strand',
      workflow_url: 'tools/align.cwl#main',
    });
    expect(spec.checkSchema('RunLog', log)).toEqual([]);
    // Not kept: no request made up.
    expect(runLog({ run, notes: [] }, '/ga4gh/wes/v1')).not.toHaveProperty('request');
  });

  it('gives a request kept without its params as it was kept, and says why in system_logs', () => {
    const run = recordFailedRun('r3');
    const kept = {
      workflowUrl: 'tools/align.cwl',
      workflowType: 'CWL',
      workflowTypeVersion: 'v1.2',
      tags: { project: 'pilot' },
      workflowEngineParameters: { cache: 'off' },
      notes: ['workflow_params: not kept (70000 bytes of JSON, more than the 65536 kept with a run); the run has them all'],
    };
    const log = runLog({ run, notes: ['leader pod p1'] }, '/ga4gh/wes/v1', kept);
    expect(log.request).toEqual({ workflow_type: 'CWL', workflow_type_version: 'v1.2', tags: { project: 'pilot' }, workflow_engine_parameters: { cache: 'off' }, workflow_url: 'tools/align.cwl' });
    expect(log.run_log.system_logs?.slice(-2)).toEqual(['leader pod p1', `request: ${kept.notes[0]}`]);
    expect(spec.checkSchema('RunLog', log)).toEqual([]);
  });

  it('makes one TaskLog per attempt, with its exit code and typed reason; valid against TaskLog', () => {
    const run = recordFailedRun('r2');
    const logs = taskLogsInOrder(run).map((x) => x.log);
    expect(logs.map((l) => [l.id, l.name, l.exit_code])).toEqual([
      ['main.align.0.1', 'main/align/0', 0],
      ['main.align.1.1', 'main/align/1', 137],
      ['main.align.1.2', 'main/align/1', 3],
    ]);
    const oom = logs[1]!;
    expect(oom).toMatchObject({ cmd: ['bwa', 'mem', 'x y'], start_time: '2026-01-02T03:04:02Z', end_time: '2026-01-02T03:04:06Z' });
    expect(oom.system_logs).toEqual(expect.arrayContaining(['reason: oom_killed', 'phase: failed', 'retried: a later attempt of this task followed', 'image: bwa:1']));
    expect(logs[2]!.system_logs).toEqual(expect.arrayContaining(['reason: completed', 'last lines of stderr:\nboom']));
    expect(logs[2]!.system_logs?.join('\n')).not.toContain('retried');
    for (const l of logs) {
      expect(spec.checkSchema('TaskLog', l)).toEqual([]);
      expect(l.id).toMatch(WES_TASK_ID);
    }
  });

  it('gives ListRuns items as RunSummary (times, tags) and names workflows without their directory', () => {
    const run = recordFailedRun('r3');
    const item = runSummary(run, 'EXECUTOR_ERROR', { project: 'pilot' });
    expect(item).toEqual({ run_id: 'r3', state: 'EXECUTOR_ERROR', start_time: '2026-01-02T03:04:00Z', end_time: '2026-01-02T03:04:10Z', tags: { project: 'pilot' } });
    expect(spec.checkSchema('RunSummary', item)).toEqual([]);
    expect(spec.checkSchema('RunSummary', runSummary({ ...run, finishedAt: undefined }, 'RUNNING'))).toEqual([]);
    expect(workflowName({ id: 'x', documentPath: '/a/b/wf.cwl' })).toBe('wf.cwl');
    expect(workflowName({ id: 'x', processId: 'https://h/p/tool.cwl#t' })).toBe('tool.cwl#t');
    expect(workflowName({ id: 'x' })).toBe('x');
  });
});

describe('WES task ids', () => {
  it('are URL path characters only, and never the same for two attempts', () => {
    const names = ['main/a', 'main.a', 'main~2Fa', 'main/a/0', 'main/a.0', 'main/ä b', 'main/a#b', 'main/a%2F', 'x'];
    const ids = new Set<string>();
    for (const n of names) for (const attempt of [1, 2, 11]) ids.add(wesTaskId(n, attempt));
    expect(ids.size).toBe(names.length * 3);
    for (const id of ids) {
      expect(id).toMatch(WES_TASK_ID);
      expect(encodeURIComponent(id)).toBe(id);
    }
    expect(wesTaskId('main/align/3', 2)).toBe('main.align.3.2');
    expect(wesTaskId('main/ä', 1)).toBe('main.~C3~A4.1');
  });
});

describe('WES times', () => {
  it("are written as the spec's %Y-%m-%dT%H:%M:%SZ", () => {
    expect(wesTime('2026-01-02T03:04:05.678Z')).toBe('2026-01-02T03:04:05Z');
    expect(wesTime('2026-01-02T04:04:05+01:00')).toBe('2026-01-02T03:04:05Z');
    expect(wesTime(undefined)).toBeUndefined();
    expect(wesTime('yesterday')).toBeUndefined();
  });
});

describe('WES pages', () => {
  const q = (s: string) => new URLSearchParams(s);

  it('walks a list page by page, each item once, in order, the last page saying "" ', () => {
    const runs = runsInOrder(
      Array.from({ length: 23 }, (_, i) => ({ id: `run-${String(i % 7).padStart(2, '0')}-${i}`, startedAt: t(i % 5).toISOString() })),
    );
    // Newest first, then by id.
    for (let i = 1; i < runs.length; i++) expect(runs[i - 1]!.startedAt >= runs[i]!.startedAt).toBe(true);
    for (const size of [1, 2, 5, 22, 23, 24, 1000]) {
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = pageOf(runs, runSortKey, 'runs', readPageQuery(q(`page_size=${size}${token ? `&page_token=${token}` : ''}`), 'runs', 50), true);
        expect(page.items.length).toBeLessThanOrEqual(size);
        seen.push(...page.items.map((r) => r.id));
        token = page.nextPageToken;
        pages++;
      } while (token !== '' && pages < 100);
      expect(seen).toEqual(runs.map((r) => r.id));
      expect(pages).toBe(Math.ceil(runs.length / size));
    }
  });

  it('keeps its place when an item is added before the page a client is on', () => {
    const runs = runsInOrder(Array.from({ length: 6 }, (_, i) => ({ id: `r${i}`, startedAt: t(i).toISOString() })));
    const first = pageOf(runs, runSortKey, 'runs', { pageSize: 3 }, true);
    const withNew = runsInOrder([...runs, { id: 'r9', startedAt: t(30).toISOString() }]);
    const second = pageOf(withNew, runSortKey, 'runs', readPageQuery(q(`page_token=${first.nextPageToken}&page_size=3`), 'runs', 3), true);
    expect([...first.items, ...second.items].map((r) => r.id)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
  });

  it('refuses a page_size that is not a positive whole number, and gives at most the maximum', () => {
    for (const bad of ['0', '-1', '1.5', 'abc', '1e3', ' 2', '99999999999999999999']) {
      expect(() => readPageQuery(q(`page_size=${encodeURIComponent(bad)}`), 'runs', 50), bad).toThrow(RequestProblem);
    }
    expect(() => readPageQuery(q('page_size=2&page_size=3'), 'runs', 50)).toThrow(RequestProblem);
    expect(readPageQuery(q('page_size=5000'), 'runs', 50).pageSize).toBe(MAX_PAGE_SIZE);
    expect(readPageQuery(q(''), 'tasks', 100)).toEqual({ pageSize: 100 });
  });

  it("refuses a page_token it did not give, and one of the other list's", () => {
    const tasksToken = encodePageToken('tasks', ['2026', 'a.1']);
    const good = encodePageToken('runs', ['2026', 'r1']);
    expect(readPageQuery(q(`page_token=${good}`), 'runs', 50).after).toEqual(['2026', 'r1']);
    const bad = [
      tasksToken,
      'not a token',
      '!!!!',
      good + 'A', // not the same bytes any more
      Buffer.from('{"runs":1}').toString('base64url'),
      Buffer.from('["runs","a"]').toString('base64url'),
      Buffer.from('["runs",1,2]').toString('base64url'),
      'x'.repeat(9000),
    ];
    for (const b of bad) {
      const err = (() => {
        try {
          readPageQuery(q(`page_token=${encodeURIComponent(b)}`), 'runs', 50);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, b).toBeInstanceOf(RequestProblem);
      // The same words for each: the token is not repeated back.
      expect((err as Error).message).toBe('page_token: not a token this service gave for its list of runs (start again without one)');
    }
  });
});

describe('WES service-info', () => {
  it('is complete and valid against ServiceInfo: CWL versions as requests take them, every state counted', () => {
    const info = serviceInfo(
      { id: 'org.example.lab.strand', name: 'Lab Strand', organization: { name: 'Example Lab', url: 'https://lab.example' }, version: '0.1.0', authInstructionsUrl: 'https://lab.example/docs/lab-server.html#sign-in' },
      { COMPLETE: 3, RUNNING: 1 },
      serviceTags({ fileBytes: 10, totalBytes: 20, files: 3 }),
    );
    expect(spec.check('GET', '/service-info', 200, info).errors).toEqual([]);
    expect(info.type).toEqual({ group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' });
    expect(info.workflow_type_versions).toEqual({ CWL: { workflow_type_version: [...CWL_VERSIONS] } });
    expect(info.workflow_engine_versions).toEqual({ Strand: { workflow_engine_version: ['0.1.0'] } });
    expect(info.supported_wes_versions).toEqual(['1.1.0']);
    expect(Object.keys(info.system_state_counts).sort()).toEqual([...WES_STATES].sort());
    expect(info.system_state_counts).toMatchObject({ COMPLETE: 3, RUNNING: 1, QUEUED: 0 });
    expect(info.tags['strand.attachment.max_bytes']).toBe('10');
  });
});

describe('a TaskLog from an attempt never run', () => {
  it('has no times or exit code, and is still valid', () => {
    const a: AttemptRecord = { taskId: 'main/x', stepPath: 'main/x', attempt: 1, status: 'queued', phase: 'queued', exitCode: null, queuedAt: t(1).toISOString() };
    const log = taskLog(a);
    expect(log).toEqual({ id: 'main.x.1', name: 'main/x', system_logs: ['step: main/x', 'attempt: 1', 'phase: queued'] });
    expect(spec.checkSchema('TaskLog', log)).toEqual([]);
  });
});
