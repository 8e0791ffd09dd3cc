/**
 * Reading a file that someone else could have written (a task's log or stderr file, in a
 * directory the task can write: its work dir, or on Kubernetes a log directory in the workspace):
 * only a regular file really inside a given root is read. The file is opened without following a
 * final link (O_NOFOLLOW) and without blocking (a FIFO would wait for a writer), then checked on
 * the open descriptor: a regular file with one name (a hard link's other name may be outside),
 * whose real path (`/proc/self/fd`, or realpath with the same inode elsewhere) is under the root.
 * A log swapped for a link to `/etc/shadow` or a key is never read.
 */
import { constants } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const inside = (root: string, p: string) => {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/** Where the open descriptor's file really is. */
async function realPathOf(fh: FileHandle, file: string, ino: number, dev: number): Promise<string | undefined> {
  if (process.platform === 'linux') return readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined);
  const real = await realpath(file).catch(() => undefined);
  const s = real ? await stat(real).catch(() => undefined) : undefined;
  return s && s.ino === ino && s.dev === dev ? real : undefined;
}

/**
 * `file` opened for reading when it is a regular file under `rootDir` (through no link leading
 * out of it, and not a link itself), else undefined. The caller closes the handle.
 */
export async function openConfined(rootDir: string, file: string): Promise<{ fh: FileHandle; size: number } | undefined> {
  const root = await realpath(rootDir).catch(() => undefined);
  if (!root || !path.isAbsolute(file)) return undefined;
  const fh = await open(file, FLAGS).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const s = await fh.stat();
    // A second name (a hard link made by the task) could be a file from elsewhere.
    const real = s.isFile() && s.nlink === 1 ? await realPathOf(fh, file, s.ino, s.dev) : undefined;
    if (real && inside(root, real)) return { fh, size: s.size };
  } catch {
    // refused below
  }
  await fh.close();
  return undefined;
}
