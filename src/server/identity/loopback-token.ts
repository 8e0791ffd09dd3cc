/**
 * Who a request comes from, for a server that serves the one user who started it, on this
 * machine only (`--auth token`): 256 random bits made at each start (as the dashboard's access
 * token, whose code this shares: src/api/bearer-token.ts), sent as `Authorization: Bearer`, and
 * compared in constant time. A request must also come from a loopback address: the token alone
 * is not trusted from elsewhere, whatever address the server was told to listen on.
 */
import type { IncomingMessage } from 'node:http';
import { bearerToken, newToken, tokenMatches } from '../../api/bearer-token.js';
import { localPrincipal, type Principal } from '../../api/principal.js';
import { Unauthenticated, type Authenticate } from '../server-types.js';

export interface LoopbackToken {
  /** The token of this start: printed once for the user, never logged. */
  readonly token: string;
  readonly authenticate: Authenticate;
}

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1';
}

export function loopbackTokenAuthenticator(opts: { principal?: Principal; token?: string } = {}): LoopbackToken {
  const token = opts.token ?? newToken();
  const principal = opts.principal ?? localPrincipal();
  const authenticate: Authenticate = (req: IncomingMessage) => {
    const sent = bearerToken(req.headers.authorization);
    // Compared whatever the address, so that the answer takes the same time either way.
    const matches = tokenMatches(sent, token);
    if (!matches || !isLoopbackAddress(req.socket.remoteAddress)) {
      return Promise.reject(new Unauthenticated('the token this server printed when it started is required (Authorization: Bearer <token>), from this machine'));
    }
    return Promise.resolve({ user: principal.user, groups: [...principal.groups] });
  };
  return { token, authenticate };
}
