/**
 * The run store: every run, its steps and task attempts, in SQLite at `<dir>/strand.db`.
 *
 * record() only queues the event; queued events are written in one transaction every ~100 ms and at
 * run_finished, so a run with thousands of tasks is not slowed down by the store.
 */
import { parseJsonExact, stringifyJsonExact } from '../model/exact-json.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import { phaseIsOk, type AttemptPhase, type ReusedFrom, type RunEvent, type RunStatus } from '../engine/events.js';
import type { NativeIds, TaskResources, TaskUsage } from '../executor/executor.js';
import { StoreError } from '../errors.js';
import { graphNodeOfTask, type WorkflowGraph } from '../model/workflow-graph.js';
import { assertRunStore, migrate } from './schema.js';
import { ensureStoreFile, prepareStoreDir, tightenStoreFiles } from './store-files.js';

export interface RunMeta {
  runId: string;
  processId?: string;
  documentPath?: string;
  jobPath?: string;
  outdir?: string;
  workDir?: string;
  pid?: number;
  cwd?: string;
  startedAt?: Date;
  /** Executor name, and where it ran tasks (e.g. `{ context, namespace }` for Kubernetes). */
  executor?: string;
  executorDetail?: Record<string, unknown>;
  /** Who ran it (the Kubernetes owner label, else the local user name). */
  owner?: string;
  /** The workflow graph, for the dashboard and reports. */
  graph?: WorkflowGraph;
  /** The input object as given (File locations absolute), so `strand run --resume` can run it again. */
  inputs?: unknown;
  /** The task cache this run reads and writes (absent: caching off), and how (`read`, `write`, `readwrite`). */
  cacheDir?: string;
  cacheMode?: CacheMode;
  /** The run this one resumes (`strand run --resume`). */
  resumedFrom?: string;
  /** The run continues an existing record with this id (a restart adopting its tasks); else the id must be new. */
  restart?: boolean;
  /** The options that shaped the run, as given; `strand run --resume` uses them again. */
  options?: RunOptions;
}

/**
 * The command-line options that shape how a run runs (where, in what, with what retries and
 * limits), recorded with it so that `strand run --resume` runs it the same way unless told
 * otherwise. Only what was given: the config file and environment apply again on their own.
 */
export interface RunOptions {
  executor?: string;
  noContainer?: boolean;
  containerRuntime?: string;
  parallel?: number;
  retries?: number;
  onError?: 'stop' | 'continue';
  evalTimeoutSeconds?: number;
  evalMemoryMb?: number;
  allowOutsideDocument?: boolean;
  /** The executor's own flags (Kubernetes: context, namespace, maxParallel, ...). */
  executorOverrides?: Record<string, unknown>;
}

/** How a run uses the task cache: `off` never, `read` reuses only, `write` records only, `readwrite` both (the default). */
export type CacheMode = 'off' | 'read' | 'write' | 'readwrite';

/** A remembered checksum of a file, valid while the file's identity (device, inode, size, mtime, ctime) is unchanged. */
export interface FileDigest {
  path: string;
  identity: string;
  checksum: string;
  size: number;
}

/**
 * 'interrupted': the process that ran it stopped without ending it (killed, a crash, a lost pod):
 * recorded so by markInterrupted, or shown so while it is still marked running but its heartbeat
 * has stopped (or, for runs recorded before heartbeats, its process is gone).
 */
export type DisplayRunStatus = RunStatus | 'interrupted';

/** How often a running run writes its heartbeat, and when a silent one counts as interrupted. */
export const HEARTBEAT_MS = 5_000;
export const HEARTBEAT_STALE_MS = 30_000;

/** Task attempts by their recorded phase: total = ok + failed + running + queued + cancelled. */
export interface TaskCounts {
  total: number;
  /** Succeeded (by the tool's success codes) or reused. */
  ok: number;
  /** Failed: an exit code that is not a success, a task that could not run, outputs not collected. */
  failed: number;
  running: number;
  /** Of `ok`, how many were not run but reused from the task cache. */
  reused: number;
  /** Waiting to run. */
  queued: number;
  /** Cancelled while running, or before they started. */
  cancelled: number;
  /**
   * Of `failed`, how many were retried: a later attempt of their task followed (--retries). The
   * tasks whose last attempt failed are `failed - retried`. Absent: none (a summary that cannot
   * tell, e.g. a submitted run's).
   */
  retried?: number;
}

export interface RunSummary {
  id: string;
  status: DisplayRunStatus;
  processId?: string;
  documentPath?: string;
  startedAt: string;
  finishedAt?: string;
  /** Milliseconds from start to finish (or until now for a running run). */
  durationMs?: number;
  tasks: TaskCounts;
  outdir?: string;
  message?: string;
  executor?: string;
  owner?: string;
  /** Labels its submitter gave it (a WES request's tags), where the run service keeps them (the lab server's runs). */
  tags?: Record<string, string>;
}

