/**
 * The run service: what every front end (the CLI, the dashboard, a server) asks of runs, each call
 * naming who asks (principal.ts). This is the in-process implementation over a run store: runs it
 * starts run in this process (runDocument); runs submitted to a cluster (`strand submit`) are read
 * from their leader (submitted/). A front end never reads the store or the cluster itself for what
 * a run is: it asks here, so every one of them tells the same account of a run.
 *
 * Safe in a long-lived process: a run that fails is an outcome, never a thrown error; a run
 * another principal may not see is answered as one that does not exist (RunNotFoundError).
 */
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, UsageError } from '../errors.js';
import { openRunStore, type AttemptWindow, type RunDetail, type RunStore, type RunSummary } from '../store/run-store.js';
import { maySee, type Principal, type Visibility } from './principal.js';
// The engine is loaded when a run starts: listing and showing runs load none of it.
import type { RunOutcome, RunRequest } from './run.js';
import { newRunId } from './run-id.js';
import type { LogsOptions, LogsWritten } from './run-logs.js';
import type { RecordedRequest } from './submitted/recorded-request.js';
import type { SubmitRequest, SubmitSay, SubmittedRun } from './submitted/submit-run.js';
import { SUBMITTED_EXECUTOR, type SubmittedDetail } from './submitted/follow.js';
import { submittedDetail, withSubmittedSummaries } from './submitted/follow-cluster.js';

/** A run's summary: its record without steps, attempts, graph and inputs. */
export function summaryOf(run: RunDetail): RunSummary {
  const keys = ['id', 'status', 'processId', 'documentPath', 'startedAt', 'finishedAt', 'durationMs', 'tasks', 'outdir', 'message', 'executor', 'owner', 'tags'] as const;
  return Object.fromEntries(keys.filter((k) => run[k] !== undefined).map((k) => [k, run[k]])) as unknown as RunSummary;
}

/** No run of that id that the asking principal may see. */
export class RunNotFoundError extends UsageError {
  constructor(readonly runRef: string) {
    super(`no run "${runRef}" in the run store (see strand list)`);
  }
}

/** A run as shown: its record (a submitted run's merged with its leader's), and lines about where it runs. */
export interface RunView {
  run: RunDetail;
  notes: string[];
  /**
   * A submitted run its leader has not started yet: the leader Job waits for a pod (`pending`:
   * scheduling, quota), or the pod is starting (`starting`: image pulled, volumes mounted). Absent
   * once the leader runs the run, and for runs started in this process.
   */
  leader?: 'pending' | 'starting';
  /** A cancel was asked for and the run has not ended yet (its leader Job is being deleted). */
  cancelRequested?: boolean;
}

export interface StartedRun {
  runId: string;
  /** The run's outcome; never rejects. `notStarted`: it failed before it was recorded (bad document, executor). */
  done: Promise<RunOutcome & { notStarted?: boolean }>;
}

export interface CancelResult {
  runId: string;
  /** What was done, in a sentence. */
  said: string;
}

