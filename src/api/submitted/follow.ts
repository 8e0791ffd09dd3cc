/**
 * Following a submitted run from the laptop. The local run store has the run's record (executor
 * `kubernetes-leader`, with the context, namespace and leader Job); the leader publishes the run's
 * state (store/run-snapshot.ts) in the status ConfigMap. `strand show` and `list` read that, keep
 * the last one seen in `<store>/submitted/<run>.json` (shown, with its age, when the cluster cannot
 * be reached), and record the run's end in the local store once the leader says it ended.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunStatus } from '../../engine/events.js';
import type { RunDetail, RunStore, RunSummary } from '../../store/run-store.js';
import { parseSnapshot, type RunSnapshot } from '../../store/run-snapshot.js';

export const SUBMITTED_EXECUTOR = 'kubernetes-leader';

export interface SubmittedDetail {
  /** The kubeconfig file the submission used, when the config file named one. */
  kubeconfig?: string;
  context?: string;
  namespace: string;
  server?: string;
  job: string;
  statusConfigMap: string;
  image: string;
  /** Outputs directory as this machine sees it (when it sees the workspace), and as pods do. */
  outdir: string;
  outdirInPods: string;
}

export interface LeaderView {
  snapshot?: RunSnapshot;
  /** One line each: the leader Job and its pods. */
  leader: string[];
  /** Why the cluster could not be read (the cached snapshot is shown). */
  unreachable?: string;
  /** The run ended as the cluster says (the leader Job failed for good, or was deleted). */
  ended?: { status: RunStatus; message: string };
}

/** What the cluster side offers (cluster/leader-api.ts, loaded lazily). */
export interface LeaderStateReader {
  (detail: SubmittedDetail, runId: string): Promise<{
    statusJson?: string;
    job?: { name: string; active: number; succeeded: number; failed: number; complete: boolean; failedCondition?: string; warning?: string };
    pods: Array<{ name: string; phase: string; reason?: string; startedAt?: string }>;
  }>;
}

const cacheFile = (storeDir: string, runId: string) => path.join(storeDir, 'submitted', `${runId}.json`);

export function isSubmittedRun(storeDir: string, runId: string): boolean {
  return existsSync(cacheFile(storeDir, runId));
}

export function writeCachedSnapshot(storeDir: string, runId: string, json: string): void {
  const f = cacheFile(storeDir, runId);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(`${f}.tmp`, json);
  renameSync(`${f}.tmp`, f);
}