export interface StepRecord {
  stepPath: string;
  status: string;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

export interface AttemptRecord {
  taskId: string;
  stepPath: string;
  attempt: number;
  /** 'queued', 'running', or the TaskReason it ended with. */
  status: string;
  /** The engine's verdict (engine/events.ts AttemptPhase): what every front end shows. */
  phase: AttemptPhase;
  exitCode: number | null;
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  workDir?: string;
  logDir?: string;
  argv?: string[];
  message?: string;
  logTail?: string;
  /** The workflow graph node it belongs to (step path without scatter indexes). */
  nodePath?: string;
  /** What it asked for (cores, MiB). */
  resources?: TaskResources;
  image?: string;
  /** What it used, when measured. */
  usage?: TaskUsage;
  /** Where it ran, in the backend's names (Kubernetes Job, pod, node). */
  native?: NativeIds;
  /** Every note the executor sent while it waited or ran (quota waits, OOM retries), in order. */
  notes?: { at: string; message: string }[];
  /** The attempt's task cache key, when caching was on. */
  cacheKey?: string;
  /** Set when the result was reused from the task cache instead of running the task. */
  reusedFrom?: ReusedFrom;
  /** Set (by getRun) when a later attempt of the same task followed this one. */
  retried?: true;
}

/** A run's record without its steps and attempts (what every dashboard page needs). */
export interface RunHeader extends RunSummary {
  /** The run this one resumes, and the runs that resumed this one (runOverview and getRun). */
  resumedFrom?: string;
  resumedBy?: string[];
  jobPath?: string;
  workDir?: string;
  cwd?: string;
  pid?: number;
  executorDetail?: Record<string, unknown>;
  graph?: WorkflowGraph;
}

/** Tasks of one graph node, by the state of their latest attempt. */
export interface NodeState {
  node: string;
  total: number;
  ok: number;
  failed: number;
  running: number;
  queued: number;
  cancelled: number;
  /** Attempts beyond the first (retries). */
  retries: number;
  /** Of `ok`, reused from the task cache. */
  reused: number;
}

export interface RunQuery {
  /** A status as shown (running, success, failed, cancelled, interrupted). */
  status?: string;
  /** Words found in the id, process, document or owner. */
  search?: string;
  /** Only the runs this user owns. */
  owner?: string;
  limit?: number;
  offset?: number;
}

export interface RunDetail extends RunHeader {
  outputs?: unknown;
  inputs?: unknown;
  cacheDir?: string;
  cacheMode?: CacheMode;
  resumedFrom?: string;
  /** The runs that resumed this one (`strand run --resume`), oldest first: its record is never rewritten by them. */
  resumedBy?: string[];
  /** The options that shaped it (RunOptions). */
  options?: RunOptions;
  steps: StepRecord[];
  attempts: AttemptRecord[];
  /** With an AttemptWindow: how many attempts were left out, done well (`ok`) and not (`other`). */
  attemptsLeftOut?: { ok: number; other: number };
}

/**
 * Which of a run's attempts getRun returns: without it every one; with it the first `ok` that went
 * well (succeeded or reused) and the first `other` that did not, in the same order (what `strand
 * show` prints of a 100,000-task run without reading 100,000 rows).
 */
export interface AttemptWindow {
  ok: number;
  other: number;
}

export interface RunStore {
  readonly path: string;
  createRun(meta: RunMeta): void;
  record(event: RunEvent): void;
  flush(): void;
  listRuns(opts?: { limit?: number }): RunSummary[];
  getRun(idOrPrefix: string, window?: AttemptWindow): RunDetail | undefined;
  /** Runs matching `q`, newest first, one page of them, and how many match in all. */
  queryRuns(q?: RunQuery): { runs: RunSummary[]; total: number };
  /** A run without its steps and attempts. */
  getRunHeader(idOrPrefix: string): RunHeader | undefined;
  /**
   * The full id of a run from its id or a unique prefix/suffix (cheap: no counts). With `owner`,
   * among that owner's runs only: another's runs neither match nor make a prefix ambiguous (nor
   * are named in the error that says so).
   */
  resolveRunId(idOrPrefix: string, opts?: { owner?: string }): string | undefined;
  /** Per graph node, its tasks by the state of their latest attempt (aggregated in SQL). */
  nodeStates(runId: string): NodeState[];
  /** A run without its attempts, and its graph nodes' states, from one pass over its attempts. */
  runOverview(idOrPrefix: string): { run: RunHeader; nodes: NodeState[] } | undefined;
  /** One page of a run's attempts in the order they were queued, optionally of one graph node. */
  attemptsPage(runId: string, opts?: { offset?: number; limit?: number; node?: string }): { attempts: AttemptRecord[]; total: number };
  getAttempt(runId: string, taskId: string, attempt?: number): AttemptRecord | undefined;
  /** The tasks whose latest attempt failed, first failure first (at most `limit`), and how many there are. */
  failedTasks(runId: string, limit?: number): { attempts: AttemptRecord[]; total: number };
  /** A run's workflow steps (sub-workflows and expression steps included), in start order. */
  getSteps(runId: string): StepRecord[];
  /** Changes whenever another connection commits to the store (PRAGMA data_version). */
  dataVersion(): number;
  /** Output objects of the runs that delivered into `outdir` (what Strand wrote there: successful runs, and failed ones under --on-error continue), oldest first. */
  outputsWrittenTo(outdir: string): unknown[];
  /**
   * Close the record of a run whose process is gone (`interrupted`), or that was stopped
   * (`cancelled`, `failed`): it ends at its last heartbeat, not now; what was queued never started.
   */
  markInterrupted(runId: string, status: 'cancelled' | 'failed' | 'interrupted', message: string): void;
  /** The run's process is alive now (see HEARTBEAT_MS). */
  heartbeat(runId: string, at?: Date): void;
  /** The newest run that did not succeed (failed, cancelled, or interrupted): what `--resume` continues by default. */
  lastUnsuccessfulRun(): RunSummary | undefined;
  /** The remembered checksum of `path`, if any (the caller compares the identity). */
  fileDigest(path: string): FileDigest | undefined;
  rememberFileDigest(digest: FileDigest): void;
  close(): void;
}

const FLUSH_MS = 100;

/** The order getRun lists a run's attempts in. */
const ATTEMPT_ORDER = 'ORDER BY coalesce(started_at, queued_at, finished_at), task_id, attempt';

/**
 * Open (creating if needed) the run store in `dir`. Throws StoreError when it cannot. With
 * `readOnly` (the dashboard), the store is created or upgraded first, then read through a
 * read-only connection, which never writes a run.
 */
export function openRunStore(dir: string, opts: { readOnly?: boolean } = {}): RunStore {
  const file = path.join(dir, 'strand.db');
  let db: Database.Database;
  try {
    prepareStoreDir(dir);
    ensureStoreFile(file);
    tightenStoreFiles(dir, file);
    db = new Database(file, { fileMustExist: true });
    assertRunStore(db);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    if (opts.readOnly) {
      db.close();
      db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
    }
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`cannot open the run store ${file}: ${(err as Error).message}`, { cause: err });
  }
  return new SqliteRunStore(db, file);
}

const iso = (d: Date | undefined): string | null => (d ? d.toISOString() : null);

interface RunRow {
  id: string;
  process_id: string | null;
  document_path: string | null;
  job_path: string | null;
  status: string;
  started_at: string;
  finished_at: string | null;
  outdir: string | null;
  work_dir: string | null;
  message: string | null;
  outputs: string | null;
  pid: number | null;
  heartbeat_at: string | null;
  cwd: string | null;
  executor: string | null;
  executor_detail: string | null;
  owner: string | null;
  graph: string | null;
  inputs: string | null;
  cache_dir: string | null;
  cache_mode: string | null;
  resumed_from: string | null;
  options: string | null;
  total: number;
  ok: number;
  failed: number;
  running: number;
  reused: number;
  queued: number;
  cancelled: number;
  retried: number;
}

