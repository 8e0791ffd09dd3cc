/**
 * GA4GH WES 1.1.0 over HTTP at `/ga4gh/wes/v1`: the eight operations of the spec, and the log URLs
 * its RunLog hands out, over the run service (which decides what each principal may see).
 *
 * | method | path                          | operation     |
 * |--------|-------------------------------|---------------|
 * | GET    | /service-info                 | GetServiceInfo |
 * | GET    | /runs                         | ListRuns      |
 * | POST   | /runs                         | RunWorkflow   |
 * | GET    | /runs/{id}                    | GetRunLog     |
 * | GET    | /runs/{id}/status             | GetRunStatus  |
 * | POST   | /runs/{id}/cancel             | CancelRun     |
 * | GET    | /runs/{id}/tasks              | ListTasks     |
 * | GET    | /runs/{id}/tasks/{task_id}    | GetTask       |
 * | GET    | /runs/{id}/logs/stdout        | the run's logs (text): its leader's, or its tasks' as saved |
 * | GET    | /runs/{id}/logs/stderr        | what Strand says about the run (text): its message and notes |
 *
 * Every request under the base path is authenticated first, service-info included (the spec
 * allows it open; this server says nothing to a caller it does not know, and service-info counts
 * the caller's own runs). Every error is an ErrorResponse `{msg, status_code}`: 400 a malformed
 * request (a RunWorkflow request, page_size, page_token, a run or task id of a shape this server
 * never gives), 401 no valid token (with `WWW-Authenticate: Bearer`), 403 not permitted, 404 a run
 * the caller may not see (the same answer as an id never used), an unknown task or path, 405 a
 * method a path does not take (with `Allow`), 500 anything else: its detail is logged with a
 * reference and never sent; 503 (with `Retry-After`) a token that cannot be checked now (the
 * identity provider unreachable). No error repeats a token or a request body.
 */
import { RUN_ID_PATTERN } from '../../api/run-id.js';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RunNotFoundError, type RunService, type RunView } from '../../api/run-service.js';
import type { Principal } from '../../api/principal.js';
import type { RecordedRequest } from '../../api/submitted/recorded-request.js';
import type { AttemptWindow, RunDetail, RunSummary } from '../../store/run-store.js';
import { AuthenticationUnavailable, NotPermitted, Unauthenticated, type Authenticate, type SubmitFromRequest } from '../server-types.js';
import { DEFAULT_LIMITS, readRunRequest, RequestProblem, type RunRequestLimits } from './run-request.js';
import { wesState, type WesState } from './wes-state.js';
import {
  WES_BASE_PATH,
  WES_TASK_ID,
  errorResponse,
  pageOf,
  readPageQuery,
  recordedRun,
  runLog,
  runSortKey,
  runStatus,
  runSummary,
  runsInOrder,
  serviceInfo,
  serviceTags,
  stateNeedsDetail,
  summaryState,
  taskLogsInOrder,
  type ServiceInfoOptions,
} from './wes-views.js';

export interface WesRoutesOptions {
  service: RunService;
  authenticate: Authenticate;
  /** Starts a run from a checked request whose attachments are in `dir`; it takes what it needs before it resolves. */
  submit: SubmitFromRequest;
  /**
   * A new, empty directory for one RunWorkflow request's attachments, of the server's own. It is
   * removed when the request is answered (submitted or refused).
   */
  requestDir: () => Promise<string>;
  serviceInfo: ServiceInfoOptions;
  limits?: RunRequestLimits;
  /** Where an error that is not the caller's goes (with the reference its 500 answer gives). */
  log: (line: string) => void;
  /**
   * The server's public URL (`https://strand.lab.example`), which the URLs in answers start with.
   * Without it, they start with the request's own Host (as the client reached the server).
   */
  publicUrl?: string;
  /**
   * The RunWorkflow request a run was submitted with, where the submit path kept it (RunLog.request;
   * ListRuns' tags of a run whose summary has none, RunSummary.tags being read first).
   */
  recordedRequest?: (p: Principal, run: RunSummary | RunDetail) => Promise<RecordedRequest | undefined>;
  /** Runs read for one ListRuns or service-info (the caller's newest); default 10,000. */
  listLimit?: number;
}

