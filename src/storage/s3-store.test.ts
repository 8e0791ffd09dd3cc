// The S3 wrapper against a real S3-protocol server (test/support/s3-server.ts), no mock of the SDK.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../test/support/fault-proxy.js';
import { startS3Server, type S3TestServer } from '../../test/support/s3-server.js';
import { StorageError } from '../errors.js';
import { parseS3Location as s3 } from './location.js';
import { S3Store } from './s3-store.js';

let server: S3TestServer;
let proxy: FaultProxy;
let dir: string;
let store: S3Store;
const MiB = 1024 * 1024;
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  server = await startS3Server({ buckets: ['data', 'other'] });
  proxy = await startFaultProxy({ host: server.host, port: server.port });
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-s3-store-'));
  store = new S3Store(server.settings, { credentials: server.credentials, partSize: 5 * MiB, retryBaseDelayMs: 10 });
});
afterAll(async () => {
  store?.close();
  await proxy?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const storeVia = (endpoint: string, credentials = server.credentials, maxAttempts = 5) =>
  new S3Store({ ...server.settings, endpoint }, { credentials, partSize: 5 * MiB, retryBaseDelayMs: 10, maxAttempts });

async function expectStorageError(p: Promise<unknown>, reason: string, text: RegExp | string): Promise<StorageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  expect((err as StorageError).reason).toBe(reason);
  expect((err as StorageError).message).toMatch(text);
  return err as StorageError;
}

describe('S3Store against a real S3 server', () => {
  it('uploads, heads and downloads a small object; the ETag is the MD5 of the bytes', async () => {
    const body = Buffer.from('hello object store\n');
    await writeFile(path.join(dir, 'small.txt'), body);
    const up = await store.upload(path.join(dir, 'small.txt'), s3('s3://data/in/small.txt'), { metadata: { 'strand-run': 'r1' } });
    expect(up).toEqual({ size: body.length, sha1: sha1(body), etag: md5(body) });
    const info = await store.head(s3('s3://data/in/small.txt'));
    expect(info).toEqual({ size: body.length, etag: md5(body), metadata: { 'strand-run': 'r1' } });
    const down = await store.download(s3('s3://data/in/small.txt'), path.join(dir, 'small.copy'), { etag: info.etag });
    expect(down.sha1).toBe(sha1(body));
    expect(await readFile(path.join(dir, 'small.copy'))).toEqual(body);
  });

  it('uploads a file larger than a part in several parts (multipart), and reads it back whole', async () => {
    const body = randomBytes(12 * MiB + 123);
    await writeFile(path.join(dir, 'big.bin'), body);
    const via = storeVia(proxy.endpoint);
    const before = proxy.requests.length;
    const up = await via.upload(path.join(dir, 'big.bin'), s3('s3://data/big.bin'));
    via.close();
    const seen = proxy.requests.slice(before).map((r) => `${r.method} ${r.url.replace(/uploadId=[^&]+/, 'uploadId=U').replace(/[?&]x-id=[^&]+/, '').replace('uploads=', 'uploads')}`);
    expect(seen.filter((r) => !r.startsWith('HEAD')).sort()).toEqual(
      ['POST /data/big.bin?uploads', 'PUT /data/big.bin?partNumber=1&uploadId=U', 'PUT /data/big.bin?partNumber=2&uploadId=U', 'PUT /data/big.bin?partNumber=3&uploadId=U', 'POST /data/big.bin?uploadId=U'].sort(),
    );
    // S3 would say "<md5 of the parts' md5s>-3"; s3rver gives the whole object's MD5. Either way
    // the ETag is the one HEAD and GET report afterwards.
    expect(up.etag).toBe(md5(body));
    expect(up.size).toBe(body.length);
    expect(up.sha1).toBe(sha1(body));
    expect((await store.head(s3('s3://data/big.bin'))).etag).toBe(up.etag);
    const down = await store.download(s3('s3://data/big.bin'), path.join(dir, 'big.copy'));
    expect(down).toEqual({ size: body.length, sha1: sha1(body), etag: up.etag });
  });

  it('lists a prefix over several ListObjectsV2 pages', async () => {
    await writeFile(path.join(dir, 'one'), 'x');
    for (let i = 0; i < 7; i++) await store.upload(path.join(dir, 'one'), s3(`s3://data/many/f${i}.txt`));
    await store.upload(path.join(dir, 'one'), s3('s3://data/many-not/x.txt'));
    const before = proxy.requests.length;
    const viaProxy = storeVia(proxy.endpoint);
    const keys: string[] = [];
    for await (const o of viaProxy.list(s3('s3://data/many/'), { pageSize: 3 })) keys.push(o.key);
    viaProxy.close();
    expect(keys.sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `many/f${i}.txt`));
    const pages = proxy.requests.slice(before).filter((r) => r.url.includes('list-type=2'));
    expect(pages).toHaveLength(3);
    expect(pages[1]!.url).toContain('continuation-token=');
  });

  it('a missing key is not_found, naming the location', async () => {
    await expectStorageError(store.head(s3('s3://data/nope.txt')), 'not_found', /^s3:\/\/data\/nope.txt: no such object/);
    await expectStorageError(store.download(s3('s3://data/nope.txt'), path.join(dir, 'nope')), 'not_found', 's3://data/nope.txt: no such object');
    expect(await store.headIfExists(s3('s3://data/nope.txt'))).toBeUndefined();
    expect((await readdir(dir)).filter((n) => n.includes('strand-part'))).toEqual([]);
  });

  it('a missing bucket is no_bucket on head, get, list and HeadBucket', async () => {
    const msg = /^s3:\/\/missing-bucket\/.*the bucket "missing-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+$/;
    await expectStorageError(store.head(s3('s3://missing-bucket/k')), 'no_bucket', msg);
    await expectStorageError(store.download(s3('s3://missing-bucket/k'), path.join(dir, 'k')), 'no_bucket', msg);
    await expectStorageError(store.checkBucket('missing-bucket'), 'no_bucket', msg);
    await expectStorageError((async () => { for await (const _ of store.list(s3('s3://missing-bucket/p/'))) void _; })(), 'no_bucket', msg);
    await expectStorageError(store.headIfExists(s3('s3://missing-bucket/k')), 'no_bucket', msg);
  });

  it('wrong credentials are access_denied (403), for a wrong secret as for an unknown key id', async () => {
    const wrongSecret = storeVia(server.endpoint, { ...server.credentials, secretAccessKey: 'wrong' });
    // HEAD answers carry no error code: the store asks again with a GET to name the cause.
    await expectStorageError(wrongSecret.head(s3('s3://data/in/small.txt')), 'access_denied', /^s3:\/\/data\/in\/small.txt: reading refused at http:\/\/127.0.0.1:\d+ \(403 SignatureDoesNotMatch\): the secret key does not match the access key; check the credentials$/);
    await expectStorageError(wrongSecret.checkBucket('data'), 'access_denied', /^s3:\/\/data\/: access to the bucket refused at .* \(403 SignatureDoesNotMatch\)/);
    await writeFile(path.join(dir, 'w.txt'), 'w');
    await expectStorageError(wrongSecret.upload(path.join(dir, 'w.txt'), s3('s3://data/w.txt')), 'access_denied', /403 SignatureDoesNotMatch\): the secret key does not match/);
    wrongSecret.close();
    const unknownKey = storeVia(server.endpoint, { accessKeyId: 'nobody', secretAccessKey: 'x' });
    await expectStorageError(unknownKey.download(s3('s3://data/in/small.txt'), path.join(dir, 'u')), 'access_denied', /403 InvalidAccessKeyId\): the access key is not known/);
    unknownKey.close();
    expect(await store.headIfExists(s3('s3://data/w.txt'))).toBeUndefined();
  });

  it('an endpoint where nothing listens is unreachable, named in the message', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const nowhere = storeVia(`http://127.0.0.1:${free}`, server.credentials, 2);
    await expectStorageError(nowhere.checkBucket('data'), 'unreachable', `cannot reach the S3 endpoint http://127.0.0.1:${free} (connection refused)`);
    nowhere.close();
  });

  it('retries 503 SlowDown, 500 and connection resets, and a download cut off mid-body', async () => {
    const body = randomBytes(3 * MiB);
    await writeFile(path.join(dir, 'r.bin'), body);
    await store.upload(path.join(dir, 'r.bin'), s3('s3://data/r.bin'));
    const via = storeVia(proxy.endpoint);
    const isGet = (m: string, u: string) => m === 'GET' && u.startsWith('/data/r.bin');
    proxy.inject({ match: isGet, fault: 'slowdown' });
    proxy.inject({ match: isGet, fault: 'reset' });
    proxy.inject({ match: isGet, fault: 'internal' });
    proxy.inject({ match: isGet, fault: { cutAfterBytes: MiB } });
    const before = proxy.requests.length;
    const down = await via.download(s3('s3://data/r.bin'), path.join(dir, 'r.copy'));
    expect(down.sha1).toBe(sha1(body));
    expect(proxy.requests.slice(before).map((r) => r.fault)).toEqual(['slowdown', 'reset', 'internal', `cut after ${MiB}`, undefined]);
    proxy.inject({ match: (m, u) => m === 'PUT' && u.startsWith('/data/r2.bin'), fault: 'slowdown', times: 2 });
    expect((await via.upload(path.join(dir, 'r.bin'), s3('s3://data/r2.bin'))).sha1).toBe(sha1(body));
    via.close();
  });

  it('a multipart upload that fails is aborted: nothing appears under the key', async () => {
    const body = randomBytes(11 * MiB);
    await writeFile(path.join(dir, 'fail.bin'), body);
    const via = storeVia(proxy.endpoint, server.credentials, 2);
    proxy.inject({ match: (m, u) => m === 'PUT' && u.startsWith('/data/fail.bin') && u.includes('partNumber=2'), fault: 'internal', times: Infinity });
    const before = proxy.requests.length;
    await expectStorageError(via.upload(path.join(dir, 'fail.bin'), s3('s3://data/fail.bin')), 'other', /^s3:\/\/data\/fail.bin: writing failed/);
    proxy.clear();
    via.close();
    const seen = proxy.requests.slice(before);
    expect(seen.some((r) => r.method === 'POST' && r.url.includes('uploads'))).toBe(true);
    expect(seen.some((r) => r.method === 'DELETE' && r.url.includes('uploadId='))).toBe(true);
    expect(await store.headIfExists(s3('s3://data/fail.bin'))).toBeUndefined();
  });
});
