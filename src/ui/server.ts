/**
 * `strand ui`: a web dashboard over the run store. Read-only (a read-only SQLite connection, beside
 * running runs that write through WAL), no cluster needed. Serves the bundled page (dist/ui, built
 * by scripts/build-ui.mjs) and a JSON API, and pushes changes with server-sent events: it polls
 * the store's data version and sends a run's new state only when it changed.
 *
 * What it shows is private (every run's commands, paths and logs), so: it answers only requests
 * whose Host is exactly where it listens (host-check.ts: no DNS rebinding), every API, event and
 * log request must carry the access token made at start (access-token.ts), every response forbids
 * framing, sniffing and foreign scripts (response-headers.ts), logs are served only as regular
 * files inside the store's log directory (log-files.ts), and event streams are capped and dropped
 * when their client stops reading (event-clients.ts). It binds 127.0.0.1 unless told otherwise.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { localPrincipal, type Principal } from '../api/principal.js';
import { storeReads, type LeaderStateReader, type RunReads, type RunState } from '../api/run-reads.js';
import { isAuthorized, newToken, setCookieHeader, tokenMatches } from './access-token.js';
import { EventClients, type EventClient, type EventStats } from './event-clients.js';
import { hostMatcher, isLoopback } from './host-check.js';
import { LOG_STREAMS, logFilePath, logFilesIn, logRootOf, logStream, tailOf, type LogStream } from './log-files.js';
import { SECURITY_HEADERS } from './response-headers.js';
import { deltaMessage, fullMessage, prepareState, type PreparedState } from './run-deltas.js';

export { isLoopback } from './host-check.js';

export interface DashboardOptions {
  storeDir: string;
  /** Who looks (default: the local user) and what of the store they may see (default: every run of it). */
  viewer?: Principal;
  visibility?: 'store' | 'owner';
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** How often the store is checked for changes (ms). */
  pollMs?: number;
  /** Open event streams at most (default MAX_EVENT_CLIENTS). */
  maxEventClients?: number;
  /** How long a stalled event stream is kept (default DRAIN_TIMEOUT_MS). */
  eventDrainMs?: number;
  /** How a submitted run's leader is read (default: from its cluster), and how often (ms, default SUBMITTED_REFRESH_MS). */
  readLeader?: LeaderStateReader;
  submittedRefreshMs?: number;
}

export interface Dashboard {
  /** The address to open: the origin with `/?token=…`. */
  url: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** The access token of this start (also accepted as `Authorization: Bearer …`). */
  token: string;
  host: string;
  port: number;
  /** The event streams: open, refused, dropped, bytes buffered. */
  eventStats(): EventStats;
  close(): Promise<void>;
}

/** Where the built page lives: dist/ui beside dist/src (installed package), or dist/ui from the sources. */
export function assetDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.resolve(here, '../../ui'), path.resolve(here, '../../dist/ui')]) {
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return path.resolve(here, '../../ui');
}

/** How often the dashboard looks for runs that stopped beating (a process killed with kill -9). */
const LIVENESS_CHECK_MS = 2_000;

