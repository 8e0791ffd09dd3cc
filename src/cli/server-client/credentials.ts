/**
 * The CLI's sign-ins to lab servers (`strand login`): each server's URL, a name for it, and the
 * bearer token, in one YAML file of the user's, `$XDG_CONFIG_HOME/strand/servers.yaml` (default
 * `~/.config/strand/servers.yaml`). The first server logged in is the default.
 *
 * The file holds tokens, so, as ssh does with its keys, it is used only when it is private:
 * - made with mode 0600, in a directory made 0700;
 * - refused when it is a symbolic link, not a regular file, not the user's own, or readable or
 *   writable by anyone else; refused too when its directory can be changed by others (someone who
 *   can rename files there can swap the file). Every refusal says how to fix it.
 * - written whole or not at all: a new file beside it (0600, O_EXCL), synced, then renamed over it.
 *
 * No message here ever holds a token: a file that does not parse is reported by line and column,
 * without the text around them.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync, fstatSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { UsageError } from '../../errors.js';

/** One server signed in to. */
export interface ServerLogin {
  /** A short name to pick it by (`--server lab`). */
  name: string;
  /** Its URL, normalised (normaliseServerUrl): `https://strand.lab.example` or with a path prefix. */
  url: string;
  token: string;
  /** Plain http to a host other than this machine was accepted at login (--allow-http). */
  allowHttp?: boolean;
}

export interface Credentials {
  /** The name of the default server. */
  default?: string;
  servers: ServerLogin[];
}

/** A credentials file that may not be used as it is (its message says why and how to fix it). */
export class CredentialsFileError extends UsageError {}

const MAX_FILE_BYTES = 1024 * 1024;
export const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** RFC 6750's b64token: what may follow `Bearer `. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Where the credentials file is: `$XDG_CONFIG_HOME/strand/servers.yaml`, else `~/.config/strand/servers.yaml`. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The spec: a relative XDG_CONFIG_HOME is invalid and ignored.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.config');
  return path.join(base, 'strand', 'servers.yaml');
}

/** Why a token cannot be sent as a bearer token, or undefined. Never quotes the token. */
export function tokenProblem(token: string): string | undefined {
  if (token === '') return 'the token is empty';
  if (token.length > 16 * 1024) return 'the token is longer than 16 KiB';
  if (!BEARER_TOKEN.test(token)) return 'the token holds characters a bearer token cannot have (spaces, quotes, control characters...)';
  return undefined;
}

/**
 * A server URL as stored and compared: http(s), no user name or password, no query or fragment,
 * no trailing slash, and without the WES base path when it was pasted with it.
 */
export function normaliseServerUrl(given: string): string {
  let u: URL;
  try {
    u = new URL(given);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(given)}: not a URL (e.g. https://strand.lab.example, or http://127.0.0.1:8080 for a server on this machine)`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UsageError(`--server: an http or https URL, not ${u.protocol}`);
  if (u.username || u.password) throw new UsageError('--server: a URL without a user name or password in it (the token is given apart, never on the command line)');
  if (u.search || u.hash) throw new UsageError('--server: a URL without ?query or #fragment');
  let p = u.pathname.replace(/\/+$/, '');
  p = p.replace(/\/ga4gh\/wes\/v1$/, '');
  return `${u.protocol}//${u.host}${p}`;
}

export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A name for a server from its URL: its host (dots and colons as dashes). */
export function defaultServerName(url: string): string {
  const u = new URL(url);
  const name = `${u.hostname.replace(/^\[|\]$/g, '')}${u.port ? `-${u.port}` : ''}`.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+/, '').slice(0, 63);
  return SERVER_NAME.test(name) ? name : 'server';
}

// ---- the file -----------------------------------------------------------------------------------

