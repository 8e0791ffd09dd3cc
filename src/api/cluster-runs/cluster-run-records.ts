/**
 * A submitted run as the cluster alone records it (no run store): who submitted it, its document
 * and submission time in the annotations of its leader Job and status ConfigMap
 * (LEADER_ANNOTATIONS), its state in the snapshot its leader publishes. Pure: the objects in, the
 * run's record and view out; cluster-run-service.ts reads and writes the cluster.
 */
import type { LeaderState } from '../../cluster/leader-api.js';
import { KEPT_STATUS_LABEL, LEADER_ANNOTATIONS, statusName } from '../../cluster/leader-manifests.js';
import type { RunDetail } from '../../store/run-store.js';
import type { RunView } from '../run-service.js';
import { readTagsAnnotation } from '../submitted/recorded-request.js';
import { SUBMITTED_EXECUTOR, leaderLines, leaderViewOf, mergedDetail, type SubmittedDetail } from '../submitted/follow.js';

/** What of a Kubernetes object is read here (its metadata; a Job's leader image). */
export interface ObjectLike {
  metadata?: {
    name?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    creationTimestamp?: Date | string;
  };
  spec?: { template?: { spec?: { containers?: Array<{ image?: string }> } } };
}

/** A run's record on the cluster. */
export interface ClusterRunMeta {
  runId: string;
  /** The exact user name of its submitter. */
  owner: string;
  namespace: string;
  /** The leader Job's name. */
  job: string;
  submittedAt: string;
  documentPath?: string;
  processId?: string;
  /** Where its outputs go, as the submitter sees it. */
  outdir?: string;
  /** The leader's image (from the Job; unknown once it is deleted). */
  image?: string;
  /** Only its status ConfigMap is left (kept after a cancel deleted its Job). */
  kept?: boolean;
  /** When it was cancelled (strand's cancel), if it was. */
  cancelledAt?: string;
  /** The tags of the request it was submitted with, when one was kept (recorded-request.ts). */
  tags?: Record<string, string>;
}

/**
 * The run a leader Job or status ConfigMap records; undefined for one that does not say who
 * submitted it (made before runs recorded it, or not by Strand).
 */
export function runMetaOf(o: ObjectLike, namespace: string, jobName: (runId: string) => string): ClusterRunMeta | undefined {
  const a = o.metadata?.annotations ?? {};
  const runId = a[LEADER_ANNOTATIONS.runId];
  const owner = a[LEADER_ANNOTATIONS.submittedBy];
  if (!runId || owner === undefined) return undefined;
  const created = o.metadata?.creationTimestamp;
  const submittedAt = a[LEADER_ANNOTATIONS.submittedAt] ?? (created ? new Date(created).toISOString() : new Date(0).toISOString());
  const image = o.spec?.template?.spec?.containers?.[0]?.image;
  const tags = readTagsAnnotation(a[LEADER_ANNOTATIONS.tags]);
  return {
    runId,
    owner,
    namespace,
    job: jobName(runId),
    submittedAt,
    ...(a[LEADER_ANNOTATIONS.document] !== undefined ? { documentPath: a[LEADER_ANNOTATIONS.document] } : {}),
    ...(a[LEADER_ANNOTATIONS.processId] !== undefined ? { processId: a[LEADER_ANNOTATIONS.processId] } : {}),
    ...(a[LEADER_ANNOTATIONS.outdir] !== undefined ? { outdir: a[LEADER_ANNOTATIONS.outdir] } : {}),
    ...(image ? { image } : {}),
    ...(o.metadata?.labels?.[KEPT_STATUS_LABEL] === 'true' ? { kept: true } : {}),
    ...(a[LEADER_ANNOTATIONS.cancelledAt] !== undefined ? { cancelledAt: a[LEADER_ANNOTATIONS.cancelledAt] } : {}),
    ...(tags ? { tags } : {}),
  };
}

const NO_TASKS = { total: 0, ok: 0, failed: 0, running: 0, reused: 0, queued: 0, cancelled: 0 };

/** The SubmittedDetail follow.ts speaks of, for a run recorded on the cluster. */
export function submittedDetailOf(meta: ClusterRunMeta): SubmittedDetail {
  return {
    namespace: meta.namespace,
    job: meta.job,
    statusConfigMap: statusName(meta.runId),
    image: meta.image ?? 'unknown (its Job is deleted)',
    outdir: meta.outdir ?? '?',
    outdirInPods: meta.outdir ?? '?',
  };
}

/**
 * Whether a run's leader has not started yet (RunView.leader): no pod that runs, and the newest
 * waits to be scheduled (`pending`, or no pod at all) or to start its container (`starting`).
 */
export function leaderStartOf(pods: LeaderState['pods']): RunView['leader'] {
  if (pods.some((p) => p.phase === 'Running')) return undefined;
  const live = pods.filter((p) => p.phase === 'Pending');
  const newest = live[live.length - 1];
  if (!newest) return pods.some((p) => p.phase === 'Succeeded') ? undefined : 'pending';
  // A Pending pod with a container state (ContainerCreating, an image being pulled) is starting.
  return newest.reason ? 'starting' : 'pending';
}

/**
 * The run as shown: its record from the cluster's annotations, with the leader's snapshot merged
 * (follow.ts: the same account `strand show` gives of a submitted run), its end decided as
 * follow.ts decides it (the snapshot, else a failed or deleted leader Job).
 */
export function clusterRunView(meta: ClusterRunMeta, state: LeaderState): RunView {
  const detail = submittedDetailOf(meta);
  const view = leaderViewOf(state, detail);
  const { snapshot, ended } = view;
  const outputs = ended && snapshot?.run.status === 'success' ? snapshot.run.outputs : undefined;
  const local: RunDetail = {
    id: meta.runId,
    status: ended?.status ?? 'running',
    ...(meta.processId !== undefined ? { processId: meta.processId } : {}),
    ...(meta.documentPath !== undefined ? { documentPath: meta.documentPath } : {}),
    startedAt: meta.submittedAt,
    ...(ended && meta.cancelledAt !== undefined ? { finishedAt: meta.cancelledAt } : {}),
    tasks: NO_TASKS,
    ...(meta.outdir !== undefined ? { outdir: meta.outdir } : {}),
    ...(ended?.message ? { message: ended.message } : {}),
    executor: SUBMITTED_EXECUTOR,
    owner: meta.owner,
    ...(meta.tags ? { tags: meta.tags } : {}),
    executorDetail: detail as unknown as Record<string, unknown>,
    ...(outputs !== undefined ? { outputs } : {}),
    steps: [],
    attempts: [],
  };
  const run = mergedDetail(local, view);
  const going = !ended;
  const leader = going && state.job && !state.job.deleting ? leaderStartOf(state.pods) : undefined;
  return {
    run,
    notes: leaderLines(detail, view, meta.runId),
    ...(leader ? { leader } : {}),
    ...(going && state.job?.deleting ? { cancelRequested: true } : {}),
  };
}
