/**
 * `strand ui`: a web dashboard over the run store. Read-only (a read-only SQLite connection, beside
 * running runs that write through WAL), no cluster needed. Serves the bundled page (dist/ui, built
 * by scripts/build-ui.mjs) and a JSON API, and pushes changes with server-sent events: it polls
 * the store's data version and sends a run's new state only when it changed.
 *
 * There is no authentication: it binds 127.0.0.1 unless told otherwise.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRunStore, type RunStore } from '../store/run-store.js';
import { LOG_STREAMS, logFilePath, logFilesIn, logStream, tailOf, type LogStream } from './log-files.js';

export interface DashboardOptions {
  storeDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** How often the store is checked for changes (ms). */
  pollMs?: number;
}

export interface Dashboard {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
export const isLoopback = (host: string) => LOOPBACK.has(host) || host.startsWith('127.');

/** Where the built page lives: dist/ui beside dist/src (installed package), or dist/ui from the sources. */
export function assetDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.resolve(here, '../../ui'), path.resolve(here, '../../dist/ui')]) {
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return path.resolve(here, '../../ui');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Client {
  res: http.ServerResponse;
  runId?: string;
  last?: string;
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const store = openRunStore(opts.storeDir, { readOnly: true });
  const assets = assetDir();
  const clients = new Set<Client>();
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    const q = url.searchParams;
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'read-only: GET only' });
    // Bound to loopback, answer only requests addressed to loopback: a web page elsewhere cannot
    // reach the dashboard by pointing a name of its own at 127.0.0.1 (DNS rebinding).
    if (isLoopback(host) && !isLoopback(hostnameOf(req.headers.host))) return sendJson(res, 403, { error: 'the dashboard answers requests to 127.0.0.1 or localhost only' });
    if (p === '/' || p === '/index.html') return sendFile(res, path.join(assets, 'index.html'));
    if (p.startsWith('/assets/')) {
      const name = path.basename(p);
      return sendFile(res, path.join(assets, name));
    }
    if (p === '/api/runs') {
      return sendJson(res, 200, store.queryRuns({
        status: q.get('status') || undefined,
        search: q.get('q') || undefined,
        limit: clampInt(q.get('limit'), 50, 1, 500),
        offset: clampInt(q.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER),
      }));
    }
    if (p === '/api/events') return openEvents(req, res, q.get('run') ?? undefined);
    const m = /^\/api\/runs\/([^/]+)(\/attempts|\/task|\/log)?$/.exec(p);
    if (m) {
      const runRef = decodeURIComponent(m[1] as string);
      const runId = store.resolveRunId(runRef);
      if (!runId) return sendJson(res, 404, { error: `no run "${runRef}" in the run store` });
      if (!m[2]) return sendJson(res, 200, stateOf(runId));
      if (m[2] === '/attempts') {
        return sendJson(res, 200, store.attemptsPage(runId, {
          offset: clampInt(q.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER),
          limit: clampInt(q.get('limit'), 200, 1, 1000),
          node: q.get('node') || undefined,
        }));
      }
      const taskId = q.get('task') ?? '';
      const attemptNo = q.get('attempt') ? clampInt(q.get('attempt'), 1, 1, 1_000_000) : undefined;
      const attempt = store.getAttempt(runId, taskId, attemptNo);
      if (!attempt) return sendJson(res, 404, { error: `no task "${taskId}" in run ${runId}` });
      if (m[2] === '/task') {
        const files = await logFilesIn(attempt.logDir);
        const stderr = attempt.logDir ? await tailOf(logFilePath(attempt.logDir, 'stderr')) : undefined;
        return sendJson(res, 200, { runId, attempt, logs: files, stderrTail: stderr ?? attempt.logTail ?? '' });
      }
      const stream = (q.get('stream') ?? 'stderr') as LogStream;
      if (!LOG_STREAMS.includes(stream)) return sendJson(res, 400, { error: 'stream is stdout or stderr' });
      const body = attempt.logDir ? await logStream(logFilePath(attempt.logDir, stream)) : undefined;
      if (!body) return sendText(res, 404, `no ${stream} log for ${taskId} (the task wrote nothing there, or its logs were removed)\n`);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      body.pipe(res);
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  }

  function openEvents(req: http.IncomingMessage, res: http.ServerResponse, runRef: string | undefined): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const runId = runRef ? store.resolveRunId(runRef) : undefined;
    const client: Client = { res, ...(runId ? { runId } : {}) };
    clients.add(client);
    res.write(': connected\n\n');
    if (runId) push(client);
    req.on('close', () => clients.delete(client));
  }

  /** A run's state, computed once per store version however many pages watch it. */
  const states = new Map<string, { version: number; at: number; json: string; value: ReturnType<typeof runState> }>();
  function stateOf(runId: string) {
    return stateEntry(runId).value;
  }
  function stateEntry(runId: string) {
    const v = store.dataVersion();
    const hit = states.get(runId);
    // Also recomputed every few seconds: a run whose process died shows as interrupted without a write.
    if (hit && hit.version === v && Date.now() - hit.at < 5000) return hit;
    const value = runState(store, runId);
    const entry = { version: v, at: Date.now(), json: JSON.stringify(value), value };
    if (states.size > 100) states.clear();
    states.set(runId, entry);
    return entry;
  }

  function push(c: Client): void {
    if (!c.runId) return;
    const state = stateEntry(c.runId).json;
    if (state === c.last) return;
    c.last = state;
    c.res.write(`event: run\ndata: ${state}\n\n`);
  }

  let version = store.dataVersion();
  let beats = 0;
  const timer = setInterval(() => {
    if (clients.size === 0) return;
    const v = store.dataVersion();
    beats++;
    if (v !== version) {
      version = v;
      for (const c of clients) {
        c.res.write(`event: change\ndata: ${v}\n\n`);
        push(c);
      }
    } else if (beats % 20 === 0) {
      for (const c of clients) c.res.write(': still here\n\n');
    }
  }, opts.pollMs ?? 500);
  timer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        for (const c of clients) c.res.end();
        clients.clear();
        server.close(() => {
          store.close();
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** What the run page shows and what the live feed pushes: the run, its graph nodes' states and steps. */
export function runState(store: RunStore, runId: string) {
  const overview = store.runOverview(runId);
  return { run: overview?.run, nodes: overview?.nodes ?? [], steps: store.getSteps(runId) };
}

/** `127.0.0.1:7878` -> `127.0.0.1`, `[::1]:7878` -> `::1`. */
function hostnameOf(header: string | undefined): string {
  if (!header) return '';
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header) ?? /^([^:]+)(?::\d+)?$/.exec(header);
  return m ? (m[1] as string).toLowerCase() : '';
}

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
