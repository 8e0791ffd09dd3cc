/**
 * Host paths a containerised task must see: every input File/Directory (and secondaryFiles) that
 * is not already inside the task's outdir or tmpdir, mounted at the same path.
 */
import path from 'node:path';
import type { Mount } from '../../executor/executor.js';
import { isDirectory, isFile, type CwlValue } from '../../model/types.js';
import { isInside } from '../../staging/index.js';

function collectPaths(v: CwlValue | undefined, out: Set<string>): void {
  if (Array.isArray(v)) {
    for (const item of v) collectPaths(item, out);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  if (isFile(v) || isDirectory(v)) {
    if (typeof v.path === 'string' && path.isAbsolute(v.path)) out.add(path.normalize(v.path));
    if (isFile(v)) for (const s of v.secondaryFiles ?? []) collectPaths(s, out);
    else for (const s of v.listing ?? []) collectPaths(s, out);
    return;
  }
  for (const x of Object.values(v)) collectPaths(x, out);
}

export function inputMounts(inputs: CwlValue, exclude: string[], readOnly = true): Mount[] {
  const all = new Set<string>();
  collectPaths(inputs, all);
  const sorted = [...all].filter((p) => !exclude.some((d) => isInside(p, d))).sort();
  const mounts: Mount[] = [];
  for (const p of sorted) {
    // Already visible through a mounted parent directory.
    if (mounts.some((m) => isInside(p, m.hostPath))) continue;
    mounts.push({ hostPath: p, taskPath: p, readOnly });
  }
  return mounts;
}
