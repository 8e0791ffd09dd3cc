/** File object basics: URIs <-> paths, derived name fields, checksums, contents. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InputError } from '../errors.js';
import type { DirectoryValue, FileValue } from '../model/types.js';

export function pathFromLocation(loc: string): string {
  if (loc.startsWith('file:')) return fileURLToPath(loc);
  if (/^[a-z][a-z0-9+.-]*:/i.test(loc)) throw new InputError(`only local files are supported, not ${loc}`);
  return path.resolve(loc);
}

export function locationFromPath(p: string): string {
  return pathToFileURL(p).href;
}

/** Fill path, basename, dirname, nameroot, nameext (and size for Files) from location/path. */
export function nameFields(f: FileValue | DirectoryValue): void {
  if (!f.path && f.location) f.path = pathFromLocation(f.location);
  if (!f.location && f.path) f.location = locationFromPath(f.path);
  if (f.path) {
    f.basename = path.basename(f.path);
    f.dirname = path.dirname(f.path);
  }
  if (f.class === 'File' && f.basename !== undefined) {
    const dot = f.basename.lastIndexOf('.');
    f.nameroot = dot > 0 ? f.basename.slice(0, dot) : f.basename;
    f.nameext = dot > 0 ? f.basename.slice(dot) : '';
  }
}

export async function completeFile(f: FileValue): Promise<FileValue> {
  nameFields(f);
  if (f.path) f.size = (await stat(f.path)).size;
  return f;
}

export function sha1File(p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha1');
    createReadStream(p)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(`sha1$${h.digest('hex')}`));
  });
}

export async function readContents(p: string, limitBytes = 65536, exceedIsError = true): Promise<string> {
  const fh = await open(p, 'r');
  try {
    const buf = Buffer.alloc(limitBytes + 1);
    const { bytesRead } = await fh.read(buf, 0, limitBytes + 1, 0);
    if (bytesRead > limitBytes && exceedIsError) {
      throw new InputError(`${p} is larger than ${limitBytes} bytes, the limit for loadContents`);
    }
    return buf.subarray(0, Math.min(bytesRead, limitBytes)).toString('utf8');
  } finally {
    await fh.close();
  }
}
