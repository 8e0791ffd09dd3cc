/**
 * OIDC sign-in against a real issuer on loopback: a node:http server serving the discovery
 * document and the key set, tokens signed with keys made here. The clock is injected (the
 * authenticator's and jose's), so that refetch intervals and leeway are tested without waiting.
 */
import { createHmac, randomBytes } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationUnavailable, Unauthenticated } from '../server-types.js';
import { oidcAuthenticator, oidcOrElse, resolveOidcSettings, type OidcAuthenticator, type OidcOptions, type OidcSettings } from './oidc.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

interface Key {
  kid: string;
  alg: 'RS256' | 'ES256';
  pair: KeyPair;
  jwk: JWK;
}

/**
 * Key pairs are made once (RSA generation is slow on a busy machine) and named afresh with a new
 * kid for each use: pair 0 of each kind is the issuer's own, the others are strangers to it.
 */
const pairs: Record<'RS256' | 'ES256', KeyPair[]> = { RS256: [], ES256: [] };
beforeAll(async () => {
  const made = await Promise.all([0, 1, 2].map(() => generateKeyPair('RS256', { extractable: true })));
  pairs.RS256 = made;
  pairs.ES256 = await Promise.all([0, 1].map(() => generateKeyPair('ES256', { extractable: true })));
});

async function makeKey(alg: 'RS256' | 'ES256', which: number, kid = randomBytes(6).toString('hex')): Promise<Key> {
  const pair = pairs[alg][which]!;
  return { kid, alg, pair, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' } };
}

/** A real OIDC issuer on 127.0.0.1: discovery and key set, with counters and switches. */
interface Issuer {
  url: string;
  keys: JWK[];
  hits: { discovery: number; jwks: number };
  /** What the discovery document names as issuer (default: url). */
  issuerClaim?: string;
  /** Answer the key set with this body instead. */
  jwksBody?: string;
  /** Hold the key set answer this long. */
  jwksDelayMs: number;
  close(): Promise<void>;
}

const issuers: Issuer[] = [];
afterEach(async () => {
  await Promise.all(issuers.splice(0).map((i) => i.close()));
});

async function startIssuer(keys: Key[]): Promise<Issuer> {
  const state: Issuer = {
    url: '',
    keys: keys.map((k) => k.jwk),
    hits: { discovery: 0, jwks: 0 },
    jwksDelayMs: 0,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  const server = http.createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      state.hits.discovery++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: state.issuerClaim ?? state.url, jwks_uri: `${state.url}/keys`, id_token_signing_alg_values_supported: ['RS256', 'ES256'] }));
    } else if (req.url === '/keys') {
      state.hits.jwks++;
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(state.jwksBody ?? JSON.stringify({ keys: state.keys }));
      };
      if (state.jwksDelayMs) setTimeout(answer, state.jwksDelayMs);
      else answer();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuers.push(state);
  return state;
}

const CLIENT = 'strand-lab';
const T0 = Date.parse('2031-03-01T09:00:00Z');

interface Setup {
  issuer: Issuer;
  key: Key;
  oidc: OidcAuthenticator;
  clock: { t: number };
  logs: string[];
  tokens: string[];
  sign(claims: JWTPayload, o?: { key?: Key; kid?: string }): Promise<string>;
  auth(token: string): Promise<unknown>;
}

async function setup(settings: Partial<OidcSettings> = {}, opts: Partial<OidcOptions> = {}): Promise<Setup> {
  const key = await makeKey('RS256', 0);
  const issuer = await startIssuer([key, await makeKey('ES256', 0)]);
  const clock = { t: T0 };
  const logs: string[] = [];
  const tokens: string[] = [];
  const oidc = oidcAuthenticator({ issuerUrl: issuer.url, clientId: CLIENT, ...settings }, { log: (l) => logs.push(l), now: () => clock.t, ...opts });
  const sign = async (claims: JWTPayload, o: { key?: Key; kid?: string } = {}) => {
    const k = o.key ?? key;
    const now = Math.floor(clock.t / 1000);
    const token = await new SignJWT({ iss: issuer.url, aud: CLIENT, sub: 'u-8f2c', iat: now, exp: now + 300, ...claims })
      .setProtectedHeader({ alg: k.alg, kid: o.kid ?? k.kid, typ: 'JWT' })
      .sign(k.pair.privateKey);
    tokens.push(token);
    return token;
  };
  const auth = (token: string) => {
    tokens.push(token);
    return oidc.authenticate(request(token));
  };
  return { issuer, key, oidc, clock, logs, tokens, sign, auth };
}