export interface RunService {
  /** Start a run in this process as `p` (its owner). */
  start(p: Principal, req: Omit<RunRequest, 'owner'>): StartedRun;
  /** Submit a run to a cluster as `p`: its leader runs as a Job there (submitted/submit-run.ts). */
  submit(p: Principal, req: SubmitRequest, say: SubmitSay): Promise<SubmittedRun>;
  /**
   * A run as it changes: its summary at once, then each time its status, task counts or message
   * change (a process that died makes it interrupted), until it ends or `signal` aborts.
   */
  watch(p: Principal, runRef: string, opts?: WatchOptions): AsyncIterable<RunSummary>;
  /** Write a run's logs to `out` (run-logs.ts); what was not there is said in `said`. */
  logs(p: Principal, runRef: string, out: Writable, opts?: LogsOptions): Promise<LogsWritten>;
  /** Runs `p` may see, newest first. */
  list(p: Principal, opts?: { limit?: number }): Promise<RunSummary[]>;
  /** One run by id or unique prefix; RunNotFoundError when `p` may not see it. */
  get(p: Principal, runRef: string, opts?: { attempts?: AttemptWindow }): Promise<RunView>;
  /** Stop a run: one this service started, or one submitted to a cluster (its leader Job is deleted). */
  cancel(p: Principal, runRef: string): Promise<CancelResult>;
  /**
   * The request run `runRef` was submitted with, as the service kept it (SubmitRequest.request:
   * redacted, bounded; submitted/recorded-request.ts); undefined when it kept none. The same
   * RunNotFoundError as get when `p` may not see the run. Only services that keep requests have it
   * (the cluster's: cluster-runs/).
   */
  recordedRequest?(p: Principal, runRef: string): Promise<RecordedRequest | undefined>;
  /** Close the store (runs going on keep theirs). */
  close(): void;
}

export interface WatchOptions {
  signal?: AbortSignal;
  /** How often the store is looked at (a cheap version check), in ms; default 500. */
  intervalMs?: number;
}

/** What a watch says a change of: status, task counts, message, end. */
export function watchKey(run: RunSummary): string {
  return JSON.stringify([run.status, run.tasks, run.message, run.finishedAt]);
}

/** A watch's wait between two reads: false when the watch was stopped (its signal aborted). */
export async function watchPause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
    return true;
  } catch {
    return false;
  }
}

/** How often a watch reads a run again without a store write (a run whose process died, a submitted run). */
const WATCH_RECHECK_MS = 2_000;

export interface LocalRunServiceOptions {
  /** The run store's directory; false: no store (STRAND_STORE=off), so runs can be started but not looked up. */
  storeDir: string | false;
  visibility?: Visibility;
}

export function localRunService(opts: LocalRunServiceOptions): RunService {
  return new LocalRunService(opts.storeDir, opts.visibility ?? 'store');
}

class LocalRunService implements RunService {
  /** Runs started here and not ended: how to stop each. */
  private readonly live = new Map<string, AbortController>();
  private opened: RunStore | undefined;

  constructor(
    private readonly dir: string | false,
    private readonly visibility: Visibility,
  ) {}

  /** The store, opened on first use (starting a run needs none: the run records itself). */
  private get store(): RunStore {
    if (this.dir === false) throw new UsageError('the run store is turned off (STRAND_STORE=off)');
    this.opened ??= openRunStore(this.dir);
    return this.opened;
  }

  private get storeDir(): string {
    if (this.dir === false) throw new UsageError('the run store is turned off (STRAND_STORE=off)');
    return this.dir;
  }

  start(p: Principal, req: Omit<RunRequest, 'owner'>): StartedRun {
    const runId = req.runId ?? newRunId();
    const abort = new AbortController();
    const signal = req.signal ? AbortSignal.any([req.signal, abort.signal]) : abort.signal;
    this.live.set(runId, abort);
    const done = import('./run.js')
      .then(({ runDocument }) => runDocument({ ...req, runId, signal, owner: p.user }))
      .catch((error: unknown): RunOutcome & { notStarted: boolean } => ({ runId, status: 'failed', error, recorded: false, notStarted: true }))
      .finally(() => this.live.delete(runId));
    return { runId, done };
  }

  async submit(p: Principal, req: SubmitRequest, say: SubmitSay): Promise<SubmittedRun> {
    const { submitRun } = await import('./submitted/submit-run.js');
    return submitRun(p, this.storeDir, req, say);
  }

  async logs(p: Principal, runRef: string, out: Writable, opts: LogsOptions = {}): Promise<LogsWritten> {
    const run = this.visible(p, runRef);
    const { writeRunLogs } = await import('./run-logs.js');
    return writeRunLogs(run, out, opts);
  }

