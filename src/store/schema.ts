/**
 * The run store's schema, as ordered migrations. `PRAGMA user_version` holds how many have been
 * applied; opening a store applies the missing ones. Never edit a released migration: add one.
 */
import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';

export const MIGRATIONS: readonly string[] = [
  // 1: runs, steps, task attempts
  `
  CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    process_id    TEXT,
    document_path TEXT,
    job_path      TEXT,
    status        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    outdir        TEXT,
    work_dir      TEXT,
    message       TEXT,
    outputs       TEXT,
    pid           INTEGER,
    cwd           TEXT
  );
  CREATE INDEX runs_started ON runs (started_at);
  CREATE TABLE steps (
    run_id      TEXT NOT NULL,
    step_path   TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    message     TEXT,
    PRIMARY KEY (run_id, step_path)
  );
  CREATE TABLE task_attempts (
    run_id      TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    step_path   TEXT NOT NULL,
    status      TEXT NOT NULL,
    exit_code   INTEGER,
    queued_at   TEXT,
    started_at  TEXT,
    finished_at TEXT,
    work_dir    TEXT,
    log_dir     TEXT,
    argv        TEXT,
    message     TEXT,
    log_tail    TEXT,
    PRIMARY KEY (run_id, task_id, attempt)
  );
  `,
  // 2: where a run's tasks ran (executor name; context/namespace as JSON), for `strand logs -f`
  `
  ALTER TABLE runs ADD COLUMN executor TEXT;
  ALTER TABLE runs ADD COLUMN executor_detail TEXT;
  `,
  // 3: the task cache and resume (docs/caching.md). A run remembers its input object, its cache
  // directory and mode, and which run it resumes; an attempt remembers its cache key and, when its
  // result was reused instead of run, where that result came from (JSON ReusedFrom). file_digests
  // remembers checksums by path + identity so big inputs are not hashed again on every run.
  `
  ALTER TABLE runs ADD COLUMN inputs TEXT;
  ALTER TABLE runs ADD COLUMN cache_dir TEXT;
  ALTER TABLE runs ADD COLUMN cache_mode TEXT;
  ALTER TABLE runs ADD COLUMN resumed_from TEXT;
  ALTER TABLE task_attempts ADD COLUMN cache_key TEXT;
  ALTER TABLE task_attempts ADD COLUMN reused_from TEXT;
  CREATE INDEX task_attempts_cache_key ON task_attempts (cache_key) WHERE cache_key IS NOT NULL;
  CREATE TABLE file_digests (
    path        TEXT PRIMARY KEY,
    identity    TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    size        INTEGER NOT NULL,
    computed_at TEXT NOT NULL
  );
  `,
  // 4 (dashboard and reports): who ran it and the workflow graph; per attempt the graph node it
  // belongs to, requested resources, image, measured usage, backend names (Job/pod/node) and every
  // note (quota waits, OOM retries); indexes for the dashboard's pages over big stores.
  `
  ALTER TABLE runs ADD COLUMN owner TEXT;
  ALTER TABLE runs ADD COLUMN graph TEXT;
  ALTER TABLE task_attempts ADD COLUMN node_path TEXT;
  ALTER TABLE task_attempts ADD COLUMN resources TEXT;
  ALTER TABLE task_attempts ADD COLUMN image TEXT;
  ALTER TABLE task_attempts ADD COLUMN usage TEXT;
  ALTER TABLE task_attempts ADD COLUMN native TEXT;
  ALTER TABLE task_attempts ADD COLUMN notes TEXT;
  CREATE INDEX runs_started_id ON runs (started_at, id);
  CREATE INDEX runs_status_started ON runs (status, started_at, id);
  CREATE INDEX task_attempts_node_queued ON task_attempts (run_id, node_path, queued_at);
  CREATE INDEX task_attempts_queued ON task_attempts (run_id, queued_at);
  -- Covers the per-run counts and per-node states (no table lookups over a big run's attempts).
  CREATE INDEX task_attempts_state ON task_attempts (run_id, task_id, attempt, status, exit_code, node_path, step_path, reused_from);
  `,
  // 5: the engine's verdict per attempt (AttemptPhase, engine/events.ts), recorded once and read by
  // every front end. Earlier attempts get the phase the old rule gave them (exit code 0 succeeded).
  // A run's heartbeat: the last time its process said it was alive (liveness without a pid).
  `
  ALTER TABLE task_attempts ADD COLUMN phase TEXT;
  UPDATE task_attempts SET phase = CASE
    WHEN reused_from IS NOT NULL THEN 'reused'
    WHEN status = 'queued' THEN 'queued'
    WHEN status = 'running' THEN 'running'
    WHEN status = 'cancelled' THEN CASE WHEN started_at IS NULL THEN 'never_started' ELSE 'cancelled' END
    WHEN status = 'completed' AND exit_code = 0 THEN 'succeeded'
    ELSE 'failed' END;
  CREATE INDEX task_attempts_phase ON task_attempts (run_id, task_id, attempt, phase, node_path, step_path);
  ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
  `,
  // 6: the options that shaped a run (--no-container, --executor, --retries, ...; JSON
  // RunOptions), so that `strand run --resume` runs it again the same way.
  `
  ALTER TABLE runs ADD COLUMN options TEXT;
  `,
];

/** Bring `db` up to the latest schema version. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  assertRunStore(db);
  if (current > MIGRATIONS.length) {
    throw new StoreError(
      `the run store has schema version ${current} but this Strand knows only ${MIGRATIONS.length}; upgrade Strand or use another --store`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v] as string;
    db.transaction(() => {
      db.exec(sql);
      if (v === 0) db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** `PRAGMA application_id` of run stores made since it was set ('STRN'); older ones have 0. */
export const APPLICATION_ID = 0x5354524e;

/** A database of another program is never adopted (no table added to it, nothing changed). */
export function assertRunStore(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  const app = db.pragma('application_id', { simple: true }) as number;
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
  const foreign =
    (app !== 0 && app !== APPLICATION_ID) ||
    (version === 0 && tables.length > 0) ||
    (version > 0 && !(tables.includes('runs') && tables.includes('task_attempts')));
  if (foreign) {
    const what = tables.length ? `it has tables ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', ...' : ''}` : `its application id is ${app}`;
    throw new StoreError(
      `${db.name} is not a Strand run store (${what}); Strand does not change it: choose another with --store DIR (or STRAND_STORE)`,
    );
  }
}
