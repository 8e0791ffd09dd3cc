import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepsFailedError, TaskFailedError } from '../../errors.js';
import { loadDocument } from '../../loader/index.js';
import type { DirectoryValue, FileValue, Workflow } from '../../model/types.js';
import type { RuntimeContext } from '../context.js';
import { loadStepInput, runWorkflow, type LeafRunner } from './run-workflow.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-wf-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadStepInput', () => {
  it('loads a File source\'s contents when the step input says loadContents (workflow_step_in_loadContents)', async () => {
    const p = path.join(root, 'n.txt');
    await writeFile(p, '42\n');
    const f: FileValue = { class: 'File', path: p };
    expect(((await loadStepInput(f, { id: 'n', loadContents: true })) as FileValue).contents).toBe('42\n');
    expect(((await loadStepInput([f], { id: 'n', loadContents: true })) as FileValue[])[0]?.contents).toBe('42\n');
    expect(await loadStepInput(f, { id: 'n' })).toBe(f);
  });

  it('lists a Directory source when the step input has loadListing', async () => {
    await mkdir(path.join(root, 'd'));
    await writeFile(path.join(root, 'd', 'x'), '');
    const d = (await loadStepInput({ class: 'Directory', path: path.join(root, 'd') }, { id: 'd', loadListing: 'shallow_listing' })) as DirectoryValue;
    expect(d.listing?.map((e) => e.basename)).toEqual(['x']);
  });
});

describe('--on-error continue (runWorkflow with ctx.onError)', () => {
  const ctxFor = (onError: 'stop' | 'continue'): RuntimeContext => ({
    runId: 'r',
    executor: {} as RuntimeContext['executor'],
    emit: () => undefined,
    signal: new AbortController().signal,
    workRoot: root,
    logRoot: path.join(root, 'logs'),
    noContainer: true,
    log: { info() {}, warn() {}, debug() {} },
    onError,
  });
  const ran: string[] = [];
  // Tools are not run: a fake leaf runner fails for x = "bad" and runs sub-workflows itself.
  const leaf: LeafRunner = async (inv, ctx) => {
    if (inv.process.class === 'Workflow') return runWorkflow(inv.process, inv, ctx, leaf);
    ran.push(inv.path);
    if (inv.inputs.x === 'bad') throw new TaskFailedError(`step ${inv.path} failed: exit code 3`, inv.path, 'permanentFail', 3);
    return { out: `${JSON.stringify(inv.inputs.x)}-done` };
  };
  const tool = (input: string) => `{class: CommandLineTool, baseCommand: "true", inputs: {x: "${input}"}, outputs: {out: string}}`;
  const load = async (): Promise<Workflow> => {
    const file = path.join(root, 'wf.cwl');
    await writeFile(
      file,
      `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}, SubworkflowFeatureRequirement: {}}
inputs: {xs: "string[]"}
outputs:
  o: {type: "string[]", outputSource: s/o}
  o2: {type: "string[]", outputSource: s/o2}
  after: {type: string, outputSource: after/out}
steps:
  s:
    scatter: x
    in: {x: xs}
    out: [o, o2]
    run:
      class: Workflow
      inputs: {x: string}
      outputs: {o: {type: string, outputSource: t/out}, o2: {type: string, outputSource: u/out}}
      steps:
        t: {run: ${tool('string')}, in: {x: x}, out: [out]}
        u: {run: ${tool('string')}, in: {x: {default: fine}}, out: [out]}
  after: {run: ${tool('string[]')}, in: {x: s/o}, out: [out]}
`,
    );
    return (await loadDocument(file)) as Workflow;
  };
  const inv = (wf: Workflow) => ({ process: wf, inputs: { xs: ['a', 'bad', 'c'] }, path: 'wf', inheritedRequirements: [], inheritedHints: [] });

  it('runs every job that does not need the failure, then fails naming it, with the outputs that could be computed', async () => {
    ran.length = 0;
    const wf = await load();
    const err = await runWorkflow(wf, inv(wf), ctxFor('continue'), leaf).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StepsFailedError);
    const failed = err as StepsFailedError;
    expect(failed.failures.map((f) => (f as TaskFailedError).stepPath)).toEqual(['wf/s/1/t']);
    expect(failed.notRun).toEqual(['wf/after']);
    expect(failed.partialOutputs).toEqual({ o: ['"a"-done', null, '"c"-done'], o2: ['"fine"-done', '"fine"-done', '"fine"-done'], after: null });
    expect(ran.sort()).toEqual(['wf/s/0/t', 'wf/s/0/u', 'wf/s/1/t', 'wf/s/1/u', 'wf/s/2/t', 'wf/s/2/u']);
    expect(failed.message).toMatch(/^1 failure \(the run went on with --on-error continue\):\n {2}- step wf\/s\/1\/t failed: exit code 3\n {2}not run, as they need outputs of failed steps: wf\/after$/);
  });

  it('stop ends with the failure itself, and no step after it runs', async () => {
    ran.length = 0;
    const wf = await load();
    await expect(runWorkflow(wf, inv(wf), ctxFor('stop'), leaf)).rejects.toThrow(TaskFailedError);
    expect(ran).not.toContain('wf/after');
  });
});
