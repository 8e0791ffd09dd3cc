/**
 * A GA4GH WES 1.1 client for one server and one bearer token: each operation's answer checked for
 * the shape the spec gives it before it is used (a server is someone else's program), typed.
 *
 * The token goes only in the Authorization header of requests to the server's own origin: never in
 * a URL or a message, never to an address a server answer names (a log URL on another origin is
 * read from this server's own route instead), never through a redirect (one is an error that names
 * where it pointed). A server's ErrorResponse message is shown as it is (with the token, should a
 * server ever echo it, masked).
 */
import type {
  WesErrorResponse,
  WesRunListResponse,
  WesRunLog,
  WesRunStatus,
  WesRunSummary,
  WesServiceInfo,
  WesTaskListResponse,
  WesTaskLog,
} from '../../server/wes/wes-views.js';

export type { WesRunListResponse, WesRunLog, WesRunStatus, WesRunSummary, WesServiceInfo, WesTaskListResponse, WesTaskLog };

export const WES_PATH = '/ga4gh/wes/v1';

/** A request the server did not answer with success: its HTTP status and its ErrorResponse message (or what stood instead). */
export class WesError extends Error {
  constructor(
    readonly status: number,
    /** The server's own words (ErrorResponse.msg), the token masked. */
    readonly serverMessage: string,
    message: string,
  ) {
    super(message);
    this.name = 'WesError';
  }
}

/** The server could not be reached, or answered something that is not WES. */
export class WesUnreachable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WesUnreachable';
  }
}

export interface WesClientOptions {
  /** The server's URL (credentials.ts normaliseServerUrl): the WES API is at `${url}/ga4gh/wes/v1`. */
  url: string;
  token: string;
  /** Time limit of one request that is not a stream or an upload (default 60 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface PageQuery {
  pageSize?: number;
  pageToken?: string;
}

const MAX_JSON_BYTES = 32 * 1024 * 1024;

export class WesClient {
  readonly base: string;
  private readonly origin: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly opts: WesClientOptions) {
    this.base = `${opts.url.replace(/\/+$/, '')}${WES_PATH}`;
    this.origin = new URL(opts.url).origin;
    this.fetchFn = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  async serviceInfo(): Promise<WesServiceInfo> {
    return checkServiceInfo(await this.json('GET', '/service-info'));
  }

  async listRuns(q: PageQuery = {}): Promise<WesRunListResponse> {
    const a = await this.json('GET', `/runs${pageQuery(q)}`);
    const runs = field(a, 'runs', 'ListRuns');
    if (!Array.isArray(runs)) throw notWes('ListRuns', 'runs is not a list');
    return { runs: runs.map((r) => checkRunSummary(r)), next_page_token: pageToken(a, 'ListRuns') };
  }

  async runLog(runId: string): Promise<WesRunLog> {
    const a = await this.json('GET', `/runs/${encodeURIComponent(runId)}`);
    const status = checkRunStatus(a, 'GetRunLog');
    const runLog = field(a, 'run_log', 'GetRunLog') ?? {};
    if (!isObject(runLog)) throw notWes('GetRunLog', 'run_log is not an object');
    const outputs = (a as Record<string, unknown>).outputs;
    return {
      ...(a as unknown as WesRunLog),
      ...status,
      run_log: checkLog(runLog, 'GetRunLog') ,
      task_logs_url: typeof (a as Record<string, unknown>).task_logs_url === 'string' ? ((a as Record<string, unknown>).task_logs_url as string) : '',
      ...(isObject(outputs) ? { outputs } : {}),
    };
  }

  async runStatus(runId: string): Promise<WesRunStatus> {
    return checkRunStatus(await this.json('GET', `/runs/${encodeURIComponent(runId)}/status`), 'GetRunStatus');
  }

  async cancelRun(runId: string): Promise<{ run_id: string }> {
    const a = await this.json('POST', `/runs/${encodeURIComponent(runId)}/cancel`);
    return { run_id: stringField(a, 'run_id', 'CancelRun') };
  }

  async listTasks(runId: string, q: PageQuery = {}): Promise<WesTaskListResponse> {
    const a = await this.json('GET', `/runs/${encodeURIComponent(runId)}/tasks${pageQuery(q)}`);
    const tasks = field(a, 'task_logs', 'ListTasks') ?? [];
    if (!Array.isArray(tasks)) throw notWes('ListTasks', 'task_logs is not a list');
    return {
      task_logs: tasks.map((t) => {
        const log = checkLog(t, 'ListTasks');
        return { ...log, id: stringField(t, 'id', 'ListTasks'), name: stringField(t, 'name', 'ListTasks') } as WesTaskLog;
      }),
      next_page_token: pageToken(a, 'ListTasks'),
    };
  }

  /** Every task of a run, page after page (at most `maxPages` pages of 1,000); `complete` false when there were more. */
  async allTasks(runId: string, maxPages = 100): Promise<{ tasks: WesTaskLog[]; complete: boolean }> {
    const tasks: WesTaskLog[] = [];
    let token = '';
    for (let i = 0; i < maxPages; i++) {
      const page = await this.listTasks(runId, { pageSize: 1000, ...(token ? { pageToken: token } : {}) });
      tasks.push(...page.task_logs);
      token = page.next_page_token;
      if (token === '') return { tasks, complete: true };
    }
    return { tasks, complete: false };
  }

