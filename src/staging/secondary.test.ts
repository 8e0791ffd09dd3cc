import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEvaluator } from '../expressions/index.js';
import type { FileValue } from '../model/types.js';
import { applyPattern, discoverSecondaryFiles } from './secondary.js';
import { locationFromPath } from './paths.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-secondary-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const ev = createEvaluator({ inlineJavascript: true, expressionLib: [] });

describe('applyPattern', () => {
  it('appends, and strips one extension per caret', () => {
    expect(applyPattern('a.bam', '.bai')).toBe('a.bam.bai');
    expect(applyPattern('a.vcf.gz', '^^.idx')).toBe('a.idx');
    expect(applyPattern('a.txt', '_idx8')).toBe('a.txt_idx8');
  });
});

describe('discoverSecondaryFiles', () => {
  it('classes what a name points at by what is on disk: a directory is a Directory (search.cwl _idx8)', async () => {
    const primary = path.join(root, 'input.txt');
    await writeFile(primary, 'x');
    await writeFile(`${primary}.idx1`, '');
    await mkdir(`${primary}_idx8`);
    const f: FileValue = { class: 'File', path: primary, location: locationFromPath(primary), basename: 'input.txt', nameroot: 'input', nameext: '.txt' };
    const { found, missing } = await discoverSecondaryFiles(
      f,
      [{ pattern: '.idx1' }, { pattern: '_idx8' }, { pattern: '$({"path": self.path + ".idx1", "class": "File"})' }, { pattern: '.none', required: false }],
      ev,
      {},
      {},
      true,
    );
    expect(missing).toEqual([]);
    expect(found.map((e) => [e.class, path.basename(e.path as string)])).toEqual([
      ['File', 'input.txt.idx1'],
      ['Directory', 'input.txt_idx8'],
    ]);
  });

  it('reports a required one that is missing, by path', async () => {
    const primary = path.join(root, 'a.bam');
    await writeFile(primary, 'x');
    const f: FileValue = { class: 'File', path: primary, basename: 'a.bam' };
    const { missing } = await discoverSecondaryFiles(f, [{ pattern: '.bai' }], ev, {}, {}, true);
    expect(missing).toEqual([`${primary}.bai`]);
  });
});
