/**
 * Read-only `http(s)://` inputs: HEAD for the size, GET streamed to a temporary name beside the
 * destination, size checked, then renamed. Transient failures (5xx, 429, resets, a body cut
 * short) are retried by the storage layer's policy (retry.ts).
 *
 * A URL may come from someone else's document, so: only http and https, on the first URL and on
 * every redirect (at most MAX_REDIRECTS); each connection's address checked by the address policy
 * (address-policy.ts) before it is made; at most `maxBytes` per download (the part file removed
 * when it is more); messages name the URL without its credentials (redact-url.ts).
 */
import { rename, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { StorageError } from '../errors.js';
import { AddressGuard, type AddressPolicy } from './address-policy.js';
import { partPathFor, TooLargeError, writeCounted } from './counted-write.js';
import { redactUrl } from './redact-url.js';
import { systemCodeOf, withRetries, type RetryOptions } from './retry.js';

export interface HttpInfo {
  /** From Content-Length; undefined when the server does not say. */
  size?: number;
  etag?: string;
}

export interface HttpOptions extends RetryOptions {
  /** Which addresses may be reached; default: public addresses only. */
  access?: AddressPolicy;
  /** The largest download, in bytes; default DEFAULT_MAX_DOWNLOAD_BYTES. */
  maxBytes?: number;
}

/** 256 GiB: above the largest single files common in research data (a deep whole-genome BAM), yet a bound on a server that never stops. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 256 * 2 ** 30;
export const MAX_REDIRECTS = 10;

class HttpStatusError extends Error {
  constructor(readonly status: number, url: string) {
    super(`HTTP ${status} for ${redactUrl(url)}`);
  }
}

/** A hop refused before any connection: not http(s), an address the policy refuses, too many redirects. */
class RefusedHop extends Error {
  override readonly name = 'RefusedHop';
  constructor(message: string, readonly reason: 'access_denied' | 'bad_location' | 'other') {
    super(message);
  }
}

/** `n` bytes for people: 1.5 GiB, 100 KiB, 12 bytes. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

function describe(err: unknown, url: string): StorageError {
  if (err instanceof StorageError) return err;
  const shown = redactUrl(url);
  const cause = { cause: err };
  if (err instanceof RefusedHop) return new StorageError(`${shown}: ${err.message}`, shown, err.reason, cause);
  if (err instanceof TooLargeError) {
    return new StorageError(`${shown}: larger than the download size limit of ${formatBytes(err.limit)} (storage.http.maxDownloadSize in strand.yaml)`, shown, 'other', cause);
  }
  if (err instanceof HttpStatusError) {
    if (err.status === 404 || err.status === 410) return new StorageError(`${shown}: no such file (HTTP ${err.status})`, shown, 'not_found', cause);
    if (err.status === 401 || err.status === 403) return new StorageError(`${shown}: access refused (HTTP ${err.status})`, shown, 'access_denied', cause);
    return new StorageError(`${shown}: the server answered HTTP ${err.status}`, shown, 'other', cause);
  }
  const code = systemCodeOf(err);
  if (code === 'ESTRAND_ADDRESS_REFUSED') return new StorageError(`${shown}: refused: ${(err as Error).message}`, shown, 'access_denied', cause);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    const what = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found' : code.toLowerCase();
    return new StorageError(`${shown}: cannot reach the server (${what})`, shown, 'unreachable', cause);
  }
  if ((err as { name?: string }).name === 'TruncatedBody') return new StorageError(`${shown}: the download broke off (${(err as Error).message})`, shown, 'interrupted', cause);
  return new StorageError(`${shown}: reading failed: ${redactUrl((err as Error).message ?? String(err))}`, shown, 'other', cause);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** One request, no redirect followed; the connection's address is checked by `guard`. */
function requestOnce(url: URL, method: 'GET' | 'HEAD', guard: AddressGuard, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  // An IP literal is connected to without a lookup: checked here, before any connection.
  if (net.isIP(host)) {
    const why = guard.refusal(host, host, port);
    if (why) return Promise.reject(new RefusedHop(`refused: ${why}`, 'access_denied'));
  }
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method,
      agent: false,
      lookup: guard.lookupFor(port),
      headers: { 'accept-encoding': 'identity', 'user-agent': 'strand' },
      ...(signal ? { signal } : {}),
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

/** The response to `url`, following redirects: each hop http(s) and at an allowed address. */
async function open(url: string, method: 'GET' | 'HEAD', guard: AddressGuard, signal?: AbortSignal): Promise<http.IncomingMessage> {
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:') {
      throw new RefusedHop(`refused to follow a redirect to ${redactUrl(current.href)}: only http and https are read`, 'bad_location');
    }
    let res: http.IncomingMessage;
    try {
      res = await requestOnce(current, method, guard, signal);
    } catch (err) {
      if (hop > 0 && (err instanceof RefusedHop || systemCodeOf(err) === 'ESTRAND_ADDRESS_REFUSED')) {
        throw new RefusedHop(`refused to follow a redirect to ${redactUrl(current.href)}: ${(err as Error).message.replace(/^refused: /, '')}`, 'access_denied');
      }
      throw err;
    }
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) return res;
    res.resume();
    if (hop >= MAX_REDIRECTS) throw new RefusedHop(`more than ${MAX_REDIRECTS} redirects`, 'other');
    const next = new URL(location, current);
    // The URL's user name and password go with a redirect within its origin, never to another.
    if (next.origin === current.origin && !next.username && !next.password) {
      next.username = current.username;
      next.password = current.password;
    }
    current = next;
  }
}

export async function headHttp(url: string, options: HttpOptions = {}): Promise<HttpInfo> {
  const guard = new AddressGuard(options.access);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
  try {
    return await withRetries(async () => {
      let r = await open(url, 'HEAD', guard, options.signal);
      // Some servers refuse HEAD: a GET whose body is not read answers the same questions.
      if (r.statusCode === 405 || r.statusCode === 501) {
        r.resume();
        r = await open(url, 'GET', guard, options.signal);
      }
      r.destroy();
      const status = r.statusCode ?? 0;
      if (status < 200 || status > 299) throw new HttpStatusError(status, url);
      const len = r.headers['content-length'];
      const etag = r.headers.etag;
      if (len !== undefined && Number(len) > maxBytes) throw new TooLargeError(maxBytes);
      return { ...(len !== undefined ? { size: Number(len) } : {}), ...(etag ? { etag } : {}) };
    }, options);
  } catch (err) {
    throw describe(err, url);
  }
}

/** Stream `url` into `dest` (temporary name, size check, rename). Returns size and sha1. */
export async function downloadHttp(url: string, dest: string, options: HttpOptions = {}): Promise<{ size: number; sha1: string }> {
  const guard = new AddressGuard(options.access);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
  const tmp = partPathFor(dest);
  try {
    return await withRetries(async () => {
      const r = await open(url, 'GET', guard, options.signal);
      const status = r.statusCode ?? 0;
      if (status < 200 || status > 299) {
        r.resume();
        throw new HttpStatusError(status, url);
      }
      const expected = r.headers['content-length'];
      if (expected !== undefined && Number(expected) > maxBytes) {
        r.destroy();
        throw new TooLargeError(maxBytes);
      }
      const { size, sha1 } = await writeCounted(r, tmp, options.signal, maxBytes);
      if (expected !== undefined && r.headers['content-encoding'] === undefined && size !== Number(expected)) {
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
