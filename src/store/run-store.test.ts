import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../engine/events.js';
import { StoreError } from '../errors.js';
import { openRunStore, type RunStore } from './run-store.js';
import { MIGRATIONS } from './schema.js';

let dir = '';
let store: RunStore | undefined;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-store-'));
});
afterEach(async () => {
  store?.close();
  store = undefined;
  await rm(dir, { recursive: true, force: true });
});

const t = (s: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, s));
const ref = (runId: string, taskId: string, attempt = 1) => ({ runId, taskId, stepPath: taskId.replace(/\/\d+$/, ''), attempt });

function simpleRun(runId: string): RunEvent[] {
  return [
    { type: 'run_started', runId, processId: 'file:///wf.cwl#main', at: t(0) },
    { type: 'step_started', runId, stepPath: 'main/align', at: t(1) },
    { type: 'task_queued', at: t(1), ...ref(runId, 'main/align/0') },
    { type: 'task_queued', at: t(1), ...ref(runId, 'main/align/1') },
    { type: 'task_started', at: t(2), workDir: '/w/0', logDir: '/l/0', argv: ['bwa', 'mem'], ...ref(runId, 'main/align/0') },
    { type: 'task_started', at: t(2), workDir: '/w/1', logDir: '/l/1', argv: ['bwa', 'mem', 'x y'], ...ref(runId, 'main/align/1') },
    {
      type: 'task_finished',
      at: t(5),
      result: { reason: 'completed', exitCode: 0, message: 'ok', startedAt: t(2), finishedAt: t(5) },
      phase: 'succeeded',
      ...ref(runId, 'main/align/0'),
    },
    {
      type: 'task_finished',
      at: t(6),
      result: { reason: 'completed', exitCode: 3, message: 'exited 3', logTail: 'boom', startedAt: t(2), finishedAt: t(6) },
      phase: 'failed',
      ...ref(runId, 'main/align/1'),
    },
    { type: 'step_finished', runId, stepPath: 'main/align', status: 'failed', at: t(6), message: 'task failed' },
    { type: 'run_finished', runId, status: 'failed', at: t(7), message: 'step main/align failed', outputs: { a: 1 } },
  ];
}

