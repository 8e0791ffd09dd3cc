/**
 * Fresh per-attempt directories for a task under the run's work root.
 *
 * Two directories per attempt, side by side in the work root: `<task>-<attempt>-XXXXXX` (the
 * outdir, made by mkdtemp, so the name is unique) and `<that>-tmp`. The scratch directory for
 * input preparation, `<that>-inputs`, is only made when something is written there. Directory
 * creation is most of what a short task costs the file system (and removing them at the end of the
 * run as much again), so there is no common parent per attempt.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';

export interface TaskDirs {
  /** Unique prefix of the attempt's directories (the outdir itself). */
  base: string;
  /** runtime.outdir: the tool's working directory. */
  outdir: string;
  /** runtime.tmpdir. */
  tmpdir: string;
  /** Scratch space for input preparation (file literals and the like); not created: make it before use. */
  scratch: string;
}

/** A taskId usable as one path segment: `main/align/3` -> `main_align_3`. */
export function sanitizeTaskId(taskId: string): string {
  const s = taskId.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\.+/, '_');
  return (s || 'task').slice(0, 120);
}

/** Mode of every directory Strand makes for a task. */
export const PRIVATE_DIR = 0o700;

/** Work roots made or being made (bounded: a long-lived process may see many runs). */
const roots = new Map<string, Promise<void>>();

function ensureRoot(root: string): Promise<void> {
  let p = roots.get(root);
  if (!p) {
    if (roots.size >= 64) roots.clear();
    p = mkdir(root, { recursive: true, mode: PRIVATE_DIR }).then(() => undefined);
    roots.set(root, p);
    p.catch(() => roots.delete(root));
  }
  return p;
}

/**
 * At most this many attempts make their directories at once, first come first served. A big
 * scatter asks for all its directories at the same moment; without a bound the first task waits
 * behind every other task's mkdir before it can start.
 */
const MAX_CONCURRENT = 8;
let active = 0;
const waiting: Array<() => void> = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  else active++;
  try {
    return await fn();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else active--;
  }
}

export function makeTaskDirs(workRoot: string, taskId: string, attempt: number): Promise<TaskDirs> {
  const root = path.resolve(workRoot);
  const prefix = path.join(root, `${sanitizeTaskId(taskId)}-${attempt}-`);
  return limited(async () => {
    await ensureRoot(root);
    let outdir: string;
    try {
      outdir = await mkdtemp(prefix);
    } catch (err) {
      // The work root may have been removed since it was made.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      roots.delete(root);
      await ensureRoot(root);
      outdir = await mkdtemp(prefix);
    }
    // mkdtemp names end in six letters or digits, so `-tmp` cannot collide with another attempt's outdir.
    const tmpdir = `${outdir}-tmp`;
    await mkdir(tmpdir, { mode: PRIVATE_DIR });
    return { base: outdir, outdir, tmpdir, scratch: `${outdir}-inputs` };
  });
}
