/** File object basics: URIs <-> paths, derived name fields, checksums, contents. */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InputError } from '../errors.js';
import type { DirectoryValue, FileValue } from '../model/types.js';
import { fsPath, hasRawBytes, locationOfRawPath, rawPathOfLocation } from './raw-names.js';
import { materialize } from './stand-ins.js';

export function pathFromLocation(loc: string): string {
  if (loc.startsWith('file:')) return rawPathOfLocation(loc) ?? fileURLToPath(loc);
  if (/^[a-z][a-z0-9+.-]*:/i.test(loc)) throw new InputError(`only local files are supported, not ${loc}`);
  return path.resolve(loc);
}

export function locationFromPath(p: string): string {
  return hasRawBytes(p) ? locationOfRawPath(p) : pathToFileURL(p).href;
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
  if (f.path) f.size = (await stat(fsPath(f.path))).size;
  return f;
}

const SHA1_CHUNK = 1024 * 1024;

/**
 * `sha1$<hex>` of a file's contents, read in chunks (no stream machinery: most outputs are small).
 * `size`, when the caller has just stat'ed the file, sizes the buffer and spares the final read at
 * end of file.
 */
export async function sha1File(p: string, size?: number): Promise<string> {
  // A stand-in for an object read in place has no bytes here: its checksum is of the object's.
  await materialize(p);
  const h = createHash('sha1');
  const fh = await open(fsPath(p), 'r');
  try {
    const buf = Buffer.allocUnsafe(size === undefined ? 64 * 1024 : Math.min(size + 1, SHA1_CHUNK));
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total === size && bytesRead < buf.length) break; // short read at the known size: end of file
    }
  } finally {
    await fh.close();
  }
  return `sha1$${h.digest('hex')}`;
}

export async function readContents(p: string, limitBytes = 65536, exceedIsError = true): Promise<string> {
  await materialize(p);
  const fh = await open(fsPath(p), 'r');
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
