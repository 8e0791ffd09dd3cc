#!/usr/bin/env node
// Object-store transfer benchmark: one file of --mb MiB (default 200) uploaded to the test S3
// server (s3rver behind its signature-checking front, test/support/s3-server.ts) with the
// storage layer's S3Store.upload (multipart, 8 MiB parts, 4 at a time), then downloaded with
// S3Store.download. Prints MiB/s and the peak resident memory of this process above its level
// before the transfer, sampled every 20 ms: it stays near partSize x queueSize whatever the file
// size, because both directions stream. The server runs in its own process and is not counted.
//
// Usage: npm run build && node bench/s3-transfer-bench.mjs [--mb 200] [--keep]

import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({ options: { mb: { type: 'string', default: '200' }, keep: { type: 'boolean', default: false } } });
const MiB = 1024 * 1024;
const size = Number(o.mb) * MiB;
const dist = new URL('../dist/', import.meta.url);
const { startS3Server } = await import(new URL('test/support/s3-server.js', dist).href);
const { S3Store, parseS3Location } = await import(new URL('src/storage/index.js', dist).href);

const dir = await mkdtemp(join(tmpdir(), 'strand-s3-bench-'));
const file = join(dir, 'big.bin');
const fh = await open(file, 'w');
const chunk = randomBytes(MiB);
for (let i = 0; i < size / MiB; i++) await fh.write(chunk.map((b) => (b + i) & 255));
await fh.close();
const sha1 = await new Promise((resolve) => {
  const h = createHash('sha1');
  createReadStream(file).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex')));
});

const server = await startS3Server({ buckets: ['bench'] });
const store = new S3Store(server.settings, { credentials: server.credentials });

async function measure(label, fn) {
  globalThis.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = process.hrtime.bigint();
  const r = await fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  clearInterval(timer);
  console.log(`${label.padEnd(9)} ${(size / MiB).toFixed(0)} MiB in ${s.toFixed(2)} s = ${(size / MiB / s).toFixed(1)} MiB/s; peak RSS +${((peak - base) / MiB).toFixed(0)} MiB (base ${(base / MiB).toFixed(0)} MiB)`);
  return r;
}

try {
  const up = await measure('upload', () => store.upload(file, parseS3Location('s3://bench/big.bin')));
  if (up.sha1 !== sha1 || up.size !== size) throw new Error('upload: wrong bytes');
  const down = await measure('download', () => store.download(parseS3Location('s3://bench/big.bin'), join(dir, 'copy.bin')));
  if (down.sha1 !== sha1 || down.size !== size) throw new Error('download: wrong bytes');
  console.log(`sha1 ${sha1} both ways`);
} finally {
  store.close();
  await server.stop();
  if (!o.keep) await rm(dir, { recursive: true, force: true });
}
