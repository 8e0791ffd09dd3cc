/** `strand cache list` and `strand cache clear`: what the task cache holds, and removing it. */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CacheManifest } from './task-cache.js';
import { TaskCache, publishing } from './task-cache.js';

export interface CacheEntryInfo {
  key: string;
  entry: string;
  createdAt: string;
  /** When a run last reused it (or when it was made). */
  lastUsedAt: string;
  size: number;
  files: number;
  origin: CacheManifest['origin'];
}

export interface CacheInventory {
  dir: string;
  entries: CacheEntryInfo[];
  /** Directories left by tasks stopped while being cached, and entries without a readable manifest. */
  leftovers: string[];
  /** What a running task is putting in the cache now (its publish lock is fresh): never removed. */
  inProgress: string[];
  totalBytes: number;
}

const KEY = /^[0-9a-f]{40}$/;
/** The key a cache directory name belongs to: `<key>`, `<key>.json`, `.pending-<key>-x`, `.broken-<key>-x`, `<key>.json.x.tmp`, `.lock-<key>`. */
const KEY_OF = /^(?:\.pending-|\.broken-|\.lock-)?([0-9a-f]{40})(?:$|[-.])/;
/** What interrupted caching leaves: a directory moved in but not finished, one set aside, a manifest half written. */
const isLeftoverName = (name: string) => name.startsWith('.pending-') || name.startsWith('.broken-') || name.endsWith('.tmp');

export async function listCache(dir: string): Promise<CacheInventory> {
  const cache = new TaskCache(dir);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const entries: CacheEntryInfo[] = [];
  const leftovers: string[] = [];
  const inProgress: string[] = [];
  const now = Date.now();
  const live = new Map<string, boolean>();
  const isLive = async (name: string) => {
    const key = KEY_OF.exec(name)?.[1];
    if (key === undefined) return false;
    if (!live.has(key)) live.set(key, await publishing(dir, key, now));
    return live.get(key)!;
  };
  const leftover = async (name: string) => ((await isLive(name)) ? inProgress : leftovers).push(path.join(dir, name));
  for (const name of names.sort()) {
    if (isLeftoverName(name)) {
      await leftover(name);
      continue;
    }
    // The lock of a publish that died (its process is gone, or it was not touched for LOCK_STALE_MS).
    if (name.startsWith('.lock-')) {
      if (!(await isLive(name))) leftovers.push(path.join(dir, name));
      continue;
    }
    if (name.endsWith('.json')) continue;
    if (!KEY.test(name)) continue;
    const m = await cache.readManifest(name);
    if (!m) {
      // Moved in, manifest not written yet (a publish going on), or left by a killed one.
      await leftover(name);
      continue;
    }
    const used = await stat(cache.manifestPath(name)).catch(() => undefined);
    entries.push({
      key: name,
      entry: cache.entryPath(name),
      createdAt: m.createdAt,
      lastUsedAt: used ? used.mtime.toISOString() : m.createdAt,
      size: m.size,
      files: m.files.length,
      origin: m.origin,
    });
  }
  // Manifests whose entry directory is gone are leftovers too.
  for (const name of names) {
    if (name.endsWith('.json') && KEY.test(name.slice(0, -5)) && !names.includes(name.slice(0, -5))) await leftover(name);
  }
  return { dir, entries, leftovers, inProgress, totalBytes: entries.reduce((n, e) => n + e.size, 0) };
}

export interface ClearOptions {
  /** Only entries not used for this long (milliseconds); leftovers are always removed. */
  unusedForMs?: number;
  /** Only entries made by this run. */
  runId?: string;
  now?: Date;
}

/**
 * Remove entries (manifest first, so a half-removed entry is never used) and leftovers; returns
 * what was removed. What a running task is caching now (`inProgress`) is left alone.
 */