const request = (token: string) => ({ headers: { authorization: `Bearer ${token}` }, socket: {} }) as unknown as IncomingMessage;

/** No log line holds any token used, nor its signature part. */
function expectNoTokenLogged(s: Setup): void {
  for (const line of s.logs) {
    for (const t of s.tokens) {
      expect(line).not.toContain(t);
      const sig = t.split('.')[2];
      if (sig) expect(line).not.toContain(sig);
    }
  }
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('OIDC ID tokens', () => {
  it('a good token names its user and groups, with the prefixes', async () => {
    const s = await setup({ groupsPrefix: 'idp:' });
    await expect(s.auth(await s.sign({ groups: ['lab-a', 'lab-b'] }))).resolves.toEqual({ user: `${s.issuer.url}#u-8f2c`, groups: ['idp:lab-a', 'idp:lab-b'] });
    // An array audience holding the client id, azp the client id; a single group as a string (as Kubernetes).
    await expect(s.auth(await s.sign({ aud: ['other', CLIENT], azp: CLIENT, groups: 'one' }))).resolves.toEqual({ user: `${s.issuer.url}#u-8f2c`, groups: ['idp:one'] });
    // Signed with the issuer's other (EC) key, no groups claim.
    const ec = await makeKey('ES256', 1);
    s.issuer.keys.push(ec.jwk);
    s.clock.t += 31_000;
    await expect(s.auth(await s.sign({}, { key: ec }))).resolves.toEqual({ user: `${s.issuer.url}#u-8f2c`, groups: [] });
    expect(s.issuer.hits).toEqual({ discovery: 1, jwks: 2 });
    expectNoTokenLogged(s);
  });

  it('names users as Kubernetes does: no prefix for email, a configured one otherwise, - for none', async () => {
    const byEmail = await setup({ usernameClaim: 'email' });
    await expect(byEmail.auth(await byEmail.sign({ email: 'alice@example.org', email_verified: true }))).resolves.toEqual({ user: 'alice@example.org', groups: [] });
    const byName = await setup({ usernameClaim: 'preferred_username', usernamePrefix: 'oidc:', groupsClaim: 'roles' });
    await expect(byName.auth(await byName.sign({ preferred_username: 'alice', roles: ['x'], groups: ['ignored'] }))).resolves.toEqual({ user: 'oidc:alice', groups: ['x'] });
    const bare = await setup({ usernamePrefix: '-' });
    await expect(bare.auth(await bare.sign({}))).resolves.toEqual({ user: 'u-8f2c', groups: [] });
  });

  it('refuses expired, not yet valid, future-issued, wrong audience or issuer, within 60 s of leeway', async () => {
    const s = await setup();
    const now = Math.floor(T0 / 1000);
    await expect(s.auth(await s.sign({ exp: now - 30 }))).resolves.toMatchObject({ user: expect.any(String) });
    await expect(s.auth(await s.sign({ exp: now - 61 }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ nbf: now + 30 }))).resolves.toMatchObject({ user: expect.any(String) });
    await expect(s.auth(await s.sign({ nbf: now + 120 }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ iat: now + 30 }))).resolves.toMatchObject({ user: expect.any(String) });
    await expect(s.auth(await s.sign({ iat: now + 120 }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ aud: 'someone-else' }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ aud: ['a', 'b'] }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ aud: [CLIENT, 'b'], azp: 'b' }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ iss: `${s.issuer.url}/` }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ iss: 'https://idp.example.org' }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ exp: undefined }))).rejects.toBeInstanceOf(Unauthenticated);
    expect(s.logs.some((l) => l.includes('oidc: a token refused: expired'))).toBe(true);
    expectNoTokenLogged(s);
  });

  it('refuses a token signed with another key, alg none, and HS256 keyed with the public key', async () => {
    const s = await setup();
    // Another key under the published kid.
    const stranger = await makeKey('RS256', 1, s.key.kid);
    await expect(s.auth(await s.sign({}, { key: stranger }))).rejects.toBeInstanceOf(Unauthenticated);

    const now = Math.floor(T0 / 1000);
    const claims = { iss: s.issuer.url, aud: CLIENT, sub: 'admin', iat: now, exp: now + 300 };
    await expect(s.auth(`${b64({ alg: 'none', kid: s.key.kid })}.${b64(claims)}.`)).rejects.toBeInstanceOf(Unauthenticated);

    // The classic confusion: the RSA public key, as published, used as an HMAC secret.
    for (const secret of [await exportSPKI(s.key.pair.publicKey), JSON.stringify(s.key.jwk), s.key.jwk.n!]) {
      const input = `${b64({ alg: 'HS256', kid: s.key.kid, typ: 'JWT' })}.${b64(claims)}`;
      const forged = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      await expect(s.auth(forged)).rejects.toBeInstanceOf(Unauthenticated);
    }
    // Even with HS256 "allowed" by a careless caller, the settings refuse it outright.
    expect(() => resolveOidcSettings({ issuerUrl: s.issuer.url, clientId: CLIENT, algorithms: ['RS256', 'HS256'] })).toThrow(/HS256: not allowed/);
    expect(() => resolveOidcSettings({ issuerUrl: s.issuer.url, clientId: CLIENT, algorithms: ['none'] })).toThrow(/none: not allowed/);
    // A good token still passes: the refusals were not an issuer problem.
    await expect(s.auth(await s.sign({}))).resolves.toMatchObject({ user: `${s.issuer.url}#u-8f2c` });
    expectNoTokenLogged(s);
  });

  it('refuses a username claim missing or empty, email not verified, bad groups, system: names', async () => {
    const byEmail = await setup({ usernameClaim: 'email' });
    await expect(byEmail.auth(await byEmail.sign({ email: 'alice@example.org', email_verified: false }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(byEmail.auth(await byEmail.sign({ email: 'alice@example.org', email_verified: 'true' }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(byEmail.auth(await byEmail.sign({ email: 'alice@example.org' }))).rejects.toBeInstanceOf(Unauthenticated);
    expect(byEmail.logs.join('\n')).toContain('email_verified is not true');

    const s = await setup({ usernamePrefix: '-' });
    await expect(s.auth(await s.sign({ sub: undefined }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ sub: '' }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ sub: 'system:serviceaccount:lab-bob:strand-member' }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ sub: 'eve\nforged log line' }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ groups: ['ok', 7] }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ groups: { a: 1 } }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ groups: ['system:masters'] }))).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ groups: ['lab'] }))).resolves.toEqual({ user: 'u-8f2c', groups: ['lab'] });
  });

  it('answers no token, not a JWT, or another issuer\'s 401 without fetching anything', async () => {
    const s = await setup();
    await expect(s.oidc.authenticate({ headers: {}, socket: {} } as unknown as IncomingMessage)).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.oidc.authenticate({ headers: { authorization: 'Basic YTpi' }, socket: {} } as unknown as IncomingMessage)).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth('not-a-jwt')).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(`${b64({ alg: 'RS256' })}.${b64(['not', 'claims'])}.c2ln`)).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({ iss: 'https://idp.example.org' }))).rejects.toBeInstanceOf(Unauthenticated);
    expect(s.issuer.hits).toEqual({ discovery: 0, jwks: 0 });
  });
});

