/**
 * When a failed task runs again: the engine's one retry policy, for every executor. Pure.
 *
 * A task gets `retries` more attempts (--retries, `retry.count` in strand.yaml, or the tool's
 * `strand:TaskRetry` hint, which wins), each a new attempt in the run store, after a wait that
 * doubles from `backoffMs` up to `maxBackoffMs`. Only failures that another try may mend are
 * retried: a non-zero exit (unless the tool lists it in permanentFailCodes, or it is 126/127:
 * the command cannot be executed or was not found), a time limit reached, a process killed by a
 * signal, memory exhausted, a node lost or a pod evicted. Never: an image that cannot be had, a
 * task that fits nowhere, a task that could not be started, a cancelled one, an invalid document
 * or outputs that could not be collected (those are errors, not results, and end the task).
 * Exit codes in temporaryFailCodes get at least one retry, as they always did.
 *
 * An executor may retry inside one attempt what is not the task's fault (the Kubernetes executor
 * retries evicted and lost pods, and OOM-killed ones with more memory): what it gives up on comes
 * here as the attempt's result.
 */
import { ValidationError } from '../../errors.js';
import type { TaskResult } from '../../executor/executor.js';
import type { EffectiveRequirements } from '../../model/requirements.js';
import type { CommandLineTool } from '../../model/types.js';
import { isTaskRetryClass, TASK_RETRY_CLASS, taskRetryCount } from '../../model/task-retry-hint.js';

/** The per-tool hint: `hints: [{class: strand:TaskRetry, retries: 3}]` with `$namespaces: {strand: https://strand.dev/cwl#}`. */
export const TASK_RETRY_HINT = TASK_RETRY_CLASS;

/** How a run retries failed tasks. */
export interface RetrySettings {
  /** More attempts a failed task gets (0: none). The tool's hint wins over it. */
  readonly retries: number;
  /** The wait before the first retry, in ms; it doubles with each retry. */
  readonly backoffMs: number;
  /** The longest wait between two attempts, in ms. */
  readonly maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetrySettings = { retries: 0, backoffMs: 1000, maxBackoffMs: 30_000 };

/** The exit codes a shell gives for a command it cannot execute (126) or cannot find (127). */
const CANNOT_EXECUTE = new Set([126, 127]);

/** The retries a tool gets: its `strand:TaskRetry` hint (or requirement), else the run's default. */
export function retriesFor(eff: EffectiveRequirements, runDefault: number, where: string): number {
  // A requirement over a hint; among layers the loader already let the inner one win.
  const found = eff.requirements.find((r) => isTaskRetryClass(r.class)) ?? eff.hints.find((r) => isTaskRetryClass(r.class));
  const n = found ? taskRetryCount(found) : undefined;
  if (n === undefined) return runDefault;
  if (typeof n === 'object') throw new ValidationError(`${where}: ${n.problem}`);
  return n;
}

/** Why a failed attempt is not retried, or undefined when another attempt may mend it. */
export function notRetriable(result: TaskResult, tool: Pick<CommandLineTool, 'permanentFailCodes'>): string | undefined {
  switch (result.reason) {
    case 'completed': {
      const code = result.exitCode;
      if (code === null) return 'it has no exit code';
      if (tool.permanentFailCodes?.includes(code)) return `the tool lists exit code ${code} in permanentFailCodes`;
      if (CANNOT_EXECUTE.has(code)) return `exit code ${code} means the command cannot be executed or was not found`;
      return undefined;
    }
    case 'timed_out':
    case 'oom_killed':
    case 'evicted':
    case 'lost':
      return undefined;
    case 'failed':
      return result.signal !== undefined ? undefined : 'it could not be run';
    case 'image_unavailable':
      return 'its image cannot be had';
    case 'unschedulable':
      return 'it fits nowhere';
    case 'cancelled':
      return 'it was cancelled';
  }
}

/** Milliseconds to wait before retry number `retry` (1 for the first): doubling, capped, up to a quarter less at random. */
export function retryDelayMs(retry: number, settings: Pick<RetrySettings, 'backoffMs' | 'maxBackoffMs'>, random: () => number = Math.random): number {
  const full = Math.min(settings.maxBackoffMs, settings.backoffMs * 2 ** Math.max(0, retry - 1));
  return Math.round(full * (1 - 0.25 * random()));
}

export type RetryDecision = { retry: true; delayMs: number; of: number } | { retry: false; why?: string };

/**
 * Whether attempt `attempt` (1 for the first), which failed with `result`, is followed by another.
 * `temporaryFail`: its exit code is in the tool's temporaryFailCodes (one retry at least).
 */
export function decideRetry(
  result: TaskResult,
  attempt: number,
  retries: number,
  tool: Pick<CommandLineTool, 'permanentFailCodes'>,
  settings: Pick<RetrySettings, 'backoffMs' | 'maxBackoffMs'>,
  temporaryFail = false,
  random?: () => number,
): RetryDecision {
  const allowed = temporaryFail ? Math.max(1, retries) : retries;
  if (allowed === 0) return { retry: false };
  // temporaryFailCodes come first, as in classifyExitCode: such a code is retried even if also listed as permanent.
  const why = temporaryFail ? undefined : notRetriable(result, tool);
  if (why !== undefined) return { retry: false, why };
  if (attempt > allowed) return { retry: false, why: `it had ${allowed} ${allowed === 1 ? 'retry' : 'retries'}` };
  return { retry: true, delayMs: retryDelayMs(attempt, settings, random), of: allowed };
}
