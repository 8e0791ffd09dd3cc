/**
 * The S3 client wrapper every part of Strand uses for object stores (AWS SDK for JavaScript v3;
 * see docs/object-stores.md for the version pin). Everything streams: downloads go to a temporary
 * name beside the destination and are renamed once their size is verified; uploads of any size
 * are read from the file in parts (multipart above `partSize`, see multipart-upload.ts), and a
 * failed or cancelled multipart upload is aborted, so nothing ever appears under the final key but
 * a whole object.
 */
import { rename, rm } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { S3Settings } from '../config/storage-settings.js';
import { StorageError } from '../errors.js';
import { formatS3Location, s3Child, type S3Location } from './location.js';
import { uploadFile } from './multipart-upload.js';
import { MAX_ATTEMPTS, withRetries, type RetryOptions } from './retry.js';
import { describeS3Error } from './s3-errors.js';
import { partPathFor, writeCounted } from './counted-write.js';

export interface S3StoreOptions {
  /** Explicit credentials instead of the AWS chain (e.g. read from a mounted Secret). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size in bytes (at least 5 MiB, S3's minimum); default 8 MiB. */
  partSize?: number;
  /** Parts uploaded at once; memory held is about partSize x queueSize. Default 4. */
  queueSize?: number;
  /** Attempts per request and per transfer (SDK retries and ours). Default 5. */
  maxAttempts?: number;
  /** First backoff wait of our own retries, in ms (tests make it short). */
  retryBaseDelayMs?: number;
}

export interface ObjectInfo {
  size: number;
  /** The ETag as the server sent it, quotes removed. */
  etag: string;
  metadata: Record<string, string>;
}

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
}

export interface Transferred {
  size: number;
  /** sha1 of the bytes moved, hex. */
  sha1: string;
  etag: string;
}

const MiB = 1024 * 1024;
const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"|"$/g, '');

export class S3Store {
  readonly client: S3Client;
  readonly endpoint?: string;
  private readonly profile?: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly retry: RetryOptions;

