/**
 * A run's task directories on a cluster's workspace are marked as the run's (executor/run-marker.ts)
 * and kept alive by a heartbeat while it goes on: what `strand clean` needs to tell a killed run's
 * leftovers from a live run's files and from everything else on the workspace.
 */
import type { Logger } from '../engine/context.js';
import { heartbeat, markRunDir } from '../executor/run-marker.js';

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Mark `workRoot` and start its heartbeat; the function returned stops the heartbeat. */
export async function markTaskDirs(workRoot: string, runId: string, detail: Record<string, unknown> | undefined, log: Logger): Promise<() => void> {
  try {
    const who = { runId, owner: str(detail?.owner), namespace: str(detail?.namespace), leaderJob: str(detail?.leaderJob) };
    if (!(await markRunDir(workRoot, 'task-dirs', who))) return () => undefined;
  } catch (err) {
    log.warn(`could not mark ${workRoot} as run ${runId}'s (strand clean will not remove it): ${(err as Error).message}`);
    return () => undefined;
  }
  return heartbeat(workRoot);
}
