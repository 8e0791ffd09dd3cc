/**
 * Typed errors. Every error Strand raises on purpose is a StrandError with a stable `code`;
 * the CLI maps codes to exit codes and prints `message` (never a stack trace) unless --debug.
 */

/** Where in a source document something is: 1-based line and column. */
export interface SourceLocation {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  /** Field path inside the document, e.g. `steps[2].in.reads.source`. */
  readonly fieldPath?: string;
}

/** `file:line:col: field.path`, the file relative to the working directory when it is inside it. */
export function formatLocation(loc: SourceLocation | undefined): string {
  if (!loc) return '';
  const cwd = typeof process !== 'undefined' ? process.cwd() + '/' : undefined;
  let s = cwd && loc.file.startsWith(cwd) ? loc.file.slice(cwd.length) : loc.file;
  if (loc.line !== undefined) s += `:${loc.line}`;
  if (loc.line !== undefined && loc.column !== undefined) s += `:${loc.column}`;
  if (loc.fieldPath) s += `: ${loc.fieldPath}`;
  return s;
}

export type StrandErrorCode =
  | 'usage'
  | 'validation'
  | 'input'
  | 'unsupported_requirement'
  | 'expression'
  | 'workflow_failed'
  | 'task_failed'
  | 'cancelled'
  | 'store'
  | 'storage'
  | 'internal';

export abstract class StrandError extends Error {
  abstract readonly code: StrandErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line usage (exit 2). */
export class UsageError extends StrandError {
  readonly code = 'usage' as const;
}

export interface Problem {
  readonly detail: string;
  readonly location?: SourceLocation;
}

/** `file:line:col: field.path: what is wrong` */
export function formatProblem(p: Problem): string {
  return p.location ? `${formatLocation(p.location)}: ${p.detail}` : p.detail;
}

/**
 * An invalid CWL document, with where it is wrong. A validation pass may find several problems
 * at once: `problems` has them all (the first is `detail`/`location`), one line each in `message`.
 */
export class ValidationError extends StrandError {
  readonly code = 'validation' as const;
  readonly problems: readonly Problem[];
  constructor(
    readonly detail: string,
    readonly location?: SourceLocation,
    options?: { cause?: unknown; more?: readonly Problem[] },
  ) {
    const problems = [{ detail, location }, ...(options?.more ?? [])];
    super(problems.map(formatProblem).join('\n'), options);
    this.problems = problems;
  }
}

/** An input object that does not fit the process's inputs (missing file, wrong type...). */
export class InputError extends StrandError {
  readonly code = 'input' as const;
  constructor(
    message: string,
    readonly parameter?: string,
  ) {
    super(message);
  }
}

/** A requirement Strand does not implement (exit 33, cwltool's convention). */
export class UnsupportedRequirementError extends StrandError {
  readonly code = 'unsupported_requirement' as const;
  constructor(
    readonly requirement: string,
    message?: string,
  ) {
    super(message ?? `unsupported requirement: ${requirement}`);
  }
}

/** A CWL expression or parameter reference that failed to evaluate. */
export class ExpressionError extends StrandError {
  readonly code = 'expression' as const;
  constructor(
    message: string,
    readonly expression: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A task (one tool invocation) ended in permanent failure. */
export class TaskFailedError extends StrandError {
  readonly code = 'task_failed' as const;
  constructor(
    message: string,
    readonly stepPath: string,
    readonly reason: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

/**
 * Steps failed in a run that went on after its first failure (--on-error continue): every
 * failure (its own error each, scatter jobs and sub-workflows flattened), the steps that did not
 * run because they needed a failed step's outputs, and the outputs that could be computed (null
 * where a failure left a hole), which cwltool delivers too.
 */
export class StepsFailedError extends StrandError {
  readonly code = 'task_failed' as const;
  constructor(
    readonly failures: readonly Error[],
    readonly notRun: readonly string[],
    readonly partialOutputs?: Readonly<Record<string, unknown>>,
    what?: string,
  ) {
    super(stepsFailedMessage(failures, notRun, what));
  }
}

function stepsFailedMessage(failures: readonly Error[], notRun: readonly string[], what?: string): string {
  const n = failures.length;
  const head = `${what ? `${what}: ` : ''}${n} ${n === 1 ? 'failure' : 'failures'} (the run went on with --on-error continue):`;
  const lines = failures.map((f) => `  - ${f.message.replace(/\n/g, '\n    ')}`);
  const skipped = notRun.length ? [`  not run, as they need outputs of failed steps: ${notRun.join(', ')}`] : [];
  return [head, ...lines, ...skipped].join('\n');
}

/** A workflow failed for a reason that is not a single task (e.g. a step's output missing). */
export class WorkflowFailedError extends StrandError {
  readonly code = 'workflow_failed' as const;
}

/**
 * The outputs could not all be put in --outdir (a full disk, a clash). Nothing there was replaced;
 * `sources` are paths where some of the outputs still are, which the run must not remove.
 */
export class OutputsNotDeliveredError extends WorkflowFailedError {
  constructor(
    message: string,
    readonly sources: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The run was cancelled (Ctrl-C, SIGTERM). */
export class CancelledError extends StrandError {
  readonly code = 'cancelled' as const;
}

/** The run store could not be opened or written. */
export class StoreError extends StrandError {
  readonly code = 'store' as const;
}

/** Why an object store (or http) location could not be used, in the user's words. */
export type StorageFailure =
  | 'no_bucket'
  | 'access_denied'
  | 'unreachable'
  | 'not_found'
  | 'interrupted'
  | 'bad_location'
  | 'exists'
  | 'other';

/**
 * A remote location (`s3://bucket/key`, `https://...`) could not be read or written. `message`
 * names the location and the cause; `reason` is for programs (retry decisions, exit codes).
 */
export class StorageError extends StrandError {
  readonly code = 'storage' as const;
  constructor(
    message: string,
    readonly location: string,
    readonly reason: StorageFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStrandError(e: unknown): e is StrandError {
  return e instanceof StrandError;
}

/** The one-line message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
