import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '../errors.js';
import { createEvaluator } from '../expressions/index.js';
import type { CommandLineTool, CwlObject, FileValue } from '../model/types.js';
import { listWorkDirEntries, stageInitialWorkDir } from './initial-workdir.js';
import { stageInputs } from './stage-inputs.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-iwd-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const ev = createEvaluator({ inlineJavascript: true, expressionLib: [] });
const ctx = (inputs: CwlObject) => ({ inputs, self: null, runtime: {} });
const file = (p: string, extra: Partial<FileValue> = {}): FileValue => ({ class: 'File', path: p, location: `file://${p}`, basename: path.basename(p), ...extra });

describe('listWorkDirEntries', () => {
  it('keeps the whitespace of a Dirent entry: a File followed by a newline is JSON text (iwd-passthrough2)', () => {
    const [e] = listWorkDirEntries([{ entryname: 'f.txt', entry: '$(inputs.f)\n' }], ev, ctx({ f: { class: 'File', basename: 'a' } }));
    expect(e?.value).toEqual({ class: 'File', basename: 'f.txt', contents: '{"basename": "a", "class": "File"}\n' });
  });

  it('writes other values as JSON the way cwltool does (iwd-jsondump*), and text as is (js-quote)', () => {
    const out = listWorkDirEntries(
      [
        { entryname: 'list.json', entry: '${ return ["a", "b"]; }' },
        { entryname: 'n.json', entry: '${ return 44.4; }\n' },
        { entryname: 'q.txt', entry: '${ return \'quote "\' + inputs.q + \'"\'; }\n' },
      ],
      ev,
      ctx({ q: 'Hello' }),
    );
    expect(out.map((e) => (e.value as FileValue).contents)).toEqual(['["a", "b"]', '44.4\n', 'quote "Hello"\n']);
  });

  it('skips nulls, flattens arrays of Files, names Files by entryname, basename or location', () => {
    const a = file('/d/a.txt');
    const b = file('/d/b.txt');
    const out = listWorkDirEntries(['$(inputs.a)', '$(inputs.none)', { entry: '$(inputs.list)' }, { entry: '$(null)' }, { entryname: 'sub/renamed', entry: '$(inputs.a)' }], ev, ctx({ a, list: [b], none: null }));
    expect(out.map((e) => e.name)).toEqual(['a.txt', 'b.txt', 'sub/renamed']);
  });

  it('refuses entryname with a list of Files, names outside the output directory, and text without a name', () => {
    const list = [file('/d/a')];
    expect(() => listWorkDirEntries([{ entryname: 'x', entry: '$(inputs.list)' }], ev, ctx({ list }))).toThrow(WorkflowFailedError);
    expect(() => listWorkDirEntries([{ entryname: '../x', entry: 'text' }], ev, ctx({}))).toThrow(/climbs out with `..`/);
    expect(() => listWorkDirEntries([{ entry: 'text' }], ev, ctx({}))).toThrow(/no entryname/);
  });

  it('an absolute name is marked as such when DockerRequirement is required, an error otherwise', () => {
    expect(listWorkDirEntries([{ entryname: '/abs/x', entry: 'text' }], ev, ctx({}), true)[0]?.absolute).toBe(true);
    expect(() => listWorkDirEntries([{ entryname: '/abs/x', entry: 'text' }], ev, ctx({}), false)).toThrow(WorkflowFailedError);
  });
});

