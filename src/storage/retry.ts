/**
 * The one retry policy of the storage layer: which failures are transient (503 SlowDown, 500,
 * throttling, a connection reset or a stream cut short) and how long to wait between attempts.
 * The SDK retries each request by the same rules (maxAttempts below); this wraps the steps the
 * SDK cannot retry by itself, such as reading a response body that breaks off mid-transfer.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export const MAX_ATTEMPTS = 5;

const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);
const TRANSIENT_NAMES = new Set(['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'TimeoutError', 'Throttling', 'ThrottlingException', 'TruncatedBody']);

/** The HTTP status an SDK or fetch error carries, if any. */
export function statusOf(err: unknown): number | undefined {
  const e = err as { $metadata?: { httpStatusCode?: number }; $response?: { statusCode?: number }; status?: number } | undefined;
  return e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode ?? (typeof e?.status === 'number' ? e.status : undefined);
}

/** A system error code (ECONNRESET...) on the error or its causes. */
export function systemCodeOf(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^[A-Z_]+$/.test(e.code)) return e.code;
  }
  return undefined;
}

export function isTransient(err: unknown): boolean {
  const status = statusOf(err);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const name = (err as { name?: string } | undefined)?.name;
  if (name && TRANSIENT_NAMES.has(name)) return true;
  const code = systemCodeOf(err);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

export interface RetryOptions {
  attempts?: number;
  /** First wait in ms; doubled each attempt, with jitter, at most 10 s. */
  baseDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (err: unknown, attempt: number) => void;
}

/** Run `fn` until it succeeds, fails with a permanent error, or the attempts are spent. */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? MAX_ATTEMPTS;
  const base = options.baseDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !isTransient(err) || options.signal?.aborted) throw err;
      options.onRetry?.(err, attempt);
      const delay = Math.min(10_000, base * 2 ** (attempt - 1));
      await sleep(delay / 2 + Math.random() * (delay / 2), undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
