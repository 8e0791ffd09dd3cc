/** Events the engine emits while a run goes; the run store and the progress display listen. */
import type { CwlObject } from '../model/types.js';
import type { TaskResources, TaskResult } from '../executor/executor.js';

export type RunStatus = 'running' | 'success' | 'failed' | 'cancelled';
export type StepStatus = 'running' | 'success' | 'failed' | 'skipped' | 'cancelled';

export interface TaskRef {
  runId: string;
  taskId: string;
  stepPath: string;
  attempt: number;
}

export type RunEvent =
  | { type: 'run_started'; runId: string; processId: string; at: Date }
  | { type: 'step_started'; runId: string; stepPath: string; at: Date }
  | { type: 'step_finished'; runId: string; stepPath: string; status: StepStatus; at: Date; message?: string }
  | ({ type: 'task_queued'; at: Date } & TaskRef)
  | ({ type: 'task_started'; at: Date; workDir: string; logDir: string; argv: string[]; resources?: TaskResources; image?: string } & TaskRef)
  | ({ type: 'task_finished'; at: Date; result: TaskResult } & TaskRef)
  /** News from the executor about a task that has not ended (e.g. "pod cannot be scheduled: ..."). */
  | ({ type: 'task_note'; at: Date; message: string } & TaskRef)
  | { type: 'run_finished'; runId: string; status: RunStatus; at: Date; message?: string; outputs?: CwlObject };

export type RunEventSink = (event: RunEvent) => void;
