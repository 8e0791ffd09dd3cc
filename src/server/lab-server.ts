/**
 * `strand server`: the lab's server, a thin control plane. It holds no engine state: each run is a
 * leader Job in its member's namespace (the run service over the cluster, api/cluster-runs/), so a
 * restart loses nothing and finds every run again from the cluster. It serves GA4GH WES 1.1 at
 * /ga4gh/wes/v1 (wes/), each request signed in with a bearer token:
 *
 *   auth 'kubernetes'  a Kubernetes token, checked with a TokenReview (identity/token-review.ts);
 *                      each member acts in a namespace of their own, made on first sign-in, through
 *                      a ServiceAccount there with short-lived tokens (members/).
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
import { tokenReviewAuthenticator } from './identity/token-review.js';
import { loopbackTokenAuthenticator } from './identity/loopback-token.js';
import { tokenRequestMemberAccess } from './members/member-access.js';
import type { MemberProfile } from './members/provision.js';
import type { ServerConfig } from './server-config.js';
import { submitFromRequest } from './submit-from-request.js';
import { wesRoutes } from './wes/wes-routes.js';
import { WES_BASE_PATH } from './wes/wes-views.js';

export type ServerAuth = 'kubernetes' | 'token';

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
    authenticate = tokenReviewAuthenticator(serverApi);
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
      res.end(authInstructions(o.auth));
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

function authInstructions(auth: ServerAuth): string {
  if (auth === 'token') {
    return [
      'This Strand server serves the one user who started it, on this machine only.',
      'Send the token it printed when it started: Authorization: Bearer <token>.',
      '',
    ].join('\n');
  }
  return [
    'This Strand server signs you in with a Kubernetes token of the cluster it runs on.',
    'Send it with every request: Authorization: Bearer <token>.',
    '',
    'A ServiceAccount token your administrator gives you, or any token the cluster accepts',
    '(the server checks it with a TokenReview). Your runs go to a namespace of your own,',
    'made the first time you sign in. See docs/lab-server.md.',
    '',
  ].join('\n');
}
