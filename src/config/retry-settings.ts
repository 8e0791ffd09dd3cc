/**
 * How a run retries failed tasks and what it does after one fails, from strand.yaml:
 *
 *   retry:
 *     count: 2          # more attempts a failed task gets (--retries); a tool's strand:TaskRetry hint wins
 *     backoff: 1s       # the wait before the first retry, doubling with each (ms, s or m; default 1s)
 *     maxBackoff: 30s   # the longest wait (default 30s)
 *   onError: continue   # stop (default) or continue (--on-error)
 */
import { UsageError } from '../errors.js';

export type OnError = 'stop' | 'continue';
export const ON_ERROR_CHOICES: readonly OnError[] = ['stop', 'continue'];

/** The checked `retry:` section. */
export interface RetryFileSettings {
  readonly count?: number;
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** The most retries a task may get (the same bound as the strand:TaskRetry hint's). */
export const MAX_RETRIES = 100;

/** `count` as given on the command line or in the file: a whole number from 0 to MAX_RETRIES. */
export function isRetryCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_RETRIES;
}

/** `500ms`, `2s`, `1m`, or a number of seconds -> milliseconds; undefined when it is none of these. */
export function parseWait(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) return undefined;
  const unit = m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000;
  return Math.round(Number(m[1]) * unit);
}

export function parseRetrySettings(raw: unknown, file: string): RetryFileSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${file}: retry: expected a mapping (count, backoff, maxBackoff)`);
  const o = raw as Record<string, unknown>;
  const known = ['count', 'backoff', 'maxBackoff'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new UsageError(`${file}: retry.${k}: unknown setting (known: ${known.join(', ')})`);
  if (o.count !== undefined && !isRetryCount(o.count)) throw new UsageError(`${file}: retry.count: expected a whole number from 0 to ${MAX_RETRIES}`);
  const wait = (k: 'backoff' | 'maxBackoff') => {
    if (o[k] === undefined) return undefined;
    const ms = parseWait(o[k]);
    if (ms === undefined || ms > 3_600_000) throw new UsageError(`${file}: retry.${k}: expected a wait such as 500ms, 2s or 1m (at most 60m)`);
    return ms;
  };
  const backoffMs = wait('backoff');
  const maxBackoffMs = wait('maxBackoff');
  return {
    ...(o.count !== undefined ? { count: o.count as number } : {}),
    ...(backoffMs !== undefined ? { backoffMs } : {}),
    ...(maxBackoffMs !== undefined ? { maxBackoffMs } : {}),
  };
}

export function parseOnError(raw: unknown, where: string): OnError {
  if (raw === 'stop' || raw === 'continue') return raw;
  throw new UsageError(`${where}: expected stop or continue, not ${JSON.stringify(raw)}`);
}
