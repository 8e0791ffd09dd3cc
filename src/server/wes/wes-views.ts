/**
 * What the lab server answers over GA4GH WES 1.1.0, built from what the run service shows of a run
 * (pure: no I/O). Every object here has the shape of the schema of the same name in
 * spec/ga4gh/workflow-execution-service-1.1.0 (the route tests check each answer against it).
 *
 * - A run's state is wes-state.ts's mapping, fed with the typed reasons of the failed attempts that
 *   ended the run (the last attempt of each task that failed).
 * - A task is one attempt of one Strand task: its WES id is `<task id>.<attempt>` written with URL
 *   path characters only (wesTaskId), so a client can put it in a path as it is.
 * - Times are given as the spec writes them, `%Y-%m-%dT%H:%M:%SZ` (UTC, whole seconds).
 * - Lists are paged by keyset: a page token is the sort key of the last item given, so pages
 *   neither repeat nor skip items while the list does not change, and a run or task added in
 *   between lands in its place by the same order.
 */
import type { RunView } from '../../api/run-service.js';
import type { RecordedRequest } from '../../api/submitted/recorded-request.js';
import { TASK_REASONS, type TaskReason } from '../../executor/executor.js';
import type { AttemptRecord, RunDetail, RunSummary } from '../../store/run-store.js';
import { CWL_VERSIONS, ENGINE, RequestProblem } from './run-request.js';
import { WES_STATES, wesState, type RecordedRun, type WesState } from './wes-state.js';

export const WES_BASE_PATH = '/ga4gh/wes/v1';
export const WES_VERSION = '1.1.0';

// ---- the spec's objects -------------------------------------------------------------------------

export interface WesRunRequest {
  workflow_params?: Record<string, unknown>;
  workflow_type: string;
  workflow_type_version: string;
  tags?: Record<string, string>;
  workflow_engine_parameters?: Record<string, string>;
  workflow_engine?: string;
  workflow_engine_version?: string;
  workflow_url: string;
}

export interface WesRunStatus {
  run_id: string;
  state: WesState;
}

export interface WesRunSummary extends WesRunStatus {
  start_time?: string;
  end_time?: string;
  tags: Record<string, string>;
}

export interface WesLog {
  name?: string;
  cmd?: string[];
  start_time?: string;
  end_time?: string;
  stdout?: string;
  stderr?: string;
  exit_code?: number;
  system_logs?: string[];
}

export interface WesTaskLog extends WesLog {
  id: string;
  name: string;
}

export interface WesRunLog {
  run_id: string;
  request?: WesRunRequest;
  state: WesState;
  run_log: WesLog;
  task_logs_url: string;
  outputs?: Record<string, unknown>;
}

export interface WesRunListResponse {
  runs: WesRunSummary[];
  next_page_token: string;
}

export interface WesTaskListResponse {
  task_logs: WesTaskLog[];
  next_page_token: string;
}

export interface WesErrorResponse {
  msg: string;
  status_code: number;
}

export interface DefaultWorkflowEngineParameter {
  name: string;
  type: string;
  default_value: string;
}

export interface WesServiceInfo {
  id: string;
  name: string;
  type: { group: string; artifact: string; version: string };
  description?: string;
  organization: { name: string; url: string };
  contactUrl?: string;
  documentationUrl?: string;
  createdAt?: string;
  updatedAt?: string;
  environment?: string;
  version: string;
  workflow_type_versions: Record<string, { workflow_type_version: string[] }>;
  supported_wes_versions: string[];
  supported_filesystem_protocols: string[];
  workflow_engine_versions: Record<string, { workflow_engine_version: string[] }>;
  default_workflow_engine_parameters: DefaultWorkflowEngineParameter[];
  system_state_counts: Record<string, number>;
  auth_instructions_url: string;
  tags: Record<string, string>;
}

// ---- times --------------------------------------------------------------------------------------

/** An ISO 8601 time as the spec writes it, `%Y-%m-%dT%H:%M:%SZ`; undefined for none or a bad one. */
export function wesTime(iso: string | undefined): string | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return undefined;
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- runs ---------------------------------------------------------------------------------------

