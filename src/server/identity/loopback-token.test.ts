import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { localPrincipal } from '../../api/principal.js';
import { Unauthenticated } from '../server-types.js';
import { isLoopbackAddress, loopbackTokenAuthenticator } from './loopback-token.js';

/** Serves `authenticate` on 127.0.0.1: 200 with the principal, 401 with the message. */
async function withServer(auth: ReturnType<typeof loopbackTokenAuthenticator>, fn: (url: string) => Promise<void>): Promise<void> {
  const server = createServer((req, res) => {
    auth.authenticate(req).then(
      (p) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(p)),
      (e: Error) => res.writeHead(e instanceof Unauthenticated ? 401 : 500).end(e.message),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe('loopbackTokenAuthenticator', () => {
  it('makes a new 256-bit token at each start, and accepts it as the local user', async () => {
    const a = loopbackTokenAuthenticator();
    const b = loopbackTokenAuthenticator();
    expect(a.token).not.toBe(b.token);
    expect(Buffer.from(a.token, 'base64url')).toHaveLength(32);
    await withServer(a, async (url) => {
      const ok = await fetch(url, { headers: { authorization: `Bearer ${a.token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ user: localPrincipal().user, groups: [] });
      expect((await fetch(url, { headers: { authorization: `bearer ${a.token}` } })).status).toBe(200);
    });
  });

  it('refuses another start\'s token, a near miss, other schemes, and no token, without echoing it', async () => {
    const a = loopbackTokenAuthenticator();
    const other = loopbackTokenAuthenticator().token;
    await withServer(a, async (url) => {
      for (const h of [`Bearer ${other}`, `Bearer ${a.token.slice(0, -1)}`, `Bearer ${a.token}x`, `Basic ${a.token}`, a.token, '']) {
        const res = await fetch(url, { headers: h ? { authorization: h } : {} });
        expect(res.status, h).toBe(401);
        const text = await res.text();
        expect(text).not.toContain(a.token.slice(0, 20));
      }
      expect((await fetch(url)).status).toBe(401);
    });
  });

  it('accepts the token only from a loopback address', async () => {
    const a = loopbackTokenAuthenticator({ principal: { user: 'me', groups: ['g'] } });
    const req = (remoteAddress: string) => ({ headers: { authorization: `Bearer ${a.token}` }, socket: { remoteAddress } }) as unknown as IncomingMessage;
    expect(await a.authenticate(req('127.0.0.1'))).toEqual({ user: 'me', groups: ['g'] });
    expect(await a.authenticate(req('::ffff:127.0.0.9'))).toEqual({ user: 'me', groups: ['g'] });
    expect(await a.authenticate(req('::1'))).toEqual({ user: 'me', groups: ['g'] });
    for (const addr of ['10.1.2.3', '192.168.0.4', '::ffff:10.0.0.1', 'fe80::1', '128.0.0.1']) {
      await expect(a.authenticate(req(addr)), addr).rejects.toThrow(Unauthenticated);
    }
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.255.0.3', '::1', '::ffff:127.0.0.1'].every(isLoopbackAddress)).toBe(true);
    expect(['0.0.0.0', '::', '1.127.0.0.1', '127.0.0.1.evil', undefined, ''].some((x) => isLoopbackAddress(x))).toBe(false);
  });
});
