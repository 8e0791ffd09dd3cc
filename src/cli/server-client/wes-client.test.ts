import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WesClient, WesError, WesUnreachable } from './wes-client.js';

// Two real servers on loopback: "lab" answers as the test says; "elsewhere" records any request
// that reaches it (none should: the token goes to the lab's origin only).
const TOKEN = 'tok-ada-5f1c9e';
let lab: http.Server;
let elsewhere: http.Server;
let labUrl = '';
let elsewhereUrl = '';
const seenByLab: Array<{ method: string; url: string; auth: string | undefined }> = [];
const seenElsewhere: string[] = [];
let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, res) => res.end();

const listen = async (s: http.Server) => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  lab = http.createServer((req, res) => {
    seenByLab.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization });
    answer(req, res);
  });
  elsewhere = http.createServer((req, res) => {
    seenElsewhere.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.end('{}');
  });
  labUrl = await listen(lab);
  elsewhereUrl = await listen(elsewhere);
});
afterAll(async () => {
  await new Promise((r) => lab.close(r));
  await new Promise((r) => elsewhere.close(r));
});

const json = (status: number, body: unknown) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};
const client = () => new WesClient({ url: labUrl, token: TOKEN });

describe('WesClient', () => {
  it('sends the token in the Authorization header to the WES base path, never in the URL', async () => {
    answer = json(200, { runs: [{ run_id: 'r1', state: 'COMPLETE', start_time: '2026-11-20T09:00:00Z', tags: { a: 'b', n: 3 } }], next_page_token: '' });
    const runs = await client().listRuns({ pageSize: 5 });
    expect(runs).toEqual({ runs: [{ run_id: 'r1', state: 'COMPLETE', start_time: '2026-11-20T09:00:00Z', tags: { a: 'b' } }], next_page_token: '' });
    const last = seenByLab.at(-1)!;
    expect(last).toEqual({ method: 'GET', url: '/ga4gh/wes/v1/runs?page_size=5', auth: `Bearer ${TOKEN}` });
  });

  it("shows the server's ErrorResponse message as it is, with the status", async () => {
    answer = json(404, { msg: 'no run 20991231-235959-0123456789abcdef', status_code: 404 });
    const err = await client().runLog('20991231-235959-0123456789abcdef').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WesError);
    expect((err as WesError).status).toBe(404);
    expect((err as WesError).message).toBe('no run 20991231-235959-0123456789abcdef (GET /ga4gh/wes/v1/runs/20991231-235959-0123456789abcdef: HTTP 404)');
  });

  it('says to log in again on 401, and masks the token should a server echo it', async () => {
    answer = json(401, { msg: `token ${TOKEN} expired`, status_code: 401 });
    const err = (await client().serviceInfo().catch((e: unknown) => e)) as WesError;
    expect(err.status).toBe(401);
    expect(err.message).toBe(`${labUrl} refused the token (401: token *** expired): it may have expired; log in again: strand login --server ${labUrl}`);
    expect(err.message).not.toContain(TOKEN);
  });

  it('follows no redirect: the token is not sent on, and the message says where it pointed', async () => {
    const before = seenElsewhere.length;
    answer = (_req, res) => res.writeHead(307, { location: `${elsewhereUrl}/ga4gh/wes/v1/runs` }).end();
    const err = await client().listRuns().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WesUnreachable);
    expect((err as Error).message).toContain(`answered 307, a redirect to ${elsewhereUrl}/ga4gh/wes/v1/runs: the token is not sent on`);
    expect(seenElsewhere.length).toBe(before);
  });

  it("reads a log from this server's own route when the RunLog's URL is on another origin", async () => {
    const before = seenElsewhere.length;
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('the log\n');
    const read = async (s: ReadableStream<Uint8Array>) => {
      let t = '';
      for await (const c of s as unknown as AsyncIterable<Uint8Array>) t += Buffer.from(c).toString();
      return t;
    };
    expect(await read(await client().logStream('r1', 'stdout', `${elsewhereUrl}/ga4gh/wes/v1/runs/r1/logs/stdout`))).toBe('the log\n');
    expect(seenByLab.at(-1)!.url).toBe('/ga4gh/wes/v1/runs/r1/logs/stdout');
    expect(seenElsewhere.length).toBe(before);
    // On the same origin, the URL given is used.
    await read(await client().logStream('r1', 'stderr', `${labUrl}/ga4gh/wes/v1/runs/r1/logs/stderr?x=1`));
    expect(seenByLab.at(-1)!.url).toBe('/ga4gh/wes/v1/runs/r1/logs/stderr?x=1');
  });

  it('refuses answers that are not WES: not JSON, a service-info of another kind, a list that is not one', async () => {
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>a login page</html>');
    await expect(client().listRuns()).rejects.toThrow(/not JSON: is it a Strand lab server/);
    answer = json(200, { id: 'x', type: { group: 'org.ga4gh', artifact: 'drs', version: '1' } });
    await expect(client().serviceInfo()).rejects.toThrow(/type\.artifact is not "wes"/);
    answer = json(200, { runs: 'many' });
    await expect(client().listRuns()).rejects.toThrow(/runs is not a list/);
    answer = json(200, { state: 'COMPLETE' });
    await expect(client().runStatus('r1')).rejects.toThrow(/run_id is missing/);
  });

  it('pages through every task', async () => {
    answer = (req, res) => {
      const token = new URL(req.url!, 'http://x').searchParams.get('page_token');
      const page = token ? { task_logs: [{ id: 't.2', name: 'main/t' }], next_page_token: '' } : { task_logs: [{ id: 't.1', name: 'main/t', exit_code: 1, system_logs: ['phase: failed'] }], next_page_token: 'next' };
      json(200, page)(req, res);
    };
    const { tasks, complete } = await client().allTasks('r1');
    expect(complete).toBe(true);
    expect(tasks).toEqual([{ id: 't.1', name: 'main/t', exit_code: 1, system_logs: ['phase: failed'] }, { id: 't.2', name: 'main/t' }]);
  });

  it('says when the server cannot be reached', async () => {
    const closed = http.createServer();
    const url = await listen(closed);
    await new Promise((r) => closed.close(r));
    await expect(new WesClient({ url, token: TOKEN }).serviceInfo()).rejects.toThrow(`could not reach ${url}: ECONNREFUSED`);
  });
});
