/**
 * Strand's `TaskRetry` extension (hint or requirement, on a tool, a step or a workflow): how many
 * more attempts a failed task of that tool gets, over --retries. Written
 *
 *   $namespaces: {strand: "https://strand.dev/cwl#"}
 *   hints: [{class: "strand:TaskRetry", retries: 3}]
 *
 * Other CWL runners ignore the hint. Pure: no I/O.
 */
import type { Requirement } from './types.js';

export const TASK_RETRY_CLASS = 'https://strand.dev/cwl#TaskRetry';

/** The most retries a task may get: more would hide a broken tool behind hours of waiting. */
export const MAX_TASK_RETRIES = 100;

/** Whether `cls` names the hint (expanded, or with the prefix the loader could not expand). */
export function isTaskRetryClass(cls: string): boolean {
  return cls === TASK_RETRY_CLASS || cls === 'strand:TaskRetry';
}

/** `retries` of one TaskRetry entry: a number, undefined when absent, or what is wrong with it. */
export function taskRetryCount(r: Requirement): number | undefined | { problem: string } {
  const n = (r as { retries?: unknown }).retries;
  if (n === undefined) return undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_TASK_RETRIES) {
    return { problem: `strand:TaskRetry.retries must be a whole number from 0 to ${MAX_TASK_RETRIES}, not ${JSON.stringify(n)}` };
  }
  return n;
}
