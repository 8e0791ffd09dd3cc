/**
 * How the lab server acts for a member: with the ServiceAccount `strand-member` of the member's
 * own namespace and short-lived tokens from the TokenRequest API (GA in Kubernetes 1.20), never
 * with impersonation.
 *
 * Why not impersonation: the server would hold the `impersonate` verb, which, even narrowed by
 * resourceNames to a list of users, lets it act as each of those people everywhere they have
 * rights on the cluster, not only in their lab namespace. With a ServiceAccount per namespace,
 * what the server can do for a member is confined to that namespace by construction (a
 * RoleBinding there to `strand-member`), whatever that person may do elsewhere; the tokens expire
 * in minutes and carry an audience. The price: the API server's audit log names
 * `system:serviceaccount:<ns>:strand-member`, not the person, so Strand labels and annotates what
 * it makes with the member's user name (provision.ts), and each namespace has one member.
 *
 * Per process: each member's namespace is made ready once (ensureMemberNamespace, cached; a
 * failure is not cached); one client per namespace, whose bearer token is fetched when a request
 * needs one and reused until 80% of its life, then replaced. The client is the server's cluster
 * (same URL, CA, TLS server name) with that token and nothing else of the server's credentials.
 * Tokens are never logged, and are held only in memory, in the client's token source.
 */
import type { Principal } from '../../api/principal.js';
import type { MemberAccess, MemberCluster } from '../../api/member-access.js';
import { KubeConfig } from '../../cluster/kubernetes-client.js';
import { KubeApi, type KubeApiOptions } from '../../cluster/kube-api.js';
import type { KubeConnection } from '../../cluster/connection.js';
import { NotPermitted } from '../server-types.js';
import { MEMBER_SERVICE_ACCOUNT } from './member-role.js';
import { checkMemberNamespace, ensureMemberNamespace, type MemberProfile } from './provision.js';

export interface TokenRequestMemberAccessOptions {
  /** The lab's profile for members' namespaces (provision.ts). */
  profile?: MemberProfile;
  /**
   * A one-namespace install: every member acts in this namespace (made by the administrator,
   * server-rbac.ts `oneNamespaceRbacObjects`); nothing is provisioned.
   */
  fixedNamespace?: string;
  /**
   * Make a member's namespace on first sign-in (default); false: only check that an administrator
   * made it (server-rbac.ts `preprovisioned`).
   */
  provision?: boolean;
  /** Lifetime asked of each token; default 600 (the API's minimum; the issuer may give another). */
  expirationSeconds?: number;
  /** The tokens' audiences; default none given, which is the API server's own. */
  audiences?: string[];
  /** A token is replaced after this share of its life; default 0.8. */
  refreshAt?: number;
  /** The members' clients' rate limit and retries; default 10 requests per second. */
  kubeApi?: KubeApiOptions;
  /** Who may have a namespace at all (e.g. members of a group); default everyone authenticated. */
  mayBeMember?: (p: Principal) => boolean;
  now?: () => number;
}

interface CachedToken {
  token: string;
  refreshAtMs: number;
}

/**
 * The token source of one namespace's client: a token from TokenRequest, reused until
 * `refreshAt` of its life, requests at the same moment sharing one TokenRequest.
 */
