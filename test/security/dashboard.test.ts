// `strand ui` must not be readable by other web pages or other clients of the machine's loopback:
// exact Host check (no DNS rebinding), an access token on every API, event and log request,
// headers that forbid framing and foreign scripts, logs served only as regular files inside the
// store's log directory, and event streams that cannot grow the server's memory without bound.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openRunStore, type RunStore } from '../../src/store/run-store.js';
import { MAX_EVENT_CLIENTS } from '../../src/ui/event-clients.js';
import { startDashboard, type Dashboard } from '../../src/ui/server.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

let dir = '';
let storeDir = '';
let logDir = '';
let writer: RunStore;
let dash: Dashboard;

/** A store with run r1 (owner alice), one task whose stderr.log is in the store's log directory. */
function makeStore(graphNodes = 1): void {
  storeDir = path.join(dir, 'store');
  writer = openRunStore(storeDir);
  logDir = path.join(storeDir, 'logs', 'r1', 'main_a_0', '1');
  mkdirSync(logDir, { recursive: true });
  writeFileSync(path.join(logDir, 'stderr.log'), 'the task said hello\n');
  const nodes = Array.from({ length: graphNodes }, (_, i) => ({ id: i === 0 ? 'main/a' : `main/n${i}-${LONG}`, kind: 'step' as const, label: i === 0 ? 'a' : `n${i}` }));
  writer.createRun({ runId: 'r1', processId: 'file:///secret/project/wf.cwl#main', owner: 'alice', executor: 'local', graph: { root: 'main', nodes, edges: [] } });
  const ref = { runId: 'r1', taskId: 'main/a/0', stepPath: 'main/a/0', attempt: 1 };
  writer.record({ type: 'task_queued', at: new Date(), ...ref });
  writer.record({ type: 'task_started', at: new Date(), workDir: '/w', logDir, argv: ['secret-tool', '--password', 'hunter2'], ...ref });
  writer.flush();
}

const LONG = 'x'.repeat(120);

/**
 * One change to run r1 that touches `width` graph nodes at once (a task queued in each of
 * main/n1… main/n<width>), so the live feed's message for it is large even though it carries only
 * what changed (the feed sends the graph once, then the nodes that changed).
 */
function wideChange(k: number, width: number): void {
  for (let i = 1; i <= width; i++) {
    const stepPath = `main/n${i}-${LONG}/${k}`;
    writer.record({ type: 'task_queued', at: new Date(), runId: 'r1', taskId: stepPath, stepPath, attempt: 1 });
  }
  writer.flush();
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-sec-dashboard-'));
});
afterEach(async () => {
  await dash?.close();
  writer?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A GET from node; `host: ''` sends no Host header at all. */
function request(p: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const noHost = headers.host === '';
    const send = noHost ? Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'host')) : headers;
    const req = http.request({ host: '127.0.0.1', port: dash.port, path: p, headers: send, setHost: !noHost }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The status line and headers of an event stream, which is then closed. */
function eventsStatus(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: dash.port, path: '/api/events?run=r1', headers }, (res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
  });
}

const API = ['/api/runs', '/api/runs/r1', '/api/runs/r1/attempts', '/api/runs/r1/task?task=main/a/0', '/api/runs/r1/log?task=main/a/0&stream=stderr'];