/** The shape of a run id (as `strand run --run-id` takes them, and as Strand makes them). */
export const RUN_ID = RUN_ID_PATTERN;

const RUNS_PAGE = 50;
const TASKS_PAGE = 100;
/** Enough of a run's attempts to tell its WES state: every one that did not go well, none that did. */
const STATE_WINDOW: AttemptWindow = { ok: 0, other: 1_000_000 };
/** Runs whose state is read in parallel for one ListRuns page. */
const STATE_READS = 4;

class NotFound extends Error {
  readonly statusCode = 404;
}
class MethodNotAllowed extends Error {
  readonly statusCode = 405;
  constructor(readonly allow: string[]) {
    super(`this path takes ${allow.join(', ')}`);
  }
}

interface Route {
  /** Method -> handler. */
  methods: Record<string, (ctx: Ctx) => Promise<void>>;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  p: Principal;
  query: URLSearchParams;
  /** The WES base URL of this server, as answers give it. */
  base: string;
  runId?: string;
  taskId?: string;
}

/** WES's handler: resolves true when it answered the request (its path is under the base path), false otherwise. */
export function wesRoutes(opts: WesRoutesOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const listLimit = opts.listLimit ?? 10_000;
  const tags = serviceTags(limits);

  /** The run `id` names exactly (never a prefix of it), as `p` may see it. */
  async function view(p: Principal, id: string, attempts?: AttemptWindow): Promise<RunView> {
    const v = await opts.service.get(p, id, attempts ? { attempts } : {});
    if (v.run.id !== id) throw new RunNotFoundError(id);
    return v;
  }

  async function stateOf(p: Principal, run: RunSummary): Promise<WesState> {
    if (!stateNeedsDetail(run)) return summaryState(run);
    try {
      return wesState(recordedRun(await view(p, run.id, STATE_WINDOW)));
    } catch (err) {
      // Gone since it was listed: what its summary says.
      if (err instanceof RunNotFoundError) return summaryState(run);
      throw err;
    }
  }

  /** A run's tags: from its summary (the run service read them with the list), else from its kept request. */
  async function tagsOf(p: Principal, run: RunSummary): Promise<Record<string, string> | undefined> {
    if (run.tags) return run.tags;
    if (!opts.recordedRequest) return undefined;
    try {
      return (await opts.recordedRequest(p, run))?.tags;
    } catch (err) {
      // Gone since it was listed: no tags.
      if (err instanceof RunNotFoundError) return undefined;
      throw err;
    }
  }

  const runRoutes: Record<string, Route> = {
    '': {
      methods: {
        GET: async (c) => {
          const v = await view(c.p, c.runId!, STATE_WINDOW);
          const request = await opts.recordedRequest?.(c.p, v.run);
          sendJson(c.res, 200, runLog(v, c.base, request));
        },
      },
    },
    status: { methods: { GET: async (c) => sendJson(c.res, 200, runStatus(await view(c.p, c.runId!, STATE_WINDOW))) } },
    cancel: {
      methods: {
        POST: async (c) => {
          const v = await view(c.p, c.runId!, { ok: 0, other: 0 });
          // An ended run stays as it ended: cancelling it again is not an error.
          if (v.run.status === 'running' || v.run.status === 'interrupted') await opts.service.cancel(c.p, v.run.id);
          sendJson(c.res, 200, { run_id: v.run.id });
        },
      },
    },
    tasks: {
      methods: {
        GET: async (c) => {
          const q = readPageQuery(c.query, 'tasks', TASKS_PAGE);
          const v = await view(c.p, c.runId!);
          const page = pageOf(taskLogsInOrder(v.run), (t) => t.key, 'tasks', q);
          sendJson(c.res, 200, { task_logs: page.items.map((t) => t.log), next_page_token: page.nextPageToken });
        },
      },
    },
    'logs/stdout': {
      methods: {
        GET: async (c) => {
          const v = await view(c.p, c.runId!, { ok: 0, other: 0 });
          const abort = new AbortController();
          c.res.on('close', () => abort.abort());
          c.res.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
          try {
            await opts.service.logs(c.p, v.run.id, c.res, { signal: abort.signal });
          } catch (err) {
            // The answer has begun: it can only be cut short. Said on the server's log, not to the caller.
            opts.log(`wes: the logs of run ${v.run.id} broke off: ${describe(err)}`);
            c.res.destroy();
            return;
          }
          c.res.end();
        },
      },
    },
    'logs/stderr': {
      methods: {
        GET: async (c) => {
          const v = await view(c.p, c.runId!, { ok: 0, other: 0 });
          const lines = [v.run.message, ...v.notes].filter((s): s is string => typeof s === 'string' && s !== '');
          c.res.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
          c.res.end(lines.map((l) => `${l}\n`).join(''));
        },
      },
    },
  };

  const taskRoute: Route = {
    methods: {
      GET: async (c) => {
        const v = await view(c.p, c.runId!);
        const found = taskLogsInOrder(v.run).find((t) => t.log.id === c.taskId);
        if (!found) throw new NotFound(`no task ${c.taskId} in run ${v.run.id}`);
        sendJson(c.res, 200, found.log);
      },
    },
  };

  const topRoutes: Record<string, Route> = {
    'service-info': {
      methods: {
        GET: async (c) => {
          const runs = await opts.service.list(c.p, { limit: listLimit });
          const counts: Partial<Record<WesState, number>> = {};
          for (const s of await mapLimit(runs, STATE_READS, (r) => stateOf(c.p, r))) counts[s] = (counts[s] ?? 0) + 1;
          sendJson(c.res, 200, serviceInfo(opts.serviceInfo, counts, tags));
        },
      },
    },
    runs: {
      methods: {
        GET: async (c) => {
          const q = readPageQuery(c.query, 'runs', RUNS_PAGE);
          const runs = runsInOrder(await opts.service.list(c.p, { limit: listLimit }));
          const page = pageOf(runs, runSortKey, 'runs', q, true);
          const items = await mapLimit(page.items, STATE_READS, async (r) => runSummary(r, await stateOf(c.p, r), await tagsOf(c.p, r)));
          sendJson(c.res, 200, { runs: items, next_page_token: page.nextPageToken });
        },
        POST: async (c) => {
          const dir = await opts.requestDir();
          let runId: string;
          try {
            const request = await readRunRequest(c.req, dir, { engineVersion: opts.serviceInfo.version, limits });
            runId = (await opts.submit(c.p, request, dir)).runId;
          } finally {
            // Removed before the answer: once a client is answered, nothing of its upload is left.
            await rm(dir, { recursive: true, force: true }).catch((err: unknown) => opts.log(`wes: could not remove a request's directory ${dir}: ${describe(err)}`));
          }
          sendJson(c.res, 200, { run_id: runId });
        },
      },
    },
  };

  return async (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://wes.invalid');
    } catch {
      return false;
    }
    const path = url.pathname;
    if (path !== WES_BASE_PATH && !path.startsWith(`${WES_BASE_PATH}/`)) return false;
    try {
      const p = await opts.authenticate(req);
      const { route, runId, taskId } = match(path.slice(WES_BASE_PATH.length));
      const handler = Object.hasOwn(route.methods, req.method ?? '') ? route.methods[req.method!] : undefined;
      if (!handler) throw new MethodNotAllowed(Object.keys(route.methods));
      const ctx: Ctx = { req, res, p, query: url.searchParams, base: baseUrl(req, opts.publicUrl) };
      if (runId !== undefined) ctx.runId = runId;
      if (taskId !== undefined) ctx.taskId = taskId;
      await handler(ctx);
    } catch (err) {
      answerError(req, res, err, opts.log);
    }
    return true;
  };

  function match(rest: string): { route: Route; runId?: string; taskId?: string } {
    const segments = rest.split('/').slice(1).map(decodeSegment);
    const [top, id, ...sub] = segments;
    const notFound = () => new NotFound('no such path in this WES API');
    if (top === 'service-info' && segments.length === 1) return { route: topRoutes['service-info']! };
    if (top !== 'runs') throw notFound();
    if (id === undefined) return { route: topRoutes.runs! };
    if (id === '') throw notFound();
    if (!RUN_ID.test(id)) throw new RequestProblem('run_id: not a run id of this service (letters, digits, - _ . ; at most 63 characters)');
    if (sub.length === 2 && sub[0] === 'tasks') {
      const taskId = sub[1]!;
      if (!WES_TASK_ID.test(taskId)) throw new RequestProblem('task_id: not a task id of this service');
      return { route: taskRoute, runId: id, taskId };
    }
    const route = Object.hasOwn(runRoutes, sub.join('/')) ? runRoutes[sub.join('/')] : undefined;
    if (!route) throw notFound();
    return { route, runId: id };
  }
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RequestProblem('the path is not valid percent-encoding');
  }
}

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** The WES base URL answers give: the configured public URL, else the Host the request came to (when it is a host name). */
function baseUrl(req: IncomingMessage, publicUrl: string | undefined): string {
  if (publicUrl) return `${publicUrl.replace(/\/+$/, '')}${WES_BASE_PATH}`;
  const host = req.headers.host ?? '';
  const ok = /^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$/.test(host) || /^\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?$/.test(host);
  if (!ok) return WES_BASE_PATH;
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${tls ? 'https' : 'http'}://${host}${WES_BASE_PATH}`;
}

