/**
 * The boundary between the engine and the places tasks run.
 *
 * The engine builds a TaskSpec (argv already built, paths already mapped) and hands it to an
 * Executor; the executor runs it somewhere and resolves a TaskResult. A TaskResult is data, not an
 * exception: a failed tool is `{ reason: 'failed', exitCode: 3 }`, not a throw. An executor never
 * reads CWL; the engine never imports an executor's internals.
 *
 * Admission (how many tasks run at once, within which cores/RAM) belongs to the executor: the
 * engine may call run() for every ready task at once, and the executor queues what does not fit.
 */

import type { StorageSettings } from '../storage/index.js';

/** Why a task ended. */
export type TaskReason =
  | 'completed' // the process exited; exitCode says with what (the engine maps it via successCodes)
  | 'failed' // the task could not be run or failed for a reason that is not its exit code
  | 'oom_killed'
  | 'timed_out'
  | 'evicted'
  | 'image_unavailable'
  | 'unschedulable'
  | 'cancelled'
  | 'lost';

export const TASK_REASONS: readonly TaskReason[] = [
  'completed',
  'failed',
  'oom_killed',
  'timed_out',
  'evicted',
  'image_unavailable',
  'unschedulable',
  'cancelled',
  'lost',
];

/** A file or directory that must be visible to the task at `taskPath`. */
export interface Mount {
  hostPath: string;
  taskPath: string;
  readOnly: boolean;
}

export interface TaskResources {
  /** CPU cores requested (may be fractional). */
  cores: number;
  /** Upper bound on cores, when the tool gave one. */
  coresMax?: number;
  /** Memory in MiB requested. */
  ramMiB: number;
  ramMaxMiB?: number;
  tmpdirMiB: number;
  outdirMiB: number;
  gpus?: number;
}

export interface TaskSpec {
  /** Unique within the run, stable across restarts: e.g. `main/align/3` (step path + scatter index). */
  taskId: string;
  runId: string;
  /** Workflow step path, e.g. `main/call_variants`; the tool id for a lone tool. */
  stepPath: string;
  attempt: number;
  /** Full argument vector; argv[0] is looked up on PATH when it has no slash. */
  argv: string[];
  /** The complete environment of the process (nothing is inherited implicitly). */
  env: Record<string, string>;
  /** Working directory as the task sees it (CWL runtime.outdir). */
  workDir: string;
  /** Scratch directory as the task sees it (CWL runtime.tmpdir). */
  tmpDir: string;
  /** Path of a file to connect to stdin, if any (task's view). */
  stdin?: string;
  /** Where stdout/stderr go (task's view); when absent they go to the task's log files. */
  stdout?: string;
  stderr?: string;
  /** Host directories and files the task must see, and where. Empty for host-path tasks. */
  mounts: Mount[];
  resources: TaskResources;
  /** Wall-clock limit in seconds (ToolTimeLimit); undefined or 0 means none. */
  timeLimitSeconds?: number;
  /** Container image (DockerRequirement dockerPull or dockerImageId); undefined runs on the host. */
  image?: string;
  /**
   * Where the image sees `workDir` (DockerRequirement.dockerOutputDirectory); default: the same
   * path. Only with `image`; `workDir` stays the host directory.
   */
  containerWorkDir?: string;
  networkAccess: boolean;
  /** Host directory where the executor writes the task's own logs (stdout/stderr when not redirected). */
  logDir: string;
}

export interface TaskResult {
  reason: TaskReason;
  /** The process exit code when it exited; null when it never ran or was killed by a signal. */
  exitCode: number | null;
  /**
   * The signal that ended the process, when one from outside Strand did (reason `failed`): a task
   * that ran and was killed, as opposed to one that could not be started. The engine retries it.
   */
  signal?: string;
  /** Human-readable: what happened, naming the step and, where relevant, the image or pod. */
  message: string;
  startedAt?: Date;
  finishedAt?: Date;
  /** Last lines of the task's stderr, for failure messages. */
  logTail?: string;
  /** What the task used, when the executor measured it (absent: not measured). */
  usage?: TaskUsage;
  /** Where it ran, in the backend's own names (e.g. a Kubernetes Job, pod and node). */
  native?: NativeIds;
}

/** Resources a task used, measured by the executor while it ran. */
export interface TaskUsage {
  /** CPU time (user + system) of the task's processes, in seconds. */
  cpuSeconds: number;
  /** Largest resident memory seen, in MiB. */
  peakRssMiB: number;
  /** Bytes read and written through read/write calls (/proc/<pid>/io), when readable. */
  rcharBytes?: number;
  wcharBytes?: number;
  /** How it was measured, e.g. `proc` (sampled /proc of the task's process group). */
  source: string;
  /** How many samples it rests on. */
  samples: number;
  /** Seconds from the task's start to the last sample: the span `cpuSeconds` covers. */
  sampledSeconds?: number;
}

export interface NativeIds {
  job?: string;
  pod?: string;
  node?: string;
}