export async function clearCache(dir: string, opts: ClearOptions = {}): Promise<{ removed: number; bytes: number; leftovers: number; kept: number }> {
  const inv = await listCache(dir);
  const now = (opts.now ?? new Date()).getTime();
  let removed = 0;
  let bytes = 0;
  for (const e of inv.entries) {
    if (opts.unusedForMs !== undefined && now - Date.parse(e.lastUsedAt) < opts.unusedForMs) continue;
    if (opts.runId !== undefined && e.origin.runId !== opts.runId) continue;
    await rm(`${e.entry}.json`, { force: true });
    await rm(e.entry, { recursive: true, force: true });
    removed++;
    bytes += e.size;
  }
  if (opts.runId === undefined) for (const l of inv.leftovers) await rm(l, { recursive: true, force: true });
  // The next run counts the bytes again.
  await rm(path.join(dir, TOTALS_FILE), { force: true });
  return { removed, bytes, leftovers: opts.runId === undefined ? inv.leftovers.length : 0, kept: inv.inProgress.length };
}

/**
 * Remove what interrupted caching left in `dir` (see isLeftoverName, and dead locks), leaving alone
 * what a running task is caching now; called when a run ends. Reads no manifest: cheap on a big cache.
 * Returns how many names were removed.
 */
export async function sweepLeftovers(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  let removed = 0;
  for (const name of names) {
    if (!isLeftoverName(name) && !name.startsWith('.lock-')) continue;
    const key = KEY_OF.exec(name)?.[1];
    if (key !== undefined && (await publishing(dir, key, now))) continue;
    await rm(path.join(dir, name), { recursive: true, force: true }).catch(() => undefined);
    removed++;
  }
  return removed;
}

/** Cache directories with more names than this are not summed at the end of a run (too slow to read every manifest). */
const SUM_LIMIT = 20_000;
/**
 * The last full count of a cache's bytes, `{ "bytes": n, "at": ms }`, so that the end of a run does
 * not read every manifest: the count is made again when it is older than TOTALS_FRESH_MS; meanwhile
 * each run adds its own bytes. Removed by `strand cache clear`.
 */
export const TOTALS_FILE = '.totals.json';
const TOTALS_FRESH_MS = 60 * 60_000;

interface SavedTotals {
  bytes: number;
  at: number;
}

async function readTotals(dir: string): Promise<SavedTotals | undefined> {
  try {
    const t = JSON.parse(await readFile(path.join(dir, TOTALS_FILE), 'utf8')) as SavedTotals;
    return Number.isSafeInteger(t.bytes) && t.bytes >= 0 && Number.isFinite(t.at) ? { bytes: t.bytes, at: t.at } : undefined;
  } catch {
    return undefined;
  }
}

async function writeTotals(dir: string, t: SavedTotals): Promise<void> {
  const tmp = path.join(dir, `${TOTALS_FILE}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(t), { mode: 0o600 });
    await rename(tmp, path.join(dir, TOTALS_FILE));
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

/**
 * Entries and total bytes of the cache after a run added `added` (bytes) to it, or undefined when it
 * is too big to sum quickly. The entries are counted (one listing); the bytes are the last full
 * count plus what runs added since (`exact: false`), counted again from every manifest when that
 * count is more than an hour old.
 */
export async function cacheTotals(
  dir: string,
  added: { entries: number; bytes: number } = { entries: 0, bytes: 0 },
  now = Date.now(),
): Promise<{ entries: number; bytes: number; exact: boolean } | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const present = new Set(names);
  const entries = names.filter((n) => KEY.test(n) && present.has(`${n}.json`)).length;
  // A cache that holds only what this run added (a new one): its bytes are known.
  if (entries === added.entries && names.every((n) => n === TOTALS_FILE || (KEY.test(n.replace(/\.json$/, '')) && present.has(n.replace(/\.json$/, ''))))) {
    await writeTotals(dir, { bytes: added.bytes, at: now });
    return { entries, bytes: added.bytes, exact: true };
  }
  const saved = await readTotals(dir);
  if (saved && now - saved.at >= 0 && now - saved.at < TOTALS_FRESH_MS) {
    const bytes = saved.bytes + added.bytes;
    await writeTotals(dir, { bytes, at: saved.at });
    return { entries, bytes, exact: false };
  }
  if (names.length > SUM_LIMIT) return undefined;
  const inv = await listCache(dir);
  await writeTotals(dir, { bytes: inv.totalBytes, at: now });
  return { entries: inv.entries.length, bytes: inv.totalBytes, exact: true };
}