describe('the dashboard answers only its own page, with its token', () => {
  beforeEach(async () => {
    makeStore();
    dash = await startDashboard({ storeDir, port: 0, pollMs: 50 });
  });

  it('refuses a Host that only starts like a loopback address, any other name, and a wrong port', async () => {
    const auth = { authorization: `Bearer ${dash.token}` };
    for (const host of [`127.0.0.1.evil.example:${dash.port}`, `127.0.0.1.evil.example`, `evil.example:${dash.port}`, `localhost.evil.example:${dash.port}`, `127.0.0.1:${dash.port + 1}`, `[::1].evil:${dash.port}`, '']) {
      for (const p of ['/api/runs', '/api/runs/r1/log?task=main/a/0&stream=stderr', '/']) {
        const r = await request(p, { ...auth, host });
        // Without any Host, node's server answers 400 before the dashboard sees the request.
        expect([host, p, r.status]).toEqual([host, p, host === '' ? 400 : 403]);
        expect(r.body).not.toContain('alice');
        expect(r.body).not.toContain('hello');
      }
    }
    for (const host of [`127.0.0.1:${dash.port}`, `127.3.2.1:${dash.port}`, `localhost:${dash.port}`, `LOCALHOST:${dash.port}`, `[::1]:${dash.port}`, '127.0.0.1']) {
      const r = await request('/api/runs', { ...auth, host });
      expect([host, r.status]).toEqual([host, 200]);
      expect(JSON.parse(r.body).runs[0].owner).toBe('alice');
    }
  });

  it('refuses every API, event and log request without the token or with a wrong one', async () => {
    // As long as a real token, not this one.
    const wrong = 'A'.repeat(43);
    expect(wrong).not.toBe(dash.token);
    const attempts: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${wrong}` },
      { authorization: 'Bearer ' },
      { cookie: `strand-ui-${dash.port}=${wrong}` },
      // The right token under another dashboard's cookie name is not this one's.
      { cookie: `strand-ui-${dash.port + 1}=${dash.token}` },
    ];
    for (const headers of attempts) {
      for (const p of API) {
        const r = await request(p, headers);
        expect([p, headers, r.status]).toEqual([p, headers, 401]);
        expect(r.body).not.toMatch(/alice|hunter2|hello/);
      }
      expect(await eventsStatus(headers)).toBe(401);
      const r = await request(`/api/runs?token=${wrong}`, headers);
      expect(r.status).toBe(401);
    }
    expect((await request(`/?token=${wrong}`)).status).toBe(403);
  });

  it('answers with the right token as a Bearer header, a query parameter, or the cookie the printed address sets', async () => {
    expect(dash.url).toBe(`${dash.origin}/?token=${dash.token}`);
    expect(Buffer.from(dash.token, 'base64url').length).toBeGreaterThanOrEqual(16);
    for (const p of API) expect((await request(p, { authorization: `Bearer ${dash.token}` })).status).toBe(200);
    expect(JSON.parse((await request(`/api/runs?token=${dash.token}`)).body).total).toBe(1);
    expect(await eventsStatus({ authorization: `Bearer ${dash.token}` })).toBe(200);

    const opened = await request(`/?token=${dash.token}`);
    expect(opened.status).toBe(303);
    expect(opened.headers.location).toBe('/');
    const cookie = String(opened.headers['set-cookie']?.[0]);
    expect(cookie).toMatch(new RegExp(`^strand-ui-${dash.port}=${dash.token};`));
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    const viaCookie = await request('/api/runs/r1/task?task=main/a/0', { cookie: `other=1; ${cookie.split(';')[0]}` });
    expect(viaCookie.status).toBe(200);
    expect(JSON.parse(viaCookie.body).attempt.argv).toContain('hunter2');
  });

  it('sends headers that forbid sniffing, framing, referrers and any script but its own', async () => {
    for (const p of ['/', '/assets/app.js', '/api/runs', `/?token=${dash.token}`]) {
      const r = await request(p, { authorization: `Bearer ${dash.token}` });
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['x-frame-options']).toBe('DENY');
      const csp = String(r.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe');
    }
  });
});

describe.skipIf(!CHROMIUM)('a web page in Chromium cannot read the dashboard through DNS rebinding', () => {
  it("gets an error, not the runs, when a name of the page's own comes to point at 127.0.0.1", async () => {
    makeStore();
    dash = await startDashboard({ storeDir, port: 0, pollMs: 50 });
    // The attacker's server: its page first, then (the page's name now resolving to 127.0.0.1,
    // where the dashboard listens on the same port) every later request reaches the dashboard
    // unchanged, Host header and all, from the page's own origin: as after a DNS rebinding.
    // The name starts like a loopback address, as in the issue: 127.0.0.1.evil.test.
    const name = '127.0.0.1.evil.test';
    let served = false;
    const page = `<!doctype html><title>cats</title><script>
      async function steal(p) {
        try { const r = await fetch(p); return r.status + ' ' + (await r.text()); } catch (e) { return 'error ' + e; }
      }
    </script>`;
    const attacker = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (first: Buffer) => {
        if (!served && first.toString('latin1').startsWith('GET / HTTP/')) {
          served = true;
          socket.end(`HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${Buffer.byteLength(page)}\r\nconnection: close\r\n\r\n${page}`);
          return;
        }
        const to = net.connect(dash.port, '127.0.0.1');
        to.on('error', () => socket.destroy());
        to.write(first);
        socket.pipe(to).pipe(socket);
      });
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    const port = (attacker.address() as net.AddressInfo).port;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', `--host-resolver-rules=MAP ${name} 127.0.0.1`, '--disable-features=HttpsUpgrades'],
    });
    try {
      const tab = await browser.newPage();
      await tab.goto(`http://${name}:${port}/`);
      expect(served).toBe(true);
      for (const p of ['/api/runs', '/api/runs/r1/task?task=main/a/0', '/api/runs/r1/log?task=main/a/0&stream=stderr']) {
        const got = (await tab.evaluate(`steal(${JSON.stringify(p)})`)) as string;
        // The request reached the dashboard (it answered), and was refused.
        expect(got).toMatch(/^403 /);
        expect(got).not.toMatch(/alice|hunter2|hello|secret/);
      }
    } finally {
      await browser.close();
      await new Promise((r) => attacker.close(r));
    }
  }, 60_000);
});

