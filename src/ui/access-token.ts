/**
 * The dashboard's access token: 256 random bits made at each start and put in the address that
 * `strand ui` prints (`/?token=…`, as Jupyter does). Opening that address trades the token for an
 * HttpOnly, SameSite=Strict cookie; scripts send it as `Authorization: Bearer …` instead. Every
 * API, event and log request must carry it in one of the three ways.
 */
import type http from 'node:http';
import { bearerToken, newToken, tokenMatches } from '../api/bearer-token.js';

// Made and compared as every bearer token of Strand (shared with the lab server's loopback token).
export { newToken, tokenMatches };

/** Cookies ignore ports: one name per port, so two dashboards on one machine keep their own. */
export const cookieName = (port: number) => `strand-ui-${port}`;

export function setCookieHeader(port: number, token: string): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

/** Every token the request offers: its Bearer header, its cookie of this port, its `?token=`. */
export function offeredTokens(req: http.IncomingMessage, url: URL, port: number): string[] {
  const out: string[] = [];
  const auth = bearerToken(req.headers.authorization);
  if (auth) out.push(auth);
  const name = cookieName(port);
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
  }
  const q = url.searchParams.get('token');
  if (q !== null) out.push(q);
  return out;
}

/** Whether the request carries the token (every offered one is compared, none short-circuits on content). */
export function isAuthorized(req: http.IncomingMessage, url: URL, port: number, token: string): boolean {
  let ok = false;
  for (const sent of offeredTokens(req, url, port)) ok = tokenMatches(sent, token) || ok;
  return ok;
}
