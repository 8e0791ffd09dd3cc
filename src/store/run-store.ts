/**
 * The run store: every run, its steps and task attempts, in SQLite at `<dir>/strand.db`.
 *
 * record() only queues the event; queued events are written in one transaction every ~100 ms and at
 * run_finished, so a run with thousands of tasks is not slowed down by the store.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ReusedFrom, RunEvent, RunStatus } from '../engine/events.js';
import { StoreError } from '../errors.js';
import { migrate } from './schema.js';

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
  /** The input object as given (File locations absolute), so `strand run --resume` can run it again. */
  inputs?: unknown;
  /** The task cache this run reads and writes (absent: caching off), and how (`read`, `write`, `readwrite`). */
  cacheDir?: string;
  cacheMode?: CacheMode;
  /** The run this one resumes (`strand run --resume`). */
  resumedFrom?: string;
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

/** 'interrupted': still marked running, but the process that ran it is gone. */
export type DisplayRunStatus = RunStatus | 'interrupted';

export interface TaskCounts {
  total: number;
  /** Completed with exit code 0. */
  ok: number;
  /** Ended any other way except cancelled (non-zero exit, failed, timed out...). */
  failed: number;
  running: number;
  /** Of `ok`, how many were not run but reused from the task cache. */
  reused: number;
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
  exitCode: number | null;
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  workDir?: string;
  logDir?: string;
  argv?: string[];
  message?: string;
  logTail?: string;
  /** The attempt's task cache key, when caching was on. */
  cacheKey?: string;
  /** Set when the result was reused from the task cache instead of running the task. */
  reusedFrom?: ReusedFrom;
}

export interface RunDetail extends RunSummary {
  jobPath?: string;
  workDir?: string;
  cwd?: string;
  pid?: number;
  outputs?: unknown;
  executor?: string;
  executorDetail?: Record<string, unknown>;
  inputs?: unknown;
  cacheDir?: string;
  cacheMode?: CacheMode;
  resumedFrom?: string;
  steps: StepRecord[];
  attempts: AttemptRecord[];
}

export interface RunStore {
  readonly path: string;
  createRun(meta: RunMeta): void;
  record(event: RunEvent): void;
  flush(): void;
  listRuns(opts?: { limit?: number }): RunSummary[];
  getRun(idOrPrefix: string): RunDetail | undefined;
  /** Output objects of the successful runs into `outdir` (what Strand wrote there), oldest first. */
  outputsWrittenTo(outdir: string): unknown[];
  markInterrupted(runId: string, status: 'cancelled' | 'failed', message: string): void;
  /** The newest run that did not succeed (failed, cancelled, or interrupted): what `--resume` continues by default. */
  lastUnsuccessfulRun(): RunSummary | undefined;
  /** The remembered checksum of `path`, if any (the caller compares the identity). */
  fileDigest(path: string): FileDigest | undefined;
  rememberFileDigest(digest: FileDigest): void;
  close(): void;
}

const FLUSH_MS = 100;

/** Open (creating if needed) the run store in `dir`. Throws StoreError when it cannot. */
export function openRunStore(dir: string): RunStore {
  const file = path.join(dir, 'strand.db');
  let db: Database.Database;
  try {
    mkdirSync(dir, { recursive: true });
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
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
  cwd: string | null;
  executor: string | null;
  executor_detail: string | null;
  inputs: string | null;
  cache_dir: string | null;
  cache_mode: string | null;
  resumed_from: string | null;
  total: number;
  ok: number;
  failed: number;
  running: number;
  reused: number;
}

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
  exit_code: number | null;
  queued_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  work_dir: string | null;
  log_dir: string | null;
  argv: string | null;
  message: string | null;
  log_tail: string | null;
  cache_key: string | null;
  reused_from: string | null;
}

const RUN_COLUMNS = `
  r.*,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id) AS total,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.status = 'completed' AND t.exit_code = 0) AS ok,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id
     AND t.status NOT IN ('queued', 'running', 'cancelled') AND NOT (t.status = 'completed' AND t.exit_code = 0)) AS failed,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.status = 'running') AS running,
  (SELECT count(*) FROM task_attempts t WHERE t.run_id = r.id AND t.reused_from IS NOT NULL) AS reused`;