/** What is wrong with the credentials file's place or modes, with how to fix it; undefined when it may be used. */
function fileProblem(file: string): string | undefined {
  const uid = process.getuid?.();
  let st;
  try {
    st = lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `${file} cannot be read: ${(err as Error).message}`;
  }
  if (st.isSymbolicLink()) return `${file} is a symbolic link: it holds tokens, so Strand uses only a file of its own there (remove the link; strand login writes a new file)`;
  if (!st.isFile()) return `${file} is not a regular file: remove it (strand login writes a new one)`;
  if (uid !== undefined && st.uid !== uid) return `${file} belongs to another user (uid ${st.uid}): remove it or give it to yourself (chown)`;
  if ((st.mode & 0o077) !== 0) {
    return `${file} is open to others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): it holds tokens, so it must be private (chmod 600 ${file})`;
  }
  return undefined;
}

/** What is wrong with the directory of the credentials file, or undefined. */
function directoryProblem(dir: string): string | undefined {
  const uid = process.getuid?.();
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `${dir} cannot be read: ${(err as Error).message}`;
  }
  if (st.isSymbolicLink()) return `${dir} is a symbolic link: the tokens' directory must be a directory of your own (replace the link with a directory, mode 700)`;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (uid !== undefined && st.uid !== uid) return `${dir} belongs to another user (uid ${st.uid}): use a directory of your own (XDG_CONFIG_HOME)`;
  if ((st.mode & 0o022) !== 0) return `${dir} can be changed by others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}): chmod go-w ${dir} (700 is best)`;
  return undefined;
}

function check(file: string): void {
  const problem = directoryProblem(path.dirname(file)) ?? fileProblem(file);
  if (problem) throw new CredentialsFileError(`the server credentials file: ${problem}`);
}

/** Read the credentials file (none yet: no servers). Refuses a file that is not private. */
export function readCredentials(file: string): Credentials {
  check(file);
  let fd: number;
  try {
    // O_NOFOLLOW: a link put there since the check is not followed.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { servers: [] };
    throw new CredentialsFileError(`the server credentials file ${file} cannot be read: ${(err as Error).message}`);
  }
  let text: string;
  try {
    // Checked again on the file opened: what was checked is what is read.
    const st = fstatSync(fd);
    if (!st.isFile() || (st.mode & 0o077) !== 0) throw new CredentialsFileError(`the server credentials file: ${fileProblem(file) ?? `${file} changed while it was read`}`);
    if (st.size > MAX_FILE_BYTES) throw new CredentialsFileError(`the server credentials file ${file} is larger than ${MAX_FILE_BYTES} bytes`);
    text = readOpenFile(fd, st.size);
  } finally {
    closeSync(fd);
  }
  return parseCredentials(text, file);
}

/** The file's text as Credentials; a problem names the file and where, never the text around it. */
export function parseCredentials(text: string, file: string): Credentials {
  const bad = (what: string) => new CredentialsFileError(`the server credentials file ${file}: ${what} (fix it, or remove the file and log in again)`);
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0];
    throw bad(`not valid YAML${at ? ` at line ${at.line}, column ${at.col}` : ''}`);
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return { servers: [] };
  if (typeof data !== 'object' || Array.isArray(data)) throw bad('not a mapping with `servers:`');
  const o = data as Record<string, unknown>;
  const servers: ServerLogin[] = [];
  const list = o.servers ?? [];
  if (!Array.isArray(list)) throw bad('`servers:` is not a list');
  list.forEach((s: unknown, i) => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw bad(`servers[${i}] is not a mapping`);
    const e = s as Record<string, unknown>;
    if (typeof e.name !== 'string' || !SERVER_NAME.test(e.name)) throw bad(`servers[${i}].name is missing or not a name (letters, digits, - _)`);
    if (typeof e.url !== 'string') throw bad(`servers[${i}].url is missing`);
    let url: string;
    try {
      url = normaliseServerUrl(e.url);
    } catch {
      throw bad(`servers[${i}].url is not an http(s) URL`);
    }
    if (typeof e.token !== 'string' || tokenProblem(e.token) !== undefined) throw bad(`servers[${i}].token is missing or not a bearer token`);
    if (servers.some((x) => x.name === e.name)) throw bad(`two servers are named ${e.name}`);
    servers.push({ name: e.name, url, token: e.token, ...(e.allowHttp === true ? { allowHttp: true } : {}) });
  });
  const def = o.default;
  if (def !== undefined && (typeof def !== 'string' || !servers.some((s) => s.name === def))) throw bad('`default:` names no server of the list');
  return { ...(typeof def === 'string' ? { default: def } : {}), servers };
}

