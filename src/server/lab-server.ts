/**
 * `strand server`: the lab's server, a thin control plane. It holds no engine state: each run is a
 * leader Job in its member's namespace (the run service over the cluster, api/cluster-runs/), so a
 * restart loses nothing and finds every run again from the cluster. It serves GA4GH WES 1.1 at
 * /ga4gh/wes/v1 (wes/), each request signed in with a bearer token:
 *
 *   auth 'kubernetes'  a Kubernetes token, checked with a TokenReview (identity/token-review.ts);
 *                      each member acts in a namespace of their own, made on first sign-in, through
 *                      a ServiceAccount there with short-lived tokens (members/).
 *   auth 'oidc'        an ID token of the OIDC provider of the config's identity.oidc, checked by
 *                      the server itself (identity/oidc.ts); members as with 'kubernetes'.
 *   auth 'kubernetes+oidc'  both: a JWT naming that provider as its issuer is checked as OIDC, any
 *                      other token with a TokenReview (the default when identity.oidc is set).
 *   auth 'token'       one user on this machine: a token made at each start, accepted on loopback
 *                      only, and runs go where the server's own kubeconfig points (as strand submit).
 *
 * Plain answers besides WES: GET /healthz (no token: for probes), GET /auth (how to get a token).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { clusterRunService } from '../api/cluster-runs/cluster-run-service.js';
import type { MemberAccess } from '../api/member-access.js';
import { connect } from '../cluster/connection.js';
import { KubeApi } from '../cluster/kube-api.js';
import { UsageError } from '../errors.js';
import { oidcAuthenticator, oidcOrElse } from './identity/oidc.js';
import { tokenReviewAuthenticator } from './identity/token-review.js';
import { loopbackTokenAuthenticator } from './identity/loopback-token.js';
import { tokenRequestMemberAccess } from './members/member-access.js';
import type { MemberProfile } from './members/provision.js';
import type { ServerConfig } from './server-config.js';
import { submitFromRequest } from './submit-from-request.js';
import { wesRoutes } from './wes/wes-routes.js';
import { WES_BASE_PATH } from './wes/wes-views.js';

export type ServerAuth = 'kubernetes' | 'oidc' | 'kubernetes+oidc' | 'token';

/** --auth when none is given: Kubernetes tokens, and OIDC ID tokens too when the config sets identity.oidc. */
export function defaultAuth(config: ServerConfig): ServerAuth {
  return config.identity.oidc ? 'kubernetes+oidc' : 'kubernetes';
}

export interface LabServerOptions {
  config: ServerConfig;
  auth: ServerAuth;
  /** Strand's version (service-info, the engine version a request may name). */
  version: string;
  /** Where the server says what it does: one line each, never a token. */
  log: (line: string) => void;
}

