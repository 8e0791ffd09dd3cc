import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../test/support/fault-proxy.js';
import { StorageError } from '../errors.js';
import { downloadHttp, headHttp } from './http-source.js';

// The test servers listen on 127.0.0.1, which an input URL may reach only when allowed.
const local = { access: { allowHosts: ['127.0.0.1'] } };

const body = randomBytes(300_000);
let server: http.Server;
let base: string;
let proxy: FaultProxy;
let dir: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/data/reads.fq') {
      res.writeHead(200, { 'content-length': body.length, etag: '"v1"' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } else if (req.url === '/secret') {
      res.writeHead(403).end();
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  proxy = await startFaultProxy({ host: '127.0.0.1', port });
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-http-'));
});
afterAll(async () => {
  await proxy.close();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

describe('http(s) inputs', () => {
  it('heads and downloads a file, with its sha1', async () => {
    expect(await headHttp(`${base}/data/reads.fq`, local)).toEqual({ size: body.length, etag: '"v1"' });
    const got = await downloadHttp(`${base}/data/reads.fq`, path.join(dir, 'reads.fq'), local);
    expect(got).toEqual({ size: body.length, sha1: createHash('sha1').update(body).digest('hex') });
    expect(await readFile(path.join(dir, 'reads.fq'))).toEqual(body);
  });

  it('names the URL and the cause: 404, 403, nothing listening', async () => {
    await expect(headHttp(`${base}/nope`, local)).rejects.toThrow(`${base}/nope: no such file (HTTP 404)`);
    await expect(downloadHttp(`${base}/secret`, path.join(dir, 's'), local)).rejects.toMatchObject({ reason: 'access_denied', message: `${base}/secret: access refused (HTTP 403)` });
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await headHttp(`http://127.0.0.1:${port}/x`, { attempts: 1, ...local }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toBe(`http://127.0.0.1:${port}/x: cannot reach the server (connection refused)`);
    expect((await readdir(dir)).filter((n) => n.includes('strand-part'))).toEqual([]);
  });

  it('retries a reset, a 503 and a body cut short', async () => {
    const isGet = (m: string, u: string) => m === 'GET' && u === '/data/reads.fq';
    proxy.inject({ match: isGet, fault: 'reset' });
    proxy.inject({ match: isGet, fault: 'slowdown' });
    proxy.inject({ match: isGet, fault: { cutAfterBytes: 1000 } });
    const got = await downloadHttp(`${proxy.endpoint}/data/reads.fq`, path.join(dir, 'r2'), { baseDelayMs: 10, ...local });
    expect(got.size).toBe(body.length);
    expect(proxy.requests.filter((r) => r.url === '/data/reads.fq').map((r) => r.fault)).toEqual(['reset', 'slowdown', 'cut after 1000', undefined]);
  });
});