const HEADER = [
  '# The lab servers this user signed in to with `strand login`, and their bearer tokens.',
  '# Private: Strand refuses to use this file if others can read it, or if it is a link.',
  '# Change it with strand login / strand logout.',
  '',
].join('\n');

export function formatCredentials(c: Credentials): string {
  const body = { ...(c.default !== undefined ? { default: c.default } : {}), servers: c.servers.map((s) => ({ name: s.name, url: s.url, token: s.token, ...(s.allowHttp ? { allowHttp: true } : {}) })) };
  return HEADER + stringify(body, { lineWidth: 0 });
}

/**
 * Write `c` to `file` whole: a new private file beside it, synced, renamed over the old one (a
 * reader sees the old file or the new, never part of one). The directory is made 0700 when missing.
 */
export function writeCredentials(file: string, c: Credentials): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  check(file);
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      const buf = Buffer.from(formatCredentials(c), 'utf8');
      let n = 0;
      while (n < buf.length) n += writeSync(fd, buf, n, buf.length - n);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new CredentialsFileError(`the server credentials file ${file} could not be written: ${(err as Error).message}`);
  }
  // The rename itself made durable.
  try {
    const dfd = openSync(dir, constants.O_RDONLY);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* a file system that cannot sync a directory: the rename is still atomic */
  }
}

// ---- the logins ---------------------------------------------------------------------------------

/** `c` with `login` added, or replacing the login of the same URL; the first one becomes the default. */
export function withLogin(c: Credentials, login: ServerLogin): Credentials {
  const sameUrl = c.servers.find((s) => s.url === login.url);
  const taken = c.servers.find((s) => s.name === login.name && s.url !== login.url);
  if (taken) throw new UsageError(`the name ${login.name} is taken by ${taken.url}: choose another with --name, or strand logout --server ${taken.name} first`);
  const servers = sameUrl ? c.servers.map((s) => (s === sameUrl ? login : s)) : [...c.servers, login];
  const def = c.default === undefined || (sameUrl !== undefined && c.default === sameUrl.name) ? login.name : c.default;
  return { default: def, servers };
}

/** `c` without `login`; the default moves to the first one left when it was removed. */
export function withoutLogin(c: Credentials, login: ServerLogin): Credentials {
  const servers = c.servers.filter((s) => s.name !== login.name);
  const def = c.default === login.name ? servers[0]?.name : c.default;
  return { ...(def !== undefined ? { default: def } : {}), servers };
}

/**
 * The server `ref` names (a name, or a URL), or the default without one. Throws a UsageError that
 * says how to log in when there is none.
 */
export function pickServer(c: Credentials, ref: string | undefined, file: string): ServerLogin {
  if (ref === undefined) {
    const def = c.servers.find((s) => s.name === c.default) ?? c.servers[0];
    if (!def) throw new UsageError(`not logged in to any server (${file} has none): strand login --server URL`);
    return def;
  }
  const byName = c.servers.find((s) => s.name === ref);
  if (byName) return byName;
  let url: string | undefined;
  try {
    url = normaliseServerUrl(ref);
  } catch {
    url = undefined;
  }
  const byUrl = url === undefined ? undefined : c.servers.find((s) => s.url === url);
  if (byUrl) return byUrl;
  const known = c.servers.length ? ` (logged in: ${c.servers.map((s) => s.name).join(', ')})` : '';
  throw new UsageError(`not logged in to ${ref}${known}: strand login --server ${url ?? 'URL'}`);
}

/** The text of an open file of `size` bytes (what it holds if it shrank meanwhile): one read of what was checked. */
export function readOpenFile(fd: number, size: number): string {
  const buf = Buffer.alloc(size);
  let n = 0;
  while (n < buf.length) {
    const got = readSync(fd, buf, n, buf.length - n, null);
    if (got === 0) break;
    n += got;
  }
  return buf.subarray(0, n).toString('utf8');
}
