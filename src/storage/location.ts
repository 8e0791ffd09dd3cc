/**
 * Remote locations: `s3://bucket/key` (an object, or with a trailing `/` or as a Directory a
 * prefix) and `http(s)://...` (read-only Files). Pure parsing; nothing here does I/O.
 */
import { StorageError } from '../errors.js';

export interface S3Location {
  readonly scheme: 's3';
  readonly bucket: string;
  /** Object key, or a prefix; '' for the bucket's root. Never starts with '/'. */
  readonly key: string;
}

export interface HttpLocation {
  readonly scheme: 'http' | 'https';
  readonly url: string;
}

export type RemoteLocation = S3Location | HttpLocation;

// S3's rules for bucket names (3-63 characters, lower case letters, digits, '.', '-').
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Whether `text` names a remote location (s3:, http:, https:), whatever else it holds. */
export function isRemoteLocation(text: string): boolean {
  return /^(s3|https?):\/\//i.test(text);
}

/** Parse a remote location; undefined for anything else (a path, `file://`). Throws on a malformed one. */
export function parseRemoteLocation(text: string): RemoteLocation | undefined {
  const scheme = /^([a-z0-9+.-]+):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 's3') return parseS3Location(text);
  if (scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new StorageError(`${text}: not a valid URL`, text, 'bad_location');
    }
    return { scheme, url: url.href };
  }
  return undefined;
}

/** `s3://bucket/key` -> bucket and key; the key is taken as written (no %-decoding, S3 keys are text). */
export function parseS3Location(text: string): S3Location {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/is.exec(text);
  const bucket = m?.[1] ?? '';
  if (!m || !BUCKET.test(bucket) || bucket.includes('..')) {
    throw new StorageError(
      `${text}: not an S3 location: expected s3://bucket/key with a bucket name of 3-63 lower-case letters, digits, '.' or '-'`,
      text,
      'bad_location',
    );
  }
  return { scheme: 's3', bucket, key: m[2] ?? '' };
}

export function formatS3Location(loc: { bucket: string; key: string }): string {
  return `s3://${loc.bucket}/${loc.key}`;
}

export function formatRemoteLocation(loc: RemoteLocation): string {
  return loc.scheme === 's3' ? formatS3Location(loc) : loc.url;
}

/** The location of `name` (a relative path with '/') under a prefix: `s3://b/out` + `x/y` -> `s3://b/out/x/y`. */
export function s3Child(prefix: S3Location, name: string): S3Location {
  const base = prefix.key === '' || prefix.key.endsWith('/') ? prefix.key : prefix.key + '/';
  return { scheme: 's3', bucket: prefix.bucket, key: base + name.replace(/^\/+/, '') };
}

/** The last part of a location's path (what a File's basename is), decoded for http URLs. */
export function remoteBasename(loc: RemoteLocation): string {
  if (loc.scheme === 's3') return loc.key.replace(/\/+$/, '').split('/').pop() ?? '';
  const last = new URL(loc.url).pathname.replace(/\/+$/, '').split('/').pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
