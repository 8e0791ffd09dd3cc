/**
 * Which `Host` headers the dashboard answers (against DNS rebinding: a web page on a name of its
 * own that its DNS later points at 127.0.0.1 sends that name as Host). Exact matches only: the
 * loopback names and addresses when it listens on loopback, else the address it listens on.
 */
import net from 'node:net';
import os from 'node:os';

/** `localhost`, `::1` or an IPv4 literal 127.x.y.z (not a name that merely starts with `127.`). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || (net.isIPv4(h) && h.split('.')[0] === '127');
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::' || host === '';

/** `name:port` / `[v6]:port` / `name` split, or undefined when the header is not of that shape. */
export function parseHostHeader(header: string | undefined): { name: string; port?: number } | undefined {
  if (!header) return undefined;
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(header) ?? /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(header);
  if (!m?.[1]) return undefined;
  const name = m[1].toLowerCase();
  if (header.startsWith('[') && !net.isIPv6(name)) return undefined;
  return m[2] === undefined ? { name } : { name, port: Number(m[2]) };
}

/**
 * The test of a request's Host for a server bound to `bindHost` on `port`. Bound to loopback:
 * `localhost`, any `127.x.y.z` literal or `[::1]`. Bound to one other address: that address only.
 * Bound to every address (`0.0.0.0`, `::`): the loopback names, the machine's interface addresses
 * and its host name. The port, when the header has one, must be `port`.
 */
export function hostMatcher(bindHost: string, port: number): (header: string | undefined) => boolean {
  const bind = bindHost.toLowerCase();
  let accepts: (name: string) => boolean;
  if (isLoopback(bind)) accepts = isLoopback;
  else if (isWildcard(bind)) {
    const own = new Set([os.hostname().toLowerCase()]);
    for (const list of Object.values(os.networkInterfaces())) for (const i of list ?? []) own.add(i.address.toLowerCase());
    accepts = (name) => isLoopback(name) || own.has(name);
  } else accepts = (name) => name === bind;
  return (header) => {
    const h = parseHostHeader(header);
    return h !== undefined && (h.port === undefined || h.port === port) && accepts(h.name);
  };
}
