/**
 * Read-only `http(s)://` inputs: HEAD for the size, GET streamed to a temporary name beside the
 * destination, size checked, then renamed. Transient failures (5xx, 429, resets, a body cut
 * short) are retried by the storage layer's policy (retry.ts).
 */
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { StorageError } from '../errors.js';
import { systemCodeOf, withRetries, type RetryOptions } from './retry.js';
import { partPathFor, writeCounted } from './counted-write.js';

export interface HttpInfo {
  /** From Content-Length; undefined when the server does not say. */
  size?: number;
  etag?: string;
}

class HttpStatusError extends Error {
  constructor(readonly status: number, url: string) {
    super(`HTTP ${status} for ${url}`);
  }
}

function describe(err: unknown, url: string): StorageError {
  if (err instanceof StorageError) return err;
  const cause = { cause: err };
  if (err instanceof HttpStatusError) {
    if (err.status === 404 || err.status === 410) return new StorageError(`${url}: no such file (HTTP ${err.status})`, url, 'not_found', cause);
    if (err.status === 401 || err.status === 403) return new StorageError(`${url}: access refused (HTTP ${err.status})`, url, 'access_denied', cause);
    return new StorageError(`${url}: the server answered HTTP ${err.status}`, url, 'other', cause);
  }
  const code = systemCodeOf(err);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    const what = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found' : code.toLowerCase();
    return new StorageError(`${url}: cannot reach the server (${what})`, url, 'unreachable', cause);
  }
  if ((err as { name?: string }).name === 'TruncatedBody') return new StorageError(`${url}: the download broke off (${(err as Error).message})`, url, 'interrupted', cause);
  return new StorageError(`${url}: reading failed: ${(err as Error).message ?? String(err)}`, url, 'other', cause);
}

export async function headHttp(url: string, options: RetryOptions = {}): Promise<HttpInfo> {
  try {
    return await withRetries(async () => {
      let r = await fetch(url, { method: 'HEAD', redirect: 'follow', ...(options.signal ? { signal: options.signal } : {}) });
      // Some servers refuse HEAD: a GET whose body is not read answers the same questions.
      if (r.status === 405 || r.status === 501) {
        r = await fetch(url, { redirect: 'follow', ...(options.signal ? { signal: options.signal } : {}) });
        await r.body?.cancel();
      }
      if (!r.ok) throw new HttpStatusError(r.status, url);
      const len = r.headers.get('content-length');
      const etag = r.headers.get('etag');
      return { ...(len !== null ? { size: Number(len) } : {}), ...(etag ? { etag } : {}) };
    }, options);
  } catch (err) {
    throw describe(err, url);
  }
}

/** Stream `url` into `dest` (temporary name, size check, rename). Returns size and sha1. */
export async function downloadHttp(url: string, dest: string, options: RetryOptions = {}): Promise<{ size: number; sha1: string }> {
  const tmp = partPathFor(dest);
  try {
    return await withRetries(async () => {
      const r = await fetch(url, { redirect: 'follow', ...(options.signal ? { signal: options.signal } : {}) });
      if (!r.ok || !r.body) {
        await r.body?.cancel();
        throw new HttpStatusError(r.status, url);
      }
      const expected = r.headers.get('content-length');
      const { size, sha1 } = await writeCounted(Readable.fromWeb(r.body as unknown as WebReadableStream<Uint8Array>), tmp);
      if (expected !== null && r.headers.get('content-encoding') === null && size !== Number(expected)) {
        throw Object.assign(new Error(`got ${size} of ${expected} bytes`), { name: 'TruncatedBody' });
      }
      await rename(tmp, dest);
      return { size, sha1 };
    }, options);
  } catch (err) {
    await rm(tmp, { force: true });
    throw describe(err, url);
  }
}
