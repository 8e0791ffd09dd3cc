/**
 * Who a request comes from, when its bearer token is an OpenID Connect ID token of the lab's
 * identity provider (Keycloak, Dex, a university's SSO...). The server checks it itself, with
 * `jose` (signatures, the JOSE rules): no call to the provider per request.
 *
 * Keys. The provider's discovery document (`<issuer>/.well-known/openid-configuration`) is
 * fetched once: its `issuer` must be the configured one exactly. Its `jwks_uri` gives the keys,
 * kept in memory and fetched again
 *   - when a token names a key we do not have (a rotation), at most once per 30 s whatever the
 *     number of such tokens: a burst of tokens with made-up `kid`s costs one fetch, and requests
 *     arriving while it is under way wait for that one (no stampede);
 *   - in the background when they are older than 15 minutes, so that a key the provider withdrew
 *     stops being accepted (the old keys stay in use if that fetch fails).
 * Until the keys have been had once, a failed fetch is tried again at most every 5 s. Every fetch
 * has a timeout (5 s) and a size limit (256 KiB), follows no redirect, and needs https (plain http
 * only to 127.0.0.1, ::1 or localhost: tests, and a lab on one machine).
 *
 * The provider unreachable. A token whose key we have is checked as ever. One we cannot check
 * (no keys yet, or a key we do not know while the last fetch failed) is answered 503 with
 * Retry-After (AuthenticationUnavailable), not 401: the member's token may be good, a 401 would
 * tell their client to throw it away and sign in again, which cannot help, and tell them nothing
 * of what is wrong; a 503 says the server cannot check it now and to try again. It lets no token
 * in and says nothing about whether a token is valid. The server logs why (at most one line
 * every 10 s), never the token.
 *
 * Checks: the signature, with an algorithm of the allowed list (default RS256, ES256; never
 * `none`, never an HMAC algorithm: the keys are public); `iss` exactly the issuer; `aud` the
 * client id or an array holding it (and then `azp`, if present, the client id); `exp` and `iat`
 * present; `exp`, `nbf` and `iat` (not in the future) with 60 s leeway; the username claim a
 * non-empty string; with `email` as the username claim, `email_verified: true` (Kubernetes also
 * takes a token without the claim; an address the provider has not verified must not name someone's
 * namespace here); the groups claim a string or a list of strings (as Kubernetes), or absent.
 *
 * Names, as Kubernetes' `--oidc-*` flags name the same person, so that a member is the same user
 * for the cluster (their RoleBinding) and for Strand (their runs, their namespace): user =
 * usernamePrefix + the username claim, where the prefix defaults to `<issuer>#` unless the claim
 * is `email` (then none) and `-` means none; groups = groupsPrefix (default none) + each group.
 * A user or group that would begin with `system:` (Kubernetes' own names: service accounts,
 * nodes) is refused, as are control characters.
 */
import type { IncomingMessage } from 'node:http';
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Principal } from '../../api/principal.js';
import { bearerToken } from '../../api/bearer-token.js';
import { AuthenticationUnavailable, Unauthenticated, type Authenticate } from '../server-types.js';

/** The `identity.oidc` section of the server's config: what Kubernetes' `--oidc-*` flags say. */
export interface OidcSettings {
  /** The provider's issuer URL, exactly as its tokens' `iss` (https; http on loopback only). */
  issuerUrl: string;
  /** The client id tokens must be issued for (`aud`). */
  clientId: string;
  /** Default `sub`; often `email` or `preferred_username`. */
  usernameClaim?: string;
  /** Default `<issuerUrl>#`, none when usernameClaim is `email`; `-`: none. */
  usernamePrefix?: string;
  /** Default `groups`. */
  groupsClaim?: string;
  /** Default none. */
  groupsPrefix?: string;
  /** Signature algorithms accepted; default RS256 and ES256. Only public-key algorithms. */
  algorithms?: string[];
}