export interface LabServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  port: number;
  /** With auth 'token': this start's token. */
  token?: string;
  close(): Promise<void>;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startLabServer(o: LabServerOptions): Promise<LabServer> {
  const { config } = o;
  const host = config.listen.host;
  if (o.auth === 'token' && !isLoopbackHost(host)) {
    throw new UsageError(`--auth token listens on loopback only (127.0.0.1, ::1), not ${host}: a server others reach signs them in with --auth kubernetes`);
  }
  const oidcSettings = config.identity.oidc;
  const usesOidc = o.auth === 'oidc' || o.auth === 'kubernetes+oidc';
  if (usesOidc && !oidcSettings) {
    throw new UsageError(`--auth ${o.auth} needs identity.oidc in the config file (issuerUrl, clientId; docs/lab-server.md)`);
  }
  if (!usesOidc && oidcSettings) o.log(`identity.oidc of the config is not used: --auth ${o.auth}`);
  const conn = connect({ ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}) });
  const serverApi = new KubeApi(conn, { requestsPerSecond: 20 });

  let authenticate;
  let access: MemberAccess;
  let token: string | undefined;
  if (o.auth === 'token') {
    const local = loopbackTokenAuthenticator();
    authenticate = local.authenticate;
    token = local.token;
    // One user, acting with the server's own kubeconfig, in its namespace: strand submit's rights.
    access = { forMember: async () => ({ namespace: conn.namespace, api: serverApi }) };
  } else {
    const oidc = usesOidc && oidcSettings ? oidcAuthenticator(oidcSettings, { log: o.log }) : undefined;
    // Fetched now so that a provider out of reach or misnamed shows in the log at start (not fatal).
    if (oidc) void oidc.prefetch();
    authenticate = !oidc ? tokenReviewAuthenticator(serverApi) : o.auth === 'oidc' ? oidc.authenticate : oidcOrElse(oidc, tokenReviewAuthenticator(serverApi));
    access = tokenRequestMemberAccess(serverApi, {
      profile: memberProfile(config),
      provision: config.members.provision,
      ...(config.members.namespace !== undefined ? { fixedNamespace: config.members.namespace } : {}),
    });
  }

  const leader = { ...config.leader };
  const service = clusterRunService({ access, config: config.runs, leader, bundleLimit: config.limits.bundleBytes });
  const submit = submitFromRequest({ service, config: config.runs, leader, bundleLimit: config.limits.bundleBytes, log: o.log });
  // Attachments land here, one directory per request, removed once it is answered.
  const requestsRoot = await mkdtemp(path.join(os.tmpdir(), 'strand-server-'));

  let origin = '';
  const wes = wesRoutes({
    service,
    authenticate,
    submit,
    requestDir: () => mkdtemp(path.join(requestsRoot, 'req-')),
    serviceInfo: {
      id: `strand.server.${conn.server.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9]+/g, '-')}`,
      name: 'Strand lab server',
      description: 'Runs CWL v1.2 workflows on Kubernetes, each run a leader Job in its member\'s namespace.',
      get organization() {
        return { name: 'Strand', url: `${origin}/` };
      },
      version: o.version,
      get authInstructionsUrl() {
        return `${origin}/auth`;
      },
      engineParameters: [
        { name: 'cache', type: 'string', default_value: 'on' },
        { name: 'retries', type: 'integer', default_value: '0' },
        { name: 'on_error', type: 'string', default_value: 'stop' },
      ],
    },
    limits: config.limits,
    log: o.log,
    // The request each run was submitted with, kept with the run (for its owner only).
    recordedRequest: async (p, run) => service.recordedRequest?.(p, run.id),
  });

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://server');
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end('ok\n');
      return;
    }
    if (url.pathname === '/auth' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(authInstructions(o.auth, oidcSettings?.issuerUrl));
      return;
    }
    wes(req, res)
      .then((handled) => {
        if (handled) return;
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ msg: `nothing at ${url.pathname}: the WES API is at ${WES_BASE_PATH}`, status_code: 404 }));
      })
      .catch((err: unknown) => {
        o.log(`error answering ${req.method} ${url.pathname}: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ msg: 'the server failed to answer (see its log)', status_code: 500 }));
      });
  });
  // Uploads take as long as they take; idle connections are closed.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listen.port;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    origin,
    port,
    ...(token ? { token } : {}),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      service.close();
      await rm(requestsRoot, { recursive: true, force: true });
    },
  };
}

/** The member namespace profile of the config file (members: and leader.serviceAccount). */
export function memberProfile(config: ServerConfig): MemberProfile {
  const m = config.members;
  const lr = m.limitRange;
  return {
    namespaceTemplate: m.namespaceTemplate,
    clusterRole: m.clusterRole,
    leaderServiceAccount: config.leader.serviceAccount,
    ...(m.resourceQuota ? { resourceQuota: m.resourceQuota } : {}),
    ...(lr ? { limitRange: [{ type: 'Container' as const, ...lr }] } : {}),
  };
}

function authInstructions(auth: ServerAuth, issuerUrl: string | undefined): string {
  if (auth === 'token') {
    return [
      'This Strand server serves the one user who started it, on this machine only.',
      'Send the token it printed when it started: Authorization: Bearer <token>.',
      '',
    ].join('\n');
  }
  const kubernetes = [
    'A Kubernetes token of the cluster it runs on: a ServiceAccount token your administrator',
    'gives you, or any token the cluster accepts (the server checks it with a TokenReview).',
  ];
  const oidc = [
    `An ID token of the lab's identity provider, ${issuerUrl ?? '(not configured)'}, issued for this`,
    'server\'s client id (e.g. the id_token your OIDC login gives, as for kubectl oidc-login).',
  ];
  const ways = auth === 'oidc' ? oidc : auth === 'kubernetes' ? kubernetes : [...oidc, '', 'Or:', ...kubernetes];
  return [
    'This Strand server signs you in with a bearer token. Send it with every request:',
    'Authorization: Bearer <token>.',
    '',
    ...ways,
    '',
    'Your runs go to a namespace of your own, made the first time you sign in.',
    'See docs/lab-server.md.',
    '',
  ].join('\n');
}
