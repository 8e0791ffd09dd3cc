/**
 * The engine's verdict on a task attempt, decided once here and recorded with its task_finished
 * event: every front end (summary line, strand list/show, dashboard, report, trace) reads it and
 * none derives "succeeded" from an exit code again (a tool's successCodes may make 1 a success).
 */
import type { AttemptPhase } from '../events.js';
import type { TaskResult } from '../../executor/executor.js';

/** How an exit code reads for a tool: its successCodes, temporaryFailCodes, permanentFailCodes, then 0. */
export type ExitStatus = 'success' | 'temporaryFail' | 'permanentFail';

/** The final phase of an attempt that ran (or was meant to): `reused` attempts never get here. */
export function finalPhase(result: TaskResult, started: boolean, exit: ExitStatus | 'error'): Extract<AttemptPhase, 'succeeded' | 'failed' | 'cancelled' | 'never_started'> {
  if (result.reason === 'cancelled') return started ? 'cancelled' : 'never_started';
  return exit === 'success' ? 'succeeded' : 'failed';
}
