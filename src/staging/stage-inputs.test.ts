/**
 * stageInputs on real trees: whatever a host tool does to what it was given (delete, rename,
 * replace, write side files, change a directory), the user's files stay as they were.
 */
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CwlObject, DirectoryValue, FileValue } from '../model/types.js';
import { locationFromPath } from './paths.js';
import { needsLayout, stageInputs } from './stage-inputs.js';

let tmp: string;
let user: string;
let stage: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strand-stage-'));
  user = path.join(tmp, 'data');
  stage = path.join(tmp, 'work', 'task-1-abc-inputs');
  await mkdir(user, { recursive: true });
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const file = (p: string, extra: Partial<FileValue> = {}): FileValue => ({ class: 'File', location: locationFromPath(p), path: p, basename: path.basename(p), ...extra });
const sh = (script: string, ...args: string[]) => execFileSync('sh', ['-c', script, ...args], { cwd: tmp });
const text = (p: string) => readFile(p, 'utf8');

describe('stageInputs', () => {
  it('gives each File a link of its own; a tool that renames, deletes or replaces it leaves the user file', async () => {
    await writeFile(path.join(user, 'sample.tsv'), 'a\tb\n');
    for (const script of ['mv "$0" "$0.bz2"', 'rm "$0"', 'printf new > "$0.tmp" && mv "$0.tmp" "$0"', 'sed -i s/a/z/ "$0"']) {
      const { inputs } = await stageInputs({ f: file(path.join(user, 'sample.tsv')) }, path.join(stage, script.length.toString()));
      const staged = (inputs.f as FileValue).path as string;
      expect(path.dirname(path.dirname(staged))).toBe(path.join(stage, script.length.toString()));
      expect(await realpath(staged)).toBe(await realpath(path.join(user, 'sample.tsv')));
      sh(script, staged);
      expect(await text(path.join(user, 'sample.tsv'))).toBe('a\tb\n');
    }
    expect(await readdir(user)).toEqual(['sample.tsv']);
  });

  it('puts secondaryFiles beside the staged primary, so side files a tool writes land there too', async () => {
    await writeFile(path.join(user, 'ref.fa'), '>1\nAC\n');
    await writeFile(path.join(user, 'ref.fa.dict'), 'dict');
    const { inputs } = await stageInputs({ ref: file(path.join(user, 'ref.fa'), { secondaryFiles: [file(path.join(user, 'ref.fa.dict'))] }) }, stage);
    const ref = inputs.ref as FileValue;
    const dir = path.dirname(ref.path as string);
    expect((ref.secondaryFiles as FileValue[]).map((s) => s.path)).toEqual([path.join(dir, 'ref.fa.dict')]);
    expect(ref.dirname).toBe(dir);
    sh('cat "$0" > "$0.fai"', ref.path as string); // an index tool: samtools faidx writes <input>.fai
    expect(await readdir(user)).toEqual(['ref.fa', 'ref.fa.dict']);
    expect(await readdir(dir)).toEqual(['ref.fa', 'ref.fa.dict', 'ref.fa.fai']);
  });

  it('honours a basename that differs from the source name', async () => {
    await mkdir(path.join(user, 'testdir'));
    await writeFile(path.join(user, 'main.tar'), 't');
    const d: DirectoryValue = { class: 'Directory', location: locationFromPath(path.join(user, 'testdir')), path: path.join(user, 'testdir'), basename: 'xtestdir' };
    const { inputs } = await stageInputs({ f: file(path.join(user, 'main.tar'), { secondaryFiles: [d] }) }, stage);
    const f = inputs.f as FileValue;
    expect((await lstat(path.join(path.dirname(f.path as string), 'xtestdir'))).isDirectory()).toBe(true);
  });

  it('stages a Directory as real directories with file links: the tool cannot add, remove or rename entries in the user directory', async () => {
    await mkdir(path.join(user, 'dir', 'sub'), { recursive: true });
    await writeFile(path.join(user, 'dir', 'a.txt'), 'a');
    await writeFile(path.join(user, 'dir', 'sub', 'b.txt'), 'b');
    const dir: CwlObject = {
      class: 'Directory',
      location: locationFromPath(path.join(user, 'dir')),
      path: path.join(user, 'dir'),
      basename: 'dir',
      listing: [file(path.join(user, 'dir', 'a.txt')), { class: 'Directory', path: path.join(user, 'dir', 'sub'), location: locationFromPath(path.join(user, 'dir', 'sub')), basename: 'sub' }],
    };
    const { inputs, originalOf } = await stageInputs({ d: dir }, stage);
    const staged = (inputs.d as DirectoryValue).path as string;
    expect((await lstat(staged)).isSymbolicLink()).toBe(false);
    expect(((inputs.d as DirectoryValue).listing ?? []).map((e) => e.path)).toEqual([path.join(staged, 'a.txt'), path.join(staged, 'sub')]);
    expect(originalOf(path.join(staged, 'sub', 'b.txt'))).toBe(path.join(user, 'dir', 'sub', 'b.txt'));
    sh('touch "$0/new" && rm "$0/a.txt" && mv "$0/sub/b.txt" "$0/sub/c.txt" && rm -r "$0/sub"', staged);
    expect((await readdir(path.join(user, 'dir'), { recursive: true })).sort()).toEqual(['a.txt', 'sub', path.join('sub', 'b.txt')]);
    expect(await text(path.join(user, 'dir', 'sub', 'b.txt'))).toBe('b');
  });

  it('stages inputs anywhere in the input object (arrays, records), one directory each', async () => {
    await writeFile(path.join(user, 'a'), 'a');
    await writeFile(path.join(user, 'b'), 'b');
    const { inputs } = await stageInputs({ many: [file(path.join(user, 'a')), file(path.join(user, 'b'))], rec: { x: file(path.join(user, 'a')) }, n: 3 }, stage);
    const paths = [...(inputs.many as FileValue[]), (inputs.rec as CwlObject).x as FileValue].map((f) => f.path as string);
    for (const p of paths) expect(p.startsWith(stage + path.sep)).toBe(true);
    expect(new Set(paths.slice(0, 2).map((p) => path.dirname(p))).size).toBe(2);
    expect(inputs.n).toBe(3);
  });

  it('layoutOnly (isolated executors): only what its basename or secondary files ask for is staged, as one link each', async () => {
    await writeFile(path.join(user, 'reads.bam'), 'bam');
    await writeFile(path.join(user, 'reads.bam.bai'), 'bai');
    await mkdir(path.join(user, 'other', 'testdir'), { recursive: true });
    await writeFile(path.join(user, 'other', 'testdir', 'a'), 'a');
    await writeFile(path.join(user, 'other', 'index.py'), 'py');
    await writeFile(path.join(user, 'whale.txt'), 'whale');
    const inPlace = file(path.join(user, 'reads.bam'), { secondaryFiles: [file(path.join(user, 'reads.bam.bai'))] });
    const renamed = file(path.join(user, 'whale.txt'), { basename: 'badger.txt' });
    const elsewhere = file(path.join(user, 'reads.bam'), {
      secondaryFiles: [
        file(path.join(user, 'other', 'index.py')),
        { class: 'Directory', location: locationFromPath(path.join(user, 'other', 'testdir')), basename: 'xtestdir' } as DirectoryValue,
      ],
    });
    expect([inPlace, renamed, elsewhere].map((f) => needsLayout(f as never))).toEqual([false, true, true]);
    const { inputs } = await stageInputs({ inPlace, renamed, elsewhere, n: 3 } as CwlObject, stage, { layoutOnly: true });
    // Beside each other already, under their own names: left where they are.
    expect(inputs.inPlace).toEqual(inPlace);
    const r = inputs.renamed as FileValue;
    expect(path.basename(r.path!)).toBe('badger.txt');
    expect(await text(r.path!)).toBe('whale');
    const e = inputs.elsewhere as FileValue;
    const dir = path.dirname(e.path!);
    expect(path.dirname(dir)).toBe(stage);
    expect((e.secondaryFiles ?? []).map((x) => path.relative(dir, (x as FileValue).path!))).toEqual(['index.py', 'xtestdir']);
    // One link per entry, a Directory too (no link farm): the pod's mount of its target is read-only.
    expect((await lstat(path.join(dir, 'xtestdir'))).isSymbolicLink()).toBe(true);
    expect(await readdir(path.join(dir, 'xtestdir'))).toEqual(['a']);
    expect(inputs.n).toBe(3);
  });
});
