/**
 * Every Kubernetes API call of the executor goes through KubeApi.call: a client-side rate limit
 * (token bucket, burst = 2 x rate, like client-go's QPS/Burst), retries of transient failures
 * (429 honouring Retry-After, 500/502/503/504, refused or reset connections) with exponential
 * backoff and jitter, and errors turned into KubeApiError, which names the call and carries the
 * server's v1 Status (`reason`, `message`).
 *
 * client-node 1.x rejects a failed call with `ApiException { code: <HTTP status>, body, headers }`
 * where `body` is the response text (a JSON v1 Status) — or undefined for a 401 — and `headers`
 * has lower-case names. Network failures surface as node-fetch `FetchError { code: 'ECONNREFUSED' }`.
 */
import { ApiException, AuthenticationV1Api, AuthorizationV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi } from './kubernetes-client.js';
import type { KubeConnection } from './connection.js';
import { sharedBucket, type TokenBucket } from './rate-limiter.js';

export class KubeApiError extends Error {
  /** HTTP status; undefined when the server could not be reached. */
  readonly status: number | undefined;
  /** v1 Status `reason` (NotFound, AlreadyExists, Conflict, Forbidden...), or the network error code. */
  readonly reason: string | undefined;
  /** v1 Status `message` (or a description of the failure when there was no Status). */
  readonly kubeMessage: string;
  readonly retryAfterSeconds?: number;
  /** First word of `what`: create, get, list, delete... */
  readonly verb: string;
  /** The call, e.g. "create Job s-abc in namespace default". */
  readonly what: string;

  constructor(
    what: string,
    fields: { status: number | undefined; reason: string | undefined; kubeMessage: string; retryAfterSeconds?: number },
    options?: { cause?: unknown },
  ) {
    const tag = fields.status !== undefined ? ` (${fields.status}${fields.reason ? ` ${fields.reason}` : ''})` : '';
    super(`${what}: ${fields.kubeMessage}${tag}`, options);
    this.name = 'KubeApiError';
    this.what = what;
    this.verb = verbOf(what);
    this.status = fields.status;
    this.reason = fields.reason;
    this.kubeMessage = fields.kubeMessage;
    if (fields.retryAfterSeconds !== undefined) this.retryAfterSeconds = fields.retryAfterSeconds;
  }
}

export interface KubeApiOptions {
  requestsPerSecond: number;
  /** Retries after the first attempt; default 5. */
  maxRetries?: number;
  /** First backoff; doubles with each retry (with jitter), capped at maxBackoffMs. Default 200. */
  baseBackoffMs?: number;
  /** Cap of one backoff (Retry-After may ask for longer). Default 30000. */
  maxBackoffMs?: number;
  /** Burst of the rate limiter; default 2 x requestsPerSecond. */
  burst?: number;
  /** Waits between retries; injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Random source in [0, 1) for jitter; injectable for tests. */
  random?: () => number;
}

const RETRIED_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRIED_NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

function verbOf(what: string): string {
  return what.trim().split(/\s+/, 1)[0] ?? what;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as unknown);
      return;
    }
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason as unknown);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface V1StatusLike {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { retryAfterSeconds?: number };
}

function parseStatus(body: unknown): V1StatusLike | undefined {
  let v: unknown = body;
  if (typeof body === 'string') {
    try {
      v = JSON.parse(body) as unknown;
    } catch {
      return body.trim() === '' ? undefined : { message: body.trim().slice(0, 500) };
    }
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as V1StatusLike;
  return undefined;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() === name && (typeof v === 'string' || typeof v === 'number')) return String(v);
  }
  return undefined;
}

/** The network error code (ECONNREFUSED...) of a failed request, looking through `cause`. */
function networkCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** Turn whatever a client-node call rejected with into a KubeApiError naming `what`. */
export function toKubeApiError(what: string, err: unknown, conn?: KubeConnection): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (err instanceof ApiException) {
    const status = err.code;
    const st = parseStatus(err.body);
    const retryHeader = headerValue(err.headers, 'retry-after');
    const retryAfter = st?.details?.retryAfterSeconds ?? (retryHeader !== undefined && /^\d+$/.test(retryHeader) ? Number(retryHeader) : undefined);
    let message = st?.message;
    if (!message) {
      message =
        status === 401
          ? `the API server${conn ? ` at ${conn.server}` : ''} rejected the credentials${conn ? ` of context "${conn.context}"` : ''}`
          : `the API server answered HTTP ${status}`;
    }
    return new KubeApiError(
      what,
      { status, reason: st?.reason ?? STATUS_TEXT[status], kubeMessage: message, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) },
      { cause: err },
    );
  }
  const code = networkCode(err);
  if (code !== undefined) {
    return new KubeApiError(
      what,
      { status: undefined, reason: code, kubeMessage: `cannot reach the API server${conn ? ` at ${conn.server}` : ''} (${code})` },
      { cause: err },
    );
  }
  const status = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return new KubeApiError(
    what,
    {
      status: typeof status === 'number' ? status : undefined,
      reason: undefined,
      kubeMessage: err instanceof Error ? err.message : String(err),
    },
    { cause: err },
  );
}