describe('the issuer\'s keys', () => {
  it('are fetched once for a burst of first requests (discovery once, keys once)', async () => {
    const s = await setup();
    s.issuer.jwksDelayMs = 50;
    const token = await s.sign({});
    const answers = await Promise.all(Array.from({ length: 20 }, () => s.auth(token)));
    expect(answers.every((a) => (a as { user: string }).user === `${s.issuer.url}#u-8f2c`)).toBe(true);
    expect(s.issuer.hits).toEqual({ discovery: 1, jwks: 1 });
  });

  it('a rotated key: refused within 30 s of the last fetch, accepted after one refetch', async () => {
    const s = await setup();
    await expect(s.auth(await s.sign({}))).resolves.toBeDefined();
    expect(s.issuer.hits.jwks).toBe(1);
    const next = await makeKey('RS256', 2);
    s.issuer.keys = [next.jwk];
    s.clock.t += 10_000;
    await expect(s.auth(await s.sign({}, { key: next }))).rejects.toBeInstanceOf(Unauthenticated);
    expect(s.issuer.hits.jwks).toBe(1);
    s.clock.t += 21_000;
    await expect(s.auth(await s.sign({}, { key: next }))).resolves.toMatchObject({ user: `${s.issuer.url}#u-8f2c` });
    expect(s.issuer.hits).toEqual({ discovery: 1, jwks: 2 });
    // The old key is gone from the set: its tokens are refused now.
    await expect(s.auth(await s.sign({}))).rejects.toBeInstanceOf(Unauthenticated);
  });

  it('unknown kids in a burst cost one refetch, and more within 30 s none', async () => {
    const s = await setup();
    s.issuer.jwksDelayMs = 30;
    await expect(s.auth(await s.sign({}))).resolves.toBeDefined();
    s.clock.t += 31_000;
    const forged = await Promise.all(Array.from({ length: 40 }, () => s.sign({}, { kid: randomBytes(8).toString('hex') })));
    const results = await Promise.allSettled(forged.map((t) => s.auth(t)));
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof Unauthenticated)).toBe(true);
    expect(s.issuer.hits.jwks).toBe(2);
    s.clock.t += 29_000;
    await Promise.allSettled(forged.map((t) => s.auth(t)));
    expect(s.issuer.hits.jwks).toBe(2);
    // The known key kept working all along.
    await expect(s.auth(await s.sign({}))).resolves.toBeDefined();
    expectNoTokenLogged(s);
  });

  it('are fetched again in the background when 15 minutes old: a withdrawn key stops working', async () => {
    const s = await setup();
    await expect(s.auth(await s.sign({}))).resolves.toBeDefined();
    const replacement = await makeKey('ES256', 1);
    s.issuer.keys = [replacement.jwk];
    s.clock.t += 15 * 60_000;
    const token = await s.sign({});
    // This request is served with the keys in hand while they are fetched again.
    await expect(s.auth(token)).resolves.toBeDefined();
    await expect.poll(() => s.issuer.hits.jwks).toBe(2);
    await new Promise((r) => setTimeout(r, 20));
    await expect(s.auth(token)).rejects.toBeInstanceOf(Unauthenticated);
    await expect(s.auth(await s.sign({}, { key: replacement }))).resolves.toBeDefined();
  });
});