export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'ES256'];
/** Public-key signature algorithms (RFC 7518, 8037): nothing else may be allowed. */
export const PUBLIC_KEY_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why `url` cannot be an issuer's (or its key set's) URL, or undefined when it can. */
export function issuerUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol === 'http:') {
    if (!LOOPBACK_HOSTS.has(u.hostname)) return 'must be https (plain http only to 127.0.0.1, ::1 or localhost)';
  } else if (u.protocol !== 'https:') return 'must be https';
  if (u.username || u.password) return 'must not hold a user name or password';
  if (u.search || u.hash || url.includes('?') || url.includes('#')) return 'must not have a query or fragment';
  return undefined;
}

/** Why a username or groups prefix cannot be used, or undefined. */
export function prefixProblem(prefix: string): string | undefined {
  return prefix.startsWith('system:') ? 'must not begin with system: (Kubernetes\' own users and groups)' : undefined;
}

/** Why an algorithm list cannot be used, or undefined. */
export function algorithmsProblem(algs: readonly string[]): string | undefined {
  if (algs.length === 0) return 'must name at least one algorithm';
  const bad = algs.filter((a) => !PUBLIC_KEY_ALGORITHMS.includes(a));
  return bad.length ? `${bad.join(', ')}: not allowed (only ${PUBLIC_KEY_ALGORITHMS.join(', ')}; never none or HS*)` : undefined;
}

/** OidcSettings with every default filled in. */
export interface ResolvedOidcSettings {
  issuerUrl: string;
  clientId: string;
  usernameClaim: string;
  usernamePrefix: string;
  groupsClaim: string;
  groupsPrefix: string;
  algorithms: string[];
}

/** The settings with Kubernetes' defaults filled in; throws TypeError for settings that cannot work. */
export function resolveOidcSettings(s: OidcSettings): ResolvedOidcSettings {
  const problem =
    (issuerUrlProblem(s.issuerUrl) && `issuerUrl: ${issuerUrlProblem(s.issuerUrl)}`) ||
    (!s.clientId && 'clientId: required') ||
    (s.usernamePrefix !== undefined && prefixProblem(s.usernamePrefix) && `usernamePrefix: ${prefixProblem(s.usernamePrefix)}`) ||
    (s.groupsPrefix !== undefined && prefixProblem(s.groupsPrefix) && `groupsPrefix: ${prefixProblem(s.groupsPrefix)}`) ||
    (s.algorithms !== undefined && algorithmsProblem(s.algorithms) && `algorithms: ${algorithmsProblem(s.algorithms)}`);
  if (problem) throw new TypeError(`identity.oidc.${problem}`);
  const usernameClaim = s.usernameClaim ?? 'sub';
  const usernamePrefix = s.usernamePrefix === '-' ? '' : (s.usernamePrefix ?? (usernameClaim === 'email' ? '' : `${s.issuerUrl}#`));
  return {
    issuerUrl: s.issuerUrl,
    clientId: s.clientId,
    usernameClaim,
    usernamePrefix,
    groupsClaim: s.groupsClaim ?? 'groups',
    groupsPrefix: s.groupsPrefix ?? '',
    algorithms: [...(s.algorithms ?? DEFAULT_ALGORITHMS)],
  };
}

export interface OidcOptions {
  /** One line each, never a token. */
  log: (line: string) => void;
  now?: () => number;
  /** Each fetch (discovery, keys); default 5000 ms. */
  fetchTimeoutMs?: number;
  /** Each response; default 256 KiB. */
  maxResponseBytes?: number;
  /** The least time between two fetches of the keys for an unknown key; default 30 000 ms. */
  refetchIntervalMs?: number;
  /** The least time between two tries while no keys have been had yet; default 5000 ms. */
  retryIntervalMs?: number;
  /** Keys older than this are fetched again in the background; default 15 minutes. */
  keysMaxAgeMs?: number;
  /** Leeway for exp, nbf and iat; default 60 s. */
  leewaySeconds?: number;
}

export interface OidcAuthenticator {
  readonly authenticate: Authenticate;
  /** Whether `token` is a JWT whose (unverified) `iss` is this issuer: only to route it here. */
  isFromIssuer(token: string): boolean;
  /** Fetch the discovery document and keys now, logging the outcome; never rejects. */
  prefetch(): Promise<void>;
}

const UNAUTHENTICATED = 'a valid bearer token is required (Authorization: Bearer <token>)';

/** A token refused, with why (for the log: fixed words, nothing of the token). */
class Refused extends Unauthenticated {}

