import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, TaskFailedError, UnsupportedRequirementError } from '../../errors.js';
import type { Executor, TaskResult, TaskSpec } from '../../executor/executor.js';
import type { CommandLineTool, CwlObject, FileValue } from '../../model/types.js';
import type { Invocation, RuntimeContext } from '../context.js';
import type { RunEvent } from '../events.js';
import { classifyExitCode, runCommandLineTool } from './run-command-line-tool.js';
import { makeTool } from './test-support.js';

/** Test double for the Executor interface: spawns argv on the host, no queue, no containers. */
class SpawnExecutor implements Executor {
  readonly name = 'test-spawn';
  readonly specs: TaskSpec[] = [];
  constructor(private readonly override?: (spec: TaskSpec) => TaskResult | undefined) {}
  async run(spec: TaskSpec, signal: AbortSignal, onStarted?: () => void): Promise<TaskResult> {
    this.specs.push(spec);
    const forced = this.override?.(spec);
    if (forced) return forced;
    if (signal.aborted) return { reason: 'cancelled', exitCode: null, message: 'cancelled' };
    const errPath = spec.stderr ?? path.join(spec.workDir, '.stderr');
    const fds = [
      spec.stdin ? openSync(spec.stdin, 'r') : 'ignore',
      openSync(spec.stdout ?? path.join(spec.workDir, '.stdout'), 'w'),
      openSync(errPath, 'w'),
    ] as const;
    onStarted?.();
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(spec.argv[0] as string, spec.argv.slice(1), { cwd: spec.workDir, env: spec.env, stdio: [...fds] });
      child.on('error', () => resolve(127));
      child.on('exit', (c) => resolve(c));
    });
    for (const fd of fds) if (typeof fd === 'number') closeSync(fd);
    return { reason: 'completed', exitCode: code, message: `exit ${code}`, logTail: readFileSync(errPath, 'utf8') };
  }
  async shutdown(): Promise<void> {}
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-tool-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function context(executor: Executor, events: RunEvent[], extra: Partial<RuntimeContext> = {}): RuntimeContext {
  return {
    runId: 'run1',
    executor,
    emit: (e) => events.push(e),
    signal: new AbortController().signal,
    workRoot: path.join(root, 'work'),
    logRoot: path.join(root, 'logs'),
    noContainer: false,
    log: { info: () => {}, warn: () => {}, debug: () => {} },
    ...extra,
  };
}

function invocation(tool: CommandLineTool, inputs: CwlObject = {}, extra: Partial<Invocation> = {}): Invocation {
  return { process: tool, inputs, path: 'main/step', inheritedRequirements: [], inheritedHints: [], ...extra };
}

async function fileText(v: unknown): Promise<string> {
  const f = v as FileValue;
  return readFile(f.path ?? fileURLToPath(f.location as string), 'utf8');
}