describe('an issuer that cannot be reached', () => {
  it('down from the start: 503 (AuthenticationUnavailable), logged without the token, retried after 5 s', async () => {
    const s = await setup();
    const token = await s.sign({});
    await s.issuer.close();
    const err = await s.auth(token).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationUnavailable);
    expect((err as AuthenticationUnavailable).statusCode).toBe(503);
    expect(s.logs.join('\n')).toMatch(/oidc: cannot fetch the signing keys of http:\/\/127\.0\.0\.1:\d+: discovery document .*ECONNREFUSED/);
    const lines = s.logs.length;
    await expect(s.auth(token)).rejects.toBeInstanceOf(AuthenticationUnavailable);
    expect(s.logs.length).toBe(lines); // no new try within 5 s
    s.clock.t += 5_000;
    await expect(s.auth(token)).rejects.toBeInstanceOf(AuthenticationUnavailable);
    expect(s.logs.length).toBe(lines + 1);
    expectNoTokenLogged(s);
  });

  it('down after the keys were had: known keys still work, an unknown key is 503', async () => {
    const s = await setup();
    await expect(s.auth(await s.sign({}))).resolves.toBeDefined();
    await s.issuer.close();
    s.clock.t += 31_000;
    await expect(s.auth(await s.sign({}))).resolves.toBeDefined();
    const rotated = await makeKey('RS256', 2);
    await expect(s.auth(await s.sign({}, { key: rotated }))).rejects.toBeInstanceOf(AuthenticationUnavailable);
    // A forged signature under a known kid is a plain refusal, issuer or not.
    const stranger = await makeKey('RS256', 1, s.key.kid);
    await expect(s.auth(await s.sign({}, { key: stranger }))).rejects.toBeInstanceOf(Unauthenticated);
    expect(s.logs.join('\n')).toContain('(the keys fetched before stay in use)');
    expectNoTokenLogged(s);
  });

  it('slow, oversized, or naming another issuer: 503, and the log says which', async () => {
    const slow = await setup({}, { fetchTimeoutMs: 150 });
    slow.issuer.jwksDelayMs = 1000;
    await expect(slow.auth(await slow.sign({}))).rejects.toBeInstanceOf(AuthenticationUnavailable);
    expect(slow.logs.join('\n')).toContain('no answer within 150 ms');

    const big = await setup({}, { maxResponseBytes: 4096 });
    big.issuer.jwksBody = JSON.stringify({ keys: big.issuer.keys, padding: 'x'.repeat(10_000) });
    await expect(big.auth(await big.sign({}))).rejects.toBeInstanceOf(AuthenticationUnavailable);
    expect(big.logs.join('\n')).toContain('larger than 4096 bytes');

    const other = await setup();
    other.issuer.issuerClaim = `${other.issuer.url}/`;
    await expect(other.auth(await other.sign({}))).rejects.toBeInstanceOf(AuthenticationUnavailable);
    expect(other.logs.join('\n')).toContain('must be equal, to the last slash');
    expect(other.issuer.hits.jwks).toBe(0);
  });

  it('prefetch logs the outcome at start and never throws', async () => {
    const s = await setup();
    await s.oidc.prefetch();
    expect(s.logs).toEqual([`oidc: issuer ${s.issuer.url}: 2 signing keys fetched`]);
    await s.issuer.close();
    const t = await setup();
    await t.issuer.close();
    await expect(t.oidc.prefetch()).resolves.toBeUndefined();
    expect(t.logs[0]).toContain('cannot fetch the signing keys');
  });
});