describe('run store', () => {
  it('creates <dir>/strand.db in WAL mode at the latest schema version', () => {
    const sub = path.join(dir, 'nested', '.strand');
    store = openRunStore(sub);
    expect(existsSync(path.join(sub, 'strand.db'))).toBe(true);
    store.close();
    const db = new Database(path.join(sub, 'strand.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
    store = openRunStore(sub); // reopening an up-to-date store is fine
  });

  it('refuses a store written by a newer schema', () => {
    const db = new Database(path.join(dir, 'strand.db'));
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => openRunStore(dir)).toThrow(StoreError);
  });

  it('records a run from its events and reads it back with steps and attempts', () => {
    store = openRunStore(dir);
    store.createRun({ runId: 'r1', processId: 'p', documentPath: 'wf.cwl', jobPath: 'job.yml', outdir: '/out', workDir: '/w', pid: process.pid, cwd: '/here', startedAt: t(0) });
    for (const e of simpleRun('r1')) store.record(e);
    const run = store.getRun('r1');
    expect(run).toMatchObject({
      id: 'r1',
      status: 'failed',
      processId: 'file:///wf.cwl#main',
      documentPath: 'wf.cwl',
      jobPath: 'job.yml',
      outdir: '/out',
      cwd: '/here',
      message: 'step main/align failed',
      outputs: { a: 1 },
      startedAt: t(0).toISOString(),
      finishedAt: t(7).toISOString(),
      durationMs: 7000,
      tasks: { total: 2, ok: 1, failed: 1, running: 0, reused: 0, queued: 0, cancelled: 0 },
    });
    expect(run?.steps).toEqual([
      { stepPath: 'main/align', status: 'failed', startedAt: t(1).toISOString(), finishedAt: t(6).toISOString(), message: 'task failed' },
    ]);
    expect(run?.attempts).toHaveLength(2);
    expect(run?.attempts[1]).toMatchObject({
      taskId: 'main/align/1',
      stepPath: 'main/align',
      attempt: 1,
      status: 'completed',
      exitCode: 3,
      workDir: '/w/1',
      logDir: '/l/1',
      argv: ['bwa', 'mem', 'x y'],
      message: 'exited 3',
      logTail: 'boom',
      queuedAt: t(1).toISOString(),
      startedAt: t(2).toISOString(),
      finishedAt: t(6).toISOString(),
    });
  });

  it('remembers where a run ran (executor and its detail)', () => {
    store = openRunStore(dir);
    store.createRun({ runId: 'rk', pid: process.pid, executor: 'kubernetes', executorDetail: { context: 'lab', namespace: 'genomics' } });
    expect(store.getRun('rk')).toMatchObject({ executor: 'kubernetes', executorDetail: { context: 'lab', namespace: 'genomics' } });
    store.createRun({ runId: 'rl', pid: process.pid });
    expect(store.getRun('rl')?.executor).toBeUndefined();
  });

  it('keeps the latest executor note of a waiting task as its message', () => {
    store = openRunStore(dir);
    store.createRun({ runId: 'r9', pid: process.pid });
    const ref = { runId: 'r9', taskId: 'main/call/0', stepPath: 'main/call', attempt: 1 };
    store.record({ type: 'task_queued', at: t(1), ...ref });
    store.record({ type: 'task_note', at: t(2), message: 'pod p1 cannot be scheduled: 0/3 nodes are available', ...ref });
    const attempt = store.getRun('r9')?.attempts[0];
    expect(attempt).toMatchObject({ taskId: 'main/call/0', status: 'queued', message: 'pod p1 cannot be scheduled: 0/3 nodes are available' });
  });

  it('batches writes: events are visible to other connections after flush, not before', () => {
    store = openRunStore(dir);
    store.createRun({ runId: 'r2', pid: process.pid });
    store.record({ type: 'step_started', runId: 'r2', stepPath: 'main/s', at: t(1) });
    const other = new Database(path.join(dir, 'strand.db'), { readonly: true });
    const count = () => (other.prepare('SELECT count(*) AS n FROM steps').get() as { n: number }).n;
    expect(count()).toBe(0);
    store.flush();
    expect(count()).toBe(1);
    other.close();
  });

  it('counts a failed attempt followed by another attempt of its task as retried, in every view', () => {
    store = openRunStore(dir);
    const runId = 'retry';
    store.record({ type: 'run_started', runId, processId: 'p', at: t(0) });
    const fail = { reason: 'completed' as const, exitCode: 5, message: 'exited 5' };
    const okResult = { reason: 'completed' as const, exitCode: 0, message: '' };
    store.record({ type: 'task_finished', at: t(1), result: fail, phase: 'failed', ...ref(runId, 'main/s/0', 1) });
    store.record({ type: 'task_finished', at: t(2), result: okResult, phase: 'succeeded', ...ref(runId, 'main/s/0', 2) });
    store.record({ type: 'task_finished', at: t(1), result: fail, phase: 'failed', ...ref(runId, 'main/s/1', 1) });
    store.record({ type: 'task_finished', at: t(2), result: fail, phase: 'failed', ...ref(runId, 'main/s/1', 2) });
    store.record({ type: 'run_finished', runId, status: 'failed', at: t(9) });
    const counts = { total: 4, ok: 1, failed: 3, retried: 2 };
    expect(store.getRun(runId)?.tasks).toMatchObject(counts);
    expect(store.listRuns()[0]?.tasks).toMatchObject(counts);
    expect(store.runOverview(runId)?.run.tasks).toMatchObject(counts);
  });

  it('writes everything at run_finished without an explicit flush', () => {
    store = openRunStore(dir);
    for (const e of simpleRun('r3')) store.record(e);
    const other = new Database(path.join(dir, 'strand.db'), { readonly: true });
    expect((other.prepare('SELECT status FROM runs WHERE id = ?').get('r3') as { status: string }).status).toBe('failed');
    expect((other.prepare('SELECT count(*) AS n FROM task_attempts').get() as { n: number }).n).toBe(2);
    other.close();
  });

  it('records thousands of task events and keeps retries as separate attempts', () => {
    store = openRunStore(dir);
    const runId = 'big';
    store.record({ type: 'run_started', runId, processId: 'p', at: t(0) });
    for (let i = 0; i < 2000; i++) {
      store.record({ type: 'task_queued', at: t(1), ...ref(runId, `main/s/${i}`) });
      store.record({ type: 'task_started', at: t(2), workDir: '/w', logDir: '/l', argv: ['echo'], ...ref(runId, `main/s/${i}`) });
      store.record({ type: 'task_finished', at: t(3), result: { reason: 'completed', exitCode: 0, message: '' }, phase: 'succeeded', ...ref(runId, `main/s/${i}`) });
    }
    store.record({ type: 'task_finished', at: t(3), result: { reason: 'oom_killed', exitCode: null, message: 'oom' }, phase: 'failed', ...ref(runId, 'main/s/0', 2) });
    store.record({ type: 'run_finished', runId, status: 'success', at: t(9) });
    const run = store.getRun('big');
    expect(run?.tasks).toEqual({ total: 2001, ok: 2000, failed: 1, running: 0, reused: 0, queued: 0, cancelled: 0, retried: 0 });
    expect(run?.attempts.filter((a) => a.taskId === 'main/s/0').map((a) => a.attempt)).toEqual([1, 2]);
  });

  it('lists runs newest first, with a limit', () => {
    store = openRunStore(dir);
    store.createRun({ runId: '20260101-000000-aaaa', startedAt: new Date('2026-01-01T00:00:00Z') });
    store.createRun({ runId: '20260102-000000-bbbb', startedAt: new Date('2026-01-02T00:00:00Z') });
    store.createRun({ runId: '20260103-000000-cccc', startedAt: new Date('2026-01-03T00:00:00Z') });
    expect(store.listRuns().map((r) => r.id)).toEqual(['20260103-000000-cccc', '20260102-000000-bbbb', '20260101-000000-aaaa']);
    expect(store.listRuns({ limit: 1 }).map((r) => r.id)).toEqual(['20260103-000000-cccc']);
  });

  it('finds runs by unique prefix or by the random suffix, and rejects ambiguous ones', () => {
    store = openRunStore(dir);
    store.createRun({ runId: '20260101-000000-aaaa' });
    store.createRun({ runId: '20260102-000000-bbbb' });
    expect(store.getRun('20260102')?.id).toBe('20260102-000000-bbbb');
    expect(store.getRun('aaaa')?.id).toBe('20260101-000000-aaaa');
    expect(store.getRun('nope')).toBeUndefined();
    expect(store.getRun('')).toBeUndefined();
    expect(() => store?.getRun('2026')).toThrow(/ambiguous.*20260101-000000-aaaa.*20260102-000000-bbbb/);
  });

  it("resolves a prefix among one owner's runs: another's run neither matches nor makes it ambiguous", () => {
    store = openRunStore(dir);
    store.createRun({ runId: '20260101-000000-aaaa', owner: 'ada' });
    store.createRun({ runId: '20260101-000000-bbbb', owner: 'bob' });
    expect(() => store?.resolveRunId('20260101')).toThrow(/ambiguous/);
    expect(store.resolveRunId('20260101', { owner: 'ada' })).toBe('20260101-000000-aaaa');
    expect(store.resolveRunId('bbbb', { owner: 'ada' })).toBeUndefined();
    expect(store.resolveRunId('20260101-000000-bbbb', { owner: 'ada' })).toBeUndefined();
    expect(store.resolveRunId('20260101-000000-bbbb', { owner: 'bob' })).toBe('20260101-000000-bbbb');
  });

  it('shows a running run whose process is gone as interrupted, and markInterrupted closes it', () => {
    store = openRunStore(dir);
    // A pid far above pid_max's default, so no process has it.
    store.createRun({ runId: 'ghost', pid: 99_999_999 });
    store.record({ type: 'step_started', runId: 'ghost', stepPath: 'main/s', at: t(1) });
    store.record({ type: 'task_started', at: t(2), workDir: '/w', logDir: '/l', argv: ['x'], ...ref('ghost', 'main/s/0') });
    store.createRun({ runId: 'live', pid: process.pid });
    const byId = new Map(store.listRuns().map((r) => [r.id, r]));
    expect(byId.get('ghost')?.status).toBe('interrupted');
    expect(byId.get('live')?.status).toBe('running');
    expect(byId.get('ghost')?.tasks.running).toBe(1);

    store.markInterrupted('ghost', 'cancelled', 'interrupted by SIGINT');
    const run = store.getRun('ghost');
    expect(run).toMatchObject({ status: 'cancelled', message: 'interrupted by SIGINT' });
    expect(run?.steps[0]?.status).toBe('cancelled');
    expect(run?.attempts[0]?.status).toBe('cancelled');
    // A finished run is not changed by markInterrupted.
    store.markInterrupted('ghost', 'failed', 'again');
    expect(store.getRun('ghost')?.message).toBe('interrupted by SIGINT');
  });

  it('judges liveness by the heartbeat, not the pid: a run whose heartbeat stopped is interrupted, lasting until it stopped', () => {
    store = openRunStore(dir);
    // Its pid is alive (this process, as PID 1 of a restarted container would be), its heartbeat old.
    store.createRun({ runId: 'stale', pid: process.pid, startedAt: t(0) });
    store.heartbeat('stale', t(12));
    store.record({ type: 'task_queued', at: t(1), ...ref('stale', 'main/s/0') });
    store.record({ type: 'task_started', at: t(2), workDir: '/w', logDir: '/l', argv: ['x'], ...ref('stale', 'main/s/0') });
    store.record({ type: 'task_queued', at: t(2), ...ref('stale', 'main/s/1') });
    store.createRun({ runId: 'alive', pid: process.pid });
    store.heartbeat('alive');
    const byId = new Map(store.listRuns().map((r) => [r.id, r]));
    expect(byId.get('stale')).toMatchObject({ status: 'interrupted', durationMs: 12_000 });
    expect(byId.get('alive')?.status).toBe('running');
    expect(store.queryRuns({ status: 'interrupted' }).runs.map((r) => r.id)).toEqual(['stale']);
    expect(store.queryRuns({ status: 'running' }).runs.map((r) => r.id)).toEqual(['alive']);

    // Closed as interrupted (what --resume does): it ends at its heartbeat, its running task
    // failed (lost), the queued one never started, and the counts add up.
    store.markInterrupted('stale', 'interrupted', 'Strand stopped');
    store.createRun({ runId: 'next', pid: process.pid, resumedFrom: 'stale' });
    const run = store.getRun('stale');
    expect(run).toMatchObject({ status: 'interrupted', finishedAt: t(12).toISOString(), durationMs: 12_000, resumedBy: ['next'] });
    expect(run?.tasks).toEqual({ total: 2, ok: 0, failed: 1, running: 0, reused: 0, queued: 0, cancelled: 1 , retried: 0 });
    expect(run?.attempts.map((a) => [a.taskId, a.phase, a.status])).toEqual([
      ['main/s/0', 'failed', 'lost'],
      ['main/s/1', 'never_started', 'lost'],
    ]);
    expect(store.runOverview('stale')?.run).toMatchObject({ resumedBy: ['next'] });
    expect(store.runOverview('next')?.run).toMatchObject({ resumedFrom: 'stale' });
  });

  it('never gives a new run the record of an existing id; a restart continues it', () => {
    store = openRunStore(dir);
    store.createRun({ runId: 'r1', documentPath: 'a.cwl' });
    expect(() => store?.createRun({ runId: 'r1', documentPath: 'b.cwl' })).toThrow(/UNIQUE|constraint/i);
    store.createRun({ runId: 'r1', documentPath: 'c.cwl', restart: true });
    expect(store.getRun('r1')?.documentPath).toBe('c.cwl');
  });

  it('a restarted run (a replaced leader) keeps the start of its first process, so its duration does not restart (issue 18, point 6)', () => {
    store = openRunStore(dir);
    const first = new Date('2026-12-07T01:00:00Z');
    store.createRun({ runId: 'r1', documentPath: 'a.cwl', startedAt: first });
    store.record({ type: 'run_started', runId: 'r1', processId: 'p', at: first });
    store.flush();
    // The next leader pod, ten minutes later.
    const later = new Date('2026-12-07T01:10:00Z');
    store.createRun({ runId: 'r1', documentPath: 'a.cwl', startedAt: later, restart: true });
    store.record({ type: 'run_started', runId: 'r1', processId: 'p', at: later });
    store.record({ type: 'run_finished', runId: 'r1', status: 'success', at: new Date('2026-12-07T01:12:00Z') });
    store.flush();
    const run = store.getRun('r1');
    expect(run?.startedAt).toBe(first.toISOString());
    expect(run?.durationMs).toBe(12 * 60_000);
  });

  it('records reused attempts with where they came from, and counts them', () => {
    store = openRunStore(dir);
    store.createRun({
      runId: 'r5',
      pid: process.pid,
      inputs: { n: 3, f: { class: 'File', location: 'file:///data/a.txt' } },
      cacheDir: '/home/u/.strand/cache',
      cacheMode: 'readwrite',
      resumedFrom: 'r4',
    });
    const reusedFrom = { key: 'abc123', entry: '/home/u/.strand/cache/abc123', runId: 'r4', taskId: 'main/s/0', attempt: 1 };
    store.record({ type: 'task_reused', at: t(1), exitCode: 0, cacheKey: 'abc123', reusedFrom, ...ref('r5', 'main/s/0') });
    store.record({ type: 'task_queued', at: t(1), ...ref('r5', 'main/s/1') });
    store.record({ type: 'task_finished', at: t(3), result: { reason: 'completed', exitCode: 0, message: '' }, phase: 'succeeded', ...ref('r5', 'main/s/1') });
    store.record({ type: 'task_cached', at: t(3), cacheKey: 'def456', entry: '/home/u/.strand/cache/def456', ...ref('r5', 'main/s/1') });
    const run = store.getRun('r5');
    expect(run).toMatchObject({
      inputs: { n: 3, f: { class: 'File', location: 'file:///data/a.txt' } },
      cacheDir: '/home/u/.strand/cache',
      cacheMode: 'readwrite',
      resumedFrom: 'r4',
      tasks: { total: 2, ok: 2, failed: 0, running: 0, reused: 1, queued: 0, cancelled: 0 },
    });
    const [reused, ran] = run?.attempts ?? [];
    expect(reused).toMatchObject({ taskId: 'main/s/0', status: 'completed', exitCode: 0, cacheKey: 'abc123', reusedFrom, workDir: reusedFrom.entry });
    expect(reused?.message).toContain('from run r4');
    expect(ran).toMatchObject({ taskId: 'main/s/1', cacheKey: 'def456' });
    expect(ran?.reusedFrom).toBeUndefined();
  });

  it('finds the newest run that did not succeed, skipping runs still going', () => {
    store = openRunStore(dir);
    store.createRun({ runId: 'a', startedAt: t(0) });
    store.record({ type: 'run_finished', runId: 'a', status: 'failed', at: t(1) });
    store.createRun({ runId: 'b', startedAt: t(2) });
    store.record({ type: 'run_finished', runId: 'b', status: 'success', at: t(3) });
    expect(store.lastUnsuccessfulRun()?.id).toBe('a');
    store.createRun({ runId: 'killed', startedAt: t(4), pid: 99_999_999 });
    expect(store.lastUnsuccessfulRun()?.id).toBe('killed');
    store.createRun({ runId: 'live', startedAt: t(5), pid: process.pid });
    expect(store.lastUnsuccessfulRun()?.id).toBe('killed');
  });

  it('remembers file digests by path and replaces them', () => {
    store = openRunStore(dir);
    expect(store.fileDigest('/data/a')).toBeUndefined();
    store.rememberFileDigest({ path: '/data/a', identity: '1:2:3:4:5', checksum: 'sha1$aa', size: 3 });
    expect(store.fileDigest('/data/a')).toEqual({ path: '/data/a', identity: '1:2:3:4:5', checksum: 'sha1$aa', size: 3 });
    store.rememberFileDigest({ path: '/data/a', identity: '1:2:3:9:9', checksum: 'sha1$bb', size: 4 });
    expect(store.fileDigest('/data/a')?.checksum).toBe('sha1$bb');
  });

  it('writes remembered digests with the next batch, one transaction for many files, and keeps them across a reopen', () => {
    store = openRunStore(dir);
    for (let i = 0; i < 50; i++) store.rememberFileDigest({ path: `/data/f${i}`, identity: `1:${i}:3:4:5`, checksum: `sha1$${i}`, size: i });
    // Not written yet: another connection does not see them; this one does.
    const other = openRunStore(dir);
    expect(other.fileDigest('/data/f7')).toBeUndefined();
    expect(store.fileDigest('/data/f7')?.checksum).toBe('sha1$7');
    store.flush();
    expect(other.fileDigest('/data/f7')).toEqual({ path: '/data/f7', identity: '1:7:3:4:5', checksum: 'sha1$7', size: 7 });
    store.rememberFileDigest({ path: '/data/f8', identity: '9:9:9:9:9', checksum: 'sha1$new', size: 1 });
    store.close();
    expect(other.fileDigest('/data/f8')?.checksum).toBe('sha1$new');
    other.close();
    store = openRunStore(dir);
    expect(store.fileDigest('/data/f49')?.checksum).toBe('sha1$49');
  });

  it('opens a store made by the previous schema version and adds the cache columns', () => {
    const db = new Database(path.join(dir, 'strand.db'));
    for (const sql of MIGRATIONS.slice(0, 2)) db.exec(sql);
    db.pragma('user_version = 2');
    db.prepare(`INSERT INTO runs (id, status, started_at) VALUES ('old', 'success', '2026-01-01T00:00:00Z')`).run();
    db.close();
    store = openRunStore(dir);
    expect(store.getRun('old')).toMatchObject({ id: 'old', status: 'success', tasks: { reused: 0 } });
    expect(store.getRun('old')?.cacheDir).toBeUndefined();
  });

  it('throws StoreError on record after close; close is idempotent', () => {
    store = openRunStore(dir);
    store.close();
    expect(() => store?.record({ type: 'step_started', runId: 'x', stepPath: 's', at: t(0) })).toThrow(StoreError);
    store.close();
    store = undefined;
  });

  it('wraps an unopenable store in StoreError', async () => {
    const { writeFile } = await import('node:fs/promises');
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'x');
    expect(() => openRunStore(path.join(file, 'sub'))).toThrow(StoreError);
  });
});