const REASONS: ReadonlySet<string> = new Set(TASK_REASONS);

/**
 * The typed reasons of the attempts whose failure ended the run: each failed attempt that no later
 * attempt of its task followed (a retried failure did not end anything).
 */
export function endingFailures(attempts: readonly AttemptRecord[]): TaskReason[] {
  return attempts.filter((a) => a.phase === 'failed' && a.retried !== true && REASONS.has(a.status)).map((a) => a.status as TaskReason);
}

/** What wesState needs of a run, from the run service's view of it. */
export function recordedRun(view: RunView): RecordedRun {
  return {
    status: view.run.status,
    failures: endingFailures(view.run.attempts),
    ...(view.leader ? { leader: view.leader } : {}),
    ...(view.cancelRequested ? { cancelRequested: true } : {}),
  };
}

export function runStatus(view: RunView): WesRunStatus {
  return { run_id: view.run.id, state: wesState(recordedRun(view)) };
}

/** One item of ListRuns: its state decided by the caller (from the run's view where it depends on more than its status). */
export function runSummary(run: RunSummary, state: WesState, tags: Record<string, string> = {}): WesRunSummary {
  const start = wesTime(run.startedAt);
  const end = wesTime(run.finishedAt);
  return { run_id: run.id, state, ...(start ? { start_time: start } : {}), ...(end ? { end_time: end } : {}), tags: { ...tags } };
}

/** Whether a run's WES state depends on more than its summary says (its leader, a cancel, its failed tasks). */
export function stateNeedsDetail(run: Pick<RunSummary, 'status'>): boolean {
  return run.status === 'running' || run.status === 'failed';
}

/** The state of a run from its summary alone, for runs where stateNeedsDetail is false. */
export function summaryState(run: Pick<RunSummary, 'status'>): WesState {
  return wesState({ status: run.status, failures: [] });
}

/**
 * The RunRequest a run was submitted with, as the spec writes it (attachments are not part of it):
 * the request as the run kept it (api/submitted/recorded-request.ts: credentials redacted,
 * workflow_params absent when they were too large to keep; its notes say so, in runLog).
 */
export function wesRequest(r: RecordedRequest): WesRunRequest {
  return {
    ...(r.workflowParams !== undefined ? { workflow_params: r.workflowParams } : {}),
    workflow_type: r.workflowType,
    workflow_type_version: r.workflowTypeVersion,
    tags: { ...r.tags },
    workflow_engine_parameters: { ...r.workflowEngineParameters },
    ...(r.workflowEngine !== undefined ? { workflow_engine: r.workflowEngine } : {}),
    ...(r.workflowEngineVersion !== undefined ? { workflow_engine_version: r.workflowEngineVersion } : {}),
    workflow_url: r.workflowUrl,
  };
}

/** The URLs this server hands out for one run, under its WES base (`https://host/ga4gh/wes/v1`). */
export function runLinks(base: string, runId: string): { stdout: string; stderr: string; tasks: string } {
  const run = `${base}/runs/${encodeURIComponent(runId)}`;
  return { stdout: `${run}/logs/stdout`, stderr: `${run}/logs/stderr`, tasks: `${run}/tasks` };
}

/**
 * The workflow's name: its file name and, when the process id names one, the process in it
 * (`align.cwl#main`). Never the server's directory it ran from.
 */
export function workflowName(run: Pick<RunDetail, 'id' | 'processId' | 'documentPath'>): string {
  const fromPath = (p: string | undefined) => p?.split('#')[0]?.split(/[/\\]/).filter(Boolean).at(-1);
  const file = fromPath(run.documentPath) ?? fromPath(run.processId);
  const fragment = run.processId?.includes('#') ? run.processId.slice(run.processId.lastIndexOf('#') + 1) : undefined;
  if (file === undefined) return fragment ?? run.id;
  return fragment ? `${file}#${fragment}` : file;
}