describe('runCommandLineTool', () => {
  it('runs the tool, captures stdout, emits task events and collects outputs', async () => {
    const input = path.join(root, 'in.txt');
    await writeFile(input, 'hello file\n');
    const tool = makeTool({
      baseCommand: ['cat'],
      inputs: [{ id: 'f', type: 'File', inputBinding: { position: 1 } }],
      outputs: [{ id: 'out', type: 'File', outputBinding: { glob: 'out.txt' } }],
      stdout: 'out.txt',
    });
    const exec = new SpawnExecutor();
    const events: RunEvent[] = [];
    const out = await runCommandLineTool(invocation(tool, { f: { class: 'File', location: pathToFileURL(input).href } }), context(exec, events));
    expect(await fileText(out.out)).toBe('hello file\n');
    expect(events.map((e) => e.type)).toEqual(['task_queued', 'task_started', 'task_finished']);
    const spec = exec.specs[0] as TaskSpec;
    expect(spec.taskId).toBe('main/step');
    expect(spec.attempt).toBe(1);
    // The tool gets a link in the task's own staging directory, not the user's path.
    expect(spec.argv).toEqual(['cat', path.join(`${spec.workDir}-inputs`, 'stg1', 'in.txt')]);
    expect(await realpath(spec.argv[1] as string)).toBe(await realpath(input));
    expect(spec.env.HOME).toBe(spec.workDir);
    expect(spec.env.TMPDIR).toBe(spec.tmpDir);
    expect(spec.workDir.startsWith(path.join(root, 'work'))).toBe(true);
    expect(spec.logDir).toBe(path.join(root, 'logs', 'main_step', '1'));
    expect(spec.stdout).toBe(path.join(spec.workDir, 'out.txt'));
    expect(spec.resources).toMatchObject({ cores: 1, ramMiB: 256 });
    expect(spec.networkAccess).toBe(false);
    expect(spec.image).toBeUndefined();
  });

  it('gives each invocation its own directories', async () => {
    const tool = makeTool({ baseCommand: ['true'] });
    const exec = new SpawnExecutor();
    await runCommandLineTool(invocation(tool), context(exec, []));
    await runCommandLineTool(invocation(tool), context(exec, []));
    expect(exec.specs[0]?.workDir).not.toBe(exec.specs[1]?.workDir);
  });

  it('passes runtime values, env vars and shell pipelines through to the process', async () => {
    const tool = makeTool({
      requirements: [
        { class: 'ShellCommandRequirement' },
        { class: 'EnvVarRequirement', envDef: [{ envName: 'GREETING', envValue: 'hi $(inputs.who)' }] },
        { class: 'ResourceRequirement', coresMin: 3 },
      ],
      baseCommand: ['echo'],
      arguments: [
        { valueFrom: '$GREETING', shellQuote: false },
        { valueFrom: '$(runtime.cores)' },
        { valueFrom: '| tr a-z A-Z', shellQuote: false },
      ],
      inputs: [{ id: 'who', type: 'string' }],
      outputs: [{ id: 'out', type: 'File', outputBinding: { glob: 'o.txt' } }],
      stdout: 'o.txt',
    });
    const out = await runCommandLineTool(invocation(tool, { who: 'there' }), context(new SpawnExecutor(), []));
    expect(await fileText(out.out)).toBe('HI THERE 3\n');
  });

  it('fails with the step path, exit code and log tail on a non-zero exit', async () => {
    const tool = makeTool({ baseCommand: ['sh', '-c', 'echo broken pipe >&2; exit 3'] });
    const err = await runCommandLineTool(invocation(tool), context(new SpawnExecutor(), [])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    const te = err as TaskFailedError;
    expect(te.exitCode).toBe(3);
    expect(te.stepPath).toBe('main/step');
    expect(te.message).toMatch(/main\/step/);
    expect(te.message).toMatch(/exit code 3/);
    expect(te.message).toMatch(/broken pipe/);
  });

  it('honours successCodes', async () => {
    const tool = makeTool({ baseCommand: ['sh', '-c', 'exit 1'], successCodes: [1] });
    await expect(runCommandLineTool(invocation(tool), context(new SpawnExecutor(), []))).resolves.toEqual({});
  });

  it('retries a temporary failure once, then fails', async () => {
    const tool = makeTool({ baseCommand: ['sh', '-c', 'exit 75'], temporaryFailCodes: [75] });
    const exec = new SpawnExecutor();
    const err = await runCommandLineTool(invocation(tool), context(exec, [])).catch((e: unknown) => e);
    expect(exec.specs.map((s) => s.attempt)).toEqual([1, 2]);
    expect((err as TaskFailedError).reason).toBe('temporaryFail');
  });

  it('maps executor reasons: cancelled -> CancelledError, others -> TaskFailedError with the message', async () => {
    const tool = makeTool({ baseCommand: ['true'] });
    const cancel = new SpawnExecutor(() => ({ reason: 'cancelled', exitCode: null, message: 'stopped' }));
    await expect(runCommandLineTool(invocation(tool), context(cancel, []))).rejects.toBeInstanceOf(CancelledError);
    const oom = new SpawnExecutor(() => ({ reason: 'oom_killed', exitCode: null, message: 'task main/step ran out of memory' }));
    const err = await runCommandLineTool(invocation(tool), context(oom, [])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    expect((err as TaskFailedError).reason).toBe('oom_killed');
    expect((err as Error).message).toMatch(/ran out of memory/);
  });

  it('rejects unsupported requirements before running anything', async () => {
    const tool = makeTool({ baseCommand: ['true'], requirements: [{ class: 'MysteryRequirement' }], hints: [{ class: 'OtherMystery' }] });
    const exec = new SpawnExecutor();
    await expect(runCommandLineTool(invocation(tool), context(exec, []))).rejects.toBeInstanceOf(UnsupportedRequirementError);
    expect(exec.specs).toHaveLength(0);
  });

  it('puts the DockerRequirement image, time limit and network access into the spec', async () => {
    const ok = () => ({ reason: 'completed' as const, exitCode: 0, message: 'ok' });
    const tool = makeTool({
      baseCommand: ['true'],
      hints: [{ class: 'DockerRequirement', dockerPull: 'docker.io/debian:stable-slim' }],
      requirements: [
        { class: 'InlineJavascriptRequirement' },
        { class: 'ToolTimeLimit', timelimit: '$(inputs.t * 2)' },
        { class: 'NetworkAccess', networkAccess: true },
      ],
      inputs: [{ id: 't', type: 'int' }],
    });
    const exec = new SpawnExecutor(ok);
    await runCommandLineTool(invocation(tool, { t: 5 }), context(exec, []));
    expect(exec.specs[0]).toMatchObject({ image: 'docker.io/debian:stable-slim', timeLimitSeconds: 10, networkAccess: true });
    const noc = new SpawnExecutor(ok);
    await runCommandLineTool(invocation(tool, { t: 0 }), context(noc, [], { noContainer: true }));
    expect(noc.specs[0]?.image).toBeUndefined();
    expect(noc.specs[0]?.timeLimitSeconds).toBeUndefined();
  });

  it('in a container: mounts the inputs InitialWorkDir links into the outdir, and puts the outdir at dockerOutputDirectory', async () => {
    const input = path.join(root, 'reads:1.txt');
    await writeFile(input, 'ACGT\n');
    const ok = () => ({ reason: 'completed' as const, exitCode: 0, message: 'ok' });
    const tool = makeTool({
      baseCommand: ['cat'],
      arguments: [{ valueFrom: '$(runtime.outdir)/$(inputs.f.basename)' }],
      hints: [{ class: 'DockerRequirement', dockerPull: 'docker.io/debian:stable-slim', dockerOutputDirectory: '/other' }],
      requirements: [{ class: 'InitialWorkDirRequirement', listing: ['$(inputs.f)'] }],
      inputs: [{ id: 'f', type: 'File' }],
    });
    const exec = new SpawnExecutor(ok);
    await runCommandLineTool(invocation(tool, { f: { class: 'File', location: pathToFileURL(input).href } }), context(exec, []));
    const spec = exec.specs[0] as TaskSpec;
    expect(spec.mounts).toEqual([{ hostPath: input, taskPath: input, readOnly: true }]);
    expect(spec.containerWorkDir).toBe('/other');
    expect(spec.workDir).not.toBe('/other');
    expect(spec.argv).toEqual(['cat', '/other/reads:1.txt']);
    expect(spec.env.HOME).toBe('/other');
  });

  it('inherited requirements apply, the tool’s own win', async () => {
    const tool = makeTool({
      baseCommand: ['true'],
      requirements: [{ class: 'ResourceRequirement', coresMin: 2 }],
    });
    const exec = new SpawnExecutor(() => ({ reason: 'completed', exitCode: 0, message: 'ok' }));
    await runCommandLineTool(
      invocation(tool, {}, { inheritedRequirements: [{ class: 'ResourceRequirement', coresMin: 8, ramMin: 1000 }, { class: 'NetworkAccess', networkAccess: true }] }),
      context(exec, []),
    );
    expect(exec.specs[0]?.resources.cores).toBe(2);
    expect(exec.specs[0]?.resources.ramMiB).toBe(256);
    expect(exec.specs[0]?.networkAccess).toBe(true);
  });
});

describe('classifyExitCode', () => {
  it('follows successCodes, temporaryFailCodes, permanentFailCodes, then 0 = success', () => {
    const t = { successCodes: [2], temporaryFailCodes: [3], permanentFailCodes: [0] };
    expect(classifyExitCode(t, 2)).toBe('success');
    expect(classifyExitCode(t, 3)).toBe('temporaryFail');
    expect(classifyExitCode(t, 0)).toBe('permanentFail');
    expect(classifyExitCode({ successCodes: [], temporaryFailCodes: [], permanentFailCodes: [] }, 0)).toBe('success');
    expect(classifyExitCode({ successCodes: [], temporaryFailCodes: [], permanentFailCodes: [] }, 1)).toBe('permanentFail');
  });
});
