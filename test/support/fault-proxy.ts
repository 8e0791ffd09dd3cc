/**
 * A loopback HTTP proxy that injects faults between a client and a test server (for retry tests):
 * for requests matching a rule it answers 503 SlowDown or 500, resets the connection, or cuts the
 * response body off after some bytes; everything else is forwarded unchanged (headers included,
 * so signatures stay valid). `requests` records every request seen, in order, with the bytes of its
 * body and of the response body that passed through (to count what a client moved).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'slowdown' | 'internal' | 'reset' | { cutAfterBytes: number } | { delayMs: number };

export interface FaultRule {
  /** Which requests: method and the URL (path and query) as sent. */
  match: (method: string, url: string) => boolean;
  fault: Fault;
  /** How many matching requests get the fault; default 1. Infinity for all. */
  times?: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  readonly port: number;
  readonly requests: { method: string; url: string; fault?: string; status?: number; sentBytes: number; receivedBytes: number }[];
  inject(rule: FaultRule): void;
  clear(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }, options: { host?: string; port?: number } = {}): Promise<FaultProxy> {
  const rules: (FaultRule & { left: number })[] = [];
  const requests: FaultProxy['requests'] = [];
  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const rule = rules.find((r) => r.left > 0 && r.match(method, url));
    const entry: FaultProxy['requests'][number] = { method, url, sentBytes: 0, receivedBytes: 0 };
    requests.push(entry);
    if (rule) rule.left--;
    const fault = rule?.fault;
    if (fault === 'slowdown' || fault === 'internal') {
      entry.fault = fault;
      req.resume();
      req.on('end', () => {
        const [status, code] = fault === 'slowdown' ? [503, 'SlowDown'] : [500, 'InternalError'];
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected</Message></Error>`);
      });
      return;
    }
    if (fault === 'reset') {
      entry.fault = 'reset';
      req.socket.resetAndDestroy();
      return;
    }
    if (typeof fault === 'object' && 'delayMs' in fault) {
      // Hold the request (its body unread) before forwarding it: a slow transfer to stop in the middle of.
      entry.fault = `delay ${fault.delayMs}`;
      req.pause();
      const timer = setTimeout(() => forward(undefined), fault.delayMs);
      req.socket.once('close', () => clearTimeout(timer));
      return;
    }
    forward(fault);

    function forward(fault: Fault | undefined): void {
      const up = http.request({ host: target.host, port: target.port, method, path: url, headers: req.headers }, (r) => {
        entry.status = r.statusCode;
        r.on('data', (chunk: Buffer) => (entry.receivedBytes += chunk.length));
        res.writeHead(r.statusCode ?? 502, r.headers);
        if (typeof fault === 'object' && 'cutAfterBytes' in fault) {
          entry.fault = `cut after ${fault.cutAfterBytes}`;
          let sent = 0;
          r.on('data', (chunk: Buffer) => {
            const room = fault.cutAfterBytes - sent;
            if (room <= 0) return;
            res.write(chunk.subarray(0, room));
            sent += Math.min(room, chunk.length);
            if (sent >= fault.cutAfterBytes) {
              r.destroy();
              res.socket?.resetAndDestroy();
            }
          });
          r.on('end', () => res.end());
        } else {
          r.pipe(res);
        }
      });
      up.on('error', () => res.socket?.resetAndDestroy());
      req.on('data', (chunk: Buffer) => (entry.sentBytes += chunk.length));
      req.pipe(up);
      req.resume();
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port, address } = server.address() as AddressInfo;
  return {
    endpoint: `http://${address}:${port}`,
    port,
    requests,
    inject: (rule) => rules.push({ ...rule, left: rule.times ?? 1 }),
    clear: () => void rules.splice(0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
