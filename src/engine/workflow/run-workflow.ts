/**
 * The workflow engine: every step starts as soon as its sources are available, all ready steps
 * run at once (admission is the executor's job), scatter jobs run concurrently.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { CancelledError, StepsFailedError, WorkflowFailedError } from '../../errors.js';
import { mergeRequirements } from '../../model/requirements.js';
import { isDirectory, isFile, type CwlObject, type CwlValue, type Workflow, type WorkflowStep, type WorkflowStepInput } from '../../model/types.js';
import { writtenAt } from '../../model/written-at.js';
import { checkType, describeType as describe, givenPaths, listDirectory, pathFromLocation, prepareInputs, readContents } from '../../staging/index.js';
import type { Invocation, RuntimeContext } from '../context.js';
import { evaluatorFor } from '../evaluator-for.js';
import { mergeSources, pickValue } from './merge.js';
import { planScatter } from './scatter.js';
import { failFast, flattenFailures, notRunIn, settleJobs, UpstreamFailed } from './keep-going.js';
import { defaultOf } from '../../model/default-values.js';

export type LeafRunner = (inv: Invocation, ctx: RuntimeContext) => Promise<CwlObject>;

export async function runWorkflow(wf: Workflow, inv: Invocation, ctx: RuntimeContext, runLeaf: LeafRunner): Promise<CwlObject> {
  const eff = {
    requirements: mergeRequirements(inv.inheritedRequirements, wf.requirements),
    hints: mergeRequirements(inv.inheritedHints, wf.hints),
  };
  const evaluator = evaluatorFor(eff);
  await mkdir(ctx.workRoot, { recursive: true });
  const scratch = await mkdtemp(path.join(ctx.workRoot, 'wf-'));
  const inputs = await prepareInputs(wf, inv.inputs, eff, evaluator, scratch, { discoverSecondaryFiles: !inv.path.includes('/'), documentPaths: ctx.documentPaths, defaults: ctx.defaults });

  const abort = new AbortController();
  const onAbort = () => abort.abort(ctx.signal.reason);
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  const inner: RuntimeContext = { ...ctx, signal: abort.signal };
  const keepGoing = ctx.onError === 'continue';

  const values = new Map<string, CwlValue>();
  for (const p of wf.inputs) values.set(p.id, inputs[p.id] ?? null);
  const stepById = new Map(wf.steps.map((s) => [s.id, s]));
  const running = new Map<string, Promise<void>>();

  const sourceStep = (src: string) => (src.includes('/') ? src.slice(0, src.indexOf('/')) : undefined);

  const startStep = (step: WorkflowStep): Promise<void> => {
    let p = running.get(step.id);
    if (p) return p;
    const deps = new Set<string>();
    for (const i of step.in) for (const s of i.source) {
      const d = sourceStep(s);
      if (d && stepById.has(d)) deps.add(d);
    }
    p = (async () => {
      const before = [...deps].map((d) => startStep(stepById.get(d) as WorkflowStep));
      if (!keepGoing) await Promise.all(before);
      else if ((await Promise.allSettled(before)).some((r) => r.status === 'rejected')) throw new UpstreamFailed(`${inv.path}/${step.id}`);
      if (abort.signal.aborted) throw new CancelledError('cancelled');
      const out = await runStep(wf, step, values, inv, inner, eff, runLeaf);
      for (const o of step.out) values.set(`${step.id}/${o}`, out[o] ?? null);
    })();
    running.set(step.id, p);
    return p;
  };

  let firstError: unknown;
  // --on-error continue: the failures of steps, and the steps that did not run because of them.
  const failures: unknown[] = [];
  const notRun: string[] = [];
  await Promise.all(
    wf.steps.map((s) =>
      startStep(s).catch((err: unknown) => {
        if (err instanceof UpstreamFailed) return void notRun.push(err.stepPath);
        if (keepGoing && !(err instanceof CancelledError)) {
          failures.push(err);
          // What a failed step could compute (a scatter's other jobs) is kept for the outputs.
          if (err instanceof StepsFailedError && err.partialOutputs) for (const o of s.out) values.set(`${s.id}/${o}`, (err.partialOutputs[o] ?? null) as CwlValue);
          return;
        }
        if (firstError === undefined) {
          firstError = err;
          abort.abort(err);
        }
      }),
    ),
  );
  ctx.signal.removeEventListener('abort', onAbort);
  if (ctx.signal.aborted) throw new CancelledError('the run was cancelled');
  if (firstError !== undefined) throw firstError;
  const failed = failures.length > 0;

  const out: CwlObject = {};
  for (const o of wf.outputs) {
    const srcs = o.outputSource ?? [];
    const vals = srcs.map((s) => values.get(s) ?? null);
    const merged = mergeSources(vals, o.linkMerge, srcs.length > 1);
    // A failed run's outputs have holes (null) where failures left them, as in cwltool.
    const value = failed ? pickValueOrNull(merged, o.pickValue, o.id) : pickValue(merged, o.pickValue, `output ${o.id}`);
    if (failed) {
      out[o.id] = value;
      continue;
    }
    if (!checkType(value, o.type) && !(value === null && o.outputSource?.length === 0)) {
      throw new WorkflowFailedError(`workflow output ${o.id}: expected ${describe(o.type)}, got ${JSON.stringify(value)?.slice(0, 120)}`);
    }
    out[o.id] = value;
  }
  if (failed) throw new StepsFailedError(flattenFailures(failures), notRunIn(failures, notRun), out);
  return out;
}

function pickValueOrNull(v: CwlValue, method: Parameters<typeof pickValue>[1], id: string): CwlValue {
  try {
    return pickValue(v, method, `output ${id}`);
  } catch {
    return null;
  }
}

/** A step input's loadContents and loadListing, applied before valueFrom sees it as `self`. */
export async function loadStepInput(v: CwlValue, i: Pick<WorkflowStepInput, 'loadContents' | 'loadListing' | 'id'>): Promise<CwlValue> {
  if (!i.loadContents && (!i.loadListing || i.loadListing === 'no_listing')) return v;
  if (Array.isArray(v)) return Promise.all(v.map((x) => loadStepInput(x, i)));
  if (isFile(v) && i.loadContents && v.contents === undefined) {
    const p = v.path ?? (v.location ? pathFromLocation(v.location) : undefined);
    if (p === undefined) throw new WorkflowFailedError(`step input ${i.id}: loadContents needs a File with a location`);
    return { ...v, contents: await readContents(p) };
  }
  if (isDirectory(v) && i.loadListing && i.loadListing !== 'no_listing') {
    const d = { ...v };
    await listDirectory(d, i.loadListing);
    return d;
  }
  return v;
}