/** The columns a run summary (list, dashboard pages) reads: not its graph, inputs or outputs. */
const SUMMARY_FIELDS = ['id', 'status', 'pid', 'heartbeat_at', 'process_id', 'document_path', 'started_at', 'finished_at', 'outdir', 'message', 'executor', 'owner'] as const;
const SUMMARY_COLUMNS = SUMMARY_FIELDS.map((c) => `r.${c}`).join(', ');
type Counts = Pick<RunRow, 'total' | 'ok' | 'failed' | 'running' | 'reused' | 'queued' | 'cancelled' | 'retried'>;
type SummaryRow = Pick<RunRow, (typeof SUMMARY_FIELDS)[number]> & Counts;

interface StepRow {
  step_path: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  message: string | null;
}

interface AttemptRow {
  task_id: string;
  step_path: string;
  attempt: number;
  status: string;
  phase: string | null;
  exit_code: number | null;
  queued_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  work_dir: string | null;
  log_dir: string | null;
  argv: string | null;
  message: string | null;
  log_tail: string | null;
  node_path: string | null;
  resources: string | null;
  image: string | null;
  usage: string | null;
  native: string | null;
  notes: string | null;
  cache_key: string | null;
  reused_from: string | null;
}

const RUN_COLUMNS = `
  r.*,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id) AS total,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.phase IN ('succeeded', 'reused')) AS ok,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.phase = 'failed') AS failed,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.phase = 'running') AS running,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.phase = 'reused') AS reused,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.phase = 'queued') AS queued,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.phase IN ('cancelled', 'never_started')) AS cancelled,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.phase = 'failed' AND EXISTS (SELECT 1 FROM task_attempts u WHERE u.run_id = t.run_id AND u.task_id = t.task_id AND u.attempt > t.attempt)) AS retried`;

