/**
 * Who a request comes from, when its bearer token is a Kubernetes token: the API server says, in
 * answer to a TokenReview (authentication.k8s.io/v1, served by Kubernetes 1.20; the rig has no
 * SelfSubjectReview). The server needs `create` on `tokenreviews` (server-rbac.ts).
 *
 * Answers are kept for a short while (60 s for a valid token, 10 s for one that is not) so that a
 * client's burst of requests costs one review, in two bounded caches (a flood of garbage tokens
 * can only push out other garbage). They are keyed by an HMAC-SHA-256 of the token under a key
 * made at each start: the cache never holds a token, nor a digest that could be checked against
 * a token found elsewhere. A token is never logged nor put in an error; a review the API server
 * could not answer (unreachable, the server's own rights missing) is an error of its own, not a
 * 401, and is not cached.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../../api/principal.js';
import { bearerToken } from '../../api/bearer-token.js';
import type { KubeApi } from '../../cluster/kube-api.js';
import { Unauthenticated, type Authenticate } from '../server-types.js';

export interface TokenReviewOptions {
  /**
   * The audiences this server accepts tokens for (TokenReview `spec.audiences`); the answer must
   * name one of them. Default: none given, which the API server takes as its own audience.
   */
  audiences?: string[];
  /** How long a valid token's answer is kept; default 60 000 ms. */
  positiveTtlMs?: number;
  /** How long an invalid token's answer is kept; default 10 000 ms. */
  negativeTtlMs?: number;
  /** Most answers kept of each kind; default 10 000 valid, 1000 invalid. */
  maxPositive?: number;
  maxNegative?: number;
  /** The caches (to share or inspect them); made here by default. */
  cache?: ReviewCache;
  now?: () => number;
}

interface Entry {
  principal: Principal | undefined;
  expiresAtMs: number;
}

/** A bounded map, oldest first out, whose entries expire. */
class ExpiringMap {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly max: number) {}

  get(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && now >= e.expiresAtMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  set(key: string, entry: Entry): void {
    this.entries.delete(key);
    while (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    this.entries.set(key, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Keys and entries, for tests and diagnostics (no token is in them). */
  dump(): Array<[string, Entry]> {
    return [...this.entries.entries()];
  }
}

/** The answers of TokenReviews, by keyed digest of the token. */
export class ReviewCache {
  private readonly key = randomBytes(32);
  readonly valid: ExpiringMap;
  readonly invalid: ExpiringMap;

  constructor(maxPositive = 10_000, maxNegative = 1000) {
    this.valid = new ExpiringMap(maxPositive);
    this.invalid = new ExpiringMap(maxNegative);
  }

  /** HMAC-SHA-256 of the token under this cache's key (hex). */
  digest(token: string): string {
    return createHmac('sha256', this.key).update(token, 'utf8').digest('hex');
  }
}

const UNAUTHENTICATED = 'a valid bearer token is required (Authorization: Bearer <token>)';

export function tokenReviewAuthenticator(api: KubeApi, opts: TokenReviewOptions = {}): Authenticate {
  const now = opts.now ?? Date.now;
  const cache = opts.cache ?? new ReviewCache(opts.maxPositive, opts.maxNegative);
  const positiveTtl = opts.positiveTtlMs ?? 60_000;
  const negativeTtl = opts.negativeTtlMs ?? 10_000;
  const audiences = opts.audiences ?? [];
  /** Reviews under way, so that a burst with one token costs one. */
  const inFlight = new Map<string, Promise<Principal | undefined>>();

  const review = async (token: string): Promise<Principal | undefined> => {
    const tr = await api.call('create TokenReview', () =>
      api.authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences.length ? { audiences } : {}) } } }),
    );
    const st = tr.status;
    const user = st?.user?.username;
    if (st?.authenticated !== true || !user) return undefined;
    // An audience-aware answer must name one of ours (the TokenReview API's advice to clients).
    if (audiences.length > 0 && !(st.audiences ?? []).some((a) => audiences.includes(a))) return undefined;
    return { user, groups: [...(st.user?.groups ?? [])] };
  };

  return async (req: IncomingMessage): Promise<Principal> => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw new Unauthenticated(UNAUTHENTICATED);
    const key = cache.digest(token);
    const t = now();
    const hit = cache.valid.get(key, t) ?? cache.invalid.get(key, t);
    let principal: Principal | undefined;
    if (hit) principal = hit.principal;
    else {
      let p = inFlight.get(key);
      if (!p) {
        p = review(token).then((answer) => {
          if (answer) cache.valid.set(key, { principal: answer, expiresAtMs: now() + positiveTtl });
          else cache.invalid.set(key, { principal: undefined, expiresAtMs: now() + negativeTtl });
          return answer;
        });
        inFlight.set(key, p);
        void p.finally(() => inFlight.delete(key)).catch(() => undefined);
      }
      principal = await p;
    }
    if (!principal) throw new Unauthenticated(UNAUTHENTICATED);
    return { user: principal.user, groups: [...principal.groups] };
  };
}