function answerError(req: IncomingMessage, res: ServerResponse, err: unknown, log: (line: string) => void): void {
  let status: number;
  let msg: string;
  const headers: Record<string, string> = {};
  if (err instanceof Unauthenticated) {
    status = 401;
    msg = 'a valid bearer token is required (Authorization: Bearer <token>)';
    headers['www-authenticate'] = 'Bearer';
  } else if (err instanceof AuthenticationUnavailable) {
    // The identity provider is unreachable (the authenticator logged why): try again shortly.
    status = 503;
    msg = 'the server cannot check tokens right now (its identity provider cannot be reached); try again shortly';
    headers['retry-after'] = '30';
  } else if (err instanceof NotPermitted) {
    status = 403;
    msg = err.message || 'not permitted';
  } else if (err instanceof RequestProblem) {
    status = 400;
    msg = err.message;
  } else if (err instanceof RunNotFoundError) {
    // The run named as the caller named it: the same words for another's run and one never made.
    status = 404;
    msg = `no run ${err.runRef}`;
  } else if (err instanceof NotFound) {
    status = 404;
    msg = err.message;
  } else if (err instanceof MethodNotAllowed) {
    status = 405;
    msg = err.message;
    headers.allow = err.allow.join(', ');
  } else {
    status = 500;
    const ref = randomBytes(6).toString('hex');
    msg = `an internal error (reference ${ref} in the server's log)`;
    log(`wes: ${req.method ?? '?'} ${pathOnly(req.url)} failed (reference ${ref}): ${describe(err)}`);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // A body not read (a refused upload) is not read now: the connection closes after the answer.
  if (!req.complete) {
    headers.connection = 'close';
    req.resume();
  }
  sendJson(res, status, errorResponse(status, msg), headers);
}

/** A request's path without its query (which may hold what the caller did not mean to have logged). */
function pathOnly(url: string | undefined): string {
  return (url ?? '').split('?')[0]!.slice(0, 300);
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** `f` over `items` with at most `n` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
