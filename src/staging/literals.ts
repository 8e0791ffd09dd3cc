/**
 * File and Directory literals: a File given by `contents`, a Directory given by `basename` and
 * `listing`, written to disk so that tools can read them.
 *
 * A Directory literal's listing may name existing files and directories (by location or path):
 * they are copied into it (never linked, so a tool that changes the literal cannot reach the
 * originals). The value returned describes what was written: its own and every listing entry's
 * path and location point at the new copies, so `$(inputs.dir.listing[0].path)` names a file
 * inside the literal directory.
 */
import { constants } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { DirectoryValue, FileValue } from '../model/types.js';
import { relativeName, writeNoFollow } from './confine.js';
import { locationFromPath, nameFields, pathFromLocation } from './paths.js';

type Entry = FileValue | DirectoryValue;

/** A File or Directory without location or path: its content is in the value itself. */
export function isLiteral(v: Entry): boolean {
  return !v.location && !v.path;
}

function sourceOf(v: Entry): string | undefined {
  if (v.path) return v.path;
  return v.location ? pathFromLocation(v.location) : undefined;
}

/** The name an entry takes inside a directory: its basename, else the last part of its location. */
export function entryName(v: Entry, fallback: string): string {
  if (v.basename) return v.basename;
  const src = sourceOf(v);
  return src ? path.basename(src) : fallback;
}

/**
 * Write `v` at `target` (the parent must exist or is made) and return it with `path`, `location`
 * and the name fields of `target`; Directory listings are rewritten the same way, recursively.
 */
export async function writeEntry(v: Entry, target: string): Promise<Entry> {
  await mkdir(path.dirname(target), { recursive: true });
  const src = sourceOf(v);
  const out: Entry = { ...v, path: target, location: locationFromPath(target) };
  delete out.dirname;
  if (src !== undefined) {
    // Copy-on-write clone where the file system has it, a plain copy elsewhere.
    await cp(src, target, { recursive: true, dereference: true, mode: constants.COPYFILE_FICLONE });
    if (out.class === 'Directory' && Array.isArray(out.listing)) out.listing = rebase(out.listing, src, target);
  } else if (v.class === 'File') {
    await writeNoFollow(target, v.contents ?? '', `file literal ${v.basename ?? ''}`);
  } else {
    await mkdir(target, { recursive: true });
    const taken = new Set<string>();
    const listing: Entry[] = [];
    for (const [i, child] of (v.listing ?? []).entries()) {
      const name = relativeName(entryName(child, `entry-${i}`), `directory literal ${v.basename ?? ''}: entry ${i + 1}`);
      if (taken.has(name)) throw new InputError(`directory literal ${v.basename ?? ''} lists ${name} twice`);
      taken.add(name);
      listing.push(await writeEntry({ ...child, basename: name }, path.join(target, name)));
    }
    out.listing = listing;
  }
  nameFields(out);
  return out;
}

/** Listing entries of a copied directory, moved from under `from` to under `to`. */
function rebase(listing: Entry[], from: string, to: string): Entry[] {
  return listing.map((e) => {
    const src = sourceOf(e);
    if (src === undefined || path.relative(from, src).startsWith('..')) return e;
    const p = path.join(to, path.relative(from, src));
    const out: Entry = { ...e, path: p, location: locationFromPath(p) };
    delete out.dirname;
    nameFields(out);
    if (out.class === 'Directory' && Array.isArray(out.listing)) out.listing = rebase(out.listing, from, to);
    return out;
  });
}
