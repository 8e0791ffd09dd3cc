import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '../../errors.js';
import type { Executor } from '../../executor/executor.js';
import type { CwlObject, DirectoryValue, ExpressionTool, FileValue } from '../../model/types.js';
import type { RuntimeContext } from '../context.js';
import { completeFiles, runExpressionTool } from './run-expression-tool.js';
import { makeExpressionTool } from './test-support.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-expr-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const noExecutor: Executor = {
  name: 'none',
  run: () => Promise.reject(new Error('an ExpressionTool must not run tasks')),
  shutdown: () => Promise.resolve(),
};

function ctx(): RuntimeContext {
  return {
    runId: 'r',
    executor: noExecutor,
    emit: () => {},
    signal: new AbortController().signal,
    workRoot: path.join(root, 'work'),
    logRoot: path.join(root, 'logs'),
    noContainer: true,
    log: { info: () => {}, warn: () => {}, debug: () => {} },
  };
}

const js = [{ class: 'InlineJavascriptRequirement' }];
const run = (tool: ExpressionTool, inputs: CwlObject) =>
  runExpressionTool({ process: tool, inputs, path: 'main/expr', inheritedRequirements: [], inheritedHints: [] }, ctx());

describe('runExpressionTool', () => {
  it('evaluates the expression and keeps only declared outputs', async () => {
    const tool = makeExpressionTool({
      requirements: js,
      inputs: [{ id: 'n', type: 'int' }],
      outputs: [{ id: 'doubled', type: 'int' }, { id: 'maybe', type: ['null', 'string'] }],
      expression: '${ return {doubled: inputs.n * 2, extra: "dropped"}; }',
    });
    expect(await run(tool, { n: 21 })).toEqual({ doubled: 42, maybe: null });
  });

  it('fails on a missing or mistyped output, and on a non-object result', async () => {
    const base = { requirements: js, inputs: [], outputs: [{ id: 'x', type: 'int' as const }] };
    await expect(run(makeExpressionTool({ ...base, expression: '$({})' }), {})).rejects.toThrow(WorkflowFailedError);
    await expect(run(makeExpressionTool({ ...base, expression: '$({x: "str"})' }), {})).rejects.toThrow(/x has the wrong type/);
    await expect(run(makeExpressionTool({ ...base, expression: '$([1])' }), {})).rejects.toThrow(/must return an object/);
  });

  it('writes file literals and completes File objects', async () => {
    const tool = makeExpressionTool({
      requirements: js,
      outputs: [{ id: 'f', type: 'File' }],
      expression: '$({f: {class: "File", basename: "greeting.txt", contents: "hi"}})',
    });
    const out = await run(tool, {});
    const f = out.f as FileValue;
    expect(f.basename).toBe('greeting.txt');
    expect(f.nameroot).toBe('greeting');
    expect(f.nameext).toBe('.txt');
    expect(await readFile(f.path as string, 'utf8')).toBe('hi');
    expect(f.location).toBe(`file://${f.path}`);
    expect(f.size).toBe(2);
    expect(f.checksum).toBe('sha1$c22b5f9178342609428d6f51b2c5af4c0bde6a42');
  });

  it('writes a Directory literal with copies of the files it lists, checksummed', async () => {
    const src = path.join(root, 'whale.txt');
    await writeFile(src, 'whale');
    const tool = makeExpressionTool({
      requirements: js,
      inputs: [{ id: 'files', type: { type: 'array', items: 'File' } }],
      outputs: [{ id: 'dir', type: 'Directory' }],
      expression: '$({dir: {class: "Directory", basename: "a_directory", listing: inputs.files}})',
    });
    const out = await run(tool, { files: [{ class: 'File', path: src }] });
    const dir = out.dir as DirectoryValue;
    expect(dir.basename).toBe('a_directory');
    const f = dir.listing?.[0] as FileValue;
    expect(f.path).toBe(path.join(dir.path as string, 'whale.txt'));
    expect(await readFile(f.path as string, 'utf8')).toBe('whale');
    expect(f.checksum).toMatch(/^sha1\$/);
  });

  it('takes null for an output of type Any, like the reference runner', async () => {
    const tool = makeExpressionTool({ requirements: js, outputs: [{ id: 'output', type: 'Any' }], expression: '$({output: null})' });
    expect(await run(tool, {})).toEqual({ output: null });
  });
});

describe('completeFiles', () => {
  it('derives path, basename, nameroot and nameext from the location, recursively', async () => {
    const v = await completeFiles({ a: [{ class: 'File', location: 'file:///d/x.tar.gz', secondaryFiles: [{ class: 'File', location: 'file:///d/x.tar.gz.md5' }] }] }, root);
    const a = (v as CwlObject).a as FileValue[];
    expect(a[0]).toMatchObject({ path: '/d/x.tar.gz', basename: 'x.tar.gz', nameroot: 'x.tar', nameext: '.gz', dirname: '/d' });
    expect(a[0]?.secondaryFiles?.[0]).toMatchObject({ basename: 'x.tar.gz.md5', nameext: '.md5' });
  });
});
