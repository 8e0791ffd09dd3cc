/**
 * The last check before a run reports success: every File and Directory in the output object is a
 * real file or directory (not a link) at its path, with the size reported, and for copies the
 * checksum reported (computed again on the copy). Returns one line per problem, naming the output.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { CwlValue } from '../model/types.js';
import { treeHasSymlink } from './ownership.js';
import { pathFromLocation, sha1File } from './paths.js';
import { fsPath } from './raw-names.js';
import { forEachLimited } from './limited.js';

export interface VerifyOptions {
  /** Where the file at a reported path is now (relocation verifies in its staging directory). */
  at?: (reportedPath: string) => string;
  /** Whether the file at a reported path is a copy (then its checksum is recomputed). */
  copied?: (reportedPath: string) => boolean;
}

export async function verifyOutputs(outputs: CwlValue, opts: VerifyOptions = {}): Promise<string[]> {
  const at = opts.at ?? ((p: string) => p);
  const problems: string[] = [];
  const checks: Array<() => Promise<void>> = [];

  const checkOne = async (v: Record<string, unknown>, where: string, topLevel: boolean): Promise<void> => {
    const reported = typeof v.path === 'string' ? v.path : typeof v.location === 'string' ? pathFromLocation(v.location) : undefined;
    if (reported === undefined) return; // a File literal with contents only
    const p = at(reported);
    const st = await lstat(fsPath(p)).catch(() => undefined);
    const name = `output ${where}: ${reported}`;
    if (!st) return void problems.push(`${name} does not exist`);
    if (st.isSymbolicLink()) return void problems.push(`${name} is a symbolic link, not a ${v.class === 'File' ? 'file' : 'directory'}`);
    if (v.class === 'File') {
      if (!st.isFile()) return void problems.push(`${name} is not a regular file`);
      if (typeof v.size === 'number' && st.size !== v.size) return void problems.push(`${name} has ${st.size} bytes, ${v.size} reported`);
      if (typeof v.checksum === 'string' && opts.copied?.(reported)) {
        const sum = await sha1File(p, st.size);
        if (sum !== v.checksum) problems.push(`${name} has checksum ${sum}, ${v.checksum} reported`);
      }
      return;
    }
    if (!st.isDirectory()) return void problems.push(`${name} is not a directory`);
    if (topLevel && (await treeHasSymlink(p))) problems.push(`${name} holds symbolic links`);
  };

  const walk = (v: CwlValue, where: string, topLevel: boolean): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${where}[${i}]`, topLevel));
    if (typeof v !== 'object' || v === null) return;
    if (v.class === 'File' || v.class === 'Directory') {
      checks.push(() => checkOne(v, where, topLevel));
      if (Array.isArray(v.secondaryFiles)) walk(v.secondaryFiles, where, topLevel);
      if (Array.isArray(v.listing)) walk(v.listing, `${where}/${typeof v.basename === 'string' ? v.basename : path.basename(String(v.path))}`, false);
      return;
    }
    for (const [k, x] of Object.entries(v)) if (x !== undefined) walk(x, where ? `${where}.${k}` : k, topLevel);
  };
  walk(outputs, '', true);
  // Not all at once: each check may hold its file open (a 100,000-way scatter hit EMFILE here).
  await forEachLimited(checks, (check) => check());
  return problems;
}
