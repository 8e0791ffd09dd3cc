/**
 * Running one CommandLineTool invocation: requirements -> dirs, inputs, runtime, argv, env ->
 * TaskSpec -> executor -> exit-code mapping -> collected outputs. Task dirs are kept: the outputs
 * live there until the workflow relocates them.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { CancelledError, TaskFailedError, ValidationError, errorMessage } from '../../errors.js';
import { taskEndText, type TaskResult, type TaskSpec } from '../../executor/executor.js';
import { findRequirement, mergeRequirements, type EffectiveRequirements } from '../../model/requirements.js';
import type { CommandLineTool, CwlObject, Process } from '../../model/types.js';
import { collectOutputs, inputPaths, prepareInputs, prepareStreamFiles, stageInitialWorkDir, stageInputs, type ContainerBind } from '../../staging/index.js';
import type { Invocation, RuntimeContext } from '../context.js';
import { evaluatorFor } from '../evaluator-for.js';
import type { TaskRef } from '../events.js';
import { buildCommandLine } from './command-line.js';
import { buildEnvironment, hostTaskPath } from './environment.js';
import { containerChoice } from './docker-requirement.js';
import { evalBoolean, evalNumber, type FieldContext } from './eval-field.js';
import { inputMounts } from './mounts.js';
import { computeResources } from './resources.js';
import { resolveStreams } from './streams.js';
import { finalPhase, type ExitStatus } from './attempt-phase.js';
import { assertSupported } from './supported-requirements.js';
import { DEFAULT_RETRY, decideRetry, retriesFor } from './task-retry.js';
import { makeTaskDirs, sanitizeTaskId, type TaskDirs } from './task-dirs.js';
import { taskCacheKey } from './task-cache-key.js';
import { publishOutputs, reuseCachedResult } from './task-cache-use.js';
import { markTask, type TimingMark } from '../task-timings.js';

export type { ExitStatus };

/** Requirements and hints in force for an invocation: inherited layers first, the process's own win. */
export function effectiveRequirements(inv: Invocation): EffectiveRequirements {
  return {
    requirements: mergeRequirements(inv.inheritedRequirements, inv.process.requirements),
    hints: mergeRequirements(inv.inheritedHints, inv.process.hints),
  };
}

/** Exit code -> status, in the reference runner's order: successCodes, temporaryFailCodes, permanentFailCodes, then 0. */
export function classifyExitCode(tool: Pick<CommandLineTool, 'successCodes' | 'temporaryFailCodes' | 'permanentFailCodes'>, code: number): ExitStatus {
  if (tool.successCodes?.includes(code)) return 'success';
  if (tool.temporaryFailCodes?.includes(code)) return 'temporaryFail';
  if (tool.permanentFailCodes?.includes(code)) return 'permanentFail';
  return code === 0 ? 'success' : 'permanentFail';
}

/** The container image from DockerRequirement, unless containers are off. */
export function containerImage(eff: EffectiveRequirements, noContainer: boolean, where = 'the tool'): string | undefined {
  return containerChoice(eff, noContainer, where)?.image;
}

function asCommandLineTool(p: Process): CommandLineTool {
  if (p.class !== 'CommandLineTool') throw new ValidationError(`${p.id} is a ${p.class}, not a CommandLineTool`);
  return p;
}

interface Attempt {
  result: TaskResult;
  status: ExitStatus | 'error';
  outputs?: CwlObject;
}