describe('logs are served only as regular files inside the store', () => {
  let outside = '';
  let before = '';
  const log = (stream = 'stderr') => request(`/api/runs/r1/log?task=main/a/0&stream=${stream}`, { authorization: `Bearer ${dash.token}` });
  const task = async () => JSON.parse((await request('/api/runs/r1/task?task=main/a/0', { authorization: `Bearer ${dash.token}` })).body);
  /** Every file under `d` with its checksum. */
  const digest = (d: string): string =>
    readdirSync(d, { recursive: true, encoding: 'utf8' })
      .sort()
      .map((f) => (statSync(path.join(d, f)).isFile() ? `${f}:${createHash('sha256').update(readFileSync(path.join(d, f))).digest('hex')}` : `${f}/`))
      .join(',');

  beforeEach(async () => {
    makeStore();
    outside = path.join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'stderr.log'), 'TOP SECRET key material\n');
    before = digest(outside);
    dash = await startDashboard({ storeDir, port: 0, pollMs: 50 });
  });
  afterEach(() => {
    expect(digest(outside)).toBe(before);
  });

  it('serves a regular stderr.log', async () => {
    const r = await log();
    expect(r.status).toBe(200);
    expect(r.body).toBe('the task said hello\n');
    expect((await task()).stderrTail).toBe('the task said hello');
  });

  it('refuses a stderr.log replaced by a symbolic link to a file outside', async () => {
    renameSync(path.join(logDir, 'stderr.log'), path.join(logDir, 'old'));
    symlinkSync(path.join(outside, 'stderr.log'), path.join(logDir, 'stderr.log'));
    const r = await log();
    expect(r.status).toBe(404);
    expect(r.body).not.toContain('SECRET');
    const t = await task();
    expect(JSON.stringify(t)).not.toContain('SECRET');
    expect(t.logs).toEqual([]);
  });

  it('refuses a stderr.log whose directory was replaced by a link leading out of the log root', async () => {
    // outside/1/stderr.log is the secret; the task's directory <logs>/r1/main_a_0 becomes a link to outside/.
    mkdirSync(path.join(outside, '1'));
    writeFileSync(path.join(outside, '1', 'stderr.log'), 'TOP SECRET too\n');
    before = digest(outside);
    const taskDir = path.dirname(logDir);
    renameSync(taskDir, path.join(storeDir, 'logs', 'r1', 'moved'));
    symlinkSync(outside, taskDir);
    expect(readFileSync(path.join(logDir, 'stderr.log'), 'utf8')).toContain('SECRET');
    const r = await log();
    expect(r.status).toBe(404);
    expect(r.body).not.toContain('SECRET');
    expect(JSON.stringify(await task())).not.toContain('SECRET');
  });

  it('refuses a stderr.log that is a hard link to a file outside', async () => {
    await rm(path.join(logDir, 'stderr.log'));
    linkSync(path.join(outside, 'stderr.log'), path.join(logDir, 'stderr.log'));
    const r = await log();
    expect(r.status).toBe(404);
    expect(r.body).not.toContain('SECRET');
    expect(JSON.stringify(await task())).not.toContain('SECRET');
    await rm(path.join(logDir, 'stderr.log'));
  });

  it('refuses a stderr.log that is a FIFO, without waiting for a writer', async () => {
    await rm(path.join(logDir, 'stderr.log'));
    execFileSync('mkfifo', [path.join(logDir, 'stderr.log')]);
    expect(statSync(path.join(logDir, 'stderr.log')).isFIFO()).toBe(true);
    expect((await log()).status).toBe(404);
    const t = await task();
    expect(t.logs).toEqual([]);
    expect(t.stderrTail).toBe('');
  });
});