  /** RunWorkflow with a multipart/form-data body (request-builder's form). */
  async runWorkflow(form: FormData): Promise<{ run_id: string }> {
    // An upload may take long: no time limit but the caller's.
    const a = await this.json('POST', '/runs', form, null);
    return { run_id: stringField(a, 'run_id', 'RunWorkflow') };
  }

  /**
   * A run's log (`stdout`: the run's logs; `stderr`: what Strand says of it) as a stream of bytes.
   * `url` is the one the RunLog gave: used when it is on this server's origin, else this server's
   * own route for it.
   */
  async logStream(runId: string, which: 'stdout' | 'stderr', url?: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const own = `${this.base}/runs/${encodeURIComponent(runId)}/logs/${which}`;
    let target = own;
    if (url) {
      try {
        if (new URL(url).origin === this.origin) target = url;
      } catch {
        /* not a URL: this server's own route */
      }
    }
    const res = await this.send('GET', target, undefined, signal ?? null);
    if (!res.body) return new ReadableStream({ start: (c) => c.close() });
    return res.body;
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async json(method: string, route: string, body?: FormData, timeout: number | null = this.timeoutMs): Promise<unknown> {
    const signal = timeout === null ? null : AbortSignal.timeout(timeout);
    const res = await this.send(method, `${this.base}${route}`, body, signal);
    const text = await readLimited(res, MAX_JSON_BYTES);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new WesUnreachable(`${this.opts.url} answered ${method} ${WES_PATH}${route.split('?')[0]} with something that is not JSON: is it a Strand lab server (strand server)?`);
    }
  }

  private async send(method: string, url: string, body: FormData | undefined, signal: AbortSignal | null): Promise<Response> {
    // Only to this server: a URL of another origin never gets the token.
    if (new URL(url).origin !== this.origin) throw new Error(`refusing to send the token to ${new URL(url).origin}`);
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method,
        headers: { authorization: `Bearer ${this.opts.token}`, accept: 'application/json, text/plain' },
        redirect: 'manual',
        ...(body !== undefined ? { body } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') throw new WesUnreachable(`${this.opts.url} did not answer ${method} ${pathOf(url)} in time`, { cause: err });
      if (e.name === 'AbortError') throw err;
      const why = e.cause?.code ?? e.cause?.message ?? e.message;
      throw new WesUnreachable(`could not reach ${this.opts.url}: ${this.mask(String(why))}`, { cause: err });
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const to = res.headers.get('location');
      throw new WesUnreachable(
        `${this.opts.url} answered ${res.status}, a redirect${to ? ` to ${this.mask(to.slice(0, 300))}` : ''}: the token is not sent on; log in with the URL the server is at (strand login --server URL)`,
      );
    }
    if (!res.ok) throw await this.errorOf(res, method, url);
    return res;
  }

