/**
 * Where secondary files come from (cwltool's rule, conformance test secondary_files_missing):
 * the top-level process finds them on disk; a step's tool trusts the secondaryFiles its File
 * inputs come with, and requires them when the workflow passed the File without any.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { createEvaluator } from '../expressions/index.js';
import type { CommandLineTool, CwlObject, FileValue } from '../model/types.js';
import { prepareInputs } from './prepare-inputs.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'strand-secondary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(path.join(dir, 'A'), 'a');
writeFileSync(path.join(dir, 'A.s2'), 's');

const tool: CommandLineTool = {
  id: 'file:///t.cwl',
  class: 'CommandLineTool',
  cwlVersion: 'v1.2',
  inputs: [{ id: 'f', type: 'File', secondaryFiles: [{ pattern: '.s2' }] }],
  outputs: [],
  requirements: [],
  hints: [],
  sourceFile: '/t.cwl',
  namespaces: {},
  schemaDefs: {},
  baseCommand: ['true'],
  arguments: [],
  successCodes: [],
  temporaryFailCodes: [],
  permanentFailCodes: [],
};
const evaluator = createEvaluator({ inlineJavascript: false, expressionLib: [] });
const eff = { requirements: [], hints: [] };
const a = (): CwlObject => ({ f: { class: 'File', location: pathToFileURL(path.join(dir, 'A')).href } });

describe('secondary files of inputs', () => {
  it('the top-level process finds them next to the file', async () => {
    const out = await prepareInputs(tool, a(), eff, evaluator, dir);
    expect((out.f as FileValue).secondaryFiles?.map((s) => s.basename)).toEqual(['A.s2']);
  });

  it('a step requires them when the workflow passed the File without secondaryFiles, even if they exist on disk', async () => {
    const err = await prepareInputs(tool, a(), eff, evaluator, dir, { discoverSecondaryFiles: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(
      `input f: missing secondary file ${path.join(dir, 'A.s2')} of ${path.join(dir, 'A')} (this File comes from the enclosing workflow without it: declare the secondaryFiles there too)`,
    );
  });

  it('a step trusts the secondaryFiles the File comes with', async () => {
    const inputs = a();
    (inputs.f as FileValue).secondaryFiles = [];
    const out = await prepareInputs(tool, inputs, eff, evaluator, dir, { discoverSecondaryFiles: false });
    expect((out.f as FileValue).secondaryFiles).toEqual([]);
  });
});
