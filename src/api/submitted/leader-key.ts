/**
 * The namespace's cache key (Secret strand-cache-key) as the leader uses it. A Secret's files
 * belong to root, and the Strand image runs as user 10001, which cannot read a 0400 file: the
 * Secret is mounted 0444 in the leader pod (only Strand runs in that container; task pods never
 * mount it). The key file check (cache/key-file.ts) rightly warns about a key others can read, so
 * the leader copies the key once into a 0600 file of its own under its temporary directory (the
 * container's, or its emptyDir: never the workspace) and uses that.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A private copy of the key mounted at `mounted`, in a new 0700 directory under `tmp`; undefined when nothing is mounted (no Secret). */
export async function privateKeyCopy(mounted: string, tmp: string): Promise<string | undefined> {
  const key = await readFile(mounted).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (key === undefined) return undefined;
  const dir = await mkdtemp(path.join(tmp, 'strand-cache-key-'));
  const copy = path.join(dir, 'key');
  await writeFile(copy, key, { mode: 0o600, flag: 'wx' });
  return copy;
}
