/**
 * `strand clean`: remove what Strand left in a namespace, found by label, never by name guessing.
 * Jobs go with foreground propagation (their pods first); a run's anchor ConfigMap goes when none
 * of its Jobs is left.
 */
import type { V1Job } from '@kubernetes/client-node';
import { isNotFound, type KubeApi } from '../../cluster/kube-api.js';
import { LEADER_LABEL, LEADER_RUN_ANNOTATION } from '../../cluster/leader-manifests.js';
import { LABELS, MANAGED_BY, labelValue } from '../../cluster/names.js';

export interface CleanFilter {
  runId?: string;
  owner?: string;
  /** Only Jobs that have finished (Complete or Failed). */
  finished?: boolean;
}

export interface CleanResult {
  jobs: string[];
  anchors: string[];
}

export function cleanSelector(f: CleanFilter): string {
  const parts = [`${LABELS.managedBy}=${MANAGED_BY}`];
  if (f.runId !== undefined) parts.push(`${LABELS.run}=${labelValue(f.runId)}`);
  if (f.owner !== undefined) parts.push(`${LABELS.owner}=${labelValue(f.owner)}`);
  return parts.join(',');
}

/** Deleting what is already gone is fine. */
async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

const finishedJob = (j: V1Job) =>
  (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

/** Delete the Jobs (and so pods) matching `filter`, then the anchors of runs with no Job left. */
export async function cleanRuns(api: KubeApi, namespace: string, filter: CleanFilter, opts: { dryRun?: boolean } = {}): Promise<CleanResult> {
  // Task Jobs and run anchors only: a submitted run's leader Job, bundle and status ConfigMaps
  // (strand.dev/leader, no strand.dev/run) hold its record; cleanLeaderJobs decides about them.
  const selector = `${cleanSelector(filter)},!${LEADER_LABEL}`;
  const jobs = await api.call(`list Jobs (${selector}) in namespace ${namespace}`, () =>
    api.batch.listNamespacedJob({ namespace, labelSelector: selector }),
  );
  const doomed = jobs.items.filter((j) => !filter.finished || finishedJob(j));
  const out: CleanResult = { jobs: [], anchors: [] };
  for (const j of doomed) {
    const name = j.metadata?.name;
    if (!name) continue;
    out.jobs.push(name);
    if (opts.dryRun) continue;
    await ignoreNotFound(api.call(`delete Job ${name}`, () => api.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' })));
  }
  // Anchors whose runs have no Job left (apart from the ones being deleted now).
  const anchorSelector = `${selector},${LABELS.run}`;
  const anchors = await api.call(`list ConfigMaps (${anchorSelector}) in namespace ${namespace}`, () =>
    api.core.listNamespacedConfigMap({ namespace, labelSelector: anchorSelector }),
  );
  const remaining = new Set(
    jobs.items.filter((j) => !doomed.includes(j)).map((j) => j.metadata?.labels?.[LABELS.run]),
  );
  for (const cm of anchors.items) {
    const run = cm.metadata?.labels?.[LABELS.run];
    const name = cm.metadata?.name;
    if (!name || remaining.has(run)) continue;
    out.anchors.push(name);
    if (opts.dryRun) continue;
    await ignoreNotFound(
      api.call(`delete ConfigMap ${name}`, () => api.core.deleteNamespacedConfigMap({ name, namespace, propagationPolicy: 'Foreground' })),
    );
  }
  return out;
}

/**
 * Finished leader Jobs of submitted runs (strand submit) matching the filter, deleted with their
 * pods, status and bundle ConfigMaps and job Secret, only when `recorded(runId)` says the run's end
 * is kept elsewhere (the submitter's run store): the status ConfigMap is otherwise the only record
 * of how the run ended. A leader Job still running is never deleted (`strand cancel` does that).
 */
export async function cleanLeaderJobs(
  api: KubeApi,
  namespace: string,
  filter: { runId?: string; owner?: string },
  recorded: (runId: string) => string | undefined,
  opts: { dryRun?: boolean } = {},
): Promise<{ deleted: string[]; kept: Array<{ job: string; why: string }> }> {
  const parts = [`${LABELS.managedBy}=${MANAGED_BY}`, filter.runId !== undefined ? `${LEADER_LABEL}=${labelValue(filter.runId)}` : LEADER_LABEL];
  if (filter.owner !== undefined) parts.push(`${LABELS.owner}=${labelValue(filter.owner)}`);
  const selector = parts.join(',');
  const jobs = await api.call(`list leader Jobs (${selector}) in namespace ${namespace}`, () => api.batch.listNamespacedJob({ namespace, labelSelector: selector }));
  const out = { deleted: [] as string[], kept: [] as Array<{ job: string; why: string }> };
  for (const j of jobs.items) {
    const name = j.metadata?.name;
    const runId = j.metadata?.annotations?.[LEADER_RUN_ANNOTATION];
    if (!name || !runId || j.metadata?.deletionTimestamp || !finishedJob(j)) continue;
    const missing = recorded(runId);
    if (missing !== undefined) {
      out.kept.push({ job: name, why: missing });
      continue;
    }
    out.deleted.push(name);
    if (opts.dryRun) continue;
    await ignoreNotFound(api.call(`delete Job ${name}`, () => api.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' })));
  }
  return out;
}
