/**
 * Adopting a Job left by an earlier process of the same run (`strand run --run-id ID` again after
 * Strand was killed).
 *
 * The earlier process made its own task directory (the Job's `strand.dev/workdir` annotation) and
 * the Job's pod works there: its command `cd`s into it and its volume mounts name it. That pod may
 * not have started yet (a busy node, a quota), so the directory must stay where it is until the Job
 * has ended; only then are its contents moved to the new process's task directory, where the
 * engine collects the outputs. Moving it earlier made the pod start in a directory that no longer
 * existed, and the task's outputs were lost.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import type { V1Job } from '@kubernetes/client-node';

export const WORKDIR_ANNOTATION = 'strand.dev/workdir';

/** The task directory an adopted Job's pod uses, when it is not the new one and still exists. */
export async function adoptedWorkDir(job: V1Job, newWorkDir: string): Promise<string | undefined> {
  const oldDir = job.metadata?.annotations?.[WORKDIR_ANNOTATION];
  if (!oldDir || oldDir === newWorkDir) return undefined;
  try {
    return (await stat(oldDir)).isDirectory() ? oldDir : undefined;
  } catch {
    return undefined;
  }
}

/**
 * After the adopted Job ended: the earlier directory becomes the task's directory (Strand made
 * both; the new one is still empty of task output).
 */
export async function takeOverWorkDir(oldDir: string, newWorkDir: string): Promise<void> {
  await rm(newWorkDir, { recursive: true, force: true });
  await rename(oldDir, newWorkDir).catch(async () => {
    await mkdir(newWorkDir, { recursive: true });
  });
}
