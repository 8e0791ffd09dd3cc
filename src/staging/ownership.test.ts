/** ownedBy decides on real paths: path text inside the work root proves nothing. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ownedBy, realRoots, treeHasSymlink } from './ownership.js';

let tmp: string;
let work: string;
let user: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strand-owner-'));
  work = path.join(tmp, 'work');
  user = path.join(tmp, 'data');
  await mkdir(path.join(work, 'task'), { recursive: true });
  await mkdir(path.join(user, 'rec'), { recursive: true });
  await writeFile(path.join(user, 'rec', 'B'), 'B');
  await writeFile(path.join(work, 'task', 'own.txt'), 'own');
  await symlink(path.join(user, 'rec'), path.join(work, 'task', 'rec'));
  await symlink(path.join(user, 'rec', 'B'), path.join(work, 'task', 'B-link'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('ownedBy', () => {
  it('owns a file the task wrote in its directory', async () => {
    expect(await ownedBy(path.join(work, 'task', 'own.txt'), await realRoots([work]))).toBe(true);
  });

  it('does not own a user file reached through a linked parent directory, though its path text is inside the work root', async () => {
    expect(await ownedBy(path.join(work, 'task', 'rec', 'B'), await realRoots([work]))).toBe(false);
  });

  it('does not own a link (the link is Strand\'s, what it points at is not), nor a path outside the roots, nor nothing', async () => {
    const roots = await realRoots([work]);
    expect(await ownedBy(path.join(work, 'task', 'B-link'), roots)).toBe(false);
    expect(await ownedBy(path.join(user, 'rec', 'B'), roots)).toBe(false);
    expect(await ownedBy(path.join(work, 'task', 'missing'), roots)).toBe(false);
  });

  it('owns through a link to the work root itself (roots are compared as real paths)', async () => {
    await symlink(work, path.join(tmp, 'work-link'));
    expect(await ownedBy(path.join(tmp, 'work-link', 'task', 'own.txt'), await realRoots([path.join(tmp, 'work-link')]))).toBe(true);
  });
});

describe('treeHasSymlink', () => {
  it('finds a link at any depth', async () => {
    await mkdir(path.join(work, 'd', 'sub'), { recursive: true });
    await writeFile(path.join(work, 'd', 'sub', 'x'), 'x');
    expect(await treeHasSymlink(path.join(work, 'd'))).toBe(false);
    await symlink(path.join(user, 'rec', 'B'), path.join(work, 'd', 'sub', 'B'));
    expect(await treeHasSymlink(path.join(work, 'd'))).toBe(true);
  });
});
