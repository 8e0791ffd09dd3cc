/**
 * The run service's reads for pages that poll (the dashboard, later a server): synchronous, over
 * one read-only connection to the run store, each naming who asks. A run the principal may not
 * see (principal.ts) is answered as absent by every read, so no page can tell it from a run that
 * never was. Starting, listing with the cluster's state and cancelling are run-service.ts.
 */
import { stepStatesByNode, type NodeStepState } from '../model/node-steps.js';
import { openRunStore, type AttemptRecord, type NodeState, type RunHeader, type RunQuery, type RunStore, type RunSummary } from '../store/run-store.js';
import { maySee, type Principal, type Visibility } from './principal.js';

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
  /** Changes whenever a run's record changes (a cheap poll). */
  version(): number;
  close(): void;
}

/** Reads over the store in `storeDir`, through a read-only connection. */
export function storeReads(opts: { storeDir: string; visibility?: Visibility }): RunReads {
  return new StoreReads(openRunStore(opts.storeDir, { readOnly: true }), opts.visibility ?? 'store');
}

class StoreReads implements RunReads {
  constructor(
    private readonly store: RunStore,
    private readonly visibility: Visibility,
  ) {}

  query(p: Principal, q: Omit<RunQuery, 'owner'> = {}): { runs: RunSummary[]; total: number } {
    return this.store.queryRuns(this.visibility === 'owner' ? { ...q, owner: p.user } : q);
  }

  resolve(p: Principal, runRef: string): string | undefined {
    const id = this.store.resolveRunId(runRef, this.visibility === 'owner' ? { owner: p.user } : {});
    return id !== undefined && this.sees(p, id) ? id : undefined;
  }

  state(p: Principal, runId: string): RunState | undefined {
    if (!this.sees(p, runId)) return undefined;
    const overview = this.store.runOverview(runId);
    return { run: overview?.run, nodes: overview?.nodes ?? [], stepStates: stepStatesByNode(this.store.getSteps(runId)) };
  }

  failed(p: Principal, runId: string, limit?: number) {
    return this.sees(p, runId) ? this.store.failedTasks(runId, limit) : undefined;
  }

  attempts(p: Principal, runId: string, opts?: { offset?: number; limit?: number; node?: string }) {
    return this.sees(p, runId) ? this.store.attemptsPage(runId, opts) : undefined;
  }

  attempt(p: Principal, runId: string, taskId: string, attempt?: number): AttemptRecord | undefined {
    return this.sees(p, runId) ? this.store.getAttempt(runId, taskId, attempt) : undefined;
  }

  version(): number {
    return this.store.dataVersion();
  }

  close(): void {
    this.store.close();
  }

  private sees(p: Principal, runId: string): boolean {
    if (this.visibility === 'store') return true;
    const run = this.store.getRunHeader(runId);
    return run !== undefined && run.id === runId && maySee(this.visibility, p, run.owner);
  }
}
