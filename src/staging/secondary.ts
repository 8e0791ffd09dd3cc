/** Secondary file patterns: `.bai` appends, each `^` strips one extension; expressions allowed. */
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Evaluator } from '../expressions/evaluator.js';
import type { CwlObject, CwlValue, FileValue, DirectoryValue, SecondaryFileSchema } from '../model/types.js';
import { locationFromPath } from './paths.js';

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

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
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
  const have = new Set(found.map((f) => f.location ?? f.path));
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
      if (typeof r === 'string') {
        const p = path.resolve(dir, applyPattern(primary.basename as string, r.startsWith('^') || r.startsWith('.') ? r : r) === r ? r : r);
        entry = { class: 'File', location: locationFromPath(p), path: p };
      } else if (typeof r === 'object' && !Array.isArray(r) && (r.class === 'File' || r.class === 'Directory')) {
        entry = { ...(r as FileValue) };
        if (!entry.location && !entry.path && entry.basename) entry.path = path.join(dir, entry.basename);
      } else continue;
      const p = entry.path ?? (entry.location ? new URL(entry.location).pathname : undefined);
      if (p && !lookOnDisk && typeof r === 'string') {
        if (required) missing.push(p);
        continue;
      }
      if (p && !(await exists(p))) {
        if (required) missing.push(p);
        continue;
      }
      const key = entry.location ?? entry.path;
      if (have.has(key)) continue;
      have.add(key);
      found.push(entry);
    }
  }
  return { found, missing };
}
