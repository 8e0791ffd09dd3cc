// The dashboard shows runs submitted to a cluster (strand submit): their steps and tasks from the
// snapshots their leader publishes, read from the cluster while a page is open, and their end
// recorded in the store. The cluster is a strict fake of the leader's side (LeaderStateReader).
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SUBMITTED_EXECUTOR, writeCachedSnapshot, type LeaderStateReader } from '../api/submitted/follow.js';
import { snapshotOf } from '../store/run-snapshot.js';
import { openRunStore, type AttemptRecord, type RunDetail } from '../store/run-store.js';
import { readEventsUntil } from '../../test/support/event-stream.js';
import { startDashboard, type Dashboard } from './server.js';

let dir = '';
let dash: Dashboard;
let leader: RunDetail;
let reads = 0;

const attempt = (i: number, phase: AttemptRecord['phase']): AttemptRecord => ({
  taskId: `main/a/${i}`,
  stepPath: 'main/a',
  nodePath: 'main/a',
  attempt: 1,
  status: phase === 'running' ? 'running' : 'completed',
  phase,
  exitCode: phase === 'succeeded' ? 0 : null,
  queuedAt: `2026-01-02T03:04:0${i}.000Z`,
  startedAt: `2026-01-02T03:04:0${i}.000Z`,
});

// The leader Job's side as leader-api.ts readLeaderState returns it: the published snapshot.
const readLeader: LeaderStateReader = async (detail, runId) => {
  reads++;
  expect([detail.namespace, runId]).toEqual(['lab', 'sub1']);
  return {
    statusJson: JSON.stringify(snapshotOf(leader, new Date(Date.UTC(2026, 0, 2, 3, 5, reads)))),
    job: { name: 'strand-leader-sub1', active: 1, succeeded: 0, failed: 0, complete: false },
    pods: [{ name: 'strand-leader-sub1-abc', phase: 'Running' }],
  };
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-ui-submitted-'));
  reads = 0;
  leader = {
    id: 'sub1',
    status: 'running',
    startedAt: '2026-01-02T03:04:00.000Z',
    tasks: { total: 2, ok: 1, failed: 0, running: 1, reused: 0, queued: 0, cancelled: 0 },
    steps: [{ stepPath: 'main/a', status: 'running', startedAt: '2026-01-02T03:04:00.000Z' }],
    attempts: [attempt(0, 'succeeded'), attempt(1, 'running')],
  };
  // As strand submit records it: the run, and an empty cached snapshot.
  const store = openRunStore(dir);
  store.createRun({
    runId: 'sub1',
    processId: 'file:///wf.cwl#main',
    startedAt: new Date('2026-01-02T03:04:00.000Z'),
    executor: SUBMITTED_EXECUTOR,
    executorDetail: { namespace: 'lab', job: 'strand-leader-sub1', statusConfigMap: 'strand-status-sub1', image: 'strand', outdir: '/o', outdirInPods: '/o' },
    graph: { root: 'main', nodes: [{ id: 'main/a', kind: 'step', label: 'a' }], edges: [] },
  });
  store.close();
  writeCachedSnapshot(dir, 'sub1', '{}');
  dash = await startDashboard({ storeDir: dir, port: 0, pollMs: 50, readLeader, submittedRefreshMs: 100 });
});
afterEach(async () => {
  await dash.close();
  await rm(dir, { recursive: true, force: true });
});

const get = async (p: string) =>
  JSON.parse(
    await new Promise<string>((resolve, reject) => {
      http.get(new URL(p, dash.origin), { headers: { authorization: `Bearer ${dash.token}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    }),
  );

/** Follow the run's event stream until `until` holds for what arrived. */
const follow = (until: (all: string) => boolean) => readEventsUntil(dash.origin, dash.token, '?run=sub1', until);

describe('a submitted run in the dashboard', () => {
  it("shows its leader's steps and tasks while a page is open, then its end, recorded in the store", async () => {
    await follow((all) => all.includes('"running":1') && all.includes('"ok":1'));
    const state = await get('/api/runs/sub1');
    expect(state.run).toMatchObject({ id: 'sub1', status: 'running', tasks: { total: 2, ok: 1, running: 1 } });
    expect(state.nodes).toEqual([expect.objectContaining({ node: 'main/a', total: 2, ok: 1, running: 1 })]);
    expect(state.stepStates).toEqual([expect.objectContaining({ node: 'main/a' })]);
    const page = await get('/api/runs/sub1/attempts');
    expect(page.total).toBe(2);
    expect(page.attempts.map((a: AttemptRecord) => a.phase)).toEqual(['succeeded', 'running']);
    expect((await get('/api/runs/sub1/task?task=main/a/1')).attempt).toMatchObject({ taskId: 'main/a/1', phase: 'running' });
    const list = await get('/api/runs');
    expect(list.runs[0]).toMatchObject({ id: 'sub1', status: 'running', tasks: { ok: 1, running: 1 } });

    // The leader finishes: the page is told, and the store records the end.
    leader = {
      ...leader,
      status: 'success',
      finishedAt: '2026-01-02T03:06:00.000Z',
      tasks: { ...leader.tasks, ok: 2, running: 0 },
      steps: [{ ...leader.steps[0]!, status: 'success' }],
      attempts: [attempt(0, 'succeeded'), attempt(1, 'succeeded')],
    };
    await follow((all) => all.includes('"status":"success"'));
    expect((await get('/api/runs')).runs[0]).toMatchObject({ id: 'sub1', status: 'success', tasks: { ok: 2 } });
    const store = openRunStore(dir);
    try {
      expect(store.getRunHeader('sub1')?.status).toBe('success');
    } finally {
      store.close();
    }
    // Ended: the cluster is not read again.
    const after = reads;
    await new Promise((r) => setTimeout(r, 400));
    expect(reads).toBe(after);
  });
});
