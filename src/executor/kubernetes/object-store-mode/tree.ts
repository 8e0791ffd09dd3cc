/** A directory tree as entries (files, directories, symbolic links), relative paths with '/'. */
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

export type TreeEntry =
  | { kind: 'file'; rel: string; size: number; mtimeMs: number; mode: number }
  | { kind: 'dir'; rel: string }
  | { kind: 'link'; rel: string; target: string };

/**
 * A download in progress (storage/counted-write.ts's part file, renamed into place when complete):
 * never a result, and gone by the time it would be uploaded. Listed once, it failed a task whose
 * work directory another task was downloading into (`ENOENT` on the upload; the executor
 * contract's 24 concurrent tasks in one directory, 1 run in 3 when three ran at once).
 */
const PART_FILE = /^\..+\.strand-part-\d+-[a-z0-9]+$/;

/** Every entry below `dir` (not `dir` itself), parents before children; links are not followed; downloads in progress left out. */
export async function walkTree(dir: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(path.join(dir, rel))).sort();
    for (const name of names) {
      if (PART_FILE.test(name)) continue;
      const r = rel === '' ? name : `${rel}/${name}`;
      const full = path.join(dir, r);
      // An entry removed while the walk runs (a temporary file) is simply not there.
      const st = await lstat(full).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (!st) continue;
      if (st.isSymbolicLink()) out.push({ kind: 'link', rel: r, target: await readlink(full) });
      else if (st.isDirectory()) {
        out.push({ kind: 'dir', rel: r });
        await visit(r);
      } else if (st.isFile()) out.push({ kind: 'file', rel: r, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 });
    }
  };
  await visit('');
  return out;
}

/** Run `fn` over `items`, at most `n` at once; rejects with the first failure. */
export async function eachLimited<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}
