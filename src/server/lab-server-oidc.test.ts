/**
 * The lab server signing members in with OIDC ID tokens beside Kubernetes tokens (auth
 * 'kubernetes+oidc', the default with identity.oidc), in-process: the fake API server with the
 * server's printed rights, and a real OIDC issuer on loopback whose keys are made here. A member
 * signed in by OIDC gets a namespace of their own as a Kubernetes member does; the issuer going
 * away leaves held keys working and makes a token that cannot be checked a 503.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startFakeKube, type FakeKube } from '../../test/support/fake-kube/index.js';
import { applyAsAdmin, serviceAccountToken } from '../../test/support/lab-cluster.js';
import { UsageError } from '../errors.js';
import { defaultAuth, startLabServer, type LabServer } from './lab-server.js';
import { MEMBER_ANNOTATION } from './members/member-role.js';
import { memberNamespaceName } from './members/namespace-name.js';
import { DEFAULT_SERVER_SERVICE_ACCOUNT, serverRbacObjects } from './members/server-rbac.js';
import { loadServerConfig } from './server-config.js';

const SERVER_NS = 'strand-oidc-system';
const PEOPLE_NS = 'strand-oidc-people';
const CLIENT = 'strand-lab';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

let fake: FakeKube;
let work = '';
let issuer: http.Server;
let issuerUrl = '';
let keys: { kid: string; privateKey: KeyPair['privateKey'] }[] = [];
let server: LabServer;
const logLines: string[] = [];
const savedKubeconfig = process.env.KUBECONFIG;

async function idToken(claims: Record<string, unknown>, key = keys[0]!): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: issuerUrl, aud: CLIENT, sub: 'f3a9', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .sign(key.privateKey);
}

async function get(token: string | undefined, route = '/ga4gh/wes/v1/runs'): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${server.origin}${route}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'strand-lab-oidc-'));
  const pairs = await Promise.all([0, 1].map(() => generateKeyPair('ES256', { extractable: true })));
  keys = pairs.map((p, i) => ({ kid: `k${i}`, privateKey: p.privateKey }));
  const published = [{ ...(await exportJWK(pairs[0]!.publicKey)), kid: 'k0', alg: 'ES256', use: 'sig' }];
  issuer = http.createServer((req, res) => {
    res.writeHead(req.url?.startsWith('/realms/lab/') ? 200 : 404, { 'content-type': 'application/json' });
    if (req.url === '/realms/lab/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/keys` }));
    else if (req.url === '/realms/lab/keys') res.end(JSON.stringify({ keys: published }));
    else res.end('{}');
  });
  await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
  issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}/realms/lab`;

  fake = await startFakeKube({ namespaces: [SERVER_NS, PEOPLE_NS] });
  await applyAsAdmin(fake, [...serverRbacObjects({ namespace: SERVER_NS }), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'dana', namespace: PEOPLE_NS } }]);
  const serverToken = await serviceAccountToken(fake, SERVER_NS, DEFAULT_SERVER_SERVICE_ACCOUNT);
  copyFileSync(fake.kubeconfigFor(serverToken, SERVER_NS), path.join(work, 'server.kubeconfig'));
  const labConfig = path.join(work, 'lab.yaml');
  writeFileSync(
    labConfig,
    stringify({
      listen: { host: '127.0.0.1', port: 0 },
      kubeconfig: 'server.kubeconfig',
      identity: { oidc: { issuerUrl, clientId: CLIENT, usernameClaim: 'email', groupsPrefix: 'oidc:' } },
    }),
  );
  process.env.KUBECONFIG = path.join(work, 'no-such-kubeconfig');
  const config = loadServerConfig(labConfig, 'registry.invalid/strand:oidc-test');
  expect(defaultAuth(config)).toBe('kubernetes+oidc');
  server = await startLabServer({ config, auth: defaultAuth(config), version: '0.0.0-test', log: (l) => logLines.push(l) });
});

afterAll(async () => {
  await server?.close().catch(() => undefined);
  if (issuer.listening) await new Promise<void>((resolve) => issuer.close(() => resolve()));
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await fake?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('strand server with identity.oidc', () => {
  it('signs a member in with an ID token, in a namespace of their own; a Kubernetes token still works; forged tokens are 401', async () => {
    const alice = await idToken({ email: 'alice@example.org', email_verified: true, groups: ['lab'] });
    const a = await get(alice);
    expect(a.status, a.text).toBe(200);
    const ns = memberNamespaceName('alice@example.org');
    expect(fake.getObject('namespaces', '', ns)?.metadata.annotations?.[MEMBER_ANNOTATION]).toBe('alice@example.org');

    const dana = await serviceAccountToken(fake, PEOPLE_NS, 'dana');
    const d = await get(dana);
    expect(d.status, d.text).toBe(200);
    expect(fake.getObject('namespaces', '', memberNamespaceName(`system:serviceaccount:${PEOPLE_NS}:dana`))).toBeDefined();

    for (const bad of [
      await idToken({ email: 'alice@example.org', email_verified: false }),
      await idToken({ email: 'mallory@example.org', email_verified: true }, keys[1]),
      await idToken({ email: 'alice@example.org', email_verified: true, aud: 'another-client' }),
    ]) {
      const r = await get(bad);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(fake.listObjects('namespaces').map((n) => n.metadata.name)).not.toContain(memberNamespaceName('mallory@example.org'));

    const how = await get(undefined, '/auth');
    expect(how.text).toContain(`An ID token of the lab's identity provider, ${issuerUrl}`);
    expect(how.text).toContain('TokenReview');
    expect(logLines.join('\n')).toContain(`oidc: issuer ${issuerUrl}: 1 signing key fetched`);
    for (const t of [alice, dana]) expect(logLines.join('\n')).not.toContain(t);
  });

  it('with the issuer gone: a held key still signs in; a server that cannot fetch the keys answers 503 with Retry-After', async () => {
    await new Promise<void>((resolve) => {
      issuer.close(() => resolve());
      issuer.closeAllConnections();
    });
    const alice = await idToken({ email: 'alice@example.org', email_verified: true });
    expect((await get(alice)).status).toBe(200);

    const first = server;
    const lines = logLines.length;
    server = await startLabServer({ config: loadServerConfig(path.join(work, 'lab.yaml'), 'img'), auth: 'kubernetes+oidc', version: '0', log: (l) => logLines.push(l) });
    try {
      const r = await get(alice);
      expect(r.status, r.text).toBe(503);
      expect(r.headers.get('retry-after')).toBe('30');
      expect(JSON.parse(r.text)).toEqual({ msg: expect.stringContaining('cannot check tokens right now'), status_code: 503 });
      expect(logLines.slice(lines).join('\n')).toMatch(/oidc: cannot fetch the signing keys of http:\/\/127\.0\.0\.1:\d+\/realms\/lab: discovery document .*ECONNREFUSED/);
      // Kubernetes tokens do not depend on the issuer.
      expect((await get(await serviceAccountToken(fake, PEOPLE_NS, 'dana'))).status).toBe(200);
      expect(logLines.join('\n')).not.toContain(alice);
    } finally {
      await server.close();
      server = first;
    }
  });

  it('refuses --auth oidc without identity.oidc', async () => {
    const bare = path.join(work, 'bare.yaml');
    writeFileSync(bare, stringify({ listen: { host: '127.0.0.1', port: 0 }, kubeconfig: 'server.kubeconfig' }));
    const config = loadServerConfig(bare, 'img');
    expect(defaultAuth(config)).toBe('kubernetes');
    await expect(startLabServer({ config, auth: 'oidc', version: '0', log: () => undefined })).rejects.toThrow(UsageError);
  });
});
