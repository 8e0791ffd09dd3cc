import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadKeyFile } from './key-file.js';
import { cacheScope, keyFileFor, openRunCache, runCacheDir } from './run-cache.js';
import { CacheSigner } from './signing.js';
import { TaskCache } from './task-cache.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-run-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const KEY = 'b'.repeat(40);
const origin = { runId: 'r1', taskId: 'main/s/0', stepPath: 'main/s', attempt: 1 };

describe('where a run keeps its cache', () => {
  it('one directory per user, per namespace on a cluster, or the shared one when asked', () => {
    const store = path.join(dir, 'store');
    expect(runCacheDir({ storeDir: store, shared: false })).toBe(path.join(store, 'cache', `user-${os.userInfo().uid}`));
    expect(runCacheDir({ storeDir: store, executorWorkRoot: '/ws/runs', namespace: 'lab-a', shared: false })).toBe('/ws/runs/task-cache/ns-lab-a');
    expect(runCacheDir({ storeDir: store, baseDir: '/c', scope: 'alice', shared: false })).toBe('/c/alice');
    expect(runCacheDir({ storeDir: store, baseDir: '/c', scope: 'alice', shared: true })).toBe('/c/shared');
    expect(runCacheDir({ storeDir: store, resumedDir: '/old/cache', shared: false })).toBe('/old/cache');
    expect(runCacheDir({ storeDir: false, shared: false })).toBeUndefined();
    expect(() => cacheScope({ scope: '../bob', shared: false })).toThrow(/cache.scope/);
    expect(keyFileFor({ storeDir: store })).toBe(path.join(store, 'cache.key'));
    expect(keyFileFor({ storeDir: false, env: { XDG_CONFIG_HOME: '/x' } })).toBe('/x/strand/cache.key');
  });

  it('never takes a key on the shared workspace (the leader\'s store is there): the run is told to name one elsewhere', async () => {
    const ws = path.join(dir, 'ws');
    const req = { mode: 'readwrite' as const, storeDir: path.join(ws, 'strand-submit', 'r1', 'store'), executorWorkRoot: path.join(ws, 'runs'), sharedRoot: ws, namespace: 'lab', shared: false };
    await expect(openRunCache(req)).rejects.toThrow(/on the shared workspace .*STRAND_CACHE_KEY_FILE/);
    await expect(openRunCache({ ...req, keyFile: path.join(ws, 'k') })).rejects.toThrow(/on the shared workspace/);
    const opened = await openRunCache({ ...req, keyFile: path.join(dir, 'secret', 'cache.key') });
    expect(opened?.use.cache.dir).toBe(path.join(ws, 'runs', 'task-cache', 'ns-lab'));
  });

  it('makes its key 0600 once, and refuses one others can change or that belongs to someone else', async () => {
    const file = path.join(dir, 'k', 'cache.key');
    const made = await loadKeyFile(file);
    expect(made.created).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const again = await loadKeyFile(file);
    expect(again.created).toBe(false);
    // Same key: what one run signs, the next verifies.
    const m = { key: KEY, files: [] };
    expect(again.signer.verify({ ...m, mac: made.signer.sign(m) })).toBe(true);
    await chmod(file, 0o664);
    await expect(loadKeyFile(file)).rejects.toThrow(/can be changed by others/);
    await chmod(file, 0o640);
    expect((await loadKeyFile(file)).readers).toMatch(/its group/);
    await writeFile(path.join(dir, 'short'), 'abcd', { mode: 0o600 });
    await expect(loadKeyFile(path.join(dir, 'short'))).rejects.toThrow(/too short/);
  });
});

describe('signed entries', () => {
  it('an entry whose manifest was changed, or signed with another key, or not signed, is not used', async () => {
    const cacheDir = path.join(dir, 'cache');
    const signer = CacheSigner.ephemeral();
    const cache = new TaskCache(cacheDir, undefined, { signer, private: true });
    const outdir = path.join(dir, 'out');
    await mkdir(outdir);
    await writeFile(path.join(outdir, 'o.txt'), 'real\n');
    expect(await cache.publish({ key: KEY, outdir, exitCode: 0, origin })).toMatchObject({ moved: true });
    expect('hit' in (await cache.lookup(KEY))).toBe(true);
    expect((await stat(path.join(cacheDir, KEY))).mode & 0o777).toBe(0o700);
    expect((await stat(cache.manifestPath(KEY))).mode & 0o777).toBe(0o600);

    expect(await new TaskCache(cacheDir, undefined, { signer: CacheSigner.ephemeral() }).lookup(KEY)).toMatchObject({ miss: 'forged' });
    const text = await readFile(cache.manifestPath(KEY), 'utf8');
    await writeFile(cache.manifestPath(KEY), text.replace('"exitCode":0', '"exitCode":3'));
    expect(await cache.lookup(KEY)).toMatchObject({ miss: 'forged', reason: expect.stringContaining(path.join(cacheDir, KEY)) });
    const { mac: _mac, ...unsigned } = JSON.parse(text) as Record<string, unknown>;
    await writeFile(cache.manifestPath(KEY), JSON.stringify({ ...unsigned, version: 1 }));
    expect(await cache.lookup(KEY)).toMatchObject({ miss: 'unsigned' });
  });
});
