/** Events the engine emits while a run goes; the run store and the progress display listen. */
import type { CwlObject } from '../model/types.js';
import type { TaskResources, TaskResult } from '../executor/executor.js';

export type RunStatus = 'running' | 'success' | 'failed' | 'cancelled';
export type StepStatus = 'running' | 'success' | 'failed' | 'skipped' | 'cancelled';

/**
 * What happened to one task attempt, decided once by the engine (success codes included) and
 * recorded: queued, running, then succeeded, failed (the TaskResult's reason says why), cancelled
 * (stopped while running), never_started (cancelled before it ran) or reused (from the task cache).
 */
export type AttemptPhase = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'never_started' | 'reused';

/** Whether an attempt's phase counts as done well: it succeeded, or its result was reused. */
export function phaseIsOk(phase: AttemptPhase): boolean {
  return phase === 'succeeded' || phase === 'reused';
}

/** The phases an attempt ends in. */
export const FINAL_PHASES: readonly AttemptPhase[] = ['succeeded', 'failed', 'cancelled', 'never_started', 'reused'];

export interface TaskRef {
  runId: string;
  taskId: string;
  stepPath: string;
  attempt: number;
}

/** Where a reused task result came from: a task cache entry, and the run and task that made it. */
export interface ReusedFrom {
  /** The entry's cache key (hex digest of what the task would run; docs/caching.md). */
  key: string;
  /** The entry's directory: the output directory the result was collected from. */
  entry: string;
  /** The run, task and attempt that made the entry (recorded in the entry by the Strand that wrote it). */
  runId?: string;
  taskId?: string;
  attempt?: number;
}

export type RunEvent =
  | { type: 'run_started'; runId: string; processId: string; at: Date }
  | { type: 'step_started'; runId: string; stepPath: string; at: Date }
  | { type: 'step_finished'; runId: string; stepPath: string; status: StepStatus; at: Date; message?: string }
  | ({ type: 'task_queued'; at: Date } & TaskRef)
  | ({ type: 'task_started'; at: Date; workDir: string; logDir: string; argv: string[]; resources?: TaskResources; image?: string } & TaskRef)
  /** The attempt ended; `phase` is the engine's verdict (a non-zero exit may succeed, output collection may fail). */
  | ({ type: 'task_finished'; at: Date; result: TaskResult; phase: 'succeeded' | 'failed' | 'cancelled' | 'never_started' } & TaskRef)
  /** The task did not run: its result was reused from the task cache (an attempt that ended `completed`). */
  | ({ type: 'task_reused'; at: Date; exitCode: number; cacheKey: string; reusedFrom: ReusedFrom } & TaskRef)
  /** The attempt's result was written to the task cache under `cacheKey` (after its task_finished). */
  | ({ type: 'task_cached'; at: Date; cacheKey: string; entry: string } & TaskRef)
  /** News from the executor about a task that has not ended (e.g. "pod cannot be scheduled: ..."). */
  | ({ type: 'task_note'; at: Date; message: string } & TaskRef)
  | { type: 'run_finished'; runId: string; status: RunStatus; at: Date; message?: string; outputs?: CwlObject };

export type RunEventSink = (event: RunEvent) => void;
