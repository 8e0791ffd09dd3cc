import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { partPathFor } from '../../../storage/counted-write.js';
import { walkTree } from './tree.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('walkTree', () => {
  it('lists files, directories and links, and leaves out downloads in progress (part files)', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'strand-tree-'));
    await mkdir(path.join(dir, 'sub'));
    await writeFile(path.join(dir, 'out.txt'), 'x');
    await writeFile(partPathFor(path.join(dir, 'out-0.txt')), 'half');
    await writeFile(partPathFor(path.join(dir, 'sub', 'in.txt')), 'half');
    // A user's file that only looks alike is listed.
    await writeFile(path.join(dir, 'notes.strand-part.txt'), 'mine');
    const rels = (await walkTree(dir)).map((e) => e.rel);
    expect(rels).toEqual(['notes.strand-part.txt', 'out.txt', 'sub']);
  });
});
