/**
 * What earlier Strand runs wrote into an output directory (their output objects, from the run
 * store), as the test relocation uses before replacing a name: the path was an output of an earlier
 * run, and what is there now is still what that run wrote (same kind, same size, same checksum; a
 * Directory holds nothing that run did not write). Anything else is the user's, and stays.
 */
import { lstat } from 'node:fs/promises';
import { fsPath, readEntries } from './raw-names.js';
import path from 'node:path';
import { sha1File } from './paths.js';

export interface WrittenEntry {
  kind: 'File' | 'Directory';
  size?: number;
  checksum?: string;
}

/**
 * Every File and Directory in earlier runs' output objects (secondaryFiles and listings
 * included), by its `path` (resolved) or its `location` as recorded, with kind, size and checksum.
 */
export function earlierWritten(earlierOutputs: unknown[], by: 'path' | 'location'): Map<string, WrittenEntry> {
  const written = new Map<string, WrittenEntry>();
  const add = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(add);
    if (typeof v !== 'object' || v === null) return;
    const o = v as Record<string, unknown>;
    const where = o[by];
    if ((o.class === 'File' || o.class === 'Directory') && typeof where === 'string') {
      written.set(by === 'path' ? path.resolve(where) : where, {
        kind: o.class,
        ...(typeof o.size === 'number' ? { size: o.size } : {}),
        ...(typeof o.checksum === 'string' ? { checksum: o.checksum } : {}),
      });
      add(o.secondaryFiles);
      add(o.listing);
      return;
    }
    Object.values(o).forEach(add);
  };
  earlierOutputs.forEach(add);
  return written;
}

export function replaceableFrom(earlierOutputs: unknown[]): (p: string) => Promise<boolean> {
  const written = earlierWritten(earlierOutputs, 'path');

  const unchanged = async (p: string): Promise<boolean> => {
    const w = written.get(p);
    const st = await lstat(fsPath(p)).catch(() => undefined);
    if (!w || !st || st.isSymbolicLink()) return false;
    if (w.kind === 'File') {
      if (!st.isFile() || (w.size !== undefined && st.size !== w.size)) return false;
      return w.checksum === undefined || (await sha1File(p, st.size)) === w.checksum;
    }
    if (!st.isDirectory()) return false;
    for (const { name } of await readEntries(p)) if (!(await unchanged(path.join(p, name)))) return false;
    return true;
  };
  return (p: string) => unchanged(path.resolve(p));
}
