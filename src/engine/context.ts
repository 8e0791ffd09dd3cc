/**
 * CONTRACT between the workflow engine and the tool layer.
 *
 * `runProcess` (src/engine/run-process.ts) runs any Process: Workflow via the workflow engine,
 * CommandLineTool / ExpressionTool via the tool layer, Operation -> error. Everything a process
 * run needs from its surroundings is in RuntimeContext.
 */
import type { TaskCacheUse } from '../cache/task-cache.js';
import type { Executor } from '../executor/executor.js';
import type { SecretMask } from '../model/secrets.js';
import type { DocumentPaths } from '../staging/index.js';
import type { CwlObject, Process, Requirement } from '../model/types.js';
import type { RunEventSink } from './events.js';
import type { RetrySettings } from './tool/task-retry.js';
import type { TaskWindow } from './tool/task-window.js';
import type { DefaultValues } from '../model/default-values.js';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  debug(msg: string): void;
}

export interface RuntimeContext {
  runId: string;
  executor: Executor;
  emit: RunEventSink;
  signal: AbortSignal;
  /** Directory under which every task gets a fresh work dir (outdir) and tmp dir. */
  workRoot: string;
  /** Directory for task logs: `<logRoot>/<taskId>/stdout.log|stderr.log`. */
  logRoot: string;
  /** --no-container: ignore DockerRequirement and run on the host. */
  noContainer: boolean;
  log: Logger;
  /** The task cache, when this run uses one (docs/caching.md). */
  cache?: TaskCacheUse;
  /**
   * The run's secret values (cwltool:Secrets): processes with a Secrets hint add theirs when they
   * start; events, log lines and cache keys must show none of them (engine/secrets.ts).
   */
  secrets?: SecretMask;
  /**
   * The rule for files the document names (defaults, valueFrom, InitialWorkDir, secondaryFiles
   * expressions): inside the document's directory tree or already part of the run
   * (staging/document-paths.ts). runDocument always sets it; without it nothing is checked.
   */
  documentPaths?: DocumentPaths;
  /** This run's own values for defaults that name remote data (model/default-values.ts). */
  defaults?: DefaultValues;
  /** How failed tasks are retried (engine/tool/task-retry.ts); none when absent. */
  retry?: RetrySettings;
  /**
   * After a task fails: `stop` cancels the rest of the run (the default); `continue` runs every
   * step that does not need the failed one's outputs, then fails naming every failure (cwltool's
   * --on-error).
   */
  onError?: 'stop' | 'continue';
  /** How many tasks are prepared ahead of the executor (task-window.ts); unbounded when absent. */
  taskWindow?: TaskWindow;
}

export interface Invocation {
  process: Process;
  /** The job object (inputs), not yet validated: runProcess fills defaults and checks types. */
  inputs: CwlObject;
  /** Path of this invocation in the run, e.g. `main`, `main/align`, `main/align/3`. */
  path: string;
  /** Requirements and hints inherited from enclosing workflows/steps (outermost first). */
  inheritedRequirements: Requirement[];
  inheritedHints: Requirement[];
}