export function readCachedSnapshot(storeDir: string, runId: string): RunSnapshot | undefined {
  try {
    return parseSnapshot(readFileSync(cacheFile(storeDir, runId), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The status the leader's snapshot gives (a snapshot of a run not started yet says submitted). */
const finished = (s: string): s is 'success' | 'failed' | 'cancelled' => s === 'success' || s === 'failed' || s === 'cancelled';

/** What the cluster said of a leader (LeaderStateReader's answer). */
export type LeaderStateRead = Awaited<ReturnType<LeaderStateReader>>;

/**
 * What a leader's state says of its run: the published snapshot (else `cached`, the last one seen),
 * a line each for the leader Job and its pods, and whether the run ended: as the snapshot says, or
 * because the leader Job failed for good (failed), or is gone (deleted: cancelled).
 */
export function leaderViewOf(state: LeaderStateRead, detail: Pick<SubmittedDetail, 'job' | 'namespace'>, cached?: RunSnapshot): LeaderView {
  const snapshot = parseSnapshot(state.statusJson) ?? cached;
  const leader: string[] = [];
  if (state.job) {
    const j = state.job;
    const how = j.complete ? 'complete' : j.failedCondition ? `failed (${j.failedCondition})` : `${j.active} active`;
    leader.push(`job/${j.name}: ${how}; leader pods failed so far: ${j.failed}`);
    if (j.warning) leader.push(`  the Job cannot start its pod: ${j.warning}`);
  } else leader.push(`job/${detail.job}: not found in namespace ${detail.namespace} (deleted)`);
  for (const p of state.pods) leader.push(`  pod/${p.name}: ${p.phase}${p.reason ? ` (${p.reason})` : ''}${p.startedAt ? `, started ${p.startedAt}` : ''}`);

  let ended: LeaderView['ended'];
  const status = snapshot?.run.status;
  if (status && finished(status)) ended = { status, message: snapshot?.run.message ?? '' };
  else if (state.job?.failedCondition) ended = { status: 'failed', message: `the leader Job failed: ${state.job.failedCondition}` };
  else if (!state.job) ended = { status: 'cancelled', message: `the leader Job ${detail.job} was deleted` };
  // The leader publishes the run's end before it exits: a Job complete without it is a leader that
  // could not publish (its rights, the API server): the run is over, and did not end well as far as anyone can tell.
  else if (state.job.complete) {
    ended = { status: 'failed', message: `the leader Job completed without publishing the run's end (see the leader's log: strand logs)` };
  }
  return { ...(snapshot ? { snapshot } : {}), leader, ...(ended ? { ended } : {}) };
}

/**
 * Read the leader's state, cache it, and record the run's end locally when it has ended. Never
 * throws for an unreachable cluster: the view says so and carries the cached snapshot.
 */
export async function refreshSubmitted(store: RunStore, storeDir: string, run: RunDetail | RunSummary, read: LeaderStateReader, detail: SubmittedDetail): Promise<LeaderView> {
  let state;
  try {
    state = await read(detail, run.id);
  } catch (err) {
    const cached = readCachedSnapshot(storeDir, run.id);
    return { ...(cached ? { snapshot: cached } : {}), leader: [], unreachable: (err as Error).message };
  }
  const fresh = parseSnapshot(state.statusJson);
  if (state.statusJson && fresh) writeCachedSnapshot(storeDir, run.id, state.statusJson);
  const view = leaderViewOf(state, detail, fresh ? undefined : readCachedSnapshot(storeDir, run.id));
  const { snapshot, ended } = view;
  if (ended && run.status === 'running') {
    const outputs = snapshot?.run.status === 'success' ? (snapshot.run.outputs as Record<string, never> | undefined) : undefined;
    store.record({
      type: 'run_finished',
      runId: run.id,
      status: ended.status,
      at: snapshot?.run.finishedAt ? new Date(snapshot.run.finishedAt) : new Date(),
      ...(ended.message ? { message: ended.message } : {}),
      ...(outputs !== undefined ? { outputs } : {}),
    });
    store.flush();
  }
  return view;
}

/** The run as `strand show` prints it: the local record, with the leader's steps and tasks. */
export function mergedDetail(local: RunDetail, view: LeaderView): RunDetail {
  const remote = view.snapshot?.run;
  if (!remote) return local;
  return {
    ...local,
    status: local.status === 'running' ? remote.status : local.status,
    ...(remote.finishedAt ? { finishedAt: remote.finishedAt } : {}),
    ...(remote.durationMs !== undefined ? { durationMs: remote.durationMs } : {}),
    tasks: remote.tasks,
    steps: remote.steps,
    attempts: remote.attempts,
    ...(remote.outputs !== undefined ? { outputs: remote.outputs } : {}),
    ...(remote.message ? { message: remote.message } : {}),
  };
}

/** A list row with the leader's counts (from the last snapshot seen). */
export function mergedSummary(local: RunSummary, snapshot: RunSnapshot | undefined): RunSummary {
  if (!snapshot) return local;
  const r = snapshot.run;
  return {
    ...local,
    status: local.status === 'running' ? r.status : local.status,
    tasks: r.tasks,
    ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
  };
}

/** The lines `strand show` adds for a submitted run. */
export function leaderLines(detail: SubmittedDetail, view: LeaderView, runId: string): string[] {
  const lines = [`Submitted to namespace ${detail.namespace}${detail.context ? ` (context ${detail.context})` : ''}, image ${detail.image}`];
  if (view.unreachable) {
    lines.push(`  cluster unreachable: ${view.unreachable}`);
    if (view.snapshot) lines.push(`  state as last seen, published by the leader at ${view.snapshot.publishedAt}`);
  } else if (view.snapshot) lines.push(`  state published by the leader at ${view.snapshot.publishedAt}`);
  else lines.push('  the leader has not published its state yet');
  if (view.snapshot?.attemptsOmitted) lines.push(`  (${view.snapshot.attemptsOmitted} successful task attempts left out of the published state)`);
  lines.push(...view.leader.map((l) => `  ${l}`));
  lines.push(`  outputs: ${detail.outdir}${detail.outdir !== detail.outdirInPods ? ` (pods: ${detail.outdirInPods})` : ''}`);
  lines.push(`  follow: strand logs ${runId} -f    cancel: strand cancel ${runId}`);
  return lines;
}