export async function runCommandLineTool(inv: Invocation, ctx: RuntimeContext): Promise<CwlObject> {
  const tool = asCommandLineTool(inv.process);
  const eff = effectiveRequirements(inv);
  assertSupported(eff, inv.path);
  const retry = ctx.retry ?? DEFAULT_RETRY;
  const retries = retriesFor(eff, retry.retries, tool.id);
  for (let attempt = 1; ; attempt++) {
    if (ctx.signal.aborted) throw new CancelledError(`${inv.path} was cancelled`);
    const leave = (await ctx.taskWindow?.enter()) ?? (() => undefined);
    if (ctx.signal.aborted) {
      // Cancelled while it waited to be prepared: recorded as never started, so the counts add up.
      leave();
      neverStarted(ctx, { runId: ctx.runId, taskId: inv.path, stepPath: inv.path, attempt }, `${inv.path} was cancelled before it started`);
      throw new CancelledError(`${inv.path} was cancelled`);
    }
    const a = await runAttempt(tool, inv, ctx, eff, attempt, leave).finally(leave);
    if (a.outputs) return a.outputs;
    if (a.result.reason === 'cancelled') throw new CancelledError(`${inv.path} was cancelled`);
    const next = decideRetry(a.result, attempt, retries, tool, retry, a.status === 'temporaryFail');
    if (!next.retry) throw failure(inv.path, a, attempt, next.why);
    await waitToRetry(inv.path, a, attempt, next, ctx);
  }
}

/** Say why and when the next attempt comes (recorded on it, shown by the progress display), then wait. */
async function waitToRetry(taskId: string, a: Attempt, attempt: number, next: { delayMs: number; of: number }, ctx: RuntimeContext): Promise<void> {
  const what = a.result.reason === 'completed' ? `exit code ${a.result.exitCode}` : taskEndText(a.result, taskId);
  const message = `attempt ${attempt} failed (${what}); retry ${attempt} of ${next.of} in ${formatWait(next.delayMs)}`;
  const ref: TaskRef = { runId: ctx.runId, taskId, stepPath: taskId, attempt: attempt + 1 };
  ctx.emit({ type: 'task_note', at: new Date(), message, ...ref });
  try {
    await sleep(next.delayMs, undefined, { signal: ctx.signal });
  } catch {
    // Cancelled while waiting: the attempt that was to come never started.
    neverStarted(ctx, ref, `${taskId} was cancelled before retry ${attempt}`);
    throw new CancelledError(`${taskId} was cancelled`);
  }
}

/** Record an attempt cancelled before it started (so every task is counted as ended). */
function neverStarted(ctx: RuntimeContext, ref: TaskRef, message: string): void {
  const result: TaskResult = { reason: 'cancelled', exitCode: null, message };
  ctx.emit({ type: 'task_finished', at: new Date(), result, phase: 'never_started', ...ref });
}

