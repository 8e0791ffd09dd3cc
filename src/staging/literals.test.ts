import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DirectoryValue, FileValue } from '../model/types.js';
import { createEvaluator } from '../expressions/index.js';
import { isLiteral, writeEntry } from './literals.js';
import { prepareInputs } from './prepare-inputs.js';
import { locationFromPath } from './paths.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-literals-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('writeEntry', () => {
  it('writes a nested Directory literal and points every listing entry at what it wrote', async () => {
    const user = path.join(root, 'user', 'hello.txt');
    await mkdir(path.dirname(user));
    await writeFile(user, 'hello');
    const lit: DirectoryValue = {
      class: 'Directory',
      basename: 'cwl',
      listing: [
        { class: 'File', location: locationFromPath(user) },
        { class: 'Directory', basename: 'subdir', listing: [{ class: 'File', basename: 'literal.txt', contents: 'howdy' }] },
      ],
    };
    expect(isLiteral(lit)).toBe(true);
    const out = (await writeEntry(lit, path.join(root, 'stage', 'cwl'))) as DirectoryValue;
    expect(out.path).toBe(path.join(root, 'stage', 'cwl'));
    const [hello, subdir] = out.listing as [FileValue, DirectoryValue];
    expect(hello).toMatchObject({ path: path.join(root, 'stage', 'cwl', 'hello.txt'), basename: 'hello.txt', nameroot: 'hello' });
    expect(await readFile(hello.path as string, 'utf8')).toBe('hello');
    const inner = subdir.listing?.[0] as FileValue;
    expect(inner.path).toBe(path.join(root, 'stage', 'cwl', 'subdir', 'literal.txt'));
    expect(await readFile(inner.path as string, 'utf8')).toBe('howdy');
  });

  it('copies, so changing the literal leaves the original alone', async () => {
    const user = path.join(root, 'orig.txt');
    await writeFile(user, 'original');
    const out = (await writeEntry({ class: 'Directory', basename: 'd', listing: [{ class: 'File', path: user }] }, path.join(root, 'd'))) as DirectoryValue;
    await writeFile((out.listing?.[0] as FileValue).path as string, 'changed');
    expect(await readFile(user, 'utf8')).toBe('original');
  });

  it('rebases the listing of a copied directory', async () => {
    await mkdir(path.join(root, 'src', 'a'), { recursive: true });
    await writeFile(path.join(root, 'src', 'a', 'x'), 'x');
    const src: DirectoryValue = {
      class: 'Directory',
      path: path.join(root, 'src'),
      listing: [{ class: 'Directory', path: path.join(root, 'src', 'a'), listing: [{ class: 'File', path: path.join(root, 'src', 'a', 'x') }] }],
    };
    const out = (await writeEntry(src, path.join(root, 'copy'))) as DirectoryValue;
    const a = out.listing?.[0] as DirectoryValue;
    expect(a.path).toBe(path.join(root, 'copy', 'a'));
    expect((a.listing?.[0] as FileValue).path).toBe(path.join(root, 'copy', 'a', 'x'));
  });

  it('refuses a listing that names one entry twice', async () => {
    const lit: DirectoryValue = { class: 'Directory', basename: 'd', listing: [{ class: 'File', basename: 'a', contents: '1' }, { class: 'File', basename: 'a', contents: '2' }] };
    await expect(writeEntry(lit, path.join(root, 'd'))).rejects.toThrow(/lists a twice/);
  });
});

describe('prepareInputs with a Directory literal', () => {
  it('stages it in scratch space; listing paths name the staged files (stdin_from_directory_literal_*)', async () => {
    const tool = { class: 'CommandLineTool', id: 't', inputs: [{ id: 'dir1', type: 'Directory' }], outputs: [], requirements: [], hints: [] };
    const job = { dir1: { class: 'Directory', basename: 'cwl', listing: [{ class: 'File', basename: 'literal.txt', contents: 'howdy' }] } };
    const ev = createEvaluator({ inlineJavascript: false, expressionLib: [] });
    const scratch = path.join(root, 'scratch');
    const out = await prepareInputs(tool as never, job, { requirements: [], hints: [] }, ev, scratch);
    const dir = out.dir1 as DirectoryValue;
    const f = dir.listing?.[0] as FileValue;
    expect(path.dirname(f.path as string)).toBe(dir.path);
    expect(f).toMatchObject({ basename: 'literal.txt', size: 5 });
    expect(await readFile(f.path as string, 'utf8')).toBe('howdy');
    expect(path.relative(scratch, dir.path as string).startsWith('..')).toBe(false);
  });
});
