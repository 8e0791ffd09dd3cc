/**
 * `strand list`/`show` for submitted runs: the cluster read (lazily imported) behind follow.ts.
 */
import type { RunDetail, RunStore, RunSummary } from '../../store/run-store.js';
import {
  SUBMITTED_EXECUTOR,
  isSubmittedRun,
  leaderLines,
  mergedDetail,
  mergedSummary,
  readCachedSnapshot,
  refreshSubmitted,
  type LeaderStateReader,
  type LeaderView,
  type SubmittedDetail,
} from './follow.js';

/** How long `list`/`show` wait for the cluster before showing the last state seen. */
const READ_TIMEOUT_MS = 10_000;

const readFromCluster: LeaderStateReader = async (detail, runId) => {
  const { openKubeSession } = await import('../../executor/kubernetes/session.js');
  const { readLeaderState } = await import('../../cluster/leader-api.js');
  const s = openKubeSession({ overrides: { kubeconfig: detail.kubeconfig, context: detail.context, namespace: detail.namespace } });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from ${detail.server ?? 'the cluster'} in ${READ_TIMEOUT_MS / 1000} s`)), READ_TIMEOUT_MS);
  });
  try {
    return await Promise.race([readLeaderState(s.api, detail.namespace, runId), timeout]);
  } finally {
    clearTimeout(timer);
  }
};

async function view(store: RunStore, storeDir: string, run: RunDetail): Promise<LeaderView> {
  const detail = run.executorDetail as unknown as SubmittedDetail;
  if (run.status !== 'running') {
    const cached = readCachedSnapshot(storeDir, run.id);
    return { ...(cached ? { snapshot: cached } : {}), leader: [] };
  }
  return refreshSubmitted(store, storeDir, run, readFromCluster, detail);
}

/** Read a running submitted run's leader (from its cluster, or `read`): its snapshot cached, its end recorded. */
export async function refreshSubmittedRun(store: RunStore, storeDir: string, run: RunDetail, read: LeaderStateReader = readFromCluster): Promise<LeaderView> {
  return refreshSubmitted(store, storeDir, run, read, run.executorDetail as unknown as SubmittedDetail);
}

/** The run with the leader's steps and tasks, and the lines about the leader. */
export async function submittedDetail(store: RunStore, storeDir: string, run: RunDetail): Promise<{ run: RunDetail; lines: string[] }> {
  const v = await view(store, storeDir, run);
  const local = store.getRun(run.id) ?? run;
  return { run: mergedDetail(local, v), lines: leaderLines(run.executorDetail as unknown as SubmittedDetail, v, run.id) };
}

/** List rows, submitted runs refreshed from the cluster (the running ones, in parallel). */
export async function withSubmittedSummaries(store: RunStore, storeDir: string, runs: RunSummary[]): Promise<RunSummary[]> {
  return Promise.all(
    runs.map(async (r) => {
      if (!isSubmittedRun(storeDir, r.id)) return r;
      const detail = store.getRun(r.id);
      if (!detail || detail.executor !== SUBMITTED_EXECUTOR) return r;
      const v = await view(store, storeDir, detail);
      const after = store.listRuns({ limit: 1000 }).find((x) => x.id === r.id) ?? r;
      return mergedSummary(after, v.snapshot);
    }),
  );
}