describe('event streams are capped and dropped when their client stops reading', () => {
  it('50 clients that never read: the extra ones are refused, the rest dropped, the buffers bounded', async () => {
    // A run whose state is large (~600 KB), and whose every change touches 2,000 of its nodes
    // (~500 KB of changed node states), so a few changes fill a socket that is not read.
    makeStore(4000);
    const maxClients = MAX_EVENT_CLIENTS;
    wideChange(0, 2000);
    dash = await startDashboard({ storeDir, port: 0, pollMs: 20, eventDrainMs: 500 });
    const stateBytes = (await request('/api/runs/r1', { authorization: `Bearer ${dash.token}` })).body.length;
    expect(stateBytes).toBeGreaterThan(500_000);

    // A reading client of the change feed, first: when it hears of a change, the server has
    // written that change to every stream (one loop, in the order they opened).
    const changes: number[] = [];
    let heard: () => void = () => undefined;
    const watcher = http.get({ host: '127.0.0.1', port: dash.port, path: '/api/events', headers: { authorization: `Bearer ${dash.token}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const m of chunk.matchAll(/event: change\ndata: (\d+)/g)) changes.push(Number(m[1]));
        heard();
      });
    });
    await expect.poll(() => dash.eventStats().clients).toBe(1);

    const stalled: net.Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const s = net.connect(dash.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.pause();
      s.write(`GET /api/events?run=r1 HTTP/1.1\r\nHost: 127.0.0.1:${dash.port}\r\nAuthorization: Bearer ${dash.token}\r\n\r\n`);
      stalled.push(s);
    }
    await expect.poll(() => dash.eventStats().clients + dash.eventStats().refused).toBe(51);
    expect(dash.eventStats()).toMatchObject({ clients: maxClients, refused: 51 - maxClients });

    let maxBuffered = 0;
    const rssBefore = process.memoryUsage().rss;
    try {
      for (let k = 1; k <= 20; k++) {
        const seen = changes.length;
        const next = new Promise<void>((r) => (heard = () => changes.length > seen && r()));
        wideChange(k, 2000);
        await next;
        const s = dash.eventStats();
        maxBuffered = Math.max(maxBuffered, s.bufferedBytes);
        // Never more than one state held for each open stream, however many changes came.
        expect(s.bufferedBytes).toBeLessThanOrEqual(s.clients * (stateBytes + 4096));
      }
      // The stalled streams are closed (their buffers with them); the reading one stays.
      await expect.poll(() => dash.eventStats().dropped, { timeout: 20_000 }).toBe(maxClients - 1);
      expect(dash.eventStats().clients).toBe(1);
      // 20 changes of ~500 KB to 50 streams: a server that queues them all holds ~400 MB after the
      // sockets' own buffers are full (measured when it sent whole states: RSS +606 MB); this one
      // holds at most a message a stream.
      const grown = process.memoryUsage().rss - rssBefore;
      expect(grown).toBeLessThan(200 * 1024 * 1024);
    } finally {
      watcher.destroy();
      for (const s of stalled) s.destroy();
    }
    expect(maxBuffered).toBeGreaterThan(0);
  }, 120_000);

  it('a page that stops reading and then reads again gets the newest state, without every one it missed', async () => {
    makeStore(4000);
    wideChange(0, 2000);
    dash = await startDashboard({ storeDir, port: 0, pollMs: 20 });
    const changes: number[] = [];
    let heard: () => void = () => undefined;
    const watcher = http.get({ host: '127.0.0.1', port: dash.port, path: '/api/events', headers: { authorization: `Bearer ${dash.token}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const m of chunk.matchAll(/event: change\ndata: (\d+)/g)) changes.push(Number(m[1]));
        heard();
      });
    });
    const slow = net.connect(dash.port, '127.0.0.1');
    slow.pause();
    slow.write(`GET /api/events?run=r1 HTTP/1.1\r\nHost: 127.0.0.1:${dash.port}\r\nAuthorization: Bearer ${dash.token}\r\n\r\n`);
    await expect.poll(() => dash.eventStats().clients).toBe(2);
    let queued = 1;
    const change = async () => {
      const seen = changes.length;
      const next = new Promise<void>((r) => (heard = () => changes.length > seen && r()));
      wideChange(queued, 2000);
      queued++;
      await next;
    };
    try {
      // Until the slow page's socket is full and a state waits in the server, then 5 changes more.
      while (dash.eventStats().bufferedBytes === 0) await change();
      const sentBeforeFull = queued;
      for (let i = 0; i < 5; i++) await change();
      let text = '';
      // Task attempts: main/a/0, then 2,000 a change (the first before the page opened).
      const newest = `"tasks":{"total":${1 + 2000 * queued}`;
      await new Promise<void>((resolve) => {
        slow.setEncoding('latin1');
        slow.on('data', (c: string) => {
          text += c;
          if (text.includes(newest)) resolve();
        });
        slow.resume();
      });
      const runEvents = text.split(/event: (?:run|delta)\n/).length - 1;
      // The whole state, every change up to the full socket, then the newest: not the 5 it missed.
      expect(runEvents).toBeLessThanOrEqual(sentBeforeFull + 1);
      expect(queued).toBeGreaterThan(sentBeforeFull + 4);
      expect(dash.eventStats()).toMatchObject({ clients: 2, dropped: 0 });
    } finally {
      watcher.destroy();
      slow.destroy();
    }
  }, 120_000);
});
