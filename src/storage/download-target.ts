/**
 * Where a download goes: a name taken from a URL or an object key is one safe path component,
 * and the file is made in a directory Strand made for it, checked to resolve inside the run's
 * download directory. (The part file is then created with O_EXCL | O_NOFOLLOW: counted-write.ts.)
 */
import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from '../errors.js';

// Room for the part file's prefix and suffix (counted-write.ts) within NAME_MAX (255 bytes).
const MAX_NAME_BYTES = 200;

/**
 * `name` (already %-decoded) as one file name: separators ('/', '\'), NUL and other control
 * characters become '_', leading dots (which hide a file, or make '.' and '..') become '_', and a
 * name too long is shortened keeping its extension. `fallback` when nothing is left.
 */
export function safeFileName(name: string, fallback: string): string {
  // eslint-disable-next-line no-control-regex
  let s = name.replace(/[/\\\u0000-\u001f\u007f]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  if (Buffer.byteLength(s) > MAX_NAME_BYTES) {
    const ext = path.extname(s).slice(0, 20);
    let stem = s.slice(0, s.length - ext.length);
    while (Buffer.byteLength(stem + ext) > MAX_NAME_BYTES) stem = stem.slice(0, -1);
    s = stem + ext;
  }
  return s === '' ? fallback : s;
}

/**
 * Make `root/sub` (sub: Strand's own relative name) and return `root/sub/name` for a download,
 * after checking that the directory really is inside `root` (no link followed out of it).
 */
export async function downloadTarget(root: string, sub: string, name: string): Promise<string> {
  if (name !== path.basename(name) || name === '.' || name === '..' || name === '') {
    throw new StorageError(`${name}: not a single file name`, name, 'bad_location');
  }
  const dir = path.join(root, sub);
  await mkdir(dir, { recursive: true });
  const [realRoot, realDir] = await Promise.all([realpath(root), realpath(dir)]);
  const rel = path.relative(realRoot, realDir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new StorageError(`${dir}: the download directory leads outside ${root}`, dir, 'other');
  }
  return path.join(dir, name);
}
