import { mkdtemp, rm, symlink, writeFile, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeStandIn, releaseStandIns } from '../staging/stand-ins.js';
import { FileDigester, MemoryDigestMemo, registerRemoteIdentity, remoteScheme } from './digests.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-digests-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileDigester', () => {
  it('identifies a stand-in for an object the tasks read in place by its ETag and size, without fetching it', async () => {
    const owner = {};
    const fetched: string[] = [];
    const p = await makeStandIn(path.join(dir, 'reads.bam'), { location: 's3://b/reads.bam', bucket: 'b', key: 'reads.bam', etag: 'abc123', size: 5 }, async (o) => void fetched.push(o.key), owner);
    try {
      const d = new FileDigester();
      expect(await d.digest(p)).toEqual({ checksum: 'etag$abc123', size: 5 });
      expect(fetched).toEqual([]);
      expect(d.hashed).toBe(0);
    } finally {
      releaseStandIns(owner);
    }
  });

  it('hashes a file once and remembers it by path and identity, through links too', async () => {
    const f = path.join(dir, 'a.txt');
    await writeFile(f, 'hello\n');
    await symlink(f, path.join(dir, 'link'));
    const memo = new MemoryDigestMemo();
    const d = new FileDigester(memo);
    const first = await d.digest(f);
    expect(first).toEqual({ checksum: 'sha1$f572d396fae9206628714fb2ce00f72e94f2258f', size: 6 });
    expect(await d.digest(path.join(dir, 'link'))).toEqual(first);
    // A second digester over the same memo (the next run) reads nothing.
    const again = new FileDigester(memo);
    expect(await again.digest(f)).toEqual(first);
    expect(d.hashed + again.hashed).toBe(1);
  });

  it('hashes again when the bytes change, even at the same size and with the old mtime put back', async () => {
    const f = path.join(dir, 'a.txt');
    await writeFile(f, 'hello\n');
    const old = new Date('2026-01-01T00:00:00Z');
    await utimes(f, old, old);
    const memo = new MemoryDigestMemo();
    const before = await new FileDigester(memo).digest(f);
    await writeFile(f, 'jello\n');
    await utimes(f, old, old); // ctime still moves: no tool can set it back
    const d = new FileDigester(memo);
    const after = await d.digest(f);
    expect(after?.size).toBe(6);
    expect(after?.checksum).not.toBe(before?.checksum);
    expect(d.hashed).toBe(1);
  });

  it('gives nothing for what is not a readable regular file', async () => {
    const d = new FileDigester();
    expect(await d.digest(path.join(dir, 'missing'))).toBeUndefined();
    expect(await d.digest(dir)).toBeUndefined();
  });

  it('identifies remote objects through the provider of their scheme, and nothing else', async () => {
    expect(remoteScheme('s3://bucket/key')).toBe('s3');
    expect(remoteScheme('file:///x')).toBeUndefined();
    expect(remoteScheme('/x')).toBeUndefined();
    const d = new FileDigester();
    expect(await d.remote('strandtest://b/k')).toBeUndefined();
    registerRemoteIdentity('strandtest', async (loc) => ({ etag: `"${loc.length}"`, size: 42 }));
    expect(await d.remote('strandtest://b/k')).toEqual({ checksum: 'etag$"16"', size: 42 });
  });
});
