/**
 * SDK and network failures -> StorageError with the location and the cause in the user's words:
 * a missing bucket, wrong credentials, an unreachable endpoint, a missing key.
 */
import { StorageError } from '../errors.js';
import { statusOf, systemCodeOf } from './retry.js';

export interface ErrorContext {
  /** The location acted on, as the user wrote it (`s3://bucket/key`). */
  location: string;
  bucket: string;
  /** What Strand was doing: `reading`, `writing`, `listing`. */
  action: string;
  /** The endpoint, when not AWS's own, so an unreachable one is named. */
  endpoint?: string;
  profile?: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE']);

export function describeS3Error(err: unknown, ctx: ErrorContext): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { name?: string; message?: string; Code?: string } | undefined;
  const raw = e?.Code ?? e?.name ?? '';
  // A HEAD answer has no body: the SDK calls its error 'Unknown' or the status code.
  const name = raw === 'Unknown' || raw === 'UnknownError' || /^\d+$/.test(raw) ? '' : raw;
  const status = statusOf(err);
  const sys = systemCodeOf(err);
  const where = ctx.endpoint ? ` at ${ctx.endpoint}` : '';
  const cause = { cause: err };
  if (name === 'NoSuchBucket') {
    return new StorageError(`${ctx.location}: the bucket "${ctx.bucket}" does not exist${where}`, ctx.location, 'no_bucket', cause);
  }
  if (name === 'NoSuchKey' || (status === 404 && name !== 'NoSuchBucket')) {
    return new StorageError(`${ctx.location}: no such object${where}`, ctx.location, 'not_found', cause);
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(e?.message ?? '')) {
    return new StorageError(
      `${ctx.location}: no S3 credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or storage.s3.profile in strand.yaml)`,
      ctx.location,
      'access_denied',
      cause,
    );
  }
  if (status === 403 || status === 401 || ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden', 'InvalidToken', 'ExpiredToken'].includes(name)) {
    const why =
      name === 'InvalidAccessKeyId'
        ? 'the access key is not known to the server'
        : name === 'SignatureDoesNotMatch'
          ? 'the secret key does not match the access key'
          : name === 'ExpiredToken'
            ? 'the session token has expired'
            : 'access denied';
    const hint = ctx.profile ? ` (profile ${ctx.profile})` : '';
    return new StorageError(
      `${ctx.location}: ${ctx.action} refused${where} (403 ${name || 'Forbidden'}): ${why}; check the credentials${hint}`,
      ctx.location,
      'access_denied',
      cause,
    );
  }
  if (sys && UNREACHABLE.has(sys)) {
    const what = sys === 'ECONNREFUSED' ? 'connection refused' : sys === 'ENOTFOUND' || sys === 'EAI_AGAIN' ? 'host not found' : sys === 'ECONNRESET' ? 'connection reset' : sys.toLowerCase();
    return new StorageError(
      `${ctx.location}: cannot reach the S3 endpoint${ctx.endpoint ? ' ' + ctx.endpoint : ''} (${what})`,
      ctx.location,
      'unreachable',
      cause,
    );
  }
  if (name === 'TimeoutError') {
    return new StorageError(`${ctx.location}: the S3 endpoint${ctx.endpoint ? ' ' + ctx.endpoint : ''} did not answer in time`, ctx.location, 'unreachable', cause);
  }
  const detail = [status ? String(status) : '', name, e?.message && e.message !== name && e.message !== 'UnknownError' ? e.message : '']
    .filter(Boolean)
    .join(' ');
  return new StorageError(`${ctx.location}: ${ctx.action} failed${where}: ${detail || String(err)}`, ctx.location, 'other', cause);
}
