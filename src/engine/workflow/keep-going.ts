/**
 * --on-error continue (cwltool's name): after a failure the workflow runs every step that does not
 * need a failed step's outputs (scatter siblings, independent branches), then fails naming every
 * failure. A step with a failed task counts as failed: what depends on it does not run, as in
 * cwltool. The outputs that could be computed travel with the error (null in a failure's place).
 */
import { CancelledError, StepsFailedError } from '../../errors.js';
import type { CwlObject } from '../../model/types.js';
import type { RuntimeContext } from '../context.js';

/** A step that did not run because a step it needs failed (internal to the workflow engine). */
export class UpstreamFailed extends Error {
  constructor(readonly stepPath: string) {
    super(`${stepPath} not run: a step it needs failed`);
  }
}

/** Every failure inside `errors`, a StepsFailedError's own list spliced in. */
export function flattenFailures(errors: readonly unknown[]): Error[] {
  return errors.flatMap((e) => (e instanceof StepsFailedError ? [...e.failures] : [e instanceof Error ? e : new Error(String(e))]));
}

/** The steps not run inside `errors` (of nested workflows), then `own`. */
export function notRunIn(errors: readonly unknown[], own: readonly string[] = []): string[] {
  return [...errors.flatMap((e) => (e instanceof StepsFailedError ? [...e.notRun] : [])), ...own];
}

/**
 * The jobs of a scatter, each run to its end: their results in job order (a failed job's partial
 * outputs when it was a sub-workflow that got some, else null), and their failures. Throws
 * CancelledError when the run was cancelled meanwhile.
 */
export async function settleJobs(jobs: Promise<CwlObject | null>[], signal: AbortSignal): Promise<{ results: (CwlObject | null)[]; errors: unknown[] }> {
  const settled = await Promise.allSettled(jobs);
  if (signal.aborted) throw new CancelledError('cancelled');
  const errors: unknown[] = [];
  const results = settled.map((s) => {
    if (s.status === 'fulfilled') return s.value;
    errors.push(s.reason);
    return s.reason instanceof StepsFailedError && s.reason.partialOutputs ? (s.reason.partialOutputs as CwlObject) : null;
  });
  return { results, errors };
}

/**
 * The jobs of a scatter under --on-error stop: the first failure cancels the others (their own
 * signal), and is thrown once every job has ended, so that no task of the step is still being
 * stopped (and unrecorded) when the run ends.
 */
export async function failFast<T>(start: (ctx: RuntimeContext) => Promise<T>[], ctx: RuntimeContext): Promise<T[]> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(ctx.signal.reason);
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  const jobs = start({ ...ctx, signal: stop.signal });
  try {
    return await Promise.all(jobs);
  } catch (err) {
    stop.abort(err);
    await Promise.allSettled(jobs);
    throw err;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}
