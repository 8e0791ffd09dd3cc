/**
 * The run service's reads for pages that poll (the dashboard, later a server): synchronous, over
 * one read-only connection to the run store, each naming who asks. A run the principal may not
 * see (principal.ts) is answered as absent by every read, so no page can tell it from a run that
 * never was. Starting, listing with the cluster's state and cancelling are run-service.ts.
 *
 * A run submitted to a cluster (`strand submit`) keeps its steps and tasks in its leader's run
 * store: it is read from the last snapshot its leader published (cached beside the store), which
 * `refreshSubmitted` brings up to date from the cluster while it runs.
 */
import { stepStatesByNode, type NodeStepState } from '../model/node-steps.js';
import { latestAttempts, nodeStatesOfAttempts, type RunSnapshot } from '../store/run-snapshot.js';
import { openRunStore, type AttemptRecord, type NodeState, type RunHeader, type RunQuery, type RunStore, type RunSummary } from '../store/run-store.js';
import { maySee, type Principal, type Visibility } from './principal.js';
import { SUBMITTED_EXECUTOR, mergedSummary, readCachedSnapshot, type LeaderStateReader } from './submitted/follow.js';

export type { LeaderStateReader } from './submitted/follow.js';

/** What a run page shows and its live feed pushes: the run, its graph nodes' states and steps. */
export interface RunState {
  run: RunHeader | undefined;
  nodes: NodeState[];
  stepStates: NodeStepState[];
}

export interface RunReads {
  /** Runs `p` may see matching `q`, newest first, one page, and how many match. */
  query(p: Principal, q?: Omit<RunQuery, 'owner'>): { runs: RunSummary[]; total: number };
  /** The full id of the run `runRef` names, when `p` may see it. */
  resolve(p: Principal, runRef: string): string | undefined;
  state(p: Principal, runId: string): RunState | undefined;
  failed(p: Principal, runId: string, limit?: number): { attempts: AttemptRecord[]; total: number } | undefined;
  attempts(p: Principal, runId: string, opts?: { offset?: number; limit?: number; node?: string }): { attempts: AttemptRecord[]; total: number } | undefined;
  attempt(p: Principal, runId: string, taskId: string, attempt?: number): AttemptRecord | undefined;
  /** Changes whenever a run's record changes, or a submitted run's snapshot (a cheap poll). */
  version(): number;
  /**
   * Read the cluster for the submitted runs still running: their leaders' latest snapshots, and
   * their ends recorded in the store. Never throws (an unreachable cluster keeps the last snapshot).
   */
  refreshSubmitted(): Promise<void>;
  close(): void;
}

export interface StoreReadsOptions {
  storeDir: string;
  visibility?: Visibility;
  /** How a submitted run's leader is read (default: from its cluster, api/submitted/follow-cluster.ts). */
  readLeader?: LeaderStateReader;
}

/** Reads over the store in `storeDir`, through a read-only connection. */
export function storeReads(opts: StoreReadsOptions): RunReads {
  return new StoreReads(opts.storeDir, openRunStore(opts.storeDir, { readOnly: true }), opts.visibility ?? 'store', opts.readLeader);
}

class StoreReads implements RunReads {
  /** Bumped when a submitted run's snapshot changes (the store's data version does not see it). */
  private snapshots = 0;
  private readonly published = new Map<string, string>();

  constructor(
    private readonly storeDir: string,
    private readonly store: RunStore,
    private readonly visibility: Visibility,
    private readonly readLeader: LeaderStateReader | undefined,
  ) {}

  query(p: Principal, q: Omit<RunQuery, 'owner'> = {}): { runs: RunSummary[]; total: number } {
    const page = this.store.queryRuns(this.visibility === 'owner' ? { ...q, owner: p.user } : q);
    return { ...page, runs: page.runs.map((r) => (r.executor === SUBMITTED_EXECUTOR ? mergedSummary(r, this.snapshot(r.id)) : r)) };
  }

