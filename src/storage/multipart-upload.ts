/**
 * Upload one local file to S3 without holding it in memory: a file up to one part is one
 * PutObject; a larger one is a multipart upload whose parts are read from the file in order (so
 * the sha1 of the bytes sent is computed on the way) and sent `queueSize` at a time, so memory
 * stays at partSize x queueSize. Any failure, and cancellation through `signal`, aborts the
 * multipart upload and waits for the abort to be sent before rejecting: nothing ever appears under
 * the key but a complete object, and a process that exits right after (Ctrl-C) leaves no upload
 * behind. (lib-storage's Upload rejects at once on abort and sends AbortMultipartUpload in the
 * background, which an exiting process never does; hence this module.)
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface UploadTarget {
  bucket: string;
  key: string;
}

export interface UploadOptions {
  partSize: number;
  queueSize: number;
  metadata?: Record<string, string>;
  contentType?: string;
  signal?: AbortSignal;
}

export interface UploadResult {
  size: number;
  sha1: string;
  etag: string;
  parts: number;
}

const aborted = (signal: AbortSignal | undefined): Error =>
  Object.assign(new Error('the upload was cancelled'), { name: 'AbortError', cause: signal?.reason });

async function readFully(fh: Awaited<ReturnType<typeof open>>, buf: Buffer, position: number): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error(`the file ended at ${position + done} bytes while it was uploaded (it shrank)`);
    done += bytesRead;
  }
}

export async function uploadFile(client: S3Client, file: string, target: UploadTarget, o: UploadOptions): Promise<UploadResult> {
  const size = (await stat(file)).size;
  const common = {
    Bucket: target.bucket,
    Key: target.key,
    ...(o.metadata ? { Metadata: o.metadata } : {}),
    ...(o.contentType ? { ContentType: o.contentType } : {}),
  };
  const fh = await open(file, 'r');
  try {
    if (size <= o.partSize) {
      const body = Buffer.allocUnsafe(size);
      await readFully(fh, body, 0);
      const r = await client.send(new PutObjectCommand({ ...common, Body: body, ContentLength: size }), { abortSignal: o.signal });
      return { size, sha1: createHash('sha1').update(body).digest('hex'), etag: r.ETag ?? '', parts: 1 };
    }
    const created = await client.send(new CreateMultipartUploadCommand(common), { abortSignal: o.signal });
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error('the server started a multipart upload without an upload id');
    try {
      const hash = createHash('sha1');
      const parts: CompletedPart[] = [];
      const inflight = new Set<Promise<void>>();
      let failure: unknown;
      const count = Math.ceil(size / o.partSize);
      for (let n = 1; n <= count && failure === undefined; n++) {
        if (o.signal?.aborted) throw aborted(o.signal);
        const offset = (n - 1) * o.partSize;
        const body = Buffer.allocUnsafe(Math.min(o.partSize, size - offset));
        await readFully(fh, body, offset);
        hash.update(body);
        const sent: Promise<void> = client
          .send(new UploadPartCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, PartNumber: n, Body: body, ContentLength: body.length }), {
            abortSignal: o.signal,
          })
          .then(
            (r) => void parts.push({ PartNumber: n, ETag: r.ETag }),
            (err: unknown) => void (failure ??= err),
          )
          .finally(() => inflight.delete(sent));
        inflight.add(sent);
        if (inflight.size >= o.queueSize) await Promise.race(inflight);
      }
      await Promise.all(inflight);
      if (failure !== undefined) throw failure;
      if (o.signal?.aborted) throw aborted(o.signal);
      if ((await fh.stat()).size !== size) throw new Error('the file changed size while it was uploaded');
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      // Not cancellable: once sent, the server completes the object or not, whole either way.
      const done = await client.send(new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
      return { size, sha1: hash.digest('hex'), etag: done.ETag ?? '', parts: count };
    } catch (err) {
      // Sent without the cancelled signal, and awaited: the parts go, nothing appears under the key.
      await client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId })).catch(() => undefined);
      throw err;
    }
  } finally {
    await fh.close();
  }
}