/** The provider could not be reached or answered something unusable (its words are not kept). */
class IssuerFetchFailed extends Error {}

export function oidcAuthenticator(settings: OidcSettings, opts: OidcOptions): OidcAuthenticator {
  const s = resolveOidcSettings(settings);
  const now = opts.now ?? Date.now;
  const leeway = opts.leewaySeconds ?? 60;
  const keys = new IssuerKeys(s.issuerUrl, {
    now,
    log: opts.log,
    fetchTimeoutMs: opts.fetchTimeoutMs ?? 5000,
    maxResponseBytes: opts.maxResponseBytes ?? 256 * 1024,
    refetchIntervalMs: opts.refetchIntervalMs ?? 30_000,
    retryIntervalMs: opts.retryIntervalMs ?? 5000,
    keysMaxAgeMs: opts.keysMaxAgeMs ?? 15 * 60_000,
  });
  const refusals = new ThrottledLog(opts.log, now, 10_000);

  const verifyWith = async (token: string, getKey: JWTVerifyGetKey): Promise<JWTPayload> => {
    const options = {
      issuer: s.issuerUrl,
      audience: s.clientId,
      algorithms: s.algorithms,
      clockTolerance: leeway,
      currentDate: new Date(now()),
      requiredClaims: ['exp', 'iat'],
    };
    let payload: JWTPayload | undefined;
    try {
      payload = (await jwtVerify(token, getKey, options)).payload;
    } catch (err) {
      // No kid, and several keys of the right type: try each (as Kubernetes does), a few at most.
      if (!(err instanceof joseErrors.JWKSMultipleMatchingKeys)) throw err;
      let tried = 0;
      for await (const key of err) {
        if (++tried > 8) break;
        try {
          payload = (await jwtVerify(token, key, options)).payload;
          break;
        } catch (e) {
          if (!(e instanceof joseErrors.JWSSignatureVerificationFailed)) throw e;
        }
      }
      if (!payload) throw new joseErrors.JWSSignatureVerificationFailed();
    }
    // jose checks iat against the clock only with a maximum age, which ID tokens do not need.
    if (typeof payload.iat === 'number' && payload.iat > now() / 1000 + leeway) throw new Refused('iat is in the future');
    return payload;
  };

  const verify = async (token: string): Promise<JWTPayload> => {
    let set = await keys.current();
    try {
      return await verifyWith(token, set);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
    }
    // A key we do not have: fetched again, if that is allowed now.
    set = await keys.afterUnknownKey();
    return verifyWith(token, set);
  };

  const isFromIssuer = (token: string): boolean => {
    try {
      return decodeJwt(token).iss === s.issuerUrl;
    } catch {
      return false;
    }
  };

  const authenticate: Authenticate = async (req: IncomingMessage) => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) throw new Unauthenticated(UNAUTHENTICATED);
    try {
      // Not a JWT of this issuer at all: refused before any key is fetched for it.
      if (!isFromIssuer(token)) throw new Refused('not a JWT naming this issuer');
      return principalOf(await verify(token), s);
    } catch (err) {
      if (err instanceof AuthenticationUnavailable) throw err;
      refusals.note(`oidc: a token refused: ${err instanceof Refused ? err.message : refusalReason(err)}`);
      throw new Unauthenticated(UNAUTHENTICATED);
    }
  };

  return {
    authenticate,
    isFromIssuer,
    prefetch: async () => {
      try {
        const n = await keys.prefetch();
        opts.log(`oidc: issuer ${s.issuerUrl}: ${n} signing key${n === 1 ? '' : 's'} fetched`);
      } catch {
        // Already logged by IssuerKeys; requests will try again.
      }
    },
  };
}

/**
 * A token of the OIDC issuer is checked by `oidc`; any other (a Kubernetes token, which may be a
 * JWT of the cluster's own issuer, or not a JWT at all) by `otherwise`. Only the routing reads the
 * token unverified; a token naming the issuer is refused if OIDC refuses it, never tried elsewhere.
 */
