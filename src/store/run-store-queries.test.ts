// The run store's page queries (dashboard, reports): filters, pagination, per-node aggregates,
// and what an attempt carries (resources, usage, backend names, notes).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEvent } from '../engine/events.js';
import { openRunStore, type RunStore } from './run-store.js';

let dir = '';
let store: RunStore;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-store-q-'));
  store = openRunStore(dir);
});
afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

const t = (s: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, s));
const task = (runId: string, taskId: string, attempt = 1) => ({ runId, taskId, stepPath: taskId, attempt });

function scatterRun(runId: string, n: number, failAt: number): RunEvent[] {
  const ev: RunEvent[] = [{ type: 'run_started', runId, processId: 'file:///wf.cwl#main', at: t(0) }];
  for (let k = 0; k < n; k++) {
    const ref = task(runId, `main/align/${k}`);
    ev.push({ type: 'task_queued', at: t(1), ...ref });
    ev.push({ type: 'task_started', at: t(2), workDir: '/w', logDir: '/l', argv: ['bwa'], resources: { cores: 2, ramMiB: 512, tmpdirMiB: 1, outdirMiB: 1 }, ...ref });
    if (k === failAt) {
      ev.push({ type: 'task_note', at: t(3), message: 'OOMKilled with a 512Mi memory limit; retrying with 1024Mi', ...ref });
      ev.push({ type: 'task_note', at: t(4), message: 'waiting for room in the quota', ...ref });
    }
    ev.push({
      type: 'task_finished',
      at: t(5),
      phase: k === failAt ? 'failed' : 'succeeded',
      result: {
        reason: k === failAt ? 'failed' : 'completed',
        exitCode: k === failAt ? null : 0,
        message: 'm',
        usage: { cpuSeconds: 1.5, peakRssMiB: 100, source: 'proc', samples: 3 },
        native: { job: `job-${k}`, pod: `pod-${k}`, node: 'node-1' },
      },
      ...ref,
    });
  }
  if (failAt >= 0) {
    const ref = task(runId, `main/align/${failAt}`, 2);
    ev.push({ type: 'task_queued', at: t(6), ...ref });
    ev.push({ type: 'task_started', at: t(6), workDir: '/w', logDir: '/l', argv: ['bwa'], ...ref });
  }
  return ev;
}

describe('run store page queries', () => {
  it('filters runs by status and words, pages them, and counts all matches', () => {
    for (let i = 0; i < 7; i++) {
      store.createRun({ runId: `run-${i}`, processId: i % 2 ? 'file:///a/align.cwl' : 'file:///a/call.cwl', owner: i === 3 ? 'alice' : 'bob', startedAt: t(i), executor: 'local' });
      if (i < 4) store.record({ type: 'run_finished', runId: `run-${i}`, status: 'success', at: t(i + 1) });
    }
    const all = store.queryRuns({ limit: 3 });
    expect(all.total).toBe(7);
    expect(all.runs.map((r) => r.id)).toEqual(['run-6', 'run-5', 'run-4']);
    expect(store.queryRuns({ limit: 3, offset: 6 }).runs.map((r) => r.id)).toEqual(['run-0']);
    expect(store.queryRuns({ status: 'success' }).total).toBe(4);
    expect(store.queryRuns({ search: 'ALIGN' }).runs.map((r) => r.id)).toEqual(['run-5', 'run-3', 'run-1']);
    const alice = store.queryRuns({ search: 'alice' });
    expect(alice.runs.map((r) => [r.id, r.owner, r.executor])).toEqual([['run-3', 'alice', 'local']]);
  });

  it('aggregates tasks per graph node by their latest attempt, and pages attempts in queue order', () => {
    store.createRun({ runId: 'big', processId: 'p', graph: { root: 'main', nodes: [{ id: 'main/align', kind: 'step', label: 'align' }], edges: [] } });
    for (const e of scatterRun('big', 5, 2)) store.record(e);
    const [align] = store.nodeStates('big');
    // Task 2 failed once and runs again: it counts as running, with one retry.
    expect(align).toEqual({ node: 'main/align', total: 5, ok: 4, failed: 0, running: 1, queued: 0, cancelled: 0, retries: 1, reused: 0 });
    expect(store.getRunHeader('big')?.graph?.nodes[0]?.id).toBe('main/align');

    const page = store.attemptsPage('big', { limit: 2, offset: 1 });
    expect(page.total).toBe(6);
    expect(page.attempts.map((a) => a.taskId)).toEqual(['main/align/1', 'main/align/2']);
    const failed = store.getAttempt('big', 'main/align/2', 1)!;
    expect(failed.nodePath).toBe('main/align');
    expect(failed.resources).toEqual({ cores: 2, ramMiB: 512, tmpdirMiB: 1, outdirMiB: 1 });
    expect(failed.usage).toEqual({ cpuSeconds: 1.5, peakRssMiB: 100, source: 'proc', samples: 3 });
    expect(failed.native).toEqual({ job: 'job-2', pod: 'pod-2', node: 'node-1' });
    expect(failed.notes).toEqual([
      { at: t(3).toISOString(), message: 'OOMKilled with a 512Mi memory limit; retrying with 1024Mi' },
      { at: t(4).toISOString(), message: 'waiting for room in the quota' },
    ]);
    expect(store.getAttempt('big', 'main/align/2')?.attempt).toBe(2);
    expect(store.attemptsPage('big', { node: 'main/other' }).total).toBe(0);
  });

  it('changes its data version when another connection writes', () => {
    const reader = openRunStore(dir);
    try {
      const before = reader.dataVersion();
      store.createRun({ runId: 'r1' });
      expect(reader.dataVersion()).not.toBe(before);
    } finally {
      reader.close();
    }
  });

  it("getRun's attempt window: the first N that went well and the first M that did not, in getRun's order, and how many were left out", () => {
    store.createRun({ runId: 'w', processId: 'file:///wf.cwl#main', startedAt: t(0) });
    for (const e of scatterRun('w', 30, 7)) store.record(e);
    const full = store.getRun('w');
    const windowed = store.getRun('w', { ok: 5, other: 1 });
    if (!full || !windowed) throw new Error('no run');
    const ok = full.attempts.filter((a) => a.phase === 'succeeded').slice(0, 5);
    const other = full.attempts.filter((a) => a.phase !== 'succeeded').slice(0, 1);
    const id = (a: { taskId: string; attempt: number }) => `${a.taskId}#${a.attempt}`;
    const kept = new Set([...ok, ...other].map(id));
    expect(windowed.attempts.map(id)).toEqual(full.attempts.filter((a) => kept.has(id(a))).map(id));
    expect(windowed.attemptsLeftOut).toEqual({ ok: 24, other: 1 });
    expect(full.attemptsLeftOut).toBeUndefined();
    // The failed first attempt of main/align/7 was followed by a second: both reads say so.
    expect(windowed.attempts.find((a) => a.phase === 'failed')).toMatchObject({ taskId: 'main/align/7', attempt: 1, retried: true });
    expect(full.attempts.filter((a) => a.retried).map(id)).toEqual(['main/align/7#1']);
    expect(store.getRun('w', { ok: 100, other: 100 })?.attemptsLeftOut).toEqual({ ok: 0, other: 0 });
  });
});