function isRetriable(e: KubeApiError): boolean {
  if (e.status !== undefined) return RETRIED_STATUS.has(e.status);
  return e.reason !== undefined && RETRIED_NETWORK.has(e.reason);
}

export class KubeApi {
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
  readonly authz: AuthorizationV1Api;
  /** TokenReview (a lab server checking who a bearer token is). */
  readonly authn: AuthenticationV1Api;
  /** Aggregated APIs without generated clients (metrics.k8s.io). */
  readonly custom: CustomObjectsApi;
  /** Calls made, keyed by the verb of `what` (one per call(), however many retries it took). */
  readonly counts = new Map<string, number>();
  /** Attempts repeated after a transient failure, over all calls. */
  retries = 0;
  /** The client-side rate limit: shared by every KubeApi of this process for the same server and namespace. */
  readonly limiter: TokenBucket;
  private readonly maxRetries: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  constructor(
    readonly conn: KubeConnection,
    opts: KubeApiOptions,
  ) {
    this.core = conn.kc.makeApiClient(CoreV1Api);
    this.batch = conn.kc.makeApiClient(BatchV1Api);
    this.authz = conn.kc.makeApiClient(AuthorizationV1Api);
    this.authn = conn.kc.makeApiClient(AuthenticationV1Api);
    this.custom = conn.kc.makeApiClient(CustomObjectsApi);
    this.limiter = sharedBucket(conn.server, conn.namespace, opts.requestsPerSecond, opts.burst ?? Math.max(1, 2 * opts.requestsPerSecond));
    this.maxRetries = opts.maxRetries ?? 5;
    this.baseBackoffMs = opts.baseBackoffMs ?? 200;
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.sleep = opts.sleep ?? abortableSleep;
    this.random = opts.random ?? Math.random;
  }

  /** Count a request made outside call() (watches), under `verb`. */
  count(verb: string): void {
    this.counts.set(verb, (this.counts.get(verb) ?? 0) + 1);
  }

  /**
   * Rate-limited call with retries: 429 (honouring Retry-After), 500/502/503/504 and connection
   * errors (ECONNREFUSED/ECONNRESET) are retried with exponential backoff + jitter; other errors
   * become KubeApiError at once. `what` names the object for messages, e.g.
   * "create Job s-abc in namespace default". Rejects with the signal's reason when aborted.
   */
  async call<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.count(verbOf(what));
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      await this.limiter.take(signal);
      try {
        return await fn();
      } catch (err) {
        const e = toKubeApiError(what, err, this.conn);
        if (!isRetriable(e) || attempt >= this.maxRetries) throw e;
        signal?.throwIfAborted();
        this.retries++;
        await this.sleep(this.backoffMs(attempt, e), signal);
      }
    }
  }

  /** Backoff before retry number `attempt + 1`: full exponential with jitter in [50%, 100%]. */
  private backoffMs(attempt: number, e: KubeApiError): number {
    const exp = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** attempt);
    const jittered = exp * (0.5 + 0.5 * this.random());
    const retryAfterMs = e.status === 429 && e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : 0;
    return Math.max(jittered, retryAfterMs);
  }
}

function statusOf(e: unknown): number | undefined {
  if (e instanceof KubeApiError) return e.status;
  if (e instanceof ApiException) return e.code;
  return undefined;
}

export function isNotFound(e: unknown): boolean {
  return statusOf(e) === 404;
}

export function isConflict(e: unknown): boolean {
  return statusOf(e) === 409;
}

export function isForbidden(e: unknown): boolean {
  return statusOf(e) === 403;
}

/** A 403 whose Status message says "exceeded quota" (ResourceQuota refusal). */
export function isQuotaExceeded(e: unknown): boolean {
  if (statusOf(e) !== 403) return false;
  const msg = e instanceof KubeApiError ? e.kubeMessage : parseStatus((e as ApiException<unknown>).body)?.message;
  return msg !== undefined && msg.includes('exceeded quota');
}