class SqliteRunStore implements RunStore {
  private pending: RunEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly stmt;
  private readonly applyBatch: (events: RunEvent[]) => void;

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {
    this.stmt = {
      createRun: db.prepare(
        `INSERT INTO runs (id, process_id, document_path, job_path, status, started_at, outdir, work_dir, pid, cwd, executor, executor_detail,
           inputs, cache_dir, cache_mode, resumed_from)
         VALUES (@id, @processId, @documentPath, @jobPath, 'running', @startedAt, @outdir, @workDir, @pid, @cwd, @executor, @executorDetail,
           @inputs, @cacheDir, @cacheMode, @resumedFrom)
         ON CONFLICT(id) DO UPDATE SET process_id = coalesce(excluded.process_id, process_id),
           document_path = excluded.document_path, job_path = excluded.job_path, outdir = excluded.outdir,
           work_dir = excluded.work_dir, pid = excluded.pid, cwd = excluded.cwd, status = 'running', finished_at = NULL,
           executor = excluded.executor, executor_detail = excluded.executor_detail, inputs = excluded.inputs,
           cache_dir = excluded.cache_dir, cache_mode = excluded.cache_mode, resumed_from = excluded.resumed_from`,
      ),
      runStarted: db.prepare(
        `INSERT INTO runs (id, process_id, status, started_at) VALUES (?, ?, 'running', ?)
         ON CONFLICT(id) DO UPDATE SET process_id = excluded.process_id, started_at = excluded.started_at`,
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
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, status, queued_at) VALUES (?, ?, ?, ?, 'queued', ?)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET status = 'queued', queued_at = excluded.queued_at`,
      ),
      taskNote: db.prepare(
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, status, message)
         VALUES (?, ?, ?, ?, 'queued', ?)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET message = excluded.message`,
      ),
      taskStarted: db.prepare(
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, status, started_at, work_dir, log_dir, argv)
         VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET status = 'running', started_at = excluded.started_at,
           work_dir = excluded.work_dir, log_dir = excluded.log_dir, argv = excluded.argv`,
      ),
      taskFinished: db.prepare(
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, status, exit_code, started_at, finished_at, message, log_tail)
         VALUES (@runId, @taskId, @attempt, @stepPath, @status, @exitCode, @startedAt, @finishedAt, @message, @logTail)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET status = excluded.status, exit_code = excluded.exit_code,
           started_at = coalesce(started_at, excluded.started_at), finished_at = excluded.finished_at,
           message = excluded.message, log_tail = excluded.log_tail`,
      ),
      taskReused: db.prepare(
        `INSERT INTO task_attempts (run_id, task_id, attempt, step_path, status, exit_code, queued_at, started_at, finished_at, work_dir,
           message, cache_key, reused_from)
         VALUES (@runId, @taskId, @attempt, @stepPath, 'completed', @exitCode, @at, @at, @at, @entry, @message, @cacheKey, @reusedFrom)
         ON CONFLICT(run_id, task_id, attempt) DO UPDATE SET status = 'completed', exit_code = excluded.exit_code,
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
      markRun: db.prepare(`UPDATE runs SET status = ?, finished_at = ?, message = ? WHERE id = ? AND status = 'running'`),
      markSteps: db.prepare(`UPDATE steps SET status = ?, finished_at = ? WHERE run_id = ? AND status = 'running'`),
      markAttempts: db.prepare(
        `UPDATE task_attempts SET status = ?, finished_at = ? WHERE run_id = ? AND status IN ('queued', 'running')`,
      ),
      list: db.prepare(`SELECT ${RUN_COLUMNS} FROM runs r ORDER BY r.started_at DESC, r.id DESC LIMIT ?`),
      byId: db.prepare(`SELECT ${RUN_COLUMNS} FROM runs r WHERE r.id = ?`),
      outputsTo: db.prepare(`SELECT outputs FROM runs WHERE outdir = ? AND status = 'success' AND outputs IS NOT NULL ORDER BY started_at`),
      idsByPrefix: db.prepare(`SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 5`),
      idsBySuffix: db.prepare(`SELECT id FROM runs WHERE substr(id, -?) = ? ORDER BY id LIMIT 5`),
      steps: db.prepare(`SELECT * FROM steps WHERE run_id = ? ORDER BY coalesce(started_at, finished_at), step_path`),
      attempts: db.prepare(
        `SELECT * FROM task_attempts WHERE run_id = ? ORDER BY coalesce(started_at, queued_at, finished_at), task_id, attempt`,
      ),
    };
    this.applyBatch = db.transaction((events: RunEvent[]) => {
      for (const e of events) this.apply(e);
    });
  }

  createRun(meta: RunMeta): void {
    this.flush();
    this.stmt.createRun.run({
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
      inputs: meta.inputs === undefined ? null : JSON.stringify(meta.inputs),
      cacheDir: meta.cacheDir ?? null,
      cacheMode: meta.cacheMode ?? null,
      resumedFrom: meta.resumedFrom ?? null,
    });
  }

  record(event: RunEvent): void {
    if (this.closed) throw new StoreError('the run store is closed');
    this.pending.push(event);
    if (event.type === 'run_finished') {
      this.flush();
      return;
    }
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

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.applyBatch(batch);
    } catch (err) {
      this.pending = batch.concat(this.pending);
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
          outputs: e.outputs === undefined ? null : JSON.stringify(e.outputs),
        });
        break;
      case 'step_started':
        s.stepStarted.run(e.runId, e.stepPath, iso(e.at));
        break;
      case 'step_finished':
        s.stepFinished.run(e.runId, e.stepPath, e.status, iso(e.at), e.message ?? null);
        break;
      case 'task_queued':
        s.taskQueued.run(e.runId, e.taskId, e.attempt, e.stepPath, iso(e.at));
        break;
      case 'task_started':
        s.taskStarted.run(e.runId, e.taskId, e.attempt, e.stepPath, iso(e.at), e.workDir, e.logDir, JSON.stringify(e.argv));
        break;
      case 'task_reused':
        s.taskReused.run({
          runId: e.runId,
          taskId: e.taskId,
          attempt: e.attempt,
          stepPath: e.stepPath,
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
        s.taskNote.run(e.runId, e.taskId, e.attempt, e.stepPath, e.message);
        break;
      case 'task_finished':
        s.taskFinished.run({
          runId: e.runId,
          taskId: e.taskId,
          attempt: e.attempt,
          stepPath: e.stepPath,
          status: e.result.reason,
          exitCode: e.result.exitCode,
          startedAt: iso(e.result.startedAt),
          finishedAt: iso(e.result.finishedAt ?? e.at),
          message: e.result.message,
          logTail: e.result.logTail ?? null,
        });
        break;
    }
  }

  outputsWrittenTo(outdir: string): unknown[] {
    this.flush();
    const rows = this.stmt.outputsTo.all(outdir) as Array<{ outputs: string }>;
    return rows.map((r) => JSON.parse(r.outputs) as unknown);
  }

  listRuns(opts: { limit?: number } = {}): RunSummary[] {
    this.flush();
    const rows = this.stmt.list.all(opts.limit ?? 20) as RunRow[];
    return rows.map((r) => summaryOf(r));
  }

  getRun(idOrPrefix: string): RunDetail | undefined {
    this.flush();
    const id = this.resolveId(idOrPrefix);
    if (id === undefined) return undefined;
    const row = this.stmt.byId.get(id) as RunRow | undefined;
    if (!row) return undefined;
    const steps = (this.stmt.steps.all(id) as StepRow[]).map(
      (s): StepRecord => ({
        stepPath: s.step_path,
        status: s.status,
        ...opt('startedAt', s.started_at),
        ...opt('finishedAt', s.finished_at),
        ...opt('message', s.message),
      }),
    );
    const attempts = (this.stmt.attempts.all(id) as AttemptRow[]).map(
      (a): AttemptRecord => ({
        taskId: a.task_id,
        stepPath: a.step_path,
        attempt: a.attempt,
        status: a.status,
        exitCode: a.exit_code,
        ...opt('queuedAt', a.queued_at),
        ...opt('startedAt', a.started_at),
        ...opt('finishedAt', a.finished_at),
        ...opt('workDir', a.work_dir),
        ...opt('logDir', a.log_dir),
        ...(a.argv ? { argv: JSON.parse(a.argv) as string[] } : {}),
        ...opt('message', a.message),
        ...opt('logTail', a.log_tail),
        ...opt('cacheKey', a.cache_key),
        ...(a.reused_from ? { reusedFrom: JSON.parse(a.reused_from) as ReusedFrom } : {}),
      }),
    );
    return {
      ...summaryOf(row),
      ...opt('jobPath', row.job_path),
      ...opt('workDir', row.work_dir),
      ...opt('cwd', row.cwd),
      ...opt('pid', row.pid),
      ...opt('executor', row.executor),
      ...(row.executor_detail ? { executorDetail: JSON.parse(row.executor_detail) as Record<string, unknown> } : {}),
      ...(row.outputs ? { outputs: JSON.parse(row.outputs) as unknown } : {}),
      ...(row.inputs ? { inputs: JSON.parse(row.inputs) as unknown } : {}),
      ...opt('cacheDir', row.cache_dir),
      ...opt('cacheMode', row.cache_mode as CacheMode | null),
      ...opt('resumedFrom', row.resumed_from),
      steps,
      attempts,
    };
  }

  /** Exact id, else a unique prefix, else a unique suffix (the random part users copy). */
  private resolveId(ref: string): string | undefined {
    if (ref === '') return undefined;
    if (this.stmt.byId.get(ref)) return ref;
    for (const stmt of [this.stmt.idsByPrefix, this.stmt.idsBySuffix]) {
      const ids = (stmt.all(ref.length, ref) as { id: string }[]).map((r) => r.id);
      if (ids.length === 1) return ids[0];
      if (ids.length > 1) {
        throw new StoreError(`run id "${ref}" is ambiguous: it matches ${ids.join(', ')}${ids.length === 5 ? ', ...' : ''}`);
      }
    }
    return undefined;
  }

  markInterrupted(runId: string, status: 'cancelled' | 'failed', message: string): void {
    this.flush();
    const at = new Date().toISOString();
    this.db.transaction(() => {
      this.stmt.markRun.run(status, at, message, runId);
      this.stmt.markSteps.run(status, at, runId);
      this.stmt.markAttempts.run(status === 'cancelled' ? 'cancelled' : 'lost', at, runId);
    })();
  }

  lastUnsuccessfulRun(): RunSummary | undefined {
    this.flush();
    const rows = this.stmt.lastUnsuccessful.all() as RunRow[];
    // A run still going (its process alive) is not one to resume.
    return rows.map((r) => summaryOf(r)).find((r) => r.status !== 'running');
  }

  fileDigest(p: string): FileDigest | undefined {
    return this.stmt.digest.get(p) as FileDigest | undefined;
  }

  rememberFileDigest(d: FileDigest): void {
    this.stmt.putDigest.run(d.path, d.identity, d.checksum, d.size, new Date().toISOString());
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

function summaryOf(r: RunRow): RunSummary {
  const status = displayStatus(r.status, r.pid);
  const end = r.finished_at ? Date.parse(r.finished_at) : status === 'running' ? Date.now() : undefined;
  const start = Date.parse(r.started_at);
  return {
    id: r.id,
    status,
    ...opt('processId', r.process_id),
    ...opt('documentPath', r.document_path),
    startedAt: r.started_at,
    ...opt('finishedAt', r.finished_at),
    ...(end !== undefined && Number.isFinite(start) ? { durationMs: Math.max(0, end - start) } : {}),
    tasks: { total: r.total, ok: r.ok, failed: r.failed, running: r.running, reused: r.reused },
    ...opt('outdir', r.outdir),
    ...opt('message', r.message),
  };
}

function displayStatus(status: string, pid: number | null): DisplayRunStatus {
  if (status === 'running' && pid !== null && pid !== process.pid && !processAlive(pid)) return 'interrupted';
  return status as RunStatus;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