class TokenSource {
  private cached: CachedToken | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly serverApi: KubeApi,
    private readonly namespace: string,
    private readonly opts: { expirationSeconds: number; audiences: string[]; refreshAt: number; now: () => number },
  ) {}

  get(): Promise<string> {
    const c = this.cached;
    if (c && this.opts.now() < c.refreshAtMs) return Promise.resolve(c.token);
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<string> {
    const asked = this.opts.now();
    const tr = await this.serverApi.call(`create token for ServiceAccount ${MEMBER_SERVICE_ACCOUNT} in namespace ${this.namespace}`, () =>
      this.serverApi.core.createNamespacedServiceAccountToken({
        name: MEMBER_SERVICE_ACCOUNT,
        namespace: this.namespace,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: this.opts.audiences, expirationSeconds: this.opts.expirationSeconds } },
      }),
    );
    const token = tr.status?.token;
    if (!token) throw new Error(`the API server answered the TokenRequest for ${MEMBER_SERVICE_ACCOUNT} in namespace ${this.namespace} without a token`);
    // The life granted: what the answer says (the issuer may change what was asked), measured
    // from when it was asked, and the shorter of the two readings should the clocks disagree.
    const granted = (tr.spec?.expirationSeconds ?? this.opts.expirationSeconds) * 1000;
    const untilExpiry = tr.status?.expirationTimestamp ? new Date(tr.status.expirationTimestamp).getTime() - asked : granted;
    const life = Math.max(0, Math.min(granted, untilExpiry));
    this.cached = { token, refreshAtMs: asked + life * this.opts.refreshAt };
    return token;
  }
}

/**
 * A client of the server's cluster that authenticates every request with `source`'s token: a
 * kubeconfig with the server's cluster entry (URL, CA, TLS settings) and a user that holds no
 * credential of its own, and an authenticator (client-node's hook, asked before each request,
 * watches and log streams included) that sets the bearer header.
 */
function memberConnection(server: KubeConnection, namespace: string, source: TokenSource): KubeConnection {
  const cluster = server.kc.getCurrentCluster();
  if (!cluster) throw new Error('the server\'s kubeconfig has no current cluster');
  const kc = new KubeConfig();
  const userName = `${MEMBER_SERVICE_ACCOUNT}@${namespace}`;
  kc.addAuthenticator({
    isAuthProvider: (user: { name?: string }) => user?.name === userName,
    applyAuthentication: async (_user: unknown, opts: { headers?: Record<string, string> }) => {
      const token = await source.get();
      opts.headers ??= {};
      opts.headers['Authorization'] = `Bearer ${token}`;
    },
  });
  kc.loadFromOptions({
    clusters: [{ ...cluster }],
    users: [{ name: userName }],
    contexts: [{ name: userName, cluster: cluster.name, user: userName, namespace }],
    currentContext: userName,
  });
  return { kc, context: userName, namespace, server: cluster.server, inCluster: false };
}

export function tokenRequestMemberAccess(serverApi: KubeApi, opts: TokenRequestMemberAccessOptions = {}): MemberAccess {
  const now = opts.now ?? Date.now;
  const tokenOpts = {
    expirationSeconds: opts.expirationSeconds ?? 600,
    audiences: opts.audiences ?? [],
    refreshAt: opts.refreshAt ?? 0.8,
    now,
  };
  const kubeApiOpts: KubeApiOptions = opts.kubeApi ?? { requestsPerSecond: 10 };
  /** user -> their namespace, once made ready (in flight: shared). */
  const ready = new Map<string, Promise<string>>();
  /** namespace -> its client. */
  const clients = new Map<string, KubeApi>();

  const namespaceOf = (user: string): Promise<string> => {
    if (opts.fixedNamespace !== undefined) return Promise.resolve(opts.fixedNamespace);
    let p = ready.get(user);
    if (!p) {
      p = (opts.provision === false ? checkMemberNamespace : ensureMemberNamespace)(serverApi, user, opts.profile).then((m) => m.namespace);
      ready.set(user, p);
      // A failure is not remembered: the next request tries again.
      p.catch(() => ready.delete(user));
    }
    return p;
  };

  return {
    async forMember(p: Principal): Promise<MemberCluster> {
      if (opts.mayBeMember && !opts.mayBeMember(p)) throw new NotPermitted(`${JSON.stringify(p.user)} is not a member of this lab`);
      const namespace = await namespaceOf(p.user);
      let api = clients.get(namespace);
      if (!api) {
        api = new KubeApi(memberConnection(serverApi.conn, namespace, new TokenSource(serverApi, namespace, tokenOpts)), kubeApiOpts);
        clients.set(namespace, api);
      }
      return { namespace, api };
    },
  };
}
