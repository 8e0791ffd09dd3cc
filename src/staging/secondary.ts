/** Secondary file patterns: `.bai` appends, each `^` strips one extension; expressions allowed. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Evaluator } from '../expressions/evaluator.js';
import type { CwlObject, CwlValue, FileValue, DirectoryValue, SecondaryFileSchema } from '../model/types.js';
import { relativeName } from './confine.js';
import { locationFromPath, pathFromLocation } from './paths.js';

export function applyPattern(basename: string, pattern: string): string {
  let p = pattern;
  let base = basename;
  while (p.startsWith('^')) {
    const dot = base.lastIndexOf('.');
    if (dot > 0) base = base.slice(0, dot);
    p = p.slice(1);
  }
  return base + p;
}

/** What is at `p`: a file, a directory, or nothing. */
async function kindAt(p: string): Promise<'File' | 'Directory' | undefined> {
  const st = await stat(p).catch(() => undefined);
  if (!st) return undefined;
  return st.isDirectory() ? 'Directory' : 'File';
}

/** Secondary files of `primary` found next to it (inputs) or in its directory (outputs). */
export async function discoverSecondaryFiles(
  primary: FileValue,
  schemas: SecondaryFileSchema[],
  evaluator: Evaluator,
  inputs: CwlObject,
  runtime: CwlObject,
  defaultRequired: boolean,
  /** false: names are not looked up on disk (only File objects an expression returns count). */
  lookOnDisk = true,
): Promise<{ found: Array<FileValue | DirectoryValue>; missing: string[] }> {
  const dir = path.dirname(primary.path as string);
  const found: Array<FileValue | DirectoryValue> = [...((primary.secondaryFiles as Array<FileValue | DirectoryValue>) ?? [])];
  const keyOf = (f: FileValue | DirectoryValue) => f.path ?? (f.location?.startsWith('file:') ? pathFromLocation(f.location) : f.location);
  const have = new Set(found.map(keyOf));
  const missing: string[] = [];
  for (const s of schemas) {
    const required =
      typeof s.required === 'string' ? Boolean(evaluator.evaluate(s.required, { inputs, self: primary, runtime })) : (s.required ?? defaultRequired);
    let results: CwlValue;
    if (s.pattern.includes('$(') || s.pattern.includes('${')) results = evaluator.evaluate(s.pattern, { inputs, self: primary, runtime });
    else results = applyPattern(primary.basename as string, s.pattern);
    for (const r of Array.isArray(results) ? results : [results]) {
      if (r === null) continue;
      let entry: FileValue | DirectoryValue;
      let named = false;
      if (typeof r === 'string') {
        // A name: File or Directory, whichever is on disk (as in the reference runner). It stays in
        // the primary's directory (confine.ts): a pattern (`^../../x`) is the document's, not the user's choice.
        const p = path.resolve(dir, relativeName(r, `secondaryFiles pattern ${s.pattern} of ${primary.basename ?? dir}`));
        entry = { class: 'File', location: locationFromPath(p), path: p };
        named = true;
      } else if (typeof r === 'object' && !Array.isArray(r) && (r.class === 'File' || r.class === 'Directory')) {
        entry = { ...(r as FileValue) };
        if (!entry.location && !entry.path && entry.basename) entry.path = path.join(dir, entry.basename);
      } else continue;
      const p = entry.path ?? (entry.location ? pathFromLocation(entry.location) : undefined);
      if (p && !lookOnDisk && typeof r === 'string') {
        if (required) missing.push(p);
        continue;
      }
      const kind = p ? await kindAt(p) : 'File';
      if (kind === undefined) {
        if (required) missing.push(p as string);
        continue;
      }
      if (named && kind === 'Directory') entry = { class: 'Directory', location: entry.location as string, path: p as string };
      const key = keyOf(entry);
      if (have.has(key)) continue;
      have.add(key);
      found.push(entry);
    }
  }
  return { found, missing };
}
