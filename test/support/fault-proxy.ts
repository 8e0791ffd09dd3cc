/**
 * A loopback HTTP proxy that injects faults between a client and a test server (for retry tests):
 * for requests matching a rule it answers 503 SlowDown or 500, resets the connection, or cuts the
 * response body off after some bytes; everything else is forwarded unchanged (headers included,
 * so signatures stay valid). `requests` records every request seen, in order.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'slowdown' | 'internal' | 'reset' | { cutAfterBytes: number } | { holdMs: number };

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
  readonly requests: { method: string; url: string; fault?: string }[];
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
    const entry: FaultProxy['requests'][number] = { method, url };
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
    if (typeof fault === 'object' && 'holdMs' in fault) {
      // A request that hangs: forwarded (unchanged) only after holdMs, or never if the client goes.
      entry.fault = `hold ${fault.holdMs} ms`;
      const t = setTimeout(() => forward(undefined), fault.holdMs);
      req.socket.on('close', () => clearTimeout(t));
      return;
    }
    forward(fault);

    function forward(fault: { cutAfterBytes: number } | undefined): void {
    const up = http.request({ host: target.host, port: target.port, method, path: url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      if (typeof fault === 'object') {
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
    req.pipe(up);
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