class SqliteRunStore implements RunStore {
  private pending: RunEvent[] = [];
  /**
   * Checksums remembered and not written yet: written with the next batch of events (a write
   * transaction per file cost a short task as much as its store events). Read before the table.
   */
  private pendingDigests = new Map<string, FileDigest & { at: string }>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly stmt;
  private readonly applyBatch: (events: RunEvent[], digests: Iterable<FileDigest & { at: string }>) => void;

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    this.stmt = {
      // A new run never takes an existing id's record; a restart (--run-id, a replaced leader) continues it.
      createRun: db.prepare(
        `INSERT INTO runs (id, process_id, document_path, job_path, status, started_at, outdir, work_dir, pid, cwd, executor, executor_detail,
           inputs, cache_dir, cache_mode, resumed_from, owner, graph, options)
         VALUES (@id, @processId, @documentPath, @jobPath, 'running', @startedAt, @outdir, @workDir, @pid, @cwd, @executor, @executorDetail,
           @inputs, @cacheDir, @cacheMode, @resumedFrom, @owner, @graph, @options)
`,
      ),
      restartRun: db.prepare(
        `INSERT INTO runs (id, process_id, document_path, job_path, status, started_at, outdir, work_dir, pid, cwd, executor, executor_detail,
           inputs, cache_dir, cache_mode, resumed_from, owner, graph, options)
         VALUES (@id, @processId, @documentPath, @jobPath, 'running', @startedAt, @outdir, @workDir, @pid, @cwd, @executor, @executorDetail,
           @inputs, @cacheDir, @cacheMode, @resumedFrom, @owner, @graph, @options)
         ON CONFLICT(id) DO UPDATE SET process_id = coalesce(excluded.process_id, process_id),
           document_path = excluded.document_path, job_path = excluded.job_path, outdir = excluded.outdir,
           work_dir = excluded.work_dir, pid = excluded.pid, cwd = excluded.cwd, status = 'running', finished_at = NULL,
           executor = excluded.executor, executor_detail = excluded.executor_detail, inputs = excluded.inputs,
           cache_dir = excluded.cache_dir, cache_mode = excluded.cache_mode, resumed_from = excluded.resumed_from,
           owner = coalesce(excluded.owner, owner), graph = coalesce(excluded.graph, graph), options = coalesce(excluded.options, options)`,
      ),
      // A restarted run (a replaced leader, --run-id) keeps the start of its first process: its duration is the run's, not the last process's.
      runStarted: db.prepare(
        `INSERT INTO runs (id, process_id, status, started_at) VALUES (?, ?, 'running', ?)
         ON CONFLICT(id) DO UPDATE SET process_id = excluded.process_id, started_at = min(started_at, excluded.started_at)`,
      ),
      runFinished: db.prepare(
        `INSERT INTO runs (id, status, started_at, finished_at, message, outputs) VALUES (@id, @status, @at, @at, @message, @outputs)
         ON CONFLICT(id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at,
           message = excluded.message, outputs = excluded.outputs`,
      ),
      stepStarted: db.prepare(
        `INSERT INTO steps (run_id, step_path, status, started_at) VALUES (?, ?, 'running', ?)
         ON CONFLICT(run_id, step_path) DO UPDATE SET status = 'running', started_at = excluded.started_at,
           finished_at = NULL, message = NULL`,
      ),
      stepFinished: db.prepare(
        `INSERT INTO steps (run_id, step_path, status, finished_at, message) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(run_id, step_path) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at,
           message = excluded.message`,
      ),
      taskQueued: db.prepare(
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, node_path, status, phase, queued_at) VALUES (?, ?, ?, ?, ?, 'queued', 'queued', ?)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET status = 'queued', phase = 'queued', queued_at = excluded.queued_at`,
      ),
      taskNote: db.prepare(
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, node_path, status, phase, message, notes)
         VALUES (?, ?, ?, ?, ?, 'queued', 'queued', ?, ?)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET message = excluded.message,
           notes = coalesce(notes, '') || excluded.notes`,
      ),
      taskStarted: db.prepare(
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, node_path, status, phase, started_at, work_dir, log_dir, argv, resources, image)
         VALUES (?, ?, ?, ?, ?, 'running', 'running', ?, ?, ?, ?, ?, ?)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET status = 'running', phase = 'running', started_at = excluded.started_at,
           work_dir = excluded.work_dir, log_dir = excluded.log_dir, argv = excluded.argv,
           resources = excluded.resources, image = excluded.image`,
      ),
      taskFinished: db.prepare(
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, node_path, status, phase, exit_code, started_at, finished_at, message, log_tail, usage, native)
         VALUES (@runId, @taskId, @attempt, @stepPath, @nodePath, @status, @phase, @exitCode, @startedAt, @finishedAt, @message, @logTail, @usage, @native)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET status = excluded.status, phase = excluded.phase, exit_code = excluded.exit_code,
           started_at = coalesce(started_at, excluded.started_at), finished_at = excluded.finished_at,
           message = excluded.message, log_tail = excluded.log_tail, usage = excluded.usage, native = excluded.native`,
      ),
      taskReused: db.prepare(
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, node_path, status, phase, exit_code, queued_at, started_at, finished_at, work_dir,
           message, cache_key, reused_from)
         VALUES (@runId, @taskId, @attempt, @stepPath, @nodePath, 'completed', 'reused', @exitCode, @at, @at, @at, @entry, @message, @cacheKey, @reusedFrom)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET status = 'completed', phase = 'reused', exit_code = excluded.exit_code,
           queued_at = excluded.queued_at, started_at = excluded.started_at, finished_at = excluded.finished_at,
           work_dir = excluded.work_dir, message = excluded.message, cache_key = excluded.cache_key, reused_from = excluded.reused_from`,
      ),
      taskCached: db.prepare(`UPDATE task_attempts SET cache_key = ? WHERE run_id = ? AND task_id = ? AND attempt = ?`),
      lastUnsuccessful: db.prepare(`SELECT ${RUN_COLUMNS} FROM runs r WHERE r.status <> 'success' ORDER BY r.started_at DESC, r.id DESC LIMIT 20`),
      digest: db.prepare(`SELECT path, identity, checksum, size FROM file_digests WHERE path = ?`),
      putDigest: db.prepare(
        `INSERT INTO file_digests (path, identity, checksum, size, computed_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(path) DO UPDATE SET identity = excluded.identity, checksum = excluded.checksum, size = excluded.size,
           computed_at = excluded.computed_at`,
      ),
      markRun: db.prepare(
        `UPDATE runs SET status = @status, message = @message,
           finished_at = coalesce(heartbeat_at, (SELECT max(coalesce(finished_at, started_at, queued_at)) FROM task_attempts WHERE run_id = @runId), @now)
         WHERE id = @runId AND status = 'running'`,
      ),
      heartbeat: db.prepare(`UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`),
      markSteps: db.prepare(`UPDATE steps SET status = ?, finished_at = ? WHERE run_id = ? AND status = 'running'`),
      markAttempts: db.prepare(
        `UPDATE task_attempts SET status = @status,
           phase = CASE WHEN phase = 'queued' OR started_at IS NULL THEN 'never_started' WHEN @status = 'cancelled' THEN 'cancelled' ELSE 'failed' END,
           finished_at = @at WHERE run_id = @runId AND phase IN ('queued', 'running')`,
      ),
      // Runs first, then their task counts in one pass over their attempts (not six subqueries per run).
      list: db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM runs r ORDER BY r.started_at DESC, r.id DESC LIMIT ?`),
      byId: db.prepare(`SELECT r.* FROM runs r WHERE r.id = ?`),
      idExists: db.prepare(`SELECT id, owner FROM runs WHERE id = ?`),
      resumedBy: db.prepare(`SELECT id FROM runs WHERE resumed_from = ? ORDER BY started_at, id`),
      counts: db.prepare(
        `SELECT t.run_id AS id, count(*) AS total,
           sum(t.phase IN ('succeeded', 'reused')) AS ok,
           sum(t.phase = 'failed') AS failed,
           sum(t.phase = 'running') AS running,
           sum(t.phase = 'reused') AS reused,
           sum(t.phase = 'queued') AS queued,
           sum(t.phase IN ('cancelled', 'never_started')) AS cancelled,
           sum(t.phase = 'failed' AND EXISTS (SELECT 1 FROM task_attempts u WHERE u.run_id = t.run_id AND u.task_id = t.task_id AND u.attempt > t.attempt)) AS retried
         FROM task_attempts t WHERE t.run_id IN (SELECT value FROM json_each(?)) GROUP BY t.run_id`,
      ),
      outputsTo: db.prepare(`SELECT outputs FROM runs WHERE outdir = ? AND status IN ('success', 'failed') AND outputs IS NOT NULL ORDER BY started_at`),
      idsByPrefix: db.prepare(`SELECT id FROM runs WHERE substr(id, 1, @n) = @ref AND (@owner IS NULL OR owner = @owner) ORDER BY id LIMIT 5`),
      idsBySuffix: db.prepare(`SELECT id FROM runs WHERE substr(id, -@n) = @ref AND (@owner IS NULL OR owner = @owner) ORDER BY id LIMIT 5`),
      steps: db.prepare(`SELECT * FROM steps WHERE run_id = ? ORDER BY coalesce(started_at, finished_at), step_path`),
      attempts: db.prepare(
        `SELECT *, attempt < max(attempt) OVER (PARTITION BY task_id) AS superseded
         FROM task_attempts WHERE run_id = ? ${ATTEMPT_ORDER}`,
      ),
      // The first @ok attempts that went well and the first @other that did not, in getRun's order:
      // a top-N sort of each in one pass, the later-attempt check only for the rows kept.
      attemptsWindow: db.prepare(
        `SELECT *, EXISTS (SELECT 1 FROM task_attempts u WHERE u.run_id = t.run_id AND u.task_id = t.task_id AND u.attempt > t.attempt) AS superseded
         FROM (SELECT * FROM (SELECT * FROM task_attempts WHERE run_id = @runId AND phase IN ('succeeded', 'reused') ${ATTEMPT_ORDER} LIMIT @ok)
               UNION ALL
               SELECT * FROM (SELECT * FROM task_attempts WHERE run_id = @runId AND coalesce(phase, 'queued') NOT IN ('succeeded', 'reused') ${ATTEMPT_ORDER} LIMIT @other)) t
         ${ATTEMPT_ORDER}`,
      ),
      // The latest attempt of each task (SQLite takes the bare columns from the row of max(attempt)),
      // in one pass over the run's attempts in primary-key order, then summed per graph node.
      nodeStates: db.prepare(
        `SELECT node, count(*) AS total,
           sum(phase IN ('succeeded', 'reused')) AS ok,
           sum(phase = 'failed') AS failed,
           sum(phase = 'running') AS running,
           sum(phase = 'queued') AS queued,
           sum(phase IN ('cancelled', 'never_started')) AS cancelled,
           sum(attempt - 1) AS retries,
           sum(reused) AS reused,
           sum(a_total) AS a_total, sum(a_ok) AS a_ok, sum(a_failed) AS a_failed, sum(a_running) AS a_running, sum(a_reused) AS a_reused,
           sum(a_queued) AS a_queued, sum(a_cancelled) AS a_cancelled,
           sum(a_failed) - sum(phase = 'failed') AS a_retried
         FROM (SELECT max(attempt) AS attempt, coalesce(node_path, step_path) AS node, phase, phase = 'reused' AS reused,
                 count(*) AS a_total,
                 sum(phase IN ('succeeded', 'reused')) AS a_ok,
                 sum(phase = 'failed') AS a_failed,
                 sum(phase = 'running') AS a_running,
                 sum(phase = 'reused') AS a_reused,
                 sum(phase = 'queued') AS a_queued,
                 sum(phase IN ('cancelled', 'never_started')) AS a_cancelled
               FROM task_attempts WHERE run_id = ? GROUP BY task_id)
         GROUP BY node`,
      ),
      attemptsPage: db.prepare(
        `SELECT * FROM task_attempts WHERE run_id = @runId ORDER BY queued_at, rowid LIMIT @limit OFFSET @offset`,
      ),
      attemptsPageOfNode: db.prepare(
        `SELECT * FROM task_attempts WHERE run_id = @runId AND node_path = @node ORDER BY queued_at, rowid LIMIT @limit OFFSET @offset`,
      ),
      attemptsCount: db.prepare(`SELECT count(*) AS n FROM task_attempts WHERE run_id = @runId`),
      // Tasks whose latest attempt failed (SQLite takes the bare columns from the row of max(attempt)).
      failedTasks: db.prepare(
        `SELECT * FROM (SELECT *, max(attempt) FROM task_attempts WHERE run_id = @runId GROUP BY task_id)
         WHERE phase = 'failed' ORDER BY coalesce(finished_at, queued_at), task_id LIMIT @limit`,
      ),
      failedTasksCount: db.prepare(
        `SELECT count(*) AS n FROM (SELECT phase, max(attempt) FROM task_attempts WHERE run_id = ? GROUP BY task_id) WHERE phase = 'failed'`,
      ),
      attemptsCountOfNode: db.prepare(`SELECT count(*) AS n FROM task_attempts WHERE run_id = @runId AND node_path = @node`),
      attempt: db.prepare(`SELECT * FROM task_attempts WHERE run_id = ? AND task_id = ? AND attempt = ?`),
      lastAttempt: db.prepare(`SELECT * FROM task_attempts WHERE run_id = ? AND task_id = ? ORDER BY attempt DESC LIMIT 1`),
      queryRuns: db.prepare(
        `SELECT ${SUMMARY_COLUMNS} FROM runs r WHERE (@status IS NULL OR (CASE WHEN r.status = 'running' AND r.heartbeat_at < @staleBefore THEN 'interrupted' ELSE r.status END) = @status)
           AND (@search IS NULL OR instr(lower(r.id || ' ' || coalesce(r.process_id, '') || ' ' || coalesce(r.document_path, '') || ' ' || coalesce(r.owner, '')), @search) > 0)
           AND (@owner IS NULL OR r.owner = @owner)
         ORDER BY r.started_at DESC, r.id DESC LIMIT @limit OFFSET @offset`,
      ),
      countRuns: db.prepare(
        `SELECT count(*) AS n FROM runs r WHERE (@status IS NULL OR (CASE WHEN r.status = 'running' AND r.heartbeat_at < @staleBefore THEN 'interrupted' ELSE r.status END) = @status)
           AND (@search IS NULL OR instr(lower(r.id || ' ' || coalesce(r.process_id, '') || ' ' || coalesce(r.document_path, '') || ' ' || coalesce(r.owner, '')), @search) > 0)
           AND (@owner IS NULL OR r.owner = @owner)`,
      ),
    };
    this.applyBatch = db.transaction((events: RunEvent[], digests: Iterable<FileDigest & { at: string }>) => {
      for (const e of events) this.apply(e);
      for (const d of digests) this.stmt.putDigest.run(d.path, d.identity, d.checksum, d.size, d.at);
    });
  }

  createRun(meta: RunMeta): void {
    this.flush();
    (meta.restart ? this.stmt.restartRun : this.stmt.createRun).run({
      id: meta.runId,
      processId: meta.processId ?? null,
      documentPath: meta.documentPath ?? null,
      jobPath: meta.jobPath ?? null,
      startedAt: (meta.startedAt ?? new Date()).toISOString(),
      outdir: meta.outdir ?? null,
      workDir: meta.workDir ?? null,
      pid: meta.pid ?? null,
      cwd: meta.cwd ?? null,
      executor: meta.executor ?? null,
      executorDetail: meta.executorDetail ? JSON.stringify(meta.executorDetail) : null,
      owner: meta.owner ?? null,
      graph: meta.graph ? JSON.stringify(meta.graph) : null,
      inputs: meta.inputs === undefined ? null : stringifyJsonExact(meta.inputs),
      cacheDir: meta.cacheDir ?? null,
      cacheMode: meta.cacheMode ?? null,
      resumedFrom: meta.resumedFrom ?? null,
      options: meta.options ? JSON.stringify(meta.options) : null,
    });
  }

  record(event: RunEvent): void {
    if (this.closed) throw new StoreError('the run store is closed');
    this.pending.push(event);
    if (event.type === 'run_finished') {
      this.flush();
      return;
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        try {
          this.flush();
        } catch {
          // Kept pending; the next flush (at run_finished at the latest) reports the error.
        }
      }, FLUSH_MS);
      this.timer.unref();
    }
  }

  /**
   * Reads see this connection's queued events when they can be written; when they cannot (a full
   * disk), the read still answers from what is stored, and the next write reports the failure.
   */
  private flushBeforeRead(): void {
    try {
      this.flush();
    } catch {
      // Kept pending: see record() and flush().
    }
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if ((this.pending.length === 0 && this.pendingDigests.size === 0) || this.closed) return;
    const batch = this.pending;
    const digests = this.pendingDigests;
    this.pending = [];
    this.pendingDigests = new Map();
    try {
      this.applyBatch(batch, digests.values());
    } catch (err) {
      this.pending = batch.concat(this.pending);
      for (const [p, d] of digests) if (!this.pendingDigests.has(p)) this.pendingDigests.set(p, d);
      throw new StoreError(`cannot write to the run store ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private apply(e: RunEvent): void {
    const s = this.stmt;
    switch (e.type) {
      case 'run_started':
        s.runStarted.run(e.runId, e.processId, iso(e.at));
        break;
      case 'run_finished':
        s.runFinished.run({
          id: e.runId,
          status: e.status,
          at: iso(e.at),
          message: e.message ?? null,
          outputs: e.outputs === undefined ? null : stringifyJsonExact(e.outputs),
        });
        break;
      case 'step_started':
        s.stepStarted.run(e.runId, e.stepPath, iso(e.at));
        break;
      case 'step_finished':
        s.stepFinished.run(e.runId, e.stepPath, e.status, iso(e.at), e.message ?? null);
        break;
      case 'task_queued':
        s.taskQueued.run(e.runId, e.taskId, e.attempt, e.stepPath, graphNodeOfTask(e.stepPath), iso(e.at));
        break;
      case 'task_started':
        s.taskStarted.run(
          e.runId,
          e.taskId,
          e.attempt,
          e.stepPath,
          graphNodeOfTask(e.stepPath),
          iso(e.at),
          e.workDir,
          e.logDir,
          JSON.stringify(e.argv),
          e.resources ? JSON.stringify(e.resources) : null,
          e.image ?? null,
        );
        break;
      case 'task_reused':
        s.taskReused.run({
          runId: e.runId,
          taskId: e.taskId,
          attempt: e.attempt,
          stepPath: e.stepPath,
          nodePath: graphNodeOfTask(e.stepPath),
          exitCode: e.exitCode,
          at: iso(e.at),
          entry: e.reusedFrom.entry,
          message: `reused${e.reusedFrom.runId ? ` from run ${e.reusedFrom.runId}` : ''} (cache entry ${e.reusedFrom.entry})`,
          cacheKey: e.cacheKey,
          reusedFrom: JSON.stringify(e.reusedFrom),
        });
        break;
      case 'task_cached':
        s.taskCached.run(e.cacheKey, e.runId, e.taskId, e.attempt);
        break;
      case 'task_note':
        s.taskNote.run(e.runId, e.taskId, e.attempt, e.stepPath, graphNodeOfTask(e.stepPath), e.message, `${iso(e.at)}\t${e.message.replace(/\n/g, ' ')}\n`);
        break;
      case 'task_finished':
        s.taskFinished.run({
          runId: e.runId,
          taskId: e.taskId,
          attempt: e.attempt,
          stepPath: e.stepPath,
          status: e.result.reason,
          phase: e.phase,
          exitCode: e.result.exitCode,
          startedAt: iso(e.result.startedAt),
          finishedAt: iso(e.result.finishedAt ?? e.at),
          message: e.result.message,
          logTail: e.result.logTail ?? null,
          nodePath: graphNodeOfTask(e.stepPath),
          usage: e.result.usage ? JSON.stringify(e.result.usage) : null,
          native: e.result.native ? JSON.stringify(e.result.native) : null,
        });
        break;
    }
  }

  outputsWrittenTo(outdir: string): unknown[] {
    this.flushBeforeRead();
    const rows = this.stmt.outputsTo.all(outdir) as Array<{ outputs: string }>;
    return rows.map((r) => JSON.parse(r.outputs) as unknown);
  }

  listRuns(opts: { limit?: number } = {}): RunSummary[] {
    this.flushBeforeRead();
    const rows = this.withCounts(this.stmt.list.all(opts.limit ?? 20) as Omit<SummaryRow, keyof Counts>[]);
    return rows.map((r) => summaryOf(r));
  }

  getRun(idOrPrefix: string, window?: AttemptWindow): RunDetail | undefined {
    this.flushBeforeRead();
    const id = this.resolveId(idOrPrefix);
    if (id === undefined) return undefined;
    const row = this.withCounts(this.stmt.byId.all(id) as RunRow[])[0];
    if (!row) return undefined;
    const steps = this.getSteps(id);
    const rows = (window ? this.stmt.attemptsWindow.all({ runId: id, ok: window.ok, other: window.other }) : this.stmt.attempts.all(id)) as (AttemptRow & { superseded: number })[];
    const attempts = rows.map((a) => (a.superseded ? { ...attemptOf(a), retried: true as const } : attemptOf(a)));
    let attemptsLeftOut: RunDetail['attemptsLeftOut'];
    if (window) {
      // The run's counts (ok: succeeded or reused) say how many there are of each.
      const shownOk = attempts.filter((a) => phaseIsOk(a.phase)).length;
      attemptsLeftOut = { ok: row.ok - shownOk, other: row.total - row.ok - (attempts.length - shownOk) };
    }
    return {
      ...headerOf(row),
      ...(row.outputs ? { outputs: parseJsonExact(row.outputs) } : {}),
      ...(row.inputs ? { inputs: parseJsonExact(row.inputs) } : {}),
      ...opt('cacheDir', row.cache_dir),
      ...opt('cacheMode', row.cache_mode as CacheMode | null),
      ...opt('resumedFrom', row.resumed_from),
      ...resumedByOf(this.stmt.resumedBy.all(id) as { id: string }[]),
      ...(row.options ? { options: JSON.parse(row.options) as RunOptions } : {}),
      steps,
      attempts,
      ...(attemptsLeftOut ? { attemptsLeftOut } : {}),
    };
  }

  queryRuns(q: RunQuery = {}): { runs: RunSummary[]; total: number } {
    this.flushBeforeRead();
    const params = {
      status: q.status || null,
      search: q.search?.trim() ? q.search.trim().toLowerCase() : null,
      owner: q.owner ?? null,
      limit: q.limit ?? 50,
      offset: q.offset ?? 0,
      // A run marked running whose heartbeat stopped is interrupted (see displayStatus).
      staleBefore: new Date(Date.now() - HEARTBEAT_STALE_MS).toISOString(),
    };
    const runs = this.withCounts(this.stmt.queryRuns.all(params) as Omit<SummaryRow, keyof Counts>[]).map((r) => summaryOf(r));
    const total = (this.stmt.countRuns.get(params) as { n: number }).n;
    return { runs, total };
  }

  getRunHeader(idOrPrefix: string): RunHeader | undefined {
    this.flushBeforeRead();
    const id = this.resolveId(idOrPrefix);
    if (id === undefined) return undefined;
    const row = this.withCounts(this.stmt.byId.all(id) as RunRow[])[0];
    return row ? headerOf(row) : undefined;
  }

  resolveRunId(idOrPrefix: string, opts: { owner?: string } = {}): string | undefined {
    this.flushBeforeRead();
    return this.resolveId(idOrPrefix, opts.owner);
  }

  /** Fill in the task counts of `rows` (run rows without them) in one query. */
  private withCounts<R extends { id: string }>(rows: R[]): (R & Counts)[] {
    if (rows.length === 0) return [];
    const counts = new Map((this.stmt.counts.all(JSON.stringify(rows.map((r) => r.id))) as (Counts & { id: string })[]).map((c) => [c.id, c]));
    // In place: the rows are this call's own objects, and a copy of each costs as much as the query.
    for (const r of rows) {
      const c = counts.get(r.id);
      Object.assign(r, {
        total: c?.total ?? 0,
        ok: c?.ok ?? 0,
        failed: c?.failed ?? 0,
        running: c?.running ?? 0,
        reused: c?.reused ?? 0,
        queued: c?.queued ?? 0,
        cancelled: c?.cancelled ?? 0,
        retried: c?.retried ?? 0,
      });
    }
    return rows as (R & Counts)[];
  }

  nodeStates(runId: string): NodeState[] {
    return this.runOverview(runId)?.nodes ?? [];
  }

  runOverview(idOrPrefix: string): { run: RunHeader; nodes: NodeState[] } | undefined {
    this.flushBeforeRead();
    const id = this.resolveId(idOrPrefix);
    const row = id === undefined ? undefined : (this.stmt.byId.get(id) as RunRow | undefined);
    if (!row || id === undefined) return undefined;
    const lineage = { ...opt('resumedFrom', row.resumed_from), ...resumedByOf(this.stmt.resumedBy.all(id) as { id: string }[]) };
    type Row = NodeState & { a_total: number; a_ok: number; a_failed: number; a_running: number; a_reused: number; a_queued: number; a_cancelled: number; a_retried: number };
    const rows = this.stmt.nodeStates.all(id) as Row[];
    const counts = { total: 0, ok: 0, failed: 0, running: 0, reused: 0, queued: 0, cancelled: 0, retried: 0 };
    for (const r of rows) {
      counts.total += r.a_total;
      counts.ok += r.a_ok;
      counts.failed += r.a_failed;
      counts.running += r.a_running;
      counts.reused += r.a_reused;
      counts.queued += r.a_queued;
      counts.cancelled += r.a_cancelled;
      counts.retried += r.a_retried;
    }
    return { run: { ...headerOf({ ...row, ...counts }), ...lineage }, nodes: foldNodes(rows) };
  }

  attemptsPage(runId: string, opts: { offset?: number; limit?: number; node?: string } = {}): { attempts: AttemptRecord[]; total: number } {
    this.flushBeforeRead();
    const params = { runId, limit: opts.limit ?? 200, offset: opts.offset ?? 0 };
    const byNode = opts.node !== undefined;
    const page = byNode ? this.stmt.attemptsPageOfNode.all({ ...params, node: opts.node }) : this.stmt.attemptsPage.all(params);
    const attempts = (page as AttemptRow[]).map(attemptOf);
    const total = ((byNode ? this.stmt.attemptsCountOfNode.get({ runId, node: opts.node }) : this.stmt.attemptsCount.get({ runId })) as { n: number }).n;
    return { attempts, total };
  }

  failedTasks(runId: string, limit = 50): { attempts: AttemptRecord[]; total: number } {
    this.flushBeforeRead();
    const attempts = (this.stmt.failedTasks.all({ runId, limit }) as AttemptRow[]).map(attemptOf);
    return { attempts, total: (this.stmt.failedTasksCount.get(runId) as { n: number }).n };
  }

  getAttempt(runId: string, taskId: string, attempt?: number): AttemptRecord | undefined {
    this.flushBeforeRead();
    const row = (attempt === undefined ? this.stmt.lastAttempt.get(runId, taskId) : this.stmt.attempt.get(runId, taskId, attempt)) as
      | AttemptRow
      | undefined;
    return row ? attemptOf(row) : undefined;
  }

  getSteps(runId: string): StepRecord[] {
    this.flushBeforeRead();
    return (this.stmt.steps.all(runId) as StepRow[]).map(
      (s): StepRecord => ({
        stepPath: s.step_path,
        status: s.status,
        ...opt('startedAt', s.started_at),
        ...opt('finishedAt', s.finished_at),
        ...opt('message', s.message),
      }),
    );
  }

  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Exact id, else a unique prefix, else a unique suffix (the random part users copy). */
  private resolveId(ref: string, owner?: string): string | undefined {
    if (ref === '') return undefined;
    const exact = this.stmt.idExists.get(ref) as { owner: string | null } | undefined;
    if (exact && (owner === undefined || exact.owner === owner)) return ref;
    for (const stmt of [this.stmt.idsByPrefix, this.stmt.idsBySuffix]) {
      const ids = (stmt.all({ n: ref.length, ref, owner: owner ?? null }) as { id: string }[]).map((r) => r.id);
      if (ids.length === 1) return ids[0];
      if (ids.length > 1) {
        throw new StoreError(`run id "${ref}" is ambiguous: it matches ${ids.join(', ')}${ids.length === 5 ? ', ...' : ''}`);
      }
    }
    return undefined;
  }

  markInterrupted(runId: string, status: 'cancelled' | 'failed' | 'interrupted', message: string): void {
    this.flush();
    const now = new Date().toISOString();
    this.db.transaction(() => {
      if (this.stmt.markRun.run({ status, message, runId, now }).changes === 0) return;
      const at = (this.stmt.byId.get(runId) as RunRow).finished_at ?? now;
      this.stmt.markSteps.run(status === 'interrupted' ? 'failed' : status, at, runId);
      this.stmt.markAttempts.run({ status: status === 'cancelled' ? 'cancelled' : 'lost', at, runId });
    })();
  }

  heartbeat(runId: string, at: Date = new Date()): void {
    this.stmt.heartbeat.run(at.toISOString(), runId);
  }

  lastUnsuccessfulRun(): RunSummary | undefined {
    this.flushBeforeRead();
    const rows = this.stmt.lastUnsuccessful.all() as RunRow[];
    // A run still going (its process alive) is not one to resume.
    return rows.map((r) => summaryOf(r)).find((r) => r.status !== 'running');
  }

  fileDigest(p: string): FileDigest | undefined {
    const queued = this.pendingDigests.get(p);
    if (queued) return { path: queued.path, identity: queued.identity, checksum: queued.checksum, size: queued.size };
    return this.stmt.digest.get(p) as FileDigest | undefined;
  }

  rememberFileDigest(d: FileDigest): void {
    if (this.closed) return;
    this.pendingDigests.set(d.path, { path: d.path, identity: d.identity, checksum: d.checksum, size: d.size, at: new Date().toISOString() });
    this.scheduleFlush();
  }

  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.closed = true;
      this.db.close();
    }
  }
}

function opt<K extends string, V>(key: K, v: V | null | undefined): { [P in K]?: V } {
  return (v === null || v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

function attemptOf(a: AttemptRow): AttemptRecord {
  return {
    taskId: a.task_id,
    stepPath: a.step_path,
    attempt: a.attempt,
    status: a.status,
    phase: (a.phase ?? 'queued') as AttemptPhase,
    exitCode: a.exit_code,
    ...opt('queuedAt', a.queued_at),
    ...opt('startedAt', a.started_at),
    ...opt('finishedAt', a.finished_at),
    ...opt('workDir', a.work_dir),
    ...opt('logDir', a.log_dir),
    ...(a.argv ? { argv: JSON.parse(a.argv) as string[] } : {}),
    ...opt('message', a.message),
    ...opt('logTail', a.log_tail),
    nodePath: a.node_path ?? graphNodeOfTask(a.step_path),
    ...(a.resources ? { resources: JSON.parse(a.resources) as TaskResources } : {}),
    ...opt('image', a.image),
    ...(a.usage ? { usage: JSON.parse(a.usage) as TaskUsage } : {}),
    ...(a.native ? { native: JSON.parse(a.native) as NativeIds } : {}),
    ...(a.notes ? { notes: notesOf(a.notes) } : {}),
    ...opt('cacheKey', a.cache_key),
    ...(a.reused_from ? { reusedFrom: JSON.parse(a.reused_from) as ReusedFrom } : {}),
  };
}

function resumedByOf(rows: { id: string }[]): { resumedBy?: string[] } {
  return rows.length ? { resumedBy: rows.map((r) => r.id) } : {};
}

function notesOf(text: string): { at: string; message: string }[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const tab = l.indexOf('\t');
      return { at: l.slice(0, tab), message: l.slice(tab + 1) };
    });
}

function headerOf(row: RunRow): RunHeader {
  return {
    ...summaryOf(row),
    ...opt('jobPath', row.job_path),
    ...opt('workDir', row.work_dir),
    ...opt('cwd', row.cwd),
    ...opt('pid', row.pid),
    ...(row.executor_detail ? { executorDetail: JSON.parse(row.executor_detail) as Record<string, unknown> } : {}),
    ...(row.graph ? { graph: JSON.parse(row.graph) as WorkflowGraph } : {}),
  };
}

// Written field by field (not with spreads): `strand list -n 10000` builds 10,000 of these.
function summaryOf(r: SummaryRow): RunSummary {
  const status = displayStatus(r.status, r.pid, r.heartbeat_at);
  // A run that stopped without ending lasted until its last heartbeat, not until now.
  const end = r.finished_at
    ? Date.parse(r.finished_at)
    : status === 'running'
      ? Date.now()
      : r.heartbeat_at
        ? Date.parse(r.heartbeat_at)
        : undefined;
  const start = Date.parse(r.started_at);
  const s: RunSummary = { id: r.id, status, startedAt: r.started_at, tasks: { total: r.total, ok: r.ok, failed: r.failed, running: r.running, reused: r.reused, queued: r.queued, cancelled: r.cancelled, retried: r.retried ?? 0 } };
  if (r.process_id !== null) s.processId = r.process_id;
  if (r.document_path !== null) s.documentPath = r.document_path;
  if (r.finished_at !== null) s.finishedAt = r.finished_at;
  if (end !== undefined && Number.isFinite(start)) s.durationMs = Math.max(0, end - start);
  if (r.outdir !== null) s.outdir = r.outdir;
  if (r.message !== null) s.message = r.message;
  if (r.executor !== null) s.executor = r.executor;
  if (r.owner !== null) s.owner = r.owner;
  return s;
}

function displayStatus(status: string, pid: number | null, heartbeat: string | null): DisplayRunStatus {
  if (status !== 'running') return status as DisplayRunStatus;
  // The heartbeat decides (a pid may be reused, e.g. PID 1 of every container); a process known
  // to be gone on this machine decides sooner.
  if (heartbeat !== null && Date.now() - Date.parse(heartbeat) > HEARTBEAT_STALE_MS) return 'interrupted';
  if (pid !== null && pid !== process.pid && !processAlive(pid)) return 'interrupted';
  return 'running';
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Per-node rows, with rows written before node paths were recorded (a task's step path) folded into their node. */
function foldNodes(rows: NodeState[]): NodeState[] {
  const keys = ['total', 'ok', 'failed', 'running', 'queued', 'cancelled', 'retries', 'reused'] as const;
  const byNode = new Map<string, NodeState>();
  for (const r of rows) {
    const node = graphNodeOfTask(r.node);
    const n = byNode.get(node);
    if (!n) byNode.set(node, { node, ...Object.fromEntries(keys.map((k) => [k, r[k]])) } as NodeState);
    else for (const k of keys) n[k] += r[k];
  }
  return [...byNode.values()];
}
