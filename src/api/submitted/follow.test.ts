import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRunStore, type RunDetail, type RunStore } from '../../store/run-store.js';
import { snapshotOf } from '../../store/run-snapshot.js';
import { SUBMITTED_EXECUTOR, isSubmittedRun, leaderLines, mergedDetail, mergedSummary, readCachedSnapshot, refreshSubmitted, writeCachedSnapshot, type LeaderStateReader, type SubmittedDetail } from './follow.js';

const detail: SubmittedDetail = { namespace: 'lab', job: 'strand-leader-r1', statusConfigMap: 'strand-status-r1', image: 'i', outdir: '/mnt/ws/out', outdirInPods: '/workspace/out' };

function remote(status: 'running' | 'success' | 'failed', extra: Partial<RunDetail> = {}): RunDetail {
  return {
    id: 'r1',
    status,
    startedAt: '2026-12-01T10:00:00.000Z',
    ...(status !== 'running' ? { finishedAt: '2026-12-01T10:05:00.000Z' } : {}),
    durationMs: 300_000,
    tasks: { total: 3, ok: 2, failed: 0, running: 1, reused: 0, queued: 0, cancelled: 0 },
    steps: [{ stepPath: 'wf/a', status: 'success' }],
    attempts: [{ taskId: 'wf/a', stepPath: 'wf/a', attempt: 1, status: 'completed', phase: 'succeeded', exitCode: 0 }],
    ...extra,
  };
}

describe('following a submitted run', () => {
  let dir: string;
  let store: RunStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'strand-follow-'));
    store = openRunStore(dir);
    store.createRun({ runId: 'r1', executor: SUBMITTED_EXECUTOR, executorDetail: detail as unknown as Record<string, unknown>, outdir: '/mnt/ws/out' });
    writeCachedSnapshot(dir, 'r1', '{}');
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const reader = (state: Awaited<ReturnType<LeaderStateReader>>): LeaderStateReader => () => Promise.resolve(state);
  const job = { name: 'strand-leader-r1', active: 1, succeeded: 0, failed: 0, complete: false };

  it("shows the leader's steps and tasks while it runs, and keeps what it saw", async () => {
    const run = store.getRun('r1')!;
    expect(isSubmittedRun(dir, 'r1')).toBe(true);
    const json = JSON.stringify(snapshotOf(remote('running'), new Date('2026-12-01T10:01:00Z')));
    const view = await refreshSubmitted(store, dir, run, reader({ statusJson: json, job, pods: [{ name: 'p1', phase: 'Running' }] }), detail);
    expect(view.ended).toBeUndefined();
    expect(store.getRun('r1')!.status).toBe('running');
    const shown = mergedDetail(store.getRun('r1')!, view);
    expect({ status: shown.status, tasks: shown.tasks, steps: shown.steps.length, attempts: shown.attempts.length }).toEqual({ status: 'running', tasks: remote('running').tasks, steps: 1, attempts: 1 });
    expect(mergedSummary(store.listRuns()[0]!, view.snapshot).tasks).toEqual(remote('running').tasks);
    expect(readCachedSnapshot(dir, 'r1')?.publishedAt).toBe('2026-12-01T10:01:00.000Z');
    expect(leaderLines(detail, view, 'r1')).toEqual([
      'Submitted to namespace lab, image i',
      '  state published by the leader at 2026-12-01T10:01:00.000Z',
      '  job/strand-leader-r1: 1 active; leader pods failed so far: 0',
      '    pod/p1: Running',
      '  outputs: /mnt/ws/out (pods: /workspace/out)',
      '  follow: strand logs r1 -f    cancel: strand cancel r1',
    ]);

    // The cluster gone: the last state seen, said to be that.
    const away = await refreshSubmitted(store, dir, run, () => Promise.reject(new Error('connect ECONNREFUSED')), detail);
    expect(away.unreachable).toBe('connect ECONNREFUSED');
    expect(away.snapshot?.run.tasks).toEqual(remote('running').tasks);
  });

  it('records the end the leader published, with the outputs, in the local store', async () => {
    const outputs = { out: { class: 'File', location: 'file:///workspace/out/x', checksum: 'sha1$00' } };
    const json = JSON.stringify(snapshotOf(remote('success', { outputs })));
    const view = await refreshSubmitted(store, dir, store.getRun('r1')!, reader({ statusJson: json, job: { ...job, active: 0, succeeded: 1, complete: true }, pods: [] }), detail);
    expect(view.ended).toEqual({ status: 'success', message: '' });
    const local = store.getRun('r1')!;
    expect({ status: local.status, finishedAt: local.finishedAt, outputs: local.outputs }).toEqual({ status: 'success', finishedAt: '2026-12-01T10:05:00.000Z', outputs });
  });

  it('a leader Job that failed for good, or was deleted, ends the run', async () => {
    const running = JSON.stringify(snapshotOf(remote('running')));
    const v = await refreshSubmitted(store, dir, store.getRun('r1')!, reader({ statusJson: running, job: { ...job, active: 0, failed: 5, failedCondition: 'BackoffLimitExceeded: Job has reached the specified backoff limit' }, pods: [] }), detail);
    expect(v.ended?.status).toBe('failed');
    expect(store.getRun('r1')!.message).toBe('the leader Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit');

    const stuck = await refreshSubmitted(store, dir, store.getRun('r1')!, reader({ job: { ...job, active: 0, warning: 'FailedCreate: serviceaccount "strand" not found' }, pods: [] }), detail);
    expect(stuck.leader).toContain('  the Job cannot start its pod: FailedCreate: serviceaccount "strand" not found');

    store.createRun({ runId: 'r2', executor: SUBMITTED_EXECUTOR, executorDetail: { ...detail, job: 'strand-leader-r2' } as unknown as Record<string, unknown> });
    const gone = await refreshSubmitted(store, dir, store.getRun('r2')!, reader({ pods: [] }), { ...detail, job: 'strand-leader-r2' });
    expect(gone.ended).toEqual({ status: 'cancelled', message: 'the leader Job strand-leader-r2 was deleted' });
    expect(gone.leader).toEqual(['job/strand-leader-r2: not found in namespace lab (deleted)']);
    expect(store.getRun('r2')!.status).toBe('cancelled');
  });

  it('a leader Job that completed without publishing the end (it could not write its ConfigMap) ends the run failed, not running for ever', async () => {
    const running = JSON.stringify(snapshotOf(remote('running')));
    const v = await refreshSubmitted(store, dir, store.getRun('r1')!, reader({ statusJson: running, job: { ...job, active: 0, succeeded: 1, complete: true }, pods: [] }), detail);
    expect(v.ended?.status).toBe('failed');
    expect(store.getRun('r1')!.status).toBe('failed');
    expect(store.getRun('r1')!.message).toContain("completed without publishing the run's end");
    // A leader that published its end before its Job completed: that end stands.
    store.createRun({ runId: 'r3', executor: SUBMITTED_EXECUTOR, executorDetail: { ...detail, job: 'strand-leader-r3' } as unknown as Record<string, unknown> });
    const done = JSON.stringify(snapshotOf({ ...remote('success'), id: 'r3' }));
    const ok = await refreshSubmitted(store, dir, store.getRun('r3')!, reader({ statusJson: done, job: { ...job, name: 'strand-leader-r3', active: 0, succeeded: 1, complete: true }, pods: [] }), { ...detail, job: 'strand-leader-r3' });
    expect(ok.ended?.status).toBe('success');
  });
});