  async *watch(p: Principal, runRef: string, opts: WatchOptions = {}): AsyncGenerator<RunSummary> {
    const id = this.visible(p, runRef).id;
    let said = '';
    let version: number | undefined;
    let readAt = 0;
    for (;;) {
      const v = this.store.dataVersion();
      if (v !== version || Date.now() - readAt >= WATCH_RECHECK_MS) {
        version = v;
        readAt = Date.now();
        // No attempts read (a 100,000-task run is not read whole every half second): the counts say it.
        const run = summaryOf((await this.get(p, id, { attempts: { ok: 0, other: 0 } })).run);
        const key = watchKey(run);
        if (key !== said) {
          said = key;
          yield run;
        }
        if (run.status !== 'running') return;
      }
      if (!(await watchPause(opts.intervalMs ?? 500, opts.signal))) return;
    }
  }

  async list(p: Principal, opts: { limit?: number } = {}): Promise<RunSummary[]> {
    const limit = opts.limit ?? 20;
    // Owner visibility filters in the query, before the limit: a member's list is never cut short by others' runs.
    const runs =
      this.visibility === 'owner' ? this.store.queryRuns({ owner: p.user, limit }).runs : this.store.listRuns({ limit }).filter((r) => maySee(this.visibility, p, r.owner));
    // Submitted runs (strand submit): their state comes from the cluster.
    return withSubmittedSummaries(this.store, this.storeDir, runs);
  }

  async get(p: Principal, runRef: string, opts: { attempts?: AttemptWindow } = {}): Promise<RunView> {
    const run = this.visible(p, runRef, opts.attempts);
    if (run.executor !== SUBMITTED_EXECUTOR) return { run, notes: [] };
    const merged = await submittedDetail(this.store, this.storeDir, run);
    return { run: merged.run, notes: merged.lines };
  }

  async cancel(p: Principal, runRef: string): Promise<CancelResult> {
    const run = this.visible(p, runRef);
    const mine = this.live.get(run.id);
    if (mine) {
      mine.abort(new CancelledError(`run ${run.id} was cancelled`));
      return { runId: run.id, said: `cancelling run ${run.id}: its tasks are being stopped` };
    }
    if (run.executor !== SUBMITTED_EXECUTOR) {
      throw new UsageError(`run ${run.id} was not submitted with strand submit: stop it with Ctrl-C where it runs (its pid was ${run.pid ?? '?'})`);
    }
    const detail = run.executorDetail as unknown as SubmittedDetail;
    const { openKubeSession } = await import('../executor/kubernetes/session.js');
    const { deleteLeader } = await import('../cluster/leader-api.js');
    const s = openKubeSession({ overrides: { context: detail.context, namespace: detail.namespace } });
    const deleted = await deleteLeader(s.api, detail.namespace, run.id);
    if (run.status === 'running') {
      this.store.record({ type: 'run_finished', runId: run.id, status: 'cancelled', at: new Date(), message: 'cancelled with strand cancel' });
      this.store.flush();
    }
    return {
      runId: run.id,
      said: deleted
        ? `cancelled run ${run.id}: deleted job/${detail.job} in namespace ${detail.namespace}; its pods, task Jobs and ConfigMaps go with it`
        : `run ${run.id}: job/${detail.job} is already gone from namespace ${detail.namespace}`,
    };
  }

  close(): void {
    this.opened?.close();
    this.opened = undefined;
  }

  /** The run `runRef` names, if `p` may see it; the same error whether it is absent or another's. */
  private visible(p: Principal, runRef: string, window?: AttemptWindow): RunDetail {
    // A prefix is resolved among the runs `p` may see: another's never makes it ambiguous.
    const id = this.store.resolveRunId(runRef, this.visibility === 'owner' ? { owner: p.user } : {});
    const run = id === undefined ? undefined : this.store.getRun(id, window);
    if (!run || !maySee(this.visibility, p, run.owner)) throw new RunNotFoundError(runRef);
    return run;
  }
}
