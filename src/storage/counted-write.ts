/** Writing a download to disk: a hidden part file beside the destination, bytes counted and hashed on the way. */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Where a download of `dest` is written until it is complete (then renamed): beside it, hidden, unique. */
export function partPathFor(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.strand-part-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

/** A download went over its size cap (not transient: it is not retried). */
export class TooLargeError extends Error {
  override readonly name = 'TooLarge';
  constructor(readonly limit: number) {
    super(`more than ${limit} bytes`);
  }
}

// A new file, never through a link: an existing name (or a link planted there) fails.
const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Pipe `source` into `file` (made anew: an earlier attempt's part file is removed first), counting
 * the bytes and hashing them (sha1) as they pass; more than `maxBytes` stops it with TooLargeError.
 */
export async function writeCounted(
  source: NodeJS.ReadableStream,
  file: string,
  signal?: AbortSignal,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<{ size: number; sha1: string }> {
  const hash = createHash('sha1');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new TooLargeError(maxBytes));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await rm(file, { force: true });
  const handle = await open(file, CREATE_NEW, 0o644);
  // The stream closes the handle when it ends or fails.
  await pipeline(source, count, handle.createWriteStream(), signal ? { signal } : {});
  return { size, sha1: hash.digest('hex') };
}