  private async errorOf(res: Response, method: string, url: string): Promise<WesError> {
    let msg = '';
    try {
      const text = await readLimited(res, 64 * 1024);
      try {
        const e = JSON.parse(text) as Partial<WesErrorResponse>;
        msg = typeof e.msg === 'string' ? e.msg : text;
      } catch {
        msg = text;
      }
    } catch {
      msg = '';
    }
    msg = this.mask(msg.trim()).slice(0, 4000);
    const op = `${method} ${pathOf(url)}`;
    if (res.status === 401) {
      return new WesError(401, msg, `${this.opts.url} refused the token (401${msg ? `: ${msg}` : ''}): it may have expired; log in again: strand login --server ${this.opts.url}`);
    }
    return new WesError(res.status, msg, msg ? `${msg} (${op}: HTTP ${res.status})` : `${op}: HTTP ${res.status} from ${this.opts.url}`);
  }

  /** `text` with the token masked: a server never gets to print it here. */
  private mask(text: string): string {
    return this.opts.token.length >= 4 ? text.split(this.opts.token).join('***') : text;
  }
}

// ---- shapes -------------------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function notWes(op: string, what: string): WesUnreachable {
  return new WesUnreachable(`the server's ${op} answer is not what WES 1.1 says: ${what}`);
}

function field(a: unknown, name: string, op: string): unknown {
  if (!isObject(a)) throw notWes(op, 'not a JSON object');
  return a[name];
}

function stringField(a: unknown, name: string, op: string): string {
  const v = field(a, name, op);
  if (typeof v !== 'string') throw notWes(op, `${name} is missing or not a string`);
  return v;
}

function optionalString(a: Record<string, unknown>, name: string): string | undefined {
  return typeof a[name] === 'string' ? (a[name] as string) : undefined;
}

function pageToken(a: unknown, op: string): string {
  const t = field(a, 'next_page_token', op);
  return typeof t === 'string' ? t : '';
}

function checkRunStatus(a: unknown, op: string): WesRunStatus {
  return { run_id: stringField(a, 'run_id', op), state: stringField(a, 'state', op) as WesRunStatus['state'] };
}

function checkRunSummary(a: unknown): WesRunSummary {
  const s = checkRunStatus(a, 'ListRuns');
  const o = a as Record<string, unknown>;
  const tags = isObject(o.tags) ? Object.fromEntries(Object.entries(o.tags).filter(([, v]) => typeof v === 'string')) as Record<string, string> : {};
  const start = optionalString(o, 'start_time');
  const end = optionalString(o, 'end_time');
  return { ...s, ...(start ? { start_time: start } : {}), ...(end ? { end_time: end } : {}), tags };
}

function checkLog(a: unknown, op: string): WesTaskLog {
  if (!isObject(a)) throw notWes(op, 'a log is not an object');
  const out: Record<string, unknown> = {};
  for (const k of ['name', 'start_time', 'end_time', 'stdout', 'stderr', 'id']) {
    const v = optionalString(a, k);
    if (v !== undefined) out[k] = v;
  }
  if (typeof a.exit_code === 'number') out.exit_code = a.exit_code;
  if (Array.isArray(a.cmd)) out.cmd = a.cmd.filter((x) => typeof x === 'string');
  if (Array.isArray(a.system_logs)) out.system_logs = a.system_logs.filter((x) => typeof x === 'string');
  return out as unknown as WesTaskLog;
}

function checkServiceInfo(a: unknown): WesServiceInfo {
  if (!isObject(a)) throw notWes('GetServiceInfo', 'not a JSON object');
  const type = a.type;
  if (!isObject(type) || type.artifact !== 'wes') throw notWes('GetServiceInfo', 'type.artifact is not "wes": is this a WES server?');
  const tags = isObject(a.tags) ? (Object.fromEntries(Object.entries(a.tags).filter(([, v]) => typeof v === 'string')) as Record<string, string>) : {};
  const protocols = Array.isArray(a.supported_filesystem_protocols) ? a.supported_filesystem_protocols.filter((x): x is string => typeof x === 'string') : [];
  return { ...(a as unknown as WesServiceInfo), tags, supported_filesystem_protocols: protocols };
}

function pageQuery(q: PageQuery): string {
  const p = new URLSearchParams();
  if (q.pageSize !== undefined) p.set('page_size', String(q.pageSize));
  if (q.pageToken) p.set('page_token', q.pageToken);
  const s = p.toString();
  return s ? `?${s}` : '';
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/** A response's text, refusing one over `max` bytes (a server is not trusted to answer small). */
async function readLimited(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel();
      throw new WesUnreachable(`the server's answer is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