  constructor(
    readonly settings: S3Settings = {},
    options: S3StoreOptions = {},
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.endpoint = settings.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
    this.profile = settings.profile ?? env.AWS_PROFILE;
    this.partSize = Math.max(5 * MiB, options.partSize ?? 8 * MiB);
    this.queueSize = options.queueSize ?? 4;
    const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
    this.retry = { attempts: maxAttempts, ...(options.retryBaseDelayMs !== undefined ? { baseDelayMs: options.retryBaseDelayMs } : {}) };
    // A custom endpoint (MinIO...) with no region anywhere gets us-east-1, as such servers expect.
    const region = settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (this.endpoint ? 'us-east-1' : undefined);
    const config: S3ClientConfig = {
      ...(region ? { region } : {}),
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.forcePathStyle !== undefined ? { forcePathStyle: settings.forcePathStyle } : {}),
      ...(settings.profile ? { profile: settings.profile } : {}),
      credentials: options.credentials ?? fromNodeProviderChain(settings.profile ? { profile: settings.profile } : {}),
      maxAttempts,
      retryMode: 'standard',
      // A server that stops answering (connection or an idle socket) is an error, which is retried.
      requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000 },
      // S3-compatible servers do not all read aws-chunked bodies with trailing checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    // The SDK warns on Node < 22 that its releases after early January 2027 need Node 22; Strand
    // pins a range published before then (docs/object-stores.md), so the warning is not the user's.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client(config);
  }

  close(): void {
    this.client.destroy();
  }

  private fail(err: unknown, loc: { bucket: string; key: string }, action: string): StorageError {
    return describeS3Error(err, {
      location: formatS3Location(loc),
      bucket: loc.bucket,
      action,
      ...(this.endpoint ? { endpoint: this.endpoint } : {}),
      ...(this.profile ? { profile: this.profile } : {}),
    });
  }

  /**
   * A HEAD answer has no body, so a 403 does not say why (unknown key, wrong secret, policy):
   * ask again with a GET of nothing, whose error body names the cause.
   */
  private async whyRefused(e: StorageError, loc: S3Location, action: string, signal?: AbortSignal): Promise<StorageError> {
    if (e.reason !== 'access_denied' || !e.message.includes('(403 Forbidden)')) return e;
    try {
      if (loc.key === '') {
        await this.client.send(new ListObjectsV2Command({ Bucket: loc.bucket, MaxKeys: 1 }), { abortSignal: signal });
      } else {
        const r = await this.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, Range: 'bytes=0-0' }), { abortSignal: signal });
        (r.Body as { destroy?: () => void } | undefined)?.destroy?.();
      }
      return e;
    } catch (err) {
      const again = this.fail(err, loc, action);
      return again.reason === 'access_denied' ? new StorageError(e.location + again.message.slice(again.location.length), e.location, again.reason, { cause: err }) : e;
    }
  }

  /** The bucket exists and these credentials may use it (HeadBucket). */
  async checkBucket(bucket: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
    } catch (err) {
      const e = await this.whyRefused(this.fail(err, { bucket, key: '' }, 'access to the bucket'), { scheme: 's3', bucket, key: '' }, 'access to the bucket', signal);
      if (e.reason === 'not_found') {
        throw new StorageError(`s3://${bucket}/: the bucket "${bucket}" does not exist${this.endpoint ? ' at ' + this.endpoint : ''}`, `s3://${bucket}/`, 'no_bucket', { cause: err });
      }
      throw e;
    }
  }

  /**
   * These credentials may write under `prefix`: starts a multipart upload of a probe key and
   * aborts it, so no object is ever created (S3 asks for s3:PutObject to start one).
   */
  async checkWritable(prefix: S3Location, signal?: AbortSignal): Promise<void> {
    const probe = s3Child(prefix, `.strand-write-check-${process.pid}-${Date.now().toString(36)}`);
    let uploadId: string | undefined;
    try {
      const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: probe.bucket, Key: probe.key }), { abortSignal: signal });
      uploadId = r.UploadId;
    } catch (err) {
      const e = this.fail(err, prefix, 'writing');
      if (e.reason === 'not_found') {
        throw new StorageError(`${formatS3Location(prefix)}: the bucket "${prefix.bucket}" does not exist${this.endpoint ? ' at ' + this.endpoint : ''}`, formatS3Location(prefix), 'no_bucket', { cause: err });
      }
      throw e;
    }
    // Best effort: a server without AbortMultipartUpload (s3rver) keeps the unfinished parts, and
    // a bucket's lifecycle rule removes them on S3; no object exists under the probe key either way.
    if (uploadId) await this.client.send(new AbortMultipartUploadCommand({ Bucket: probe.bucket, Key: probe.key, UploadId: uploadId })).catch(() => undefined);
  }

  /** Delete one object (only ever one Strand wrote: callers check). */
  async delete(loc: S3Location, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal });
    } catch (err) {
      throw this.fail(err, loc, 'deleting');
    }
  }

  /** Size, ETag and user metadata of an object; a missing one is a StorageError `not_found` (or `no_bucket`). */
  async head(loc: S3Location, signal?: AbortSignal): Promise<ObjectInfo> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }), { abortSignal: signal });
      return { size: r.ContentLength ?? 0, etag: unquote(r.ETag), metadata: r.Metadata ?? {} };
    } catch (err) {
      const e = await this.whyRefused(this.fail(err, loc, 'reading'), loc, 'reading', signal);
      // HEAD has no body, so a 404 does not say whether the bucket or the key is missing: ask.
      if (e.reason === 'not_found') {
        await this.checkBucket(loc.bucket, signal).catch((b: unknown) => {
          if (b instanceof StorageError && b.reason === 'no_bucket') {
            throw new StorageError(`${formatS3Location(loc)}: the bucket "${loc.bucket}" does not exist${this.endpoint ? ' at ' + this.endpoint : ''}`, formatS3Location(loc), 'no_bucket', { cause: err });
          }
        });
      }
      throw e;
    }
  }

  /** The object's info, or undefined when there is no object under that key (the bucket must exist). */
  async headIfExists(loc: S3Location, signal?: AbortSignal): Promise<ObjectInfo | undefined> {
    try {
      return await this.head(loc, signal);
    } catch (err) {
      if (err instanceof StorageError && err.reason === 'not_found') return undefined;
      throw err;
    }
  }

  /**
   * Stream an object into `dest`: written to a temporary name in the same directory, its size
   * checked against the object's, then renamed; retried from the start when the transfer breaks.
   * With `etag`, the object must still be that version (If-Match).
   */
  async download(loc: S3Location, dest: string, options: { etag?: string; signal?: AbortSignal } = {}): Promise<Transferred> {
    const tmp = partPathFor(dest);
    try {
      return await withRetries(async () => {
        const r = await this.client.send(
          new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key, ...(options.etag ? { IfMatch: `"${options.etag}"` } : {}) }),
          { abortSignal: options.signal },
        );
        if (options.etag && r.ETag !== undefined && unquote(r.ETag) !== options.etag) {
          (r.Body as NodeJS.ReadableStream | undefined)?.resume?.();
          throw Object.assign(new Error('ETag changed'), { name: 'PreconditionFailed' });
        }
        const body = r.Body as NodeJS.ReadableStream | undefined;
        if (!body) throw new StorageError(`${formatS3Location(loc)}: the server sent no body`, formatS3Location(loc), 'other');
        const { size, sha1 } = await writeCounted(body, tmp, options.signal);
        const expected = r.ContentLength;
        if (expected !== undefined && size !== expected) {
          throw Object.assign(new Error(`got ${size} of ${expected} bytes`), { name: 'TruncatedBody' });
        }
        await rename(tmp, dest);
        return { size, sha1, etag: unquote(r.ETag) };
      }, { ...this.retry, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      await rm(tmp, { force: true });
      if ((err as { name?: string }).name === 'TruncatedBody') {
        throw new StorageError(`${formatS3Location(loc)}: the download broke off (${(err as Error).message})`, formatS3Location(loc), 'interrupted', { cause: err });
      }
      if ((err as { name?: string }).name === 'PreconditionFailed' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) {
        throw new StorageError(`${formatS3Location(loc)}: the object changed while Strand was reading it`, formatS3Location(loc), 'other', { cause: err });
      }
      throw this.fail(err, loc, 'reading');
    }
  }

  /**
   * Stream a local file to `loc` (multipart above the part size, parts sent `queueSize` at a time;
   * never the whole file in memory). On failure or abort the multipart upload is aborted, so the
   * key holds either the whole new object or whatever it held before. Returns the sha1 of the
   * bytes read, and checks the stored object's size.
   */
  async upload(file: string, loc: S3Location, options: { metadata?: Record<string, string>; contentType?: string; signal?: AbortSignal } = {}): Promise<Transferred> {
    let up;
    try {
      up = await uploadFile(this.client, file, loc, {
        partSize: this.partSize,
        queueSize: this.queueSize,
        ...(options.metadata ? { metadata: options.metadata } : {}),
        ...(options.contentType ? { contentType: options.contentType } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if ((err as { name?: string }).name === 'AbortError' || options.signal?.aborted) {
        throw new StorageError(`${formatS3Location(loc)}: the upload was cancelled; nothing was written under this key`, formatS3Location(loc), 'interrupted', { cause: err });
      }
      throw this.fail(err, loc, 'writing');
    }
    const stored = await this.head(loc, options.signal);
    if (stored.size !== up.size) {
      throw new StorageError(`${formatS3Location(loc)}: the stored object has ${stored.size} bytes, the file ${up.size}`, formatS3Location(loc), 'interrupted');
    }
    return { size: up.size, sha1: up.sha1, etag: unquote(up.etag) || stored.etag };
  }

  /** Delete these keys of one bucket (DeleteObjects, 1000 a request); keys already gone are no error. */
  async deleteKeys(bucket: string, keys: readonly string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const r = await this.client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }), { abortSignal: signal });
        const failed = r.Errors?.[0];
        if (failed) throw Object.assign(new Error(`${failed.Code ?? 'error'}: ${failed.Message ?? ''}`), { name: failed.Code ?? 'DeleteFailed' });
      } catch (err) {
        throw this.fail(err, { bucket, key: batch[0] ?? '' }, 'deleting');
      }
    }
  }

  /** Every object under a prefix (ListObjectsV2, page by page; `pageSize` at most 1000). */
  async *list(prefix: S3Location, options: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: prefix.bucket,
            Prefix: prefix.key,
            ...(token ? { ContinuationToken: token } : {}),
            ...(options.pageSize ? { MaxKeys: options.pageSize } : {}),
          }),
          { abortSignal: options.signal },
        );
      } catch (err) {
        throw this.fail(err, prefix, 'listing');
      }
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0, etag: unquote(o.ETag) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
