/** Writing a download to disk: a hidden part file beside the destination, bytes counted and hashed on the way. */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Where a download of `dest` is written until it is complete (then renamed): beside it, hidden, unique. */
export function partPathFor(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.strand-part-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

/** Pipe `source` into `file`, counting the bytes and hashing them (sha1) as they pass. */
export async function writeCounted(source: NodeJS.ReadableStream, file: string, signal?: AbortSignal): Promise<{ size: number; sha1: string }> {
  const hash = createHash('sha1');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  await pipeline(source, count, createWriteStream(file), signal ? { signal } : {});
  return { size, sha1: hash.digest('hex') };
}
