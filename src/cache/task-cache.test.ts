import { existsSync } from 'node:fs';
import { lutimes, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDigester, MemoryDigestMemo } from './digests.js';
import { clearCache, listCache } from './inventory.js';
import { CacheSigner } from './signing.js';
import { TaskCache } from './task-cache.js';

let dir = '';
let work = '';
let cacheDir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-task-cache-'));
  work = path.join(dir, 'work');
  cacheDir = path.join(dir, 'cache');
  await mkdir(work);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEY = 'a'.repeat(40);
const origin = { runId: 'r1', taskId: 'main/s/0', stepPath: 'main/s', attempt: 1 };

async function waitFor(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 10));
}

async function taskDir(name = 't-1-abc'): Promise<string> {
  const d = path.join(work, name);
  await mkdir(path.join(d, 'sub'), { recursive: true });
  await writeFile(path.join(d, 'out.txt'), 'result\n');
  await writeFile(path.join(d, 'sub', 'b.txt'), 'bee\n');
  await symlink('out.txt', path.join(d, 'same.txt'));
  return d;
}

describe('TaskCache', () => {
  it('two identical tasks finishing together: one entry, and neither task loses its outputs', async () => {
    // Each round: eight tasks with the same key publish at once; whichever wins, every task's
    // outputs must still be somewhere it can read them (its own directory, or the entry).
    for (let round = 0; round < 5; round++) {
      const cache = new TaskCache(path.join(cacheDir, String(round)));
      const dirs = await Promise.all(Array.from({ length: 8 }, (_, i) => taskDir(`r${round}-t${i}`)));
      const results = await Promise.all(dirs.map((outdir) => cache.publish({ key: KEY, outdir, exitCode: 0, origin })));
      const published = results.filter((r) => 'entry' in r);
      expect(published).toHaveLength(1);
      for (const [i, r] of results.entries()) {
        const where = 'entry' in r ? r.entry : (dirs[i] as string);
        expect(await readFile(path.join(where, 'out.txt'), 'utf8')).toBe('result\n');
        expect(await readFile(path.join(where, 'sub', 'b.txt'), 'utf8')).toBe('bee\n');
      }
      const found = await cache.lookup(KEY);
      expect('hit' in found).toBe(true);
    }
  });

  it('moves a finished output directory in, with a manifest, and finds it intact', async () => {
    const cache = new TaskCache(cacheDir);
    const outdir = await taskDir();
    const r = await cache.publish({ key: KEY, outdir, exitCode: 0, durationMs: 1200, origin });
    expect(r).toEqual({ entry: path.join(cacheDir, KEY), moved: true, bytes: 11 });
    expect(existsSync(outdir)).toBe(false);
    const found = await cache.lookup(KEY);
    expect('hit' in found && found.hit.entry).toBe(path.join(cacheDir, KEY));
    if (!('hit' in found)) return;
    expect(found.hit.manifest).toMatchObject({
      key: KEY,
      exitCode: 0,
      durationMs: 1200,
      origin,
      dirs: ['sub'],
      links: [{ path: 'same.txt', target: 'out.txt' }],
      size: 11,
      files: [
        { path: 'out.txt', size: 7, checksum: expect.stringMatching(/^sha1\$/) },
        { path: 'sub/b.txt', size: 4, checksum: expect.stringMatching(/^sha1\$/) },
      ],
    });
    expect(await readFile(path.join(found.hit.entry, 'out.txt'), 'utf8')).toBe('result\n');
  });

  it('makes its directory once, and again when it was removed between two publishes', async () => {
    const dir = path.join(cacheDir, 'removed-meanwhile');
    const cache = new TaskCache(dir);
    expect('entry' in (await cache.publish({ key: KEY, outdir: await taskDir('rm-1'), exitCode: 0, origin }))).toBe(true);
    await rm(dir, { recursive: true, force: true });
    const again = await cache.publish({ key: 'b'.repeat(40), outdir: await taskDir('rm-2'), exitCode: 0, origin });
    expect(again).toMatchObject({ entry: path.join(dir, 'b'.repeat(40)), moved: true });
    expect('hit' in (await cache.lookup('b'.repeat(40)))).toBe(true);
  });

  it('does not use an entry whose file changed (same size), was removed or gained a file', async () => {
    for (const damage of [
      (e: string) => writeFile(path.join(e, 'out.txt'), 'RESULT\n'),
      (e: string) => rm(path.join(e, 'sub', 'b.txt')),
      (e: string) => writeFile(path.join(e, 'extra'), ''),
      (e: string) => rm(path.join(e, 'same.txt')),
    ]) {
      const cache = new TaskCache(cacheDir, new FileDigester(new MemoryDigestMemo()));
      await cache.publish({ key: KEY, outdir: await taskDir(), exitCode: 0, origin });
      expect('hit' in (await cache.lookup(KEY))).toBe(true);
      await damage(cache.entryPath(KEY));
      const found = await cache.lookup(KEY);
      expect(found).toMatchObject({ miss: 'broken' });
      // Publishing the task again replaces the broken entry.
      const again = await cache.publish({ key: KEY, outdir: await taskDir('t-2-def'), exitCode: 0, origin: { ...origin, runId: 'r2' } });
      expect('entry' in again).toBe(true);
      const now = await cache.lookup(KEY);
      expect('hit' in now && now.hit.manifest.origin.runId).toBe('r2');
      await rm(cacheDir, { recursive: true });
    }
  });

  it('ignores an entry without a manifest (stopped while caching), and an absent one', async () => {
    const cache = new TaskCache(cacheDir);
    expect(await cache.lookup(KEY)).toEqual({ miss: 'absent' });
    await mkdir(cache.entryPath(KEY), { recursive: true });
    expect(await cache.lookup(KEY)).toMatchObject({ miss: 'broken', reason: expect.stringContaining('no manifest') });
  });

  it('keeps the first entry when two runs cache the same task, and gives the second its directory back', async () => {
    const cache = new TaskCache(cacheDir);
    await cache.publish({ key: KEY, outdir: await taskDir(), exitCode: 0, origin });
    const second = await taskDir('t-2-def');
    const r = await cache.publish({ key: KEY, outdir: second, exitCode: 0, origin: { ...origin, runId: 'r2' } });
    expect(r).toMatchObject({ skipped: expect.stringContaining('first') });
    expect(await readFile(path.join(second, 'out.txt'), 'utf8')).toBe('result\n');
    expect((await readdir(cacheDir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('does not cache an output directory with links leading out of it', async () => {
    const cache = new TaskCache(cacheDir);
    const outdir = await taskDir();
    await symlink(path.join(dir, 'elsewhere'), path.join(outdir, 'input'));
    const r = await cache.publish({ key: KEY, outdir, exitCode: 0, origin });
    expect(r).toMatchObject({ skipped: expect.stringContaining('links out') });
    expect(existsSync(path.join(outdir, 'out.txt'))).toBe(true);
  });

  it('lists entries with size and origin, and clears them (all, by run, by last use)', async () => {
    const cache = new TaskCache(cacheDir);
    await cache.publish({ key: KEY, outdir: await taskDir(), exitCode: 0, origin });
    await cache.publish({ key: 'b'.repeat(40), outdir: await taskDir('t-2'), exitCode: 0, origin: { ...origin, runId: 'r2' } });
    await mkdir(path.join(cacheDir, `.pending-${'c'.repeat(40)}-1234`));
    const inv = await listCache(cacheDir);
    expect(inv.entries.map((e) => [e.key.slice(0, 1), e.origin.runId, e.size, e.files])).toEqual([
      ['a', 'r1', 11, 2],
      ['b', 'r2', 11, 2],
    ]);
    expect(inv.totalBytes).toBe(22);
    expect(inv.leftovers).toHaveLength(1);
    expect(await clearCache(cacheDir, { runId: 'r2' })).toEqual({ removed: 1, bytes: 11, leftovers: 0, kept: 0 });
    expect(await clearCache(cacheDir, { unusedForMs: 3_600_000 })).toEqual({ removed: 0, bytes: 0, leftovers: 1, kept: 0 });
    expect(await clearCache(cacheDir)).toEqual({ removed: 1, bytes: 11, leftovers: 0, kept: 0 });
    expect(await readdir(cacheDir)).toEqual([]);
    expect((await listCache(path.join(dir, 'none'))).entries).toEqual([]);
  });

  it('clear leaves alone what a running task is caching (its lock is fresh), and removes what a killed one left', async () => {
    const signer = CacheSigner.ephemeral();
    const cache = new TaskCache(cacheDir, undefined, { signer });
    // A publish in its digest phase: the task's outputs sit in .pending-<key>-x under a fresh lock.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = new TaskCache(cacheDir, {
      digest: async (p: string) => {
        await gate;
        return cache.digester.digest(p);
      },
      remember: (p: string, c: string) => cache.digester.remember(p, c),
    } as unknown as TaskCache['digester'], { signer });
    const outdir = await taskDir();
    const publishing = slow.publish({ key: KEY, outdir, exitCode: 0, origin });
    await waitFor(async () => (await readdir(cacheDir).catch(() => [] as string[])).some((n) => n.startsWith('.pending-')));
    const inv = await listCache(cacheDir);
    expect(inv.inProgress.map((p) => path.basename(p))).toEqual([expect.stringMatching(/^\.pending-a{40}-/)]);
    expect(inv.leftovers).toEqual([]);
    expect(await clearCache(cacheDir)).toEqual({ removed: 0, bytes: 0, leftovers: 0, kept: 1 });
    // The lock: a symbolic link naming this host and process, gone when the publish ends.
    expect(await readlink(path.join(cacheDir, `.lock-${KEY}`))).toBe(`${os.hostname()} ${process.pid}`);
    release();
    expect(await publishing).toMatchObject({ entry: path.join(cacheDir, KEY) });
    expect('hit' in (await cache.lookup(KEY))).toBe(true);

    // A killed publish: the same files under a lock nobody touched for 11 minutes.
    const key2 = 'd'.repeat(40);
    await mkdir(path.join(cacheDir, `.pending-${key2}-dead`));
    await mkdir(path.join(cacheDir, `.lock-${key2}`));
    const old = new Date(Date.now() - 11 * 60_000);
    await utimes(path.join(cacheDir, `.lock-${key2}`), old, old);
    expect((await listCache(cacheDir)).leftovers.map((p) => path.basename(p))).toEqual([`.lock-${key2}`, `.pending-${key2}-dead`]);
    expect(await clearCache(cacheDir, { unusedForMs: 3_600_000 })).toEqual({ removed: 0, bytes: 0, leftovers: 2, kept: 0 });
    expect(existsSync(path.join(cacheDir, `.lock-${KEY}`))).toBe(false);
  });

  it('honours the lock of an earlier Strand (a directory with an owner file) while its process lives, and takes over a dead one', async () => {
    const cache = new TaskCache(cacheDir, undefined, { signer: CacheSigner.ephemeral() });
    await mkdir(cacheDir, { recursive: true });
    const lock = path.join(cacheDir, `.lock-${KEY}`);
    await mkdir(lock);
    await writeFile(path.join(lock, 'owner'), `${os.hostname()} ${process.pid}\n`);
    expect(await cache.publish({ key: KEY, outdir: await taskDir(), exitCode: 0, origin })).toEqual({ skipped: 'another task is caching the same result' });
    // Its process gone (a pid above the kernel's limit is never alive): the lock is stale, the publish goes on.
    await writeFile(path.join(lock, 'owner'), `${os.hostname()} 99999999\n`);
    expect(await cache.publish({ key: KEY, outdir: await taskDir('t-2-def'), exitCode: 0, origin })).toMatchObject({ entry: path.join(cacheDir, KEY) });
    expect(existsSync(lock)).toBe(false);
  });

  it('a symbolic-link lock of a live process keeps a second publish off; a stale one (not touched for 11 minutes) does not', async () => {
    const cache = new TaskCache(cacheDir, undefined, { signer: CacheSigner.ephemeral() });
    await mkdir(cacheDir, { recursive: true });
    const lock = path.join(cacheDir, `.lock-${KEY}`);
    await symlink(`${os.hostname()} ${process.pid}`, lock);
    expect(await cache.publish({ key: KEY, outdir: await taskDir(), exitCode: 0, origin })).toEqual({ skipped: 'another task is caching the same result' });
    const old = new Date(Date.now() - 11 * 60_000);
    await lutimes(lock, old, old);
    expect(await cache.publish({ key: KEY, outdir: await taskDir('t-2-def'), exitCode: 0, origin })).toMatchObject({ entry: path.join(cacheDir, KEY) });
    expect(existsSync(lock)).toBe(false);
  });
});