export function oidcOrElse(oidc: OidcAuthenticator, otherwise: Authenticate): Authenticate {
  return (req) => {
    const token = bearerToken(req.headers.authorization);
    return token !== undefined && oidc.isFromIssuer(token) ? oidc.authenticate(req) : otherwise(req);
  };
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The principal an ID token's (verified) claims name, or a Refused saying why not. */
export function principalOf(claims: JWTPayload, s: ResolvedOidcSettings): Principal {
  const aud = claims.aud;
  if (Array.isArray(aud) && aud.length > 1 && claims.azp !== undefined && claims.azp !== s.clientId) {
    throw new Refused('several audiences, and azp is not the client id');
  }
  const name = claims[s.usernameClaim];
  if (typeof name !== 'string' || name === '') throw new Refused(`the username claim ${s.usernameClaim} is missing or not a non-empty string`);
  if (s.usernameClaim === 'email' && claims.email_verified !== true) throw new Refused('email is the username claim and email_verified is not true');
  const user = s.usernamePrefix + name;
  if (CONTROL.test(user)) throw new Refused('the user name has control characters');
  if (user.startsWith('system:')) throw new Refused('the user name begins with system:');
  const raw = claims[s.groupsClaim];
  let groups: string[];
  if (raw === undefined) groups = [];
  else if (typeof raw === 'string') groups = [raw];
  else if (Array.isArray(raw) && raw.every((g): g is string => typeof g === 'string')) groups = [...raw];
  else throw new Refused(`the groups claim ${s.groupsClaim} is not a string or a list of strings`);
  groups = groups.map((g) => s.groupsPrefix + g);
  if (groups.some((g) => CONTROL.test(g))) throw new Refused('a group name has control characters');
  if (groups.some((g) => g.startsWith('system:'))) throw new Refused('a group name begins with system:');
  return { user, groups };
}

/** Why jose refused a token, for the log: fixed words and claim names, never a claim's value. */
function refusalReason(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim ${err.claim} failed its check (${err.reason})`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'signed with a key the issuer does not publish';
  if (err instanceof joseErrors.JOSEError) return err.code;
  return 'not a valid token';
}

interface KeyOptions {
  now: () => number;
  log: (line: string) => void;
  fetchTimeoutMs: number;
  maxResponseBytes: number;
  refetchIntervalMs: number;
  retryIntervalMs: number;
  keysMaxAgeMs: number;
}

/** The issuer's signing keys: fetched, kept, fetched again as the module comment says. */
class IssuerKeys {
  private jwksUri: string | undefined;
  private set: JWTVerifyGetKey | undefined;
  private fetchedAt = 0;
  private lastAttemptAt = -Infinity;
  private lastFailed = false;
  private inFlight: Promise<void> | undefined;
  private keyCount = 0;

  constructor(
    private readonly issuerUrl: string,
    private readonly o: KeyOptions,
  ) {}

  /** Keys to check a token with; fetched first if there are none (or AuthenticationUnavailable). */
  async current(): Promise<JWTVerifyGetKey> {
    if (this.set) {
      if (this.o.now() - this.fetchedAt >= this.o.keysMaxAgeMs && this.mayFetch(this.o.refetchIntervalMs)) {
        // In the background: the keys we have serve meanwhile, and still do if this fails.
        void this.fetch().catch(() => undefined);
      }
      return this.set;
    }
    if (this.inFlight || this.mayFetch(this.o.retryIntervalMs)) await this.fetch().catch(() => undefined);
    if (!this.set) throw this.unavailable();
    return this.set;
  }

  /** Keys after a token named one we lack: fetched again if none was tried in the last interval. */
  async afterUnknownKey(): Promise<JWTVerifyGetKey> {
    if (this.inFlight || this.mayFetch(this.o.refetchIntervalMs)) await this.fetch().catch(() => undefined);
    // The last fetch failed: the key may well exist, we cannot tell.
    if (this.lastFailed || !this.set) throw this.unavailable();
    return this.set;
  }

  /** At start: one fetch, its outcome logged; resolves to the number of keys. */
  async prefetch(): Promise<number> {
    await this.fetch();
    return this.keyCount;
  }

  private mayFetch(interval: number): boolean {
    return this.o.now() - this.lastAttemptAt >= interval;
  }

  private unavailable(): AuthenticationUnavailable {
    return new AuthenticationUnavailable(`the identity provider ${this.issuerUrl} cannot be reached to check tokens now`);
  }

  /** One fetch at a time: callers during one share it. */
  private fetch(): Promise<void> {
    this.inFlight ??= (async () => {
      this.lastAttemptAt = this.o.now();
      try {
        if (this.jwksUri === undefined) this.jwksUri = await this.discover();
        const jwks = await fetchJson(this.jwksUri, this.o, 'key set');
        if (typeof jwks !== 'object' || jwks === null || !Array.isArray((jwks as { keys?: unknown }).keys)) {
          throw new IssuerFetchFailed(`the key set at ${this.jwksUri} has no keys list`);
        }
        let set: JWTVerifyGetKey;
        try {
          set = createLocalJWKSet(jwks as JSONWebKeySet);
        } catch {
          throw new IssuerFetchFailed(`the key set at ${this.jwksUri} is malformed`);
        }
        this.set = set;
        this.keyCount = (jwks as JSONWebKeySet).keys.length;
        this.fetchedAt = this.o.now();
        this.lastFailed = false;
      } catch (err) {
        this.lastFailed = true;
        this.o.log(`oidc: cannot fetch the signing keys of ${this.issuerUrl}: ${(err as Error).message}${this.set ? ' (the keys fetched before stay in use)' : ''}`);
        throw err;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  /** The discovery document's jwks_uri, once its issuer is checked. */
  private async discover(): Promise<string> {
    const url = `${this.issuerUrl.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const doc = await fetchJson(url, this.o, 'discovery document');
    if (typeof doc !== 'object' || doc === null) throw new IssuerFetchFailed(`${url}: not a JSON object`);
    const { issuer, jwks_uri: jwksUri } = doc as { issuer?: unknown; jwks_uri?: unknown };
    if (issuer !== this.issuerUrl) {
      throw new IssuerFetchFailed(`${url} names the issuer ${JSON.stringify(String(issuer)).slice(0, 200)}, not the configured ${this.issuerUrl} (they must be equal, to the last slash)`);
    }
    if (typeof jwksUri !== 'string') throw new IssuerFetchFailed(`${url} has no jwks_uri`);
    const problem = issuerUrlProblem(jwksUri);
    if (problem) throw new IssuerFetchFailed(`${url}: its jwks_uri ${problem}`);
    return jwksUri;
  }
}

/** GET a JSON document: a timeout, a size limit, no redirect, 200 only. */
async function fetchJson(url: string, o: { fetchTimeoutMs: number; maxResponseBytes: number }, what: string): Promise<unknown> {
  let res: Response;
  const signal = AbortSignal.timeout(o.fetchTimeoutMs);
  try {
    res = await fetch(url, { signal, redirect: 'error', headers: { accept: 'application/json' } });
  } catch (err) {
    throw new IssuerFetchFailed(`${what} ${url}: ${signal.aborted ? `no answer within ${o.fetchTimeoutMs} ms` : causeOf(err)}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new IssuerFetchFailed(`${what} ${url}: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > o.maxResponseBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new IssuerFetchFailed(`${what} ${url}: larger than ${o.maxResponseBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        size += chunk.byteLength;
        if (size > o.maxResponseBytes) {
          await res.body.cancel().catch(() => undefined);
          throw new IssuerFetchFailed(`${what} ${url}: larger than ${o.maxResponseBytes} bytes`);
        }
        chunks.push(chunk);
      }
    }
  } catch (err) {
    if (err instanceof IssuerFetchFailed) throw err;
    throw new IssuerFetchFailed(`${what} ${url}: ${signal.aborted ? `no answer within ${o.fetchTimeoutMs} ms` : causeOf(err)}`);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new IssuerFetchFailed(`${what} ${url}: not JSON`);
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** At most one line per interval; how many were left out is said with the next. */
class ThrottledLog {
  private lastAt = -Infinity;
  private skipped = 0;
  constructor(
    private readonly log: (line: string) => void,
    private readonly now: () => number,
    private readonly intervalMs: number,
  ) {}

  note(line: string): void {
    const t = this.now();
    if (t - this.lastAt < this.intervalMs) {
      this.skipped++;
      return;
    }
    this.log(this.skipped ? `${line} (and ${this.skipped} more refused since the last such line)` : line);
    this.lastAt = t;
    this.skipped = 0;
  }
}