function formatWait(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/**
 * The error a failed task ends its step with: what happened, said once, then the last lines of
 * its stderr (the progress display does not print them, so they appear once, here).
 */
function failure(stepPath: string, a: Attempt, attempts = 1, notRetried?: string): TaskFailedError {
  const { result } = a;
  const lines = result.logTail?.trimEnd().split('\n').filter((l) => l.trim() !== '') ?? [];
  const tail = lines.length ? `; its stderr ends with:\n${lines.map((l) => `  ${l}`).join('\n')}` : '';
  // After retries, how many attempts it had; without, why it was not retried when that is news.
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : notRetried && attempts === 1 ? ` (not retried: ${notRetried})` : '';
  if (result.reason === 'completed') {
    const kind = a.status === 'temporaryFail' ? 'a temporary failure' : 'a permanent failure';
    return new TaskFailedError(
      `step ${stepPath} failed: exit code ${result.exitCode} (${kind})${tries}${tail}`,
      stepPath,
      a.status === 'temporaryFail' ? 'temporaryFail' : 'permanentFail',
      result.exitCode,
    );
  }
  return new TaskFailedError(`step ${stepPath} failed: ${taskEndText(result, stepPath)}${tries}${tail}`, stepPath, result.reason, result.exitCode);
}

/** `started`: the process started, so the attempt leaves the task window (task-window.ts). */
async function runAttempt(tool: CommandLineTool, inv: Invocation, ctx: RuntimeContext, eff: EffectiveRequirements, attempt: number, started: () => void): Promise<Attempt> {
  const evaluator = evaluatorFor(eff);
  const taskId = inv.path;
  const mark = (m: TimingMark) => markTask(taskId, attempt, m);
  mark('ready');
  const dirs: TaskDirs = await makeTaskDirs(ctx.workRoot, taskId, attempt);
  mark('dirs');
  let inputs = await prepareInputs(tool, inv.inputs, eff, evaluator, dirs.scratch, { discoverSecondaryFiles: !inv.path.includes('/'), documentPaths: ctx.documentPaths, defaults: ctx.defaults });
  const container = containerChoice(eff, ctx.noContainer, inv.path, (m) => attempt === 1 && ctx.log.warn(m));
  const image = container?.image;
  // The output directory as the tool sees it: dockerOutputDirectory inside the image, else the host's.
  const taskOutdir = container?.outputDirectory ?? dirs.outdir;
  // A host task gets links in its own staging directory, never the user's paths; containers and
  // isolated executors get read-only mounts instead (inputMounts below). Isolated executors show
  // inputs in place, so only those whose basename or secondary files ask for another layout get
  // a link in the staging directory (which the executor shows as its target).
  const staged = ctx.executor.isolated
    ? await stageInputs(inputs, dirs.scratch, { layoutOnly: true })
    : image
      ? undefined
      : await stageInputs(inputs, dirs.scratch);
  if (staged) inputs = staged.inputs;

  const base: CwlObject = { outdir: taskOutdir, tmpdir: dirs.tmpdir };
  const res = computeResources(eff, { evaluator, inputs, runtime: base });
  const runtime: CwlObject = { ...base, ...res.runtime };
  // InitialWorkDir may link inputs into the outdir: in a local container the links' targets must be mounted too.
  const beforeStaging = inputs;
  const binds: ContainerBind[] | undefined = container?.required && !ctx.executor.isolated ? [] : undefined;
  const linked: string[] = [];
  const named = ctx.documentPaths && { rule: ctx.documentPaths, given: [...inputPaths(inv.inputs), ...inputPaths(beforeStaging), ...inputPaths(inputs), dirs.outdir, dirs.scratch] };
  inputs = await stageInitialWorkDir(tool, inputs, eff, evaluator, runtime, dirs.outdir, staged, binds, linked, named);

  mark('staged');
  const fc: FieldContext = { evaluator, inputs, runtime };
  // Unnamed stdout/stderr get a name of their own, the same on every run, so the cache key holds.
  const streams = resolveStreams(tool, fc, (s) => `${createHash('sha1').update(`${tool.id}#${s}`).digest('hex').slice(0, 16)}.${s}`);
  await prepareStreamFiles(dirs.outdir, streams, { fresh: findRequirement(eff, 'InitialWorkDirRequirement') === undefined });
  const shell = findRequirement(eff, 'ShellCommandRequirement') !== undefined;
  const argv = buildCommandLine(tool, inputs, evaluator, runtime, { shell });
  if (argv.length === 0) throw new ValidationError(`${tool.id}: the command line is empty (no baseCommand and no arguments)`);

  const spec: TaskSpec = {
    taskId,
    runId: ctx.runId,
    stepPath: inv.path,
    attempt,
    argv,
    env: buildEnvironment(eff, fc, {
      outdir: taskOutdir,
      tmpdir: dirs.tmpdir,
      // The workstation's PATH only for a task that runs on it; a container keeps its image's.
      ...(image || ctx.executor.isolated ? {} : { hostPath: hostTaskPath() }),
    }),
    workDir: dirs.outdir,
    tmpDir: dirs.tmpdir,
    mounts: image || ctx.executor.isolated ? taskMounts() : [],
    resources: res.resources,
    networkAccess: networkAccess(eff, fc),
    logDir: path.join(ctx.logRoot, sanitizeTaskId(taskId), String(attempt)),
  };
  if (streams.stdin !== undefined) spec.stdin = streams.stdin;
  if (streams.stdout !== undefined) spec.stdout = path.join(dirs.outdir, streams.stdout);
  if (streams.stderr !== undefined) spec.stderr = path.join(dirs.outdir, streams.stderr);
  function taskMounts() {
    const readOnly = !inplaceUpdate(eff, fc);
    if (!image || ctx.executor.isolated) return inputMounts([beforeStaging, inputs], [dirs.outdir, dirs.tmpdir], readOnly);
    // Entries with absolute entrynames are mounted where they were named, not where they came from.
    const exclude = [dirs.outdir, dirs.tmpdir, ...(binds ?? []).map((b) => b.taskPath)];
    return [...inputMounts([beforeStaging, inputs], exclude, readOnly), ...(binds ?? [])];
  }
  const limit = timeLimit(eff, fc);
  if (limit !== undefined) spec.timeLimitSeconds = limit;
  if (image !== undefined) spec.image = image;
  if (container?.outputDirectory !== undefined) spec.containerWorkDir = container.outputDirectory;

  // What the task was given, which its outputs may reach through links: inputs before and after
  // InitialWorkDir, what it linked in, and the user's paths behind staged links. Its own staging
  // directory is the task's like its output directory (an index written beside a staged input).
  const given = [...inputPaths(beforeStaging), ...inputPaths(inputs), ...linked, ...(ctx.executor.inputCopiesOf?.(ctx.runId) ?? [])];
  const trusted = staged ? [...given, ...given.map((p) => staged.originalOf(p))] : given;
  // Outputs are collected on the host, from the host's output directory (or a cached copy of one).
  const collect = (outdir: string, exitCode: number) =>
    collectOutputs(streams.tool, inputs, eff, evaluator, { ...runtime, outdir, exitCode }, outdir, trusted, staged ? [dirs.scratch] : []);

  mark('built');
  const ref: TaskRef = { runId: ctx.runId, taskId, stepPath: inv.path, attempt };
  const use = ctx.cache && reuseEnabled(eff, fc) ? ctx.cache : undefined;
  const key = use
    ? await taskCacheKey({
        spec,
        dirs,
        workRoot: ctx.workRoot,
        inputs: [beforeStaging, inputs],
        ...(streams.stdout !== undefined ? { stdout: streams.stdout } : {}),
        ...(streams.stderr !== undefined ? { stderr: streams.stderr } : {}),
        eff,
        digester: use.cache.digester,
        ...(ctx.secrets ? { secrets: ctx.secrets } : {}),
        ...(ctx.executor.defaultImage !== undefined ? { defaultImage: ctx.executor.defaultImage } : {}),
        ...(staged?.onHost ? { originalOf: staged.originalOf } : {}),
      }).catch((err: Error) => ({ uncacheable: err.message }))
    : undefined;
  if (key && 'uncacheable' in key) ctx.log.debug(`${taskId}: not cached: ${key.uncacheable}`);
  const cacheKey = key && 'key' in key ? key : undefined;
  if (use) mark('keyed');
  if (use?.read && cacheKey && attempt === 1) {
    const outputs = await reuseCachedResult(
      {
        use,
        key: cacheKey.key,
        ref,
        succeeds: (code) => classifyExitCode(tool, code) === 'success',
        ...(limit !== undefined ? { timeLimitSeconds: limit } : {}),
        collect,
      },
      ctx,
    );
    if (outputs) {
      mark('collected');
      return { result: { reason: 'completed', exitCode: 0, message: 'reused from the task cache' }, status: 'success', outputs };
    }
    mark('looked_up');
  }

  const { result, started: ran } = await execute(spec, ctx, started);
  const finished = (phase: ReturnType<typeof finalPhase>, r = result) => ctx.emit({ type: 'task_finished', at: new Date(), result: r, phase, ...ref });
  const status = result.reason !== 'completed' || result.exitCode === null ? 'error' : classifyExitCode(tool, result.exitCode);
  if (status !== 'success' || result.exitCode === null) {
    finished(finalPhase(result, ran, status));
    return { result, status };
  }
  let outputs: CwlObject;
  try {
    outputs = await collect(dirs.outdir, result.exitCode);
    mark('collected');
  } catch (err) {
    finished('failed', { ...result, message: `${result.message}; its outputs could not be collected: ${errorMessage(err)}` });
    throw err;
  }
  finished('succeeded');
  if (use?.write && cacheKey) {
    const durationMs = result.startedAt && result.finishedAt ? result.finishedAt.getTime() - result.startedAt.getTime() : undefined;
    outputs = await publishOutputs(
      { use, key: cacheKey.key, keyText: cacheKey.text, ref, toolId: tool.id, outdir: dirs.outdir, exitCode: result.exitCode, ...(durationMs !== undefined ? { durationMs } : {}), outputs },
      ctx,
    );
    mark('published');
  }
  return { result, status, outputs };
}

/** WorkReuse: {enableReuse: false} (or an expression giving false) turns the task cache off for the tool. */
export function reuseEnabled(eff: EffectiveRequirements, fc: FieldContext): boolean {
  const req = findRequirement(eff, 'WorkReuse')?.value;
  if (!req) return true;
  return evalBoolean(req.enableReuse, fc, 'WorkReuse.enableReuse') ?? true;
}

/** Runs the task; the caller emits its task_finished with the engine's verdict. */
async function execute(spec: TaskSpec, ctx: RuntimeContext, onProcess: () => void): Promise<{ result: TaskResult; started: boolean }> {
  const ref: TaskRef = { runId: ctx.runId, taskId: spec.taskId, stepPath: spec.stepPath, attempt: spec.attempt };
  ctx.emit({ type: 'task_queued', at: new Date(), ...ref });
  markTask(spec.taskId, spec.attempt, 'queued');
  ctx.log.debug(`${spec.taskId}: ${spec.argv.join(' ')}`);
  let started = false;
  const onStarted = () => {
    started = true;
    markTask(spec.taskId, spec.attempt, 'started');
    onProcess();
    ctx.emit({
      type: 'task_started',
      at: new Date(),
      workDir: spec.workDir,
      logDir: spec.logDir,
      argv: spec.argv,
      resources: spec.resources,
      ...(spec.image ? { image: spec.image } : {}),
      ...ref,
    });
  };
  let result: TaskResult;
  try {
    const onNote = (message: string) => ctx.emit({ type: 'task_note', at: new Date(), message, ...ref });
    result = await ctx.executor.run(spec, ctx.signal, onStarted, onNote);
    markTask(spec.taskId, spec.attempt, 'exited');
  } catch (err) {
    // Executors should resolve, not reject; record a failure rather than losing the event.
    result = { reason: 'failed', exitCode: null, message: `executor ${ctx.executor.name} failed: ${(err as Error).message}` };
  }
  return { result, started };
}

/** ToolTimeLimit.timelimit in seconds; undefined for none (absent or 0). */
export function timeLimit(eff: EffectiveRequirements, fc: FieldContext): number | undefined {
  const req = findRequirement(eff, 'ToolTimeLimit')?.value;
  if (!req) return undefined;
  const n = evalNumber(req.timelimit, fc, 'ToolTimeLimit.timelimit');
  if (n === undefined || n === 0) return undefined;
  if (n < 0) throw new ValidationError(`ToolTimeLimit.timelimit must not be negative (${n})`);
  return n;
}

export function networkAccess(eff: EffectiveRequirements, fc: FieldContext): boolean {
  const req = findRequirement(eff, 'NetworkAccess')?.value;
  if (!req) return false;
  return evalBoolean(req.networkAccess, fc, 'NetworkAccess.networkAccess') ?? false;
}

function inplaceUpdate(eff: EffectiveRequirements, fc: FieldContext): boolean {
  const req = findRequirement(eff, 'InplaceUpdateRequirement')?.value;
  return req ? (evalBoolean(req.inplaceUpdate, fc, 'InplaceUpdateRequirement.inplaceUpdate') ?? false) : false;
}
