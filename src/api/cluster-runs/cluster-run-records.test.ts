import { describe, expect, it } from 'vitest';
import { KEPT_STATUS_LABEL, LEADER_ANNOTATIONS, leaderJobName } from '../../cluster/leader-manifests.js';
import type { LeaderState } from '../../cluster/leader-api.js';
import { snapshotOf } from '../../store/run-snapshot.js';
import type { RunDetail } from '../../store/run-store.js';
import { clusterRunView, leaderStartOf, runMetaOf, type ClusterRunMeta } from './cluster-run-records.js';

const job = (annotations: Record<string, string>, labels: Record<string, string> = {}) => ({
  metadata: { name: 'strand-leader-r1', annotations, labels, creationTimestamp: new Date('2026-01-02T03:04:05Z') },
  spec: { template: { spec: { containers: [{ image: 'registry.example/strand:1' }] } } },
});

const meta: ClusterRunMeta = { runId: 'r1', owner: 'a@b.c', namespace: 'lab-a', job: leaderJobName('r1'), submittedAt: '2026-01-02T03:04:05.000Z', documentPath: 'wf.cwl', image: 'img' };
const activeJob: NonNullable<LeaderState['job']> = { name: leaderJobName('r1'), active: 1, succeeded: 0, failed: 0, complete: false };

describe('a run recorded on the cluster', () => {
  it('is read from the annotations of its Job; one that records no submitter is nobody\'s run', () => {
    const m = runMetaOf(job({ [LEADER_ANNOTATIONS.runId]: 'r1', [LEADER_ANNOTATIONS.submittedBy]: 'a@b.c', [LEADER_ANNOTATIONS.document]: 'wf.cwl' }), 'lab-a', leaderJobName);
    expect(m).toEqual({ runId: 'r1', owner: 'a@b.c', namespace: 'lab-a', job: leaderJobName('r1'), submittedAt: '2026-01-02T03:04:05.000Z', documentPath: 'wf.cwl', image: 'registry.example/strand:1' });
    expect(runMetaOf(job({ [LEADER_ANNOTATIONS.runId]: 'r1' }), 'lab-a', leaderJobName)).toBeUndefined();
    const kept = runMetaOf(job({ [LEADER_ANNOTATIONS.runId]: 'r1', [LEADER_ANNOTATIONS.submittedBy]: 'x', [LEADER_ANNOTATIONS.cancelledAt]: '2026-02-01T00:00:00.000Z' }, { [KEPT_STATUS_LABEL]: 'true' }), 'n', leaderJobName);
    expect(kept).toMatchObject({ kept: true, cancelledAt: '2026-02-01T00:00:00.000Z' });
  });

  it("carries the tags of the request it was submitted with into its record and its view; an unreadable annotation is none", () => {
    const base = { [LEADER_ANNOTATIONS.runId]: 'r1', [LEADER_ANNOTATIONS.submittedBy]: 'a@b.c' };
    const m = runMetaOf(job({ ...base, [LEADER_ANNOTATIONS.tags]: '{"project":"pilot"}' }), 'lab-a', leaderJobName)!;
    expect(m.tags).toEqual({ project: 'pilot' });
    expect(clusterRunView(m, { job: activeJob, pods: [] }).run.tags).toEqual({ project: 'pilot' });
    for (const bad of ['{"project": 1}', 'not json']) expect(runMetaOf(job({ ...base, [LEADER_ANNOTATIONS.tags]: bad }), 'lab-a', leaderJobName)).not.toHaveProperty('tags');
    expect(clusterRunView(meta, { job: activeJob, pods: [] }).run).not.toHaveProperty('tags');
  });

  it('says whether its leader has started: no pod or an unscheduled one is pending, a pod pulling its image is starting', () => {
    expect(leaderStartOf([])).toBe('pending');
    expect(leaderStartOf([{ name: 'p1', phase: 'Pending' }])).toBe('pending');
    expect(leaderStartOf([{ name: 'p1', phase: 'Pending', reason: 'ContainerCreating' }])).toBe('starting');
    expect(leaderStartOf([{ name: 'p1', phase: 'Running' }])).toBeUndefined();
    // A leader that died, its next pod waiting to be scheduled.
    expect(leaderStartOf([{ name: 'p1', phase: 'Failed', reason: 'Error' }, { name: 'p2', phase: 'Pending' }])).toBe('pending');
  });

  it('ends as follow.ts decides: the snapshot, else a Job failed for good, else a Job gone', () => {
    const running = clusterRunView(meta, { job: activeJob, pods: [{ name: 'p', phase: 'Pending', reason: 'ErrImagePull' }] });
    expect({ status: running.run.status, leader: running.leader, tasks: running.run.tasks.total }).toEqual({ status: 'running', leader: 'starting', tasks: 0 });

    const failed = clusterRunView(meta, { job: { ...activeJob, active: 0, failed: 1, failedCondition: 'BackoffLimitExceeded: Job has reached the specified backoff limit' }, pods: [] });
    expect(failed.run).toMatchObject({ status: 'failed', message: 'the leader Job failed: BackoffLimitExceeded: Job has reached the specified backoff limit' });
    expect(failed.leader).toBeUndefined();

    const deleting = clusterRunView(meta, { job: { ...activeJob, deleting: true }, pods: [] });
    expect({ status: deleting.run.status, cancelRequested: deleting.cancelRequested, leader: deleting.leader }).toEqual({ status: 'running', cancelRequested: true, leader: undefined });

    const gone = clusterRunView({ ...meta, cancelledAt: '2026-01-02T04:00:00.000Z' }, { statusJson: '{}', pods: [] });
    expect(gone.run).toMatchObject({ status: 'cancelled', finishedAt: '2026-01-02T04:00:00.000Z', message: `the leader Job ${leaderJobName('r1')} was deleted` });

    const done: RunDetail = {
      id: 'r1', status: 'success', startedAt: meta.submittedAt, finishedAt: '2026-01-02T03:05:00.000Z', durationMs: 55_000,
      tasks: { total: 2, ok: 2, failed: 0, running: 0, reused: 0, queued: 0, cancelled: 0 }, outputs: { out: 1 }, steps: [], attempts: [],
    };
    // A run that ended stays as it ended when its Job is deleted afterwards.
    const v = clusterRunView(meta, { statusJson: JSON.stringify(snapshotOf(done)), pods: [] });
    expect(v.run).toMatchObject({ id: 'r1', status: 'success', outputs: { out: 1 }, finishedAt: done.finishedAt, tasks: { total: 2, ok: 2 }, owner: 'a@b.c', documentPath: 'wf.cwl' });
  });
});
