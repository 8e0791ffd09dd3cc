/**
 * Bearer tokens shared by Strand's HTTP front ends (the dashboard's access token, the lab
 * server's loopback token and its Kubernetes tokens): making one, reading one from an
 * `Authorization` header, and comparing two in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, base64url (a valid RFC 6750 token). */
export const newToken = (): string => randomBytes(32).toString('base64url');

/** Compared in constant time (hashes of equal length, whatever the length of what was sent). */
export function tokenMatches(sent: string | undefined, token: string): boolean {
  if (sent === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(sent), digest(token));
}

/** RFC 6750 section 2.1: `Bearer` (any case), one or more spaces, a b64token. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * The token of an `Authorization: Bearer <token>` header, exactly that scheme; undefined for no
 * header, another scheme, or a value that is not one token.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1];
}
