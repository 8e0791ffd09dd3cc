import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsupportedRequirementError } from '../errors.js';
import { createEvaluator } from '../expressions/index.js';
import type { EffectiveRequirements } from '../model/requirements.js';
import type { CommandLineTool, CwlObject, Requirement } from '../model/types.js';
import { stageInitialWorkDir, type ContainerBind } from './initial-workdir.js';

let root = '';
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-iwd-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const tool = { class: 'CommandLineTool', id: 't', inputs: [], outputs: [] } as unknown as CommandLineTool;
const evaluator = createEvaluator({ inlineJavascript: false, expressionLib: [] });
function listing(entries: unknown[], extra: Requirement[] = []): EffectiveRequirements {
  const docker = { class: 'DockerRequirement', dockerPull: 'debian:stable-slim' } as unknown as Requirement;
  return { requirements: [{ class: 'InitialWorkDirRequirement', listing: entries } as unknown as Requirement, docker, ...extra], hints: [] };
}

describe('InitialWorkDir entries with an absolute entryname', () => {
  it('become container binds at that path (read-only), and the input is seen there', async () => {
    const src = path.join(root, 'list.txt');
    await writeFile(src, 'a\n');
    const outdir = await mkdtemp(path.join(root, 'out-'));
    const inputs: CwlObject = { f: { class: 'File', path: src, location: `file://${src}`, basename: 'list.txt' } };
    const binds: ContainerBind[] = [];
    const eff = listing([{ entryname: '/data/in/stuff.txt', entry: '$(inputs.f)' }]);
    const staged = await stageInitialWorkDir(tool, inputs, eff, evaluator, { outdir }, outdir, undefined, binds);
    expect(binds).toEqual([{ hostPath: src, taskPath: '/data/in/stuff.txt', readOnly: true }]);
    expect((staged.f as CwlObject).path).toBe('/data/in/stuff.txt');
    expect(await readdir(outdir)).toEqual([]);
  });

  it('are writable binds only with InplaceUpdateRequirement', async () => {
    const src = path.join(root, 'w.txt');
    await writeFile(src, 'a\n');
    const outdir = await mkdtemp(path.join(root, 'out-'));
    const inputs: CwlObject = { f: { class: 'File', path: src, location: `file://${src}`, basename: 'w.txt' } };
    const entry = { entryname: '/data/w.txt', entry: '$(inputs.f)', writable: true };
    const binds: ContainerBind[] = [];
    const inplace = { class: 'InplaceUpdateRequirement', inplaceUpdate: true } as unknown as Requirement;
    await stageInitialWorkDir(tool, inputs, listing([entry], [inplace]), evaluator, { outdir }, outdir, undefined, binds);
    expect(binds).toEqual([{ hostPath: src, taskPath: '/data/w.txt', readOnly: false }]);
    await expect(stageInitialWorkDir(tool, inputs, listing([entry]), evaluator, { outdir }, outdir, undefined, [])).rejects.toThrow(
      'the absolute name /data/w.txt is supported only for a File or Directory that is not a writable copy',
    );
  });

  it('fail without a required container', async () => {
    const outdir = await mkdtemp(path.join(root, 'out-'));
    const inputs: CwlObject = { f: { class: 'File', path: '/x', location: 'file:///x', basename: 'x' } };
    const entries = [{ entryname: '/data/x', entry: '$(inputs.f)' }];
    // DockerRequirement required, but the task runs on the host (--no-container): unsupported.
    await expect(stageInitialWorkDir(tool, inputs, listing(entries), evaluator, { outdir }, outdir)).rejects.toThrow(UnsupportedRequirementError);
    // Only a hint: the absolute name is an error in the document.
    const hinted: EffectiveRequirements = { requirements: [{ class: 'InitialWorkDirRequirement', listing: entries } as unknown as Requirement], hints: [] };
    await expect(stageInitialWorkDir(tool, inputs, hinted, evaluator, { outdir }, outdir, undefined, [])).rejects.toThrow(
      'is only allowed with DockerRequirement in requirements',
    );
  });
});
