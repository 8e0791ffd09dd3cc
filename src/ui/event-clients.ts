/**
 * The dashboard's server-sent event clients, with a cap and back-pressure. At most
 * `maxClients` streams are open at once (more get 503). A client whose socket does not take what
 * it is sent is never given more: once a write is left buffered, later messages are not queued
 * behind it but coalesced (the client gets the newest state once the buffer drains), and a client
 * whose buffer has not drained within `drainMs` is dropped. So what the server holds for a client
 * is at most one message, however many pages stall and however often the store changes.
 */
import type http from 'node:http';
import type { SentState } from './run-deltas.js';

/** Open event streams at most (pages open one each; browsers allow 6 per host over HTTP/1.1). */
export const MAX_EVENT_CLIENTS = 32;
/** How long a stalled client keeps its stream once a write is left buffered. */
export const DRAIN_TIMEOUT_MS = 30_000;

export interface EventClient {
  res: http.ServerResponse;
  runId?: string;
  /** What the client was last sent of its run (run-deltas.ts): the next message is what changed since. */
  sent?: SentState;
  /** The store version of the last `change` event sent. */
  version?: number;
  /** A write is left buffered: send nothing more until 'drain'. */
  blocked: boolean;
  /** Something was held back while blocked: catch up on 'drain'. */
  behind: boolean;
  timer?: NodeJS.Timeout;
}

export interface EventStats {
  /** Streams open now. */
  clients: number;
  /** Streams refused because `maxClients` were open. */
  refused: number;
  /** Streams closed by the server because their client stopped reading. */
  dropped: number;
  /** Bytes written to the open streams and not yet taken by their sockets. */
  bufferedBytes: number;
}

export interface EventClientsOptions {
  maxClients?: number;
  drainMs?: number;
  /** Called when a blocked client drains: send it what it missed. */
  catchUp: (c: EventClient) => void;
}

export class EventClients {
  private readonly clients = new Set<EventClient>();
  private refused = 0;
  private dropped = 0;
  private readonly maxClients: number;
  private readonly drainMs: number;

  constructor(private readonly opts: EventClientsOptions) {
    this.maxClients = opts.maxClients ?? MAX_EVENT_CLIENTS;
    this.drainMs = opts.drainMs ?? DRAIN_TIMEOUT_MS;
  }

  get size(): number {
    return this.clients.size;
  }

  [Symbol.iterator](): IterableIterator<EventClient> {
    return this.clients.values();
  }

  /** A new stream, or undefined (and 503 sent) when `maxClients` are open. */
  open(req: http.IncomingMessage, res: http.ServerResponse, runId: string | undefined): EventClient | undefined {
    if (this.clients.size >= this.maxClients) {
      this.refused++;
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '5' });
      res.end(JSON.stringify({ error: `too many live views open (${this.maxClients}): close some dashboard tabs` }));
      return undefined;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const client: EventClient = { res, blocked: false, behind: false, ...(runId ? { runId } : {}) };
    this.clients.add(client);
    const forget = () => this.forget(client);
    req.on('close', forget);
    res.on('close', forget);
    res.on('drain', () => {
      if (!this.clients.has(client)) return;
      client.blocked = false;
      clearTimeout(client.timer);
      if (client.behind) {
        client.behind = false;
        this.opts.catchUp(client);
      }
    });
    return client;
  }

  /** Write `text` to `c` unless it is still blocked (then only note that it missed something). */
  send(c: EventClient, text: string): boolean {
    if (!this.clients.has(c)) return false;
    if (c.blocked) {
      c.behind = true;
      return false;
    }
    if (!c.res.write(text)) {
      c.blocked = true;
      c.timer = setTimeout(() => this.drop(c), this.drainMs);
      c.timer.unref();
    }
    return true;
  }

  /** Close a client that stopped reading: its socket is destroyed, with what was buffered for it. */
  drop(c: EventClient): void {
    if (!this.clients.has(c)) return;
    this.dropped++;
    this.forget(c);
    c.res.destroy();
  }

  stats(): EventStats {
    let bufferedBytes = 0;
    for (const c of this.clients) bufferedBytes += c.res.writableLength;
    return { clients: this.clients.size, refused: this.refused, dropped: this.dropped, bufferedBytes };
  }

  closeAll(): void {
    for (const c of this.clients) {
      clearTimeout(c.timer);
      c.res.end();
    }
    this.clients.clear();
  }

  private forget(c: EventClient): void {
    clearTimeout(c.timer);
    this.clients.delete(c);
  }
}
