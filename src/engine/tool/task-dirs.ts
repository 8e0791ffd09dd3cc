/** Fresh per-attempt directories for a task under the run's work root. */
import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';

export interface TaskDirs {
  /** Parent of the others, unique per attempt. */
  base: string;
  /** runtime.outdir: the tool's working directory. */
  outdir: string;
  /** runtime.tmpdir. */
  tmpdir: string;
  /** Scratch space for input preparation (file literals and the like). */
  scratch: string;
}

/** A taskId usable as one path segment: `main/align/3` -> `main_align_3`. */
export function sanitizeTaskId(taskId: string): string {
  const s = taskId.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\.+/, '_');
  return (s || 'task').slice(0, 120);
}

export async function makeTaskDirs(workRoot: string, taskId: string, attempt: number): Promise<TaskDirs> {
  await mkdir(workRoot, { recursive: true });
  const base = await mkdtemp(path.join(path.resolve(workRoot), `${sanitizeTaskId(taskId)}-${attempt}-`));
  const dirs: TaskDirs = {
    base,
    outdir: path.join(base, 'out'),
    tmpdir: path.join(base, 'tmp'),
    scratch: path.join(base, 'inputs'),
  };
  await Promise.all([mkdir(dirs.outdir), mkdir(dirs.tmpdir), mkdir(dirs.scratch)]);
  return dirs;
}
