/**
 * A run's GA4GH WES 1.1 state, decided from what Strand recorded of it (its status and the
 * reasons its failed tasks ended), never from anything else. The lab server's ListRuns,
 * GetRunStatus and GetRunLog all answer with this one mapping.
 *
 * | recorded                                                        | WES state        |
 * |-----------------------------------------------------------------|------------------|
 * | running, a cancel asked for and not done yet                    | CANCELING        |
 * | running, a submitted run whose leader Job has no pod yet        | QUEUED           |
 * | running, its leader pod starting (image pulled, inputs staged)  | INITIALIZING     |
 * | running                                                         | RUNNING          |
 * | success                                                         | COMPLETE         |
 * | cancelled                                                       | CANCELED         |
 * | failed, some task's tool failed (exit code, OOM, time limit)    | EXECUTOR_ERROR   |
 * | failed, every failed task evicted or lost with its node         | PREEMPTED        |
 * | failed otherwise (no task failed, or one could not run: image, scheduling, staging) | SYSTEM_ERROR |
 * | interrupted (Strand's own process stopped without ending it)    | SYSTEM_ERROR     |
 * | anything else                                                   | UNKNOWN          |
 *
 * PAUSED is never given: Strand does not pause runs.
 */
import type { TaskReason } from '../../executor/executor.js';
import type { DisplayRunStatus } from '../../store/run-store.js';

export const WES_STATES = [
  'UNKNOWN',
  'QUEUED',
  'INITIALIZING',
  'RUNNING',
  'PAUSED',
  'COMPLETE',
  'EXECUTOR_ERROR',
  'SYSTEM_ERROR',
  'CANCELED',
  'CANCELING',
  'PREEMPTED',
] as const;
export type WesState = (typeof WES_STATES)[number];

/** What Strand recorded of a run, as far as its WES state depends on it. */
export interface RecordedRun {
  status: DisplayRunStatus;
  /** A submitted run not yet started by its leader: its Job waits for a pod, or the pod starts. */
  leader?: 'pending' | 'starting';
  /** A cancel was asked for; the run has not ended yet. */
  cancelRequested?: boolean;
  /** Why the tasks whose failure ended the run failed (the last attempt of each). */
  failures: readonly TaskReason[];
}

/** A tool's own failure: its exit code (success codes already applied), its memory or its time limit. */
const TOOL_FAILURES: ReadonlySet<TaskReason> = new Set(['completed', 'oom_killed', 'timed_out']);
/** The cluster took the task away: evicted, or its node (or pod) lost. */
const PREEMPTIONS: ReadonlySet<TaskReason> = new Set(['evicted', 'lost']);

export function wesState(run: RecordedRun): WesState {
  switch (run.status) {
    case 'running':
      if (run.cancelRequested) return 'CANCELING';
      if (run.leader === 'pending') return 'QUEUED';
      if (run.leader === 'starting') return 'INITIALIZING';
      return 'RUNNING';
    case 'success':
      return 'COMPLETE';
    case 'cancelled':
      return 'CANCELED';
    case 'failed':
      if (run.failures.some((r) => TOOL_FAILURES.has(r))) return 'EXECUTOR_ERROR';
      if (run.failures.length > 0 && run.failures.every((r) => PREEMPTIONS.has(r))) return 'PREEMPTED';
      return 'SYSTEM_ERROR';
    case 'interrupted':
      return 'SYSTEM_ERROR';
    default:
      return 'UNKNOWN';
  }
}
