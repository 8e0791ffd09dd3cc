/**
 * `strand clean`: remove what Strand left in a namespace, found by label, never by name guessing.
 * Jobs go with foreground propagation (their pods first); a run's anchor ConfigMap goes when none
 * of its Jobs is left.
 */
import type { V1Job } from '@kubernetes/client-node';
import { isNotFound, type KubeApi } from './kube-api.js';
import { LABELS, MANAGED_BY, labelValue } from './names.js';

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
  const selector = cleanSelector(filter);
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
  const anchors = await api.call(`list ConfigMaps (${selector}) in namespace ${namespace}`, () =>
    api.core.listNamespacedConfigMap({ namespace, labelSelector: selector }),
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