/** The workflow step a task belongs to: its path without scatter indices (`main/align/3` -> `main/align`). */
export function stepOf(taskPath: string): string {
  return taskPath.replace(/(\/\d+)+$/, '') || taskPath;
}

/**
 * How a task ended, in a few words for a line that already names the task: `exit code 3`,
 * `command not found: samtools`, `timed_out: exceeded its time limit of 60 s and was stopped`.
 * The reason is said once (not `failed: failed`), and a message's leading `task <id>` is dropped.
 */
export function taskEndText(r: TaskResult, taskId: string, stepPath?: string): string {
  if (r.reason === 'completed') return `exit code ${r.exitCode ?? '?'}`;
  let msg = r.message.trim();
  // The caller names the task (and its step) already: a message that starts with either is not
  // repeated ("task index failed: index: pod ..." said the step twice).
  const names = [taskId, ...(stepPath !== undefined && stepPath !== taskId ? [stepPath] : [])];
  for (const lead of names.flatMap((n) => [`task ${n}: `, `task ${n} `, `${n}: `])) {
    if (msg.startsWith(lead)) {
      msg = msg.slice(lead.length);
      break;
    }
  }
  if (msg === '' || msg === r.reason) return r.reason;
  return r.reason === 'failed' || msg.startsWith(r.reason) ? msg : `${r.reason}: ${msg}`;
}

export interface Executor {
  readonly name: string;
  /**
   * True when tasks never see the host filesystem as it is (a cluster): the engine then lists
   * every input in `mounts` even for tasks without an image.
   */
  readonly isolated?: boolean;
  /**
   * At most how many tasks it runs at once (local: its cores; a cluster: --max-parallel). The
   * engine prepares only a few tasks more than that ahead of it (engine/tool/task-window.ts).
   */
  readonly slots?: number;
  /** Directory under which the run's task directories must live (e.g. a cluster's shared workspace). */
  readonly workRoot?: string;
  /**
   * The directory every task can write, as Strand sees it (a cluster's shared workspace): what
   * Strand keeps from tasks, such as the task cache's key, must not be under it.
   */
  readonly sharedRoot?: string;
  /**
   * The image a task without one of its own (no DockerRequirement, or --no-container) runs in
   * (a cluster's `kubernetes.defaultImage`); undefined when such a task runs on the host. Part of
   * the task cache's key: changing it re-runs the tasks that used it.
   */
  readonly defaultImage?: string;
  /** Where tasks run, for the run record (e.g. `{ context, namespace }`). */
  readonly detail?: Record<string, unknown>;
  /**
   * Directories where the backend keeps its own copies of a run's inputs (a cluster's workspace
   * holds copies of inputs that live elsewhere): tasks see an input there, so an output naming a
   * file there names one of the run's inputs.
   */
  inputCopiesOf?(runId: string): string[];
  /**
   * True when this backend's tasks fetch the object at `location` themselves, with their own
   * credentials (Kubernetes object-store mode, the run's bucket): Strand then neither downloads
   * nor uploads it, and gives the task a stand-in (staging/stand-ins.ts) in its place.
   */
  readsInPlace?(location: { bucket: string; key: string }): boolean;
  /**
   * Run one task to the end. Never rejects for a task failure: it resolves a TaskResult.
   * When `signal` aborts, the executor stops the task (and its children) and resolves
   * `{ reason: 'cancelled' }`. `onStarted` is called once the task leaves the executor's queue
   * and its process actually starts. `onNote` carries news about a task still waiting or running
   * (an unschedulable pod, a quota wait, a retry), for the run's status.
   */
  run(spec: TaskSpec, signal: AbortSignal, onStarted?: () => void, onNote?: (message: string) => void): Promise<TaskResult>;
  /** Stop everything still running and release resources. Idempotent. */
  shutdown(): Promise<void>;
}

export interface ExecutorOptions {
  /** Cores the executor may use at once (local: default all cores). */
  parallel?: number;
  /** RAM in MiB the executor may hand out at once (local: default total memory). */
  ramMiB?: number;
  /** Local executor: the container runtime, `podman`, `docker` or a client's path (default: the first that works). */
  containerRuntime?: string;
  /** The backend's own section of the config file (e.g. `kubernetes:`), validated by the backend. */
  settings?: unknown;
  /** Where `settings` came from, for error messages (a file name, or "flags"). */
  settingsSource?: string;
  /** Object store settings (strand.yaml `storage:`), for backends that keep task files in a bucket. */
  storage?: StorageSettings;
  /** Overrides from command-line flags, applied over `settings` (e.g. namespace, maxParallel). */
  overrides?: Record<string, unknown>;
  /** Where a backend reports retries, reconnects and scheduling news (stderr in the CLI). */
  log?: { info(msg: string): void; warn(msg: string): void };
  /** Dry run: print what would be submitted to `output` instead of running anything. */
  dryRun?: boolean;
  output?: NodeJS.WritableStream;
}