describe('stageInitialWorkDir', () => {
  const tool = { class: 'CommandLineTool', id: 't', inputs: [], outputs: [] } as unknown as CommandLineTool;
  const iwd = (listing: unknown) => ({ requirements: [{ class: 'InlineJavascriptRequirement' }, { class: 'InitialWorkDirRequirement', listing }], hints: [] });

  it('stages a Directory literal of Files with their secondaryFiles beside them (stage_file_array)', async () => {
    const out = path.join(root, 'out');
    const files = await Promise.all(
      ['sfa-1.txt', 'sfa-1.txt.sec', 'sfa-2.txt', 'sfa-2.txt.sec'].map(async (n) => {
        await writeFile(path.join(root, n), n);
        return path.join(root, n);
      }),
    );
    const list = [file(files[0] as string, { secondaryFiles: [file(files[1] as string)] }), file(files[2] as string, { secondaryFiles: [file(files[3] as string)] })];
    await stageInitialWorkDir(tool, { list }, iwd([{ entryname: 'input_dir', entry: "${ return {class: 'Directory', listing: inputs.list}; }" }]) as never, ev, {}, out);
    expect((await readdir(path.join(out, 'input_dir'))).sort()).toEqual(['sfa-1.txt', 'sfa-1.txt.sec', 'sfa-2.txt', 'sfa-2.txt.sec']);
    expect(await readlink(path.join(out, 'input_dir', 'sfa-1.txt.sec'))).toBe(files[1]);
  });

  it('links read-only entries, copies writable ones, and gives staged inputs their new paths', async () => {
    const out = path.join(root, 'out');
    const src = path.join(root, 'a.txt');
    await writeFile(src, 'a');
    const inputs = { a: file(src), b: file(src) };
    const staged = await stageInitialWorkDir(tool, inputs, iwd([{ entry: '$(inputs.a)', entryname: 'w.txt', writable: true }, { entryname: 'note', entry: 'hi' }]) as never, ev, {}, out);
    expect((await lstat(path.join(out, 'w.txt'))).isSymbolicLink()).toBe(false);
    await writeFile(path.join(out, 'w.txt'), 'changed');
    expect(await readFile(src, 'utf8')).toBe('a');
    expect(await readFile(path.join(out, 'note'), 'utf8')).toBe('hi');
    expect((staged.a as FileValue).path).toBe(path.join(out, 'w.txt'));
    expect((staged.a as FileValue).basename).toBe('a.txt');
  });

  it("on the host, entries lead to the user's originals, never into the staging directory (deleted after the run)", async () => {
    const user = path.join(root, 'data');
    await mkdir(path.join(user, 'rec', 'sub'), { recursive: true });
    await writeFile(path.join(user, 'a.bed'), 'chr1\t1\t2\n');
    await symlink('a.bed', path.join(user, 'latest.bed'));
    await writeFile(path.join(user, 'rec', 'A'), 'A\n');
    await writeFile(path.join(user, 'rec', 'sub', 'B'), 'B\n');
    const staged = await stageInputs({ f: file(path.join(user, 'latest.bed')), d: { class: 'Directory', path: path.join(user, 'rec'), location: `file://${path.join(user, 'rec')}`, basename: 'rec' } }, path.join(root, 'work', 't-inputs'));
    const out = path.join(root, 'out');
    const listing = ['$(inputs.f)', '$(inputs.d)', { entryname: 'rec/new.txt', entry: 'mine\n' }];
    const after = await stageInitialWorkDir(tool, staged.inputs, iwd(listing) as never, ev, {}, out, staged);
    // A File: one hop to the real file, under the name the CWL value gives.
    expect(await readlink(path.join(out, 'latest.bed'))).toBe(await realpath(path.join(user, 'a.bed')));
    // A Directory: real directories in the output directory, a link per file to the user's file.
    expect((await lstat(path.join(out, 'rec'))).isDirectory()).toBe(true);
    expect((await lstat(path.join(out, 'rec', 'sub'))).isDirectory()).toBe(true);
    expect(await readlink(path.join(out, 'rec', 'sub', 'B'))).toBe(path.join(user, 'rec', 'sub', 'B'));
    expect((after.d as CwlObject).path).toBe(path.join(out, 'rec'));
    // An entry written under it lands in the task's mirror, not in the user's directory.
    expect(await readFile(path.join(out, 'rec', 'new.txt'), 'utf8')).toBe('mine\n');
    expect((await readdir(path.join(user, 'rec'))).sort()).toEqual(['A', 'sub']);
    expect(await readlink(path.join(user, 'latest.bed'))).toBe('a.bed');
  });

  it('on the host, the same Directory listed twice under one name is one entry; under a taken name it fails', async () => {
    const user = path.join(root, 'data');
    await mkdir(path.join(user, 'rec'), { recursive: true });
    await writeFile(path.join(user, 'rec', 'A'), 'A\n');
    const staged = await stageInputs({ d: { class: 'Directory', path: path.join(user, 'rec'), location: `file://${path.join(user, 'rec')}`, basename: 'rec' } }, path.join(root, 'work', 't-inputs'));
    const out = path.join(root, 'out');
    await stageInitialWorkDir(tool, staged.inputs, iwd(['$(inputs.d)', '$(inputs.d)']) as never, ev, {}, out, staged);
    expect(await readdir(path.join(out, 'rec'))).toEqual(['A']);
    const other = path.join(root, 'out2');
    await expect(stageInitialWorkDir(tool, staged.inputs, iwd([{ entryname: 'rec', entry: 'text' }, '$(inputs.d)']) as never, ev, {}, other, staged)).rejects.toThrow(/rec is there already/);
  });
});
