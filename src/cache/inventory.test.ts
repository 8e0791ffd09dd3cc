import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOTALS_FILE, cacheTotals, clearCache } from './inventory.js';
import { TaskCache } from './task-cache.js';

let dir = '';
let cacheDir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-inventory-'));
  cacheDir = path.join(dir, 'cache');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const origin = { runId: 'r1', taskId: 'main/s/0', stepPath: 'main/s', attempt: 1 };
let n = 0;
/** Publish an entry of `bytes` bytes under a new key. */
async function addEntry(cache: TaskCache, bytes: number): Promise<void> {
  const outdir = path.join(dir, `task-${++n}`);
  await mkdir(outdir);
  await writeFile(path.join(outdir, 'out.txt'), 'x'.repeat(bytes));
  const r = await cache.publish({ key: n.toString(16).padStart(40, '0'), outdir, exitCode: 0, origin });
  expect('entry' in r).toBe(true);
}

describe('cacheTotals (the end of a run)', () => {
  it('knows a new cache from what the run added; later adds each run\'s bytes to the last count; counts again after a clear or an hour', async () => {
    const cache = new TaskCache(cacheDir);
    await addEntry(cache, 10);
    await addEntry(cache, 20);
    const t0 = Date.now();
    expect(await cacheTotals(cacheDir, { entries: 2, bytes: 30 }, t0)).toEqual({ entries: 2, bytes: 30, exact: true });
    expect(JSON.parse(await readFile(path.join(cacheDir, TOTALS_FILE), 'utf8'))).toEqual({ bytes: 30, at: t0 });

    // A second run adds one entry: the entries are counted, the bytes added to the saved count (no manifest read).
    await addEntry(cache, 5);
    expect(await cacheTotals(cacheDir, { entries: 1, bytes: 5 }, t0 + 1000)).toEqual({ entries: 3, bytes: 35, exact: false });

    // Entries removed by hand are not seen in the bytes until the count is made again, an hour after the last.
    await rm(path.join(cacheDir, `${(1).toString(16).padStart(40, '0')}.json`));
    await rm(path.join(cacheDir, (1).toString(16).padStart(40, '0')), { recursive: true });
    await addEntry(cache, 1);
    expect(await cacheTotals(cacheDir, { entries: 1, bytes: 1 }, t0 + 2000)).toEqual({ entries: 3, bytes: 36, exact: false });
    expect(await cacheTotals(cacheDir, { entries: 0, bytes: 0 }, t0 + 61 * 60_000)).toEqual({ entries: 3, bytes: 26, exact: true });

    // strand cache clear drops the saved count with the entries.
    await clearCache(cacheDir, { unusedForMs: 0 });
    await addEntry(cache, 7);
    await addEntry(cache, 8);
    expect(await cacheTotals(cacheDir, { entries: 1, bytes: 8 }, t0 + 62 * 60_000)).toMatchObject({ entries: 2, bytes: 15, exact: true });
  });

  it('does not take a cache holding another run\'s entries, or leftovers, for a new one', async () => {
    const cache = new TaskCache(cacheDir);
    await addEntry(cache, 10);
    await addEntry(cache, 20);
    await writeFile(path.join(cacheDir, `.pending-${'f'.repeat(40)}-abcd`), '');
    // Two entries, but this run added one: the bytes come from every manifest.
    expect(await cacheTotals(cacheDir, { entries: 1, bytes: 20 })).toEqual({ entries: 2, bytes: 30, exact: true });
  });
});
