/**
 * Who a request comes from: the bearer tokens the fake accepts, as an API server's authenticators
 * would. Three kinds:
 * - the kubeconfig's token (`fake-kube-user`), authorized by the `rbac` rules of the fake (default
 *   everything), as before;
 * - tokens of users added by `addUser` (a static token file's users), authorized by the RBAC
 *   objects stored in the fake (rbac-objects.ts);
 * - ServiceAccount tokens issued by TokenRequest (`serviceaccounts/<name>/token`), which
 *   authenticate as `system:serviceaccount:<ns>:<name>` with the groups `system:serviceaccounts`,
 *   `system:serviceaccounts:<ns>` and `system:authenticated`, until they expire or the
 *   ServiceAccount (by uid) is gone, for the audiences they were issued for.
 * Tokens are opaque random strings here (real ones are JWTs; a client never looks inside).
 */
import { randomBytes } from 'node:crypto';
import type { Store } from './store.js';

export interface Identity {
  user: string;
  uid?: string;
  groups: string[];
  /** `rules`: the fake's own rule list (the kubeconfig's user); `objects`: stored RBAC objects. */
  authorizer: 'rules' | 'objects';
}

interface ServiceAccountToken {
  namespace: string;
  name: string;
  saUid: string;
  expiresAtMs: number;
  audiences: string[];
}

/** The API server's own audience, as a 1.20 API server defaults it (its issuer). */
export const API_AUDIENCES = ['https://kubernetes.default.svc.cluster.local'];

export const serviceAccountUser = (ns: string, name: string): string => `system:serviceaccount:${ns}:${name}`;

export type Authentication = { ok: true; identity: Identity; audiences: string[] } | { ok: false; error?: string };

export class Authenticator {
  private readonly users = new Map<string, Identity>();
  private readonly saTokens = new Map<string, ServiceAccountToken>();
  /** Added to Date.now() when checking expiry (advanceClock). */
  private offsetMs = 0;

  constructor(
    private readonly store: Store,
    adminToken: string,
    adminUser: string,
  ) {
    this.users.set(adminToken, { user: adminUser, groups: ['system:masters', 'system:authenticated'], authorizer: 'rules' });
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advanceClock(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }

  addUser(user: string, groups: string[] = []): string {
    const token = `u-${randomBytes(24).toString('base64url')}`;
    this.users.set(token, { user, groups: [...groups, 'system:authenticated'], authorizer: 'objects' });
    return token;
  }

  issue(namespace: string, name: string, saUid: string, expirationSeconds: number, audiences: string[]): { token: string; expiresAtMs: number } {
    const token = `sa-${randomBytes(32).toString('base64url')}`;
    const expiresAtMs = this.now() + expirationSeconds * 1000;
    this.saTokens.set(token, { namespace, name, saUid, expiresAtMs, audiences: [...audiences] });
    return { token, expiresAtMs };
  }

  /** The token's identity for a request (`wanted` absent: the API server's own audiences). */
  authenticate(token: string, wanted: string[] = API_AUDIENCES): Authentication {
    const user = this.users.get(token);
    if (user) {
      // Static tokens carry no audience: valid only for the API server itself.
      const both = wanted.filter((a) => API_AUDIENCES.includes(a));
      return both.length > 0 ? { ok: true, identity: user, audiences: both } : { ok: false, error: 'token audiences are invalid for the target audiences' };
    }
    const t = this.saTokens.get(token);
    if (!t) return { ok: false };
    if (this.now() >= t.expiresAtMs) return { ok: false, error: '[invalid bearer token, square/go-jose/jwt: validation failed, token is expired (exp)]' };
    const both = wanted.filter((a) => t.audiences.includes(a));
    if (both.length === 0) return { ok: false, error: '[invalid bearer token, token audiences ' + JSON.stringify(t.audiences) + ' is invalid for the target audiences ' + JSON.stringify(wanted) + ']' };
    const sa = this.store.get('serviceaccounts', t.namespace, t.name);
    if (!sa || sa.metadata.uid !== t.saUid) return { ok: false, error: `[invalid bearer token, serviceaccounts "${t.name}" not found]` };
    return {
      ok: true,
      identity: {
        user: serviceAccountUser(t.namespace, t.name),
        uid: t.saUid,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${t.namespace}`, 'system:authenticated'],
        authorizer: 'objects',
      },
      audiences: both,
    };
  }
}
