/**
 * Who owns a path: decided on real paths, never on path text.
 *
 * A path inside a task directory can still be the user's file: `<outdir>/rec/B` where `rec` is an
 * InitialWorkDir symlink to an input directory, or a staged input link. Strand owns a path only if
 * it is not itself a symbolic link and its real parent directory (every parent resolved) lies
 * inside one of Strand's own roots (the run's work root). Anything else may be read and copied,
 * never renamed or deleted.
 */
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { fsPath, readEntries, realpathRaw } from './raw-names.js';
import path from 'node:path';

/** Whether `p` is `dir` or lies below it (both absolute and normalised). */
export function isInside(p: string, dir: string): boolean {
  if (p === dir) return true;
  return p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

/** Real path of `p`, or undefined when it (or a link on the way) does not resolve. */
export async function realPathOf(p: string): Promise<string | undefined> {
  return realpathRaw(p).catch(() => undefined);
}

/** Real paths of Strand's roots, resolved once (a root that does not exist owns nothing). */
export async function realRoots(roots: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of roots) {
    const real = await realPathOf(path.resolve(r));
    if (real) out.push(real);
  }
  return out;
}

/** What ownership is decided on: the path's lstat, its real path, its real parent. */
export interface PathFacts {
  stats: Stats;
  real: string;
  realParent: string;
}

/**
 * Facts about `p`, undefined when it or a link on its way does not resolve. `parents` caches real
 * parent paths across calls. Two or three system calls: lstat, realpath of the parent, and
 * realpath of `p` itself only when it is a link.
 */
export async function pathFacts(p: string, parents = new Map<string, Promise<string | undefined>>()): Promise<PathFacts | undefined> {
  const abs = path.resolve(p);
  const stats = await lstat(fsPath(abs)).catch(() => undefined);
  if (!stats) return undefined;
  const dir = path.dirname(abs);
  let parent = parents.get(dir);
  if (!parent) {
    parent = realPathOf(dir);
    parents.set(dir, parent);
  }
  const realParent = await parent;
  if (realParent === undefined) return undefined;
  const real = stats.isSymbolicLink() ? await realPathOf(abs) : path.join(realParent, path.basename(abs));
  return real === undefined ? undefined : { stats, real, realParent };
}

/** Whether these facts make the path Strand's: not a link, real parent inside one of `roots`. */
export function owns(facts: PathFacts, roots: string[]): boolean {
  return !facts.stats.isSymbolicLink() && roots.some((r) => isInside(facts.realParent, r));
}

/**
 * Whether Strand owns `p`: `p` exists, is not a symbolic link, and its real parent lies inside one
 * of `roots` (real paths, see realRoots). The root itself is never owned through this test.
 */
export async function ownedBy(p: string, roots: string[]): Promise<boolean> {
  const facts = await pathFacts(p);
  return facts !== undefined && owns(facts, roots);
}

/** Whether a directory tree holds a symbolic link anywhere (the directory itself not counted). */
export async function treeHasSymlink(dir: string): Promise<boolean> {
  for (const { name, entry: e } of await readEntries(dir)) {
    if (e.isSymbolicLink()) return true;
    if (e.isDirectory() && (await treeHasSymlink(path.join(dir, name)))) return true;
  }
  return false;
}