/** How often the dashboard reads the cluster for the submitted runs still running (while a page is open). */
const SUBMITTED_REFRESH_MS = 5_000;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  // Every read goes through the run service's reads, as the viewer (api/run-reads.ts).
  const reads: RunReads = storeReads({ storeDir: opts.storeDir, visibility: opts.visibility ?? 'store', ...(opts.readLeader ? { readLeader: opts.readLeader } : {}) });
  const viewer = opts.viewer ?? localPrincipal();
  const assets = assetDir();
  const logRoot = logRootOf(opts.storeDir);
  const token = newToken();
  const clients = new EventClients({ catchUp: (c) => changed(c), ...(opts.maxEventClients ? { maxClients: opts.maxEventClients } : {}), ...(opts.eventDrainMs ? { drainMs: opts.eventDrainMs } : {}) });
  // Set once listening (the port is part of it); nothing is answered before.
  let hostOk: (header: string | undefined) => boolean = () => false;
  let port = 0;
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'read-only: GET only' });
    // Only requests addressed to where it listens: a web page elsewhere cannot reach the dashboard
    // by pointing a name of its own at 127.0.0.1 (DNS rebinding).
    if (!hostOk(req.headers.host)) return sendJson(res, 403, { error: `the dashboard answers requests addressed to ${isLoopback(host) ? '127.0.0.1, localhost or [::1]' : host} only` });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    const q = url.searchParams;
    if (p === '/' || p === '/index.html') {
      const sent = q.get('token');
      if (sent === null) return sendFile(res, path.join(assets, 'index.html'));
      if (!tokenMatches(sent, token)) return sendText(res, 403, 'wrong token: open the address that strand ui printed when it started\n');
      // The token becomes a cookie, and leaves the address bar.
      res.writeHead(303, { location: '/', 'set-cookie': setCookieHeader(port, token), 'cache-control': 'no-store' });
      return void res.end();
    }
    if (p.startsWith('/assets/')) {
      const name = path.basename(p);
      return sendFile(res, path.join(assets, name));
    }
    if (!isAuthorized(req, url, port, token)) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, { error: 'not authorized: open the address that strand ui printed when it started (…/?token=…)' });
    }
    if (p === '/api/runs') {
      return sendJson(res, 200, reads.query(viewer, {
        status: q.get('status') || undefined,
        search: q.get('q') || undefined,
        limit: clampInt(q.get('limit'), 50, 1, 500),
        offset: clampInt(q.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER),
      }));
    }
    if (p === '/api/events') return openEvents(req, res, q.get('run') ?? undefined);
    const m = /^\/api\/runs\/([^/]+)(\/attempts|\/failed|\/task|\/log)?$/.exec(p);
    if (m) {
      const runRef = decodeURIComponent(m[1] as string);
      const runId = reads.resolve(viewer, runRef);
      if (!runId) return sendJson(res, 404, { error: `no run "${runRef}" in the run store` });
      if (!m[2]) return sendJsonText(res, 200, stateEntry(runId).prepared.json);
      if (m[2] === '/failed') return sendJson(res, 200, reads.failed(viewer, runId, clampInt(q.get('limit'), 50, 1, 500)));
      if (m[2] === '/attempts') {
        return sendJson(res, 200, reads.attempts(viewer, runId, {
          offset: clampInt(q.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER),
          limit: clampInt(q.get('limit'), 200, 1, 1000),
          node: q.get('node') || undefined,
        }));
      }
      const taskId = q.get('task') ?? '';
      const attemptNo = q.get('attempt') ? clampInt(q.get('attempt'), 1, 1, 1_000_000) : undefined;
      // The run's status is read before the attempt, never after: an attempt read as running and a
      // status read once the run had ended would say "interrupted" of a run that succeeded.
      const runStatus = m[2] === '/task' ? stateEntry(runId).prepared.status : undefined;
      const attempt = reads.attempt(viewer, runId, taskId, attemptNo);
      if (!attempt) return sendJson(res, 404, { error: `no task "${taskId}" in run ${runId}` });
      if (m[2] === '/task') {
        const files = await logFilesIn(logRoot, attempt.logDir);
        const stderr = attempt.logDir ? await tailOf(logRoot, logFilePath(attempt.logDir, 'stderr')) : undefined;
        return sendJson(res, 200, { runId, runStatus, attempt, logs: files, stderrTail: stderr ?? attempt.logTail ?? '' });
      }
      const stream = (q.get('stream') ?? 'stderr') as LogStream;
      if (!LOG_STREAMS.includes(stream)) return sendJson(res, 400, { error: 'stream is stdout or stderr' });
      const body = attempt.logDir ? await logStream(logRoot, logFilePath(attempt.logDir, stream)) : undefined;
      if (!body) return sendText(res, 404, `no ${stream} log for ${taskId} (the task wrote nothing there, its logs were removed, or it is not a regular file in the store's log directory)\n`);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      pipeline(body, res, () => undefined);
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  }

  function openEvents(req: http.IncomingMessage, res: http.ServerResponse, runRef: string | undefined): void {
    const runId = runRef ? reads.resolve(viewer, runRef) : undefined;
    const client = clients.open(req, res, runId);
    if (!client) return;
    client.version = version;
    clients.send(client, ': connected\n\n');
    push(client);
  }

  /** A run's state, computed and serialised once per store version however many pages watch it. */
  const states = new Map<string, { version: number; at: number; prepared: PreparedState }>();
  function stateEntry(runId: string) {
    const v = reads.version();
    const hit = states.get(runId);
    // Also recomputed every few seconds: a run whose process died shows as interrupted without a write.
    if (hit && hit.version === v && Date.now() - hit.at < 5000) return hit;
    const entry = { version: v, at: Date.now(), prepared: prepareState(reads.state(viewer, runId) ?? EMPTY_STATE) };
    if (states.size > 100) states.clear();
    states.set(runId, entry);
    return entry;
  }

  /** Send `c` its run's whole state the first time, then only what changed since its last message. */
  function push(c: EventClient): void {
    if (!c.runId) return;
    const prepared = stateEntry(c.runId).prepared;
    const msg = c.sent ? deltaMessage(prepared, c.sent) : fullMessage(prepared);
    if (msg && clients.send(c, msg.text)) c.sent = msg.sent;
  }

  /** Send `c` what it missed while its socket was full: the latest change and state only. */
  function changed(c: EventClient): void {
    if (c.version !== version && clients.send(c, `event: change\ndata: ${version}\n\n`)) c.version = version;
    push(c);
  }

  // What pages are told changed: a write to the store, or a run that stopped beating (its process
  // died: no one writes, yet it is interrupted now, not running). `version` counts both.
  let storeVersion = reads.version();
  let version = 0;
  let running = runningNow();
  let lastLivenessCheck = Date.now();
  let lastRefresh = 0;
  let refreshing: Promise<void> | undefined;
  let beats = 0;
  const pollMs = opts.pollMs ?? 500;
  const timer = setInterval(() => {
    if (clients.size === 0) return;
    beats++;
    const v = reads.version();
    let change = v !== storeVersion;
    storeVersion = v;
    if (change || Date.now() - lastLivenessCheck >= LIVENESS_CHECK_MS) {
      lastLivenessCheck = Date.now();
      const now = runningNow();
      if (now !== running) {
        running = now;
        // The states computed before say "running" for a run that is not: compute them again.
        states.clear();
        change = true;
      }
    }
    // Submitted runs (strand submit) still running: their leaders' news, now and then.
    if (!refreshing && Date.now() - lastRefresh >= (opts.submittedRefreshMs ?? SUBMITTED_REFRESH_MS)) {
      lastRefresh = Date.now();
      refreshing = reads
        .refreshSubmitted()
        .catch(() => undefined)
        .finally(() => (refreshing = undefined));
    }
    if (change) {
      version++;
      for (const c of clients) changed(c);
    } else if (beats % Math.max(1, Math.round(10_000 / pollMs)) === 0) {
      for (const c of clients) clients.send(c, ': still here\n\n');
    }
  }, pollMs);

  /** The runs the store says are running now (heartbeat fresh, process not known gone), as one comparable string. */
  function runningNow(): string {
    const page = reads.query(viewer, { status: 'running', limit: 500 });
    return `${page.total}:${page.runs.map((r) => `${r.id}=${r.status}`).join(',')}`;
  }
  timer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  hostOk = hostMatcher(host, port);
  const shown = host.includes(':') ? `[${host}]` : host;
  const origin = `http://${shown}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    host,
    port,
    eventStats: () => clients.stats(),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        clients.closeAll();
        server.close(() => {
          // A cluster read under way ends first: it reads the store this closes.
          void Promise.resolve(refreshing).then(() => {
            reads.close();
            resolve();
          });
        });
        server.closeAllConnections();
      }),
  };
}

/** A run no longer there (or not the viewer's): nothing to show. */
const EMPTY_STATE: RunState = { run: undefined, nodes: [], stepStates: [] };

function clampInt(v: string | null, dflt: number, min: number, max: number): number {
  const n = v === null || v === '' ? dflt : Number(v);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, Math.floor(n)));
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function sendJsonText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

function sendFile(res: http.ServerResponse, file: string): void {
  let body: Buffer;
  try {
    body = readFileSync(file);
  } catch {
    return sendText(res, 404, file.endsWith('index.html') ? 'the dashboard page is not built: run npm run build\n' : 'not found\n');
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(body);
}
