/**
 * Running one CommandLineTool invocation: requirements -> dirs, inputs, runtime, argv, env ->
 * TaskSpec -> executor -> exit-code mapping -> collected outputs. Task dirs are kept: the outputs
 * live there until the workflow relocates them.
 */
import path from 'node:path';
import { CancelledError, TaskFailedError, ValidationError } from '../../errors.js';
import type { TaskResult, TaskSpec } from '../../executor/executor.js';
import { findRequirement, mergeRequirements, type EffectiveRequirements } from '../../model/requirements.js';
import type { CommandLineTool, CwlObject, Process } from '../../model/types.js';
import { collectOutputs, prepareInputs, stageInitialWorkDir } from '../../staging/index.js';
import type { Invocation, RuntimeContext } from '../context.js';
import { evaluatorFor } from '../evaluator-for.js';
import type { TaskRef } from '../events.js';
import { buildCommandLine } from './command-line.js';
import { buildEnvironment } from './environment.js';
import { evalBoolean, evalNumber, type FieldContext } from './eval-field.js';
import { inputMounts } from './mounts.js';
import { computeResources } from './resources.js';
import { resolveStreams } from './streams.js';
import { assertSupported } from './supported-requirements.js';
import { makeTaskDirs, sanitizeTaskId, type TaskDirs } from './task-dirs.js';

/** Attempts for exit codes listed in temporaryFailCodes (the first run plus one retry). */
export const MAX_ATTEMPTS = 2;

export type ExitStatus = 'success' | 'temporaryFail' | 'permanentFail';

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
export function containerImage(eff: EffectiveRequirements, noContainer: boolean): string | undefined {
  if (noContainer) return undefined;
  const docker = findRequirement(eff, 'DockerRequirement')?.value;
  if (!docker) return undefined;
  const image = docker.dockerPull ?? docker.dockerImageId;
  return typeof image === 'string' && image !== '' ? image : undefined;
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
  for (let attempt = 1; ; attempt++) {
    if (ctx.signal.aborted) throw new CancelledError(`${inv.path} was cancelled`);
    const a = await runAttempt(tool, inv, ctx, eff, attempt);
    if (a.outputs) return a.outputs;
    const { result } = a;
    if (result.reason === 'cancelled') throw new CancelledError(`${inv.path} was cancelled`);
    if (a.status === 'temporaryFail' && attempt < MAX_ATTEMPTS) {
      ctx.log.warn(`${inv.path}: exit code ${result.exitCode} is a temporary failure; retrying (attempt ${attempt + 1})`);
      continue;
    }
    throw failure(inv.path, a);
  }
}

function failure(stepPath: string, a: Attempt): TaskFailedError {
  const { result } = a;
  const tail = result.logTail?.trim() ? `\n${result.logTail.trimEnd()}` : '';
  if (result.reason === 'completed') {
    const kind = a.status === 'temporaryFail' ? 'a temporary failure' : 'a permanent failure';
    return new TaskFailedError(
      `step ${stepPath} failed: exit code ${result.exitCode} (${kind})${tail}`,
      stepPath,
      a.status === 'temporaryFail' ? 'temporaryFail' : 'permanentFail',
      result.exitCode,
    );
  }
  return new TaskFailedError(`step ${stepPath} failed (${result.reason}): ${result.message}${tail}`, stepPath, result.reason, result.exitCode);
}

async function runAttempt(tool: CommandLineTool, inv: Invocation, ctx: RuntimeContext, eff: EffectiveRequirements, attempt: number): Promise<Attempt> {
  const evaluator = evaluatorFor(eff);
  const taskId = inv.path;
  const dirs: TaskDirs = await makeTaskDirs(ctx.workRoot, taskId, attempt);
  let inputs = await prepareInputs(tool, inv.inputs, eff, evaluator, dirs.scratch);

  const base: CwlObject = { outdir: dirs.outdir, tmpdir: dirs.tmpdir };
  const res = computeResources(eff, { evaluator, inputs, runtime: base });
  const runtime: CwlObject = { ...base, ...res.runtime };
  // InitialWorkDir may link inputs into the outdir: their original paths must stay visible too.
  const unstaged = inputs;
  inputs = await stageInitialWorkDir(tool, inputs, eff, evaluator, runtime, dirs.outdir);

  const fc: FieldContext = { evaluator, inputs, runtime };
  const streams = resolveStreams(tool, fc);
  const shell = findRequirement(eff, 'ShellCommandRequirement') !== undefined;
  const argv = buildCommandLine(tool, inputs, evaluator, runtime, { shell });
  if (argv.length === 0) throw new ValidationError(`${tool.id}: the command line is empty (no baseCommand and no arguments)`);
  const image = containerImage(eff, ctx.noContainer);

  const spec: TaskSpec = {
    taskId,
    runId: ctx.runId,
    stepPath: inv.path,
    attempt,
    argv,
    env: buildEnvironment(eff, fc, { outdir: dirs.outdir, tmpdir: dirs.tmpdir }),
    workDir: dirs.outdir,
    tmpDir: dirs.tmpdir,
    mounts: image || ctx.executor.isolated ? inputMounts([unstaged, inputs], [dirs.outdir, dirs.tmpdir], !inplaceUpdate(eff, fc)) : [],
    resources: res.resources,
    networkAccess: networkAccess(eff, fc),
    logDir: path.join(ctx.logRoot, sanitizeTaskId(taskId), String(attempt)),
  };
  if (streams.stdin !== undefined) spec.stdin = streams.stdin;
  if (streams.stdout !== undefined) spec.stdout = path.join(dirs.outdir, streams.stdout);
  if (streams.stderr !== undefined) spec.stderr = path.join(dirs.outdir, streams.stderr);
  const limit = timeLimit(eff, fc);
  if (limit !== undefined) spec.timeLimitSeconds = limit;
  if (image !== undefined) spec.image = image;

  const result = await execute(spec, ctx);
  if (result.reason !== 'completed' || result.exitCode === null) return { result, status: 'error' };
  const status = classifyExitCode(tool, result.exitCode);
  if (status !== 'success') return { result, status };
  const outputs = await collectOutputs(streams.tool, inputs, eff, evaluator, { ...runtime, exitCode: result.exitCode }, dirs.outdir);
  return { result, status, outputs };
}

async function execute(spec: TaskSpec, ctx: RuntimeContext): Promise<TaskResult> {
  const ref: TaskRef = { runId: ctx.runId, taskId: spec.taskId, stepPath: spec.stepPath, attempt: spec.attempt };
  ctx.emit({ type: 'task_queued', at: new Date(), ...ref });
  ctx.log.debug(`${spec.taskId}: ${spec.argv.join(' ')}`);
  const onStarted = () => ctx.emit({ type: 'task_started', at: new Date(), workDir: spec.workDir, logDir: spec.logDir, argv: spec.argv, ...ref });
  let result: TaskResult;
  try {
    const onNote = (message: string) => ctx.emit({ type: 'task_note', at: new Date(), message, ...ref });
    result = await ctx.executor.run(spec, ctx.signal, onStarted, onNote);
  } catch (err) {
    // Executors should resolve, not reject; record a failure rather than losing the event.
    result = { reason: 'failed', exitCode: null, message: `executor ${ctx.executor.name} failed: ${(err as Error).message}` };
  }
  ctx.emit({ type: 'task_finished', at: new Date(), result, ...ref });
  return result;
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