async function runStep(
  wf: Workflow,
  step: WorkflowStep,
  values: Map<string, CwlValue>,
  inv: Invocation,
  ctx: RuntimeContext,
  wfEff: { requirements: CwlObject[] | unknown[]; hints: unknown[] },
  runLeaf: LeafRunner,
): Promise<CwlObject> {
  const stepPath = `${inv.path}/${step.id}`;
  const stepEff = {
    requirements: mergeRequirements(inv.inheritedRequirements, wf.requirements, step.requirements),
    hints: mergeRequirements(inv.inheritedHints, wf.hints, step.hints),
  };
  void wfEff;
  const evaluator = evaluatorFor(stepEff);
  ctx.emit({ type: 'step_started', runId: ctx.runId, stepPath, at: new Date() });
  try {
    // Source values, linkMerge, pickValue, default.
    const base: CwlObject = {};
    for (const i of step.in) {
      let v: CwlValue = null;
      if (i.source.length > 0) {
        const vals = i.source.map((s) => values.get(s) ?? null);
        v = mergeSources(vals, i.linkMerge, i.source.length > 1);
        v = pickValue(v, i.pickValue, `step ${step.id} input ${i.id}`);
      }
      const d = defaultOf(i, ctx.defaults);
      if ((v === null || v === undefined) && d !== undefined) {
        v = structuredClone(d);
        await ctx.documentPaths?.check(v, writtenAt(i, 'default') ?? { file: wf.sourceFile, fieldPath: `steps.${step.id}.in.${i.id}.default` });
      }
      base[i.id] = await loadStepInput(v ?? null, i);
    }
    const runInputIds = new Set(step.run.inputs.map((p) => p.id));
    const childReqs = [...inv.inheritedRequirements, ...wf.requirements, ...step.requirements];
    const childHints = [...inv.inheritedHints, ...wf.hints, ...step.hints];

    // Jobs whose `when` was false: a step all of whose jobs were skipped is recorded as skipped.
    let skippedJobs = 0;
    const runJob = async (job: CwlObject, jobPath: string, jobCtx: RuntimeContext = ctx): Promise<CwlObject | null> => {
      const withValues: CwlObject = { ...job };
      for (const i of step.in) {
        if (i.valueFrom !== undefined) {
          withValues[i.id] = evaluator.evaluate(i.valueFrom, { inputs: job, self: job[i.id] ?? null, runtime: {} });
          // What it makes may pass on what the step was given, or name a file of the document's tree.
          await ctx.documentPaths?.check(withValues[i.id], writtenAt(i, 'valueFrom') ?? { file: wf.sourceFile, fieldPath: `steps.${step.id}.in.${i.id}.valueFrom` }, givenPaths(job));
        }
      }
      if (step.when !== undefined) {
        const cond = evaluator.evaluate(step.when, { inputs: withValues, self: null, runtime: {} });
        if (typeof cond !== 'boolean') throw new WorkflowFailedError(`step ${step.id}: when must evaluate to true or false, got ${JSON.stringify(cond)}`);
        if (!cond) {
          skippedJobs++;
          return null;
        }
      }
      const passed: CwlObject = {};
      for (const [k, v] of Object.entries(withValues)) if (runInputIds.has(k)) passed[k] = v;
      return runLeaf({ process: step.run, inputs: passed, path: jobPath, inheritedRequirements: childReqs, inheritedHints: childHints }, jobCtx);
    };

    let out: CwlObject;
    let jobs = 1;
    if (step.scatter.length === 0) {
      const r = await runJob(base, stepPath);
      out = {};
      for (const o of step.out) out[o] = r ? (r[o] ?? null) : null;
    } else {
      const plan = planScatter(base, step.scatter, step.scatterMethod, step.id);
      jobs = plan.jobs.length;
      // --on-error continue: every job runs to its end; the step fails after, naming each failure.
      // stop: the first failure cancels the other jobs, and the step ends once they have (so that
      // the run does not end while its tasks are still being stopped, and their ends are recorded).
      const { results, errors } =
        ctx.onError === 'continue'
          ? await settleJobs(plan.jobs.map((job, k) => runJob(job, `${stepPath}/${k}`)), ctx.signal)
          : { results: await failFast((jobCtx) => plan.jobs.map((job, k) => runJob(job, `${stepPath}/${k}`, jobCtx)), ctx), errors: [] };
      out = {};
      for (const o of step.out) out[o] = plan.shape(results.map((r) => (r ? (r[o] ?? null) : null))) as CwlValue;
      if (errors.length) throw new StepsFailedError(flattenFailures(errors), notRunIn(errors), out, `step ${stepPath} failed`);
    }
    const skipped = jobs > 0 && skippedJobs === jobs;
    ctx.emit({ type: 'step_finished', runId: ctx.runId, stepPath, status: skipped ? 'skipped' : 'success', at: new Date() });
    return out;
  } catch (err) {
    ctx.emit({ type: 'step_finished', runId: ctx.runId, stepPath, status: err instanceof CancelledError ? 'cancelled' : 'failed', at: new Date(), message: (err as Error).message });
    throw err;
  }
}