/**
 * GetRunLog's answer. `base` is this server's WES base URL; `request` the RunRequest the run was
 * submitted with when it was kept (absent otherwise: nothing is made up); what of it was not kept
 * as sent is said in run_log.system_logs (`request: ...`). The task list is behind
 * task_logs_url (task_logs is deprecated in 1.1 and left out).
 */
export function runLog(view: RunView, base: string, request?: RecordedRequest): WesRunLog {
  const { run } = view;
  const links = runLinks(base, run.id);
  const start = wesTime(run.startedAt);
  const end = wesTime(run.finishedAt);
  const requestNotes = (request?.notes ?? []).map((n) => `request: ${n}`);
  const systemLogs = [run.message, ...view.notes, ...requestNotes].filter((s): s is string => typeof s === 'string' && s !== '');
  const log: WesLog = {
    name: workflowName(run),
    ...(start ? { start_time: start } : {}),
    ...(end ? { end_time: end } : {}),
    stdout: links.stdout,
    stderr: links.stderr,
    ...(systemLogs.length ? { system_logs: systemLogs } : {}),
  };
  const outputs = run.outputs;
  return {
    run_id: run.id,
    ...(request ? { request: wesRequest(request) } : {}),
    state: wesState(recordedRun(view)),
    run_log: log,
    task_logs_url: links.tasks,
    ...(outputs !== null && typeof outputs === 'object' && !Array.isArray(outputs) ? { outputs: outputs as Record<string, unknown> } : {}),
  };
}

// ---- tasks --------------------------------------------------------------------------------------

/**
 * A task attempt's WES id: its task id with `/` written `.` and any other character outside
 * `A-Z a-z 0-9 _ -` as `~XX` per UTF-8 byte, then `.` and the attempt number
 * (`main/align/0`, attempt 2 -> `main.align.0.2`). Two attempts never share one.
 */