  resolve(p: Principal, runRef: string): string | undefined {
    const id = this.store.resolveRunId(runRef, this.visibility === 'owner' ? { owner: p.user } : {});
    return id !== undefined && this.sees(p, id) ? id : undefined;
  }

  state(p: Principal, runId: string): RunState | undefined {
    if (!this.sees(p, runId)) return undefined;
    const overview = this.store.runOverview(runId);
    const snap = overview?.run.executor === SUBMITTED_EXECUTOR ? this.snapshot(runId) : undefined;
    if (overview && snap) {
      const merged = mergedSummary(overview.run, snap);
      return { run: { ...overview.run, ...merged }, nodes: nodeStatesOfAttempts(snap.run.attempts), stepStates: stepStatesByNode(snap.run.steps) };
    }
    return { run: overview?.run, nodes: overview?.nodes ?? [], stepStates: stepStatesByNode(this.store.getSteps(runId)) };
  }

  failed(p: Principal, runId: string, limit = 50) {
    if (!this.sees(p, runId)) return undefined;
    const snap = this.submittedSnapshot(runId);
    if (!snap) return this.store.failedTasks(runId, limit);
    const failed = latestAttempts(snap.run.attempts).filter((a) => a.phase === 'failed');
    return { attempts: failed.slice(0, limit), total: failed.length };
  }

  attempts(p: Principal, runId: string, opts: { offset?: number; limit?: number; node?: string } = {}) {
    if (!this.sees(p, runId)) return undefined;
    const snap = this.submittedSnapshot(runId);
    if (!snap) return this.store.attemptsPage(runId, opts);
    const all = snap.run.attempts.filter((a) => !opts.node || a.nodePath === opts.node);
    const offset = opts.offset ?? 0;
    return { attempts: all.slice(offset, offset + (opts.limit ?? 200)), total: all.length };
  }

  attempt(p: Principal, runId: string, taskId: string, attempt?: number): AttemptRecord | undefined {
    if (!this.sees(p, runId)) return undefined;
    const snap = this.submittedSnapshot(runId);
    if (!snap) return this.store.getAttempt(runId, taskId, attempt);
    const mine = snap.run.attempts.filter((a) => a.taskId === taskId);
    return attempt === undefined ? latestAttempts(mine)[0] : mine.find((a) => a.attempt === attempt);
  }

  version(): number {
    // Both counters only grow: their sum changes whenever either does.
    return this.store.dataVersion() + this.snapshots;
  }

  async refreshSubmitted(): Promise<void> {
    const running = this.store.queryRuns({ status: 'running', limit: 500 }).runs.filter((r) => r.executor === SUBMITTED_EXECUTOR);
    if (running.length === 0) return;
    const { refreshSubmittedRun } = await import('./submitted/follow-cluster.js');
    // The ends are written through a connection of their own (this one is read-only).
    const writer = openRunStore(this.storeDir);
    try {
      for (const r of running) {
        const detail = writer.getRun(r.id, { ok: 0, other: 0 });
        if (!detail) continue;
        const view = await refreshSubmittedRun(writer, this.storeDir, detail, this.readLeader);
        const now = view.snapshot?.publishedAt ?? '';
        if (now !== (this.published.get(r.id) ?? '')) {
          this.published.set(r.id, now);
          this.snapshots++;
        }
      }
    } finally {
      writer.close();
    }
  }

  close(): void {
    this.store.close();
  }

  private snapshot(runId: string): RunSnapshot | undefined {
    return readCachedSnapshot(this.storeDir, runId);
  }

  private submittedSnapshot(runId: string): RunSnapshot | undefined {
    return this.store.getRunHeader(runId)?.executor === SUBMITTED_EXECUTOR ? this.snapshot(runId) : undefined;
  }

  private sees(p: Principal, runId: string): boolean {
    if (this.visibility === 'store') return true;
    const run = this.store.getRunHeader(runId);
    return run !== undefined && run.id === runId && maySee(this.visibility, p, run.owner);
  }
}