describe('beside TokenReview (oidcOrElse)', () => {
  it('sends tokens of the issuer to OIDC and every other to the other authenticator', async () => {
    const s = await setup();
    const others: string[] = [];
    const otherwise = (req: IncomingMessage) => {
      others.push(req.headers.authorization ?? '');
      return Promise.resolve({ user: 'kube-user', groups: [] });
    };
    const both = oidcOrElse(s.oidc, otherwise);
    await expect(both(request(await s.sign({})))).resolves.toEqual({ user: `${s.issuer.url}#u-8f2c`, groups: [] });
    // A token naming the issuer but badly signed is refused, not passed on.
    await expect(both(request(await s.sign({}, { key: await makeKey('RS256', 1, s.key.kid) })))).rejects.toBeInstanceOf(Unauthenticated);
    // A Kubernetes ServiceAccount token (a JWT of another issuer) and an opaque token go elsewhere.
    const sa = await s.sign({ iss: 'https://kubernetes.default.svc.cluster.local' });
    await expect(both(request(sa))).resolves.toEqual({ user: 'kube-user', groups: [] });
    await expect(both(request('opaque-token-123'))).resolves.toEqual({ user: 'kube-user', groups: [] });
    expect(others).toEqual([`Bearer ${sa}`, 'Bearer opaque-token-123']);
  });
});

describe('settings', () => {
  it('fill in Kubernetes\' defaults', () => {
    const iss = 'https://idp.example.org/realms/lab';
    expect(resolveOidcSettings({ issuerUrl: iss, clientId: 'c' })).toEqual({
      issuerUrl: iss, clientId: 'c', usernameClaim: 'sub', usernamePrefix: `${iss}#`, groupsClaim: 'groups', groupsPrefix: '', algorithms: ['RS256', 'ES256'],
    });
    expect(resolveOidcSettings({ issuerUrl: iss, clientId: 'c', usernameClaim: 'email' }).usernamePrefix).toBe('');
    expect(resolveOidcSettings({ issuerUrl: iss, clientId: 'c', usernameClaim: 'email', usernamePrefix: 'oidc:' }).usernamePrefix).toBe('oidc:');
    expect(resolveOidcSettings({ issuerUrl: iss, clientId: 'c', usernamePrefix: '-' }).usernamePrefix).toBe('');
  });

  it('refuse plain http beyond loopback, queries, system: prefixes, no client id', () => {
    const bad = (s: Partial<OidcSettings>) => () => resolveOidcSettings({ issuerUrl: 'https://idp.example.org', clientId: 'c', ...s });
    expect(bad({ issuerUrl: 'http://idp.example.org' })).toThrow(/must be https/);
    expect(bad({ issuerUrl: 'https://idp.example.org?x=1' })).toThrow(/query/);
    expect(bad({ issuerUrl: 'ftp://idp.example.org' })).toThrow(/must be https/);
    expect(bad({ clientId: '' })).toThrow(/clientId: required/);
    expect(bad({ usernamePrefix: 'system:' })).toThrow(/usernamePrefix: must not begin with system:/);
    expect(bad({ groupsPrefix: 'system:x:' })).toThrow(/groupsPrefix/);
    for (const ok of ['http://127.0.0.1:5556/dex', 'http://localhost:8080/realms/lab', 'http://[::1]:9000']) {
      expect(bad({ issuerUrl: ok })).not.toThrow();
    }
  });
});