export function wesTaskId(taskId: string, attempt: number): string {
  let out = '';
  for (const ch of taskId) {
    if (/^[A-Za-z0-9_-]$/.test(ch)) out += ch;
    else if (ch === '/') out += '.';
    else for (const b of Buffer.from(ch, 'utf8')) out += `~${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `${out}.${attempt}`;
}

/** The shape every WES task id of this service has (checked before one is looked up). */
export const WES_TASK_ID = /^[A-Za-z0-9_.~-]{1,4096}$/;

/** One attempt as a WES TaskLog: its times, command, exit code, and what Strand knows of how it ended. */
export function taskLog(a: AttemptRecord): WesTaskLog {
  const start = wesTime(a.startedAt);
  const end = wesTime(a.finishedAt);
  return {
    id: wesTaskId(a.taskId, a.attempt),
    name: a.taskId,
    ...(a.argv ? { cmd: [...a.argv] } : {}),
    ...(start ? { start_time: start } : {}),
    ...(end ? { end_time: end } : {}),
    ...(typeof a.exitCode === 'number' ? { exit_code: a.exitCode } : {}),
    system_logs: attemptSystemLogs(a),
  };
}

function attemptSystemLogs(a: AttemptRecord): string[] {
  const lines = [`step: ${a.stepPath}`, `attempt: ${a.attempt}`, `phase: ${a.phase}`];
  if (REASONS.has(a.status)) lines.push(`reason: ${a.status}`);
  if (a.retried) lines.push('retried: a later attempt of this task followed');
  if (a.message) lines.push(`message: ${a.message}`);
  if (a.image) lines.push(`image: ${a.image}`);
  const where = a.native ? Object.entries(a.native).filter(([, v]) => typeof v === 'string' && v !== '') : [];
  if (where.length) lines.push(`ran as: ${where.map(([k, v]) => `${k} ${String(v)}`).join(', ')}`);
  if (a.reusedFrom) {
    const from = a.reusedFrom.runId ? ` (made by run ${a.reusedFrom.runId}${a.reusedFrom.taskId ? ` task ${a.reusedFrom.taskId}` : ''})` : '';
    lines.push(`reused from the task cache${from}`);
  }
  if (a.phase === 'failed' && a.logTail) lines.push(`last lines of stderr:\n${a.logTail}`);
  return lines;
}

/** The order tasks are listed in: when the attempt entered the run (its queue time, which never changes), then its WES id. */
export function taskSortKey(a: AttemptRecord): [string, string] {
  return [a.queuedAt ?? a.startedAt ?? a.finishedAt ?? '', wesTaskId(a.taskId, a.attempt)];
}

/** A run's attempts as TaskLogs, in ListTasks order. */
export function taskLogsInOrder(run: Pick<RunDetail, 'attempts'>): Array<{ key: [string, string]; log: WesTaskLog }> {
  return run.attempts
    .map((a) => ({ key: taskSortKey(a), log: taskLog(a) }))
    .sort((x, y) => compareKeys(x.key, y.key));
}

/** The order runs are listed in: newest first by start time, then by id (descending too). */
export function runSortKey(r: Pick<RunSummary, 'id' | 'startedAt'>): [string, string] {
  return [r.startedAt, r.id];
}

// ---- pages --------------------------------------------------------------------------------------

export const MAX_PAGE_SIZE = 1000;

export interface PageQuery {
  pageSize: number;
  /** The sort key after which the page starts; undefined: the first page. */
  after?: string[];
}

/** Which list a page token belongs to: a token of one is refused by the other. */
export type PageKind = 'runs' | 'tasks';

/**
 * Read `page_size` and `page_token` from a query. A page_size must be a positive integer (one over
 * MAX_PAGE_SIZE gives MAX_PAGE_SIZE: the spec lets a page hold fewer); a page_token must be one
 * this service gave for this kind of list. Anything else is a RequestProblem (400).
 */
export function readPageQuery(query: URLSearchParams, kind: PageKind, defaultSize: number): PageQuery {
  const sizes = query.getAll('page_size');
  const tokens = query.getAll('page_token');
  if (sizes.length > 1) throw new RequestProblem('page_size: given more than once');
  if (tokens.length > 1) throw new RequestProblem('page_token: given more than once');
  let pageSize = defaultSize;
  const size = sizes[0];
  if (size !== undefined && size !== '') {
    if (!/^[0-9]{1,16}$/.test(size) || Number(size) < 1) throw new RequestProblem(`page_size: a positive whole number (at most ${MAX_PAGE_SIZE} are given in one page)`);
    pageSize = Math.min(Number(size), MAX_PAGE_SIZE);
  }
  const token = tokens[0];
  if (token === undefined || token === '') return { pageSize };
  return { pageSize, after: decodePageToken(token, kind) };
}

export function encodePageToken(kind: PageKind, key: readonly string[]): string {
  return Buffer.from(JSON.stringify([kind, ...key]), 'utf8').toString('base64url');
}

function decodePageToken(token: string, kind: PageKind): string[] {
  const bad = () => new RequestProblem(`page_token: not a token this service gave for its list of ${kind} (start again without one)`);
  if (token.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  const bytes = Buffer.from(token, 'base64url');
  // Only the token as it was written: base64url has no second spelling of the same bytes here.
  if (bytes.toString('base64url') !== token) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== kind || !parsed.every((x) => typeof x === 'string')) throw bad();
  return parsed.slice(1) as string[];
}

export function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? '';
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * One page of `items`, which are in the list's order by `key` (ascending, or descending with
 * `descending`): the items after the query's key, at most pageSize of them, and the token of the
 * next page: "" when no item follows (the spec: an empty string says there are no more).
 */
export function pageOf<T>(items: readonly T[], key: (t: T) => readonly string[], kind: PageKind, q: PageQuery, descending = false): { items: T[]; nextPageToken: string } {
  const order = (a: readonly string[], b: readonly string[]) => (descending ? -compareKeys(a, b) : compareKeys(a, b));
  const after = q.after;
  const start = after === undefined ? 0 : firstIndex(items, (t) => order(key(t), after) > 0);
  const page = items.slice(start, start + q.pageSize);
  const more = start + page.length < items.length;
  const last = page.at(-1);
  return { items: page, nextPageToken: more && last !== undefined ? encodePageToken(kind, key(last)) : '' };
}

function firstIndex<T>(items: readonly T[], test: (t: T) => boolean): number {
  const i = items.findIndex(test);
  return i === -1 ? items.length : i;
}

/** Runs in ListRuns order (newest first by start time, then id). */
export function runsInOrder<T extends Pick<RunSummary, 'id' | 'startedAt'>>(runs: readonly T[]): T[] {
  return [...runs].sort((a, b) => -compareKeys(runSortKey(a), runSortKey(b)));
}

// ---- service-info -------------------------------------------------------------------------------

export interface ServiceInfoOptions {
  /** Reverse domain name, unique to this server (`org.example.lab.strand`). */
  id: string;
  name: string;
  description?: string;
  organization: { name: string; url: string };
  contactUrl?: string;
  documentationUrl?: string;
  environment?: string;
  createdAt?: string;
  updatedAt?: string;
  /** Strand's version: the service's and its engine's. */
  version: string;
  /** Where a member learns how to get a token for this server. */
  authInstructionsUrl: string;
  /** URL schemes the server reads workflows and inputs from (attachments aside). Default: https, http, s3. */
  filesystemProtocols?: string[];
  /** The workflow_engine_parameters the submit path takes, with their defaults. Default: none. */
  engineParameters?: DefaultWorkflowEngineParameter[];
  /** More key/value facts about the server, added to Strand's own. */
  tags?: Record<string, string>;
}

/** Strand's own service-info tags: facts a client can act on. */
export function serviceTags(limits: { fileBytes: number; totalBytes: number; files: number }): Record<string, string> {
  return {
    'strand.run_request.json_body': 'accepted: POST /runs takes an application/json RunRequest (without attachments) as well as multipart/form-data',
    'strand.attachment.max_bytes': String(limits.fileBytes),
    'strand.attachments.max_total_bytes': String(limits.totalBytes),
    'strand.attachments.max_count': String(limits.files),
    'strand.task_id': '<task id with / as .>.<attempt>: one WES task per attempt of a Strand task',
  };
}

/**
 * GetServiceInfo's answer. `counts`: the asking member's runs by WES state (every state is given,
 * zero when none): a member is never told of others' runs, not even how many.
 */
export function serviceInfo(o: ServiceInfoOptions, counts: Partial<Record<WesState, number>>, tags: Record<string, string> = {}): WesServiceInfo {
  const stateCounts: Record<string, number> = {};
  for (const s of WES_STATES) stateCounts[s] = counts[s] ?? 0;
  return {
    id: o.id,
    name: o.name,
    type: { group: 'org.ga4gh', artifact: 'wes', version: WES_VERSION },
    description: o.description ?? `Strand ${o.version}: CWL workflows (${CWL_VERSIONS.join(', ')}) run as Kubernetes Jobs, one namespace per member`,
    organization: { name: o.organization.name, url: o.organization.url },
    ...(o.contactUrl ? { contactUrl: o.contactUrl } : {}),
    ...(o.documentationUrl ? { documentationUrl: o.documentationUrl } : {}),
    ...(o.environment ? { environment: o.environment } : {}),
    ...(o.createdAt ? { createdAt: o.createdAt } : {}),
    ...(o.updatedAt ? { updatedAt: o.updatedAt } : {}),
    version: o.version,
    workflow_type_versions: { CWL: { workflow_type_version: [...CWL_VERSIONS] } },
    supported_wes_versions: [WES_VERSION],
    supported_filesystem_protocols: [...(o.filesystemProtocols ?? ['https', 'http', 's3'])],
    workflow_engine_versions: { [ENGINE]: { workflow_engine_version: [o.version] } },
    default_workflow_engine_parameters: (o.engineParameters ?? []).map((p) => ({ ...p })),
    system_state_counts: stateCounts,
    auth_instructions_url: o.authInstructionsUrl,
    tags: { ...tags, ...(o.tags ?? {}) },
  };
}

export function errorResponse(status: number, msg: string): WesErrorResponse {
  return { msg, status_code: status };
}
