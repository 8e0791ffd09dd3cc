/**
 * The `storage:` section of strand.yaml: how Strand reaches object stores.
 *
 *   storage:
 *     s3:
 *       endpoint: http://127.0.0.1:9000   # MinIO or another S3-compatible server; default AWS
 *       region: us-east-1                 # default: AWS_REGION, then the profile's region
 *       forcePathStyle: true              # http://host/bucket/key instead of http://bucket.host/key
 *       profile: research                 # a profile of ~/.aws/config and ~/.aws/credentials
 *     http:                               # http(s):// inputs (docs/security.md, "Remote data")
 *       allowHosts: [127.0.0.1:8080, 10.1.0.0/16, data.lab.internal]  # may be reached though private
 *       allowPrivateAddresses: false      # true: any address, loopback and link-local included
 *       maxDownloadSize: 256GiB           # per file; a number of bytes or with a unit (KiB...TiB, KB...TB)
 *
 * Credentials are never set here: they come from the standard AWS chain (environment, shared
 * credentials and config files, the profile, SSO, web identity, container or instance roles).
 */
import net from 'node:net';
import { UsageError } from '../errors.js';

export interface S3Settings {
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  readonly profile?: string;
}

export interface HttpSettings {
  /** Every address may be reached, loopback, link-local and private ones included. */
  readonly allowPrivateAddresses?: boolean;
  /** Hosts, IP addresses or CIDR blocks (each with an optional `:port`) that may be reached though private. */
  readonly allowHosts?: readonly string[];
  /** The largest file one http(s) input may be, in bytes. */
  readonly maxDownloadBytes?: number;
}

export interface StorageSettings {
  readonly s3?: S3Settings;
  readonly http?: HttpSettings;
}

/** One entry of `allowHosts`: a host name, or the addresses of an IP or CIDR block; with a port or any. */
export interface AllowEntry {
  readonly host?: string;
  readonly block?: net.BlockList;
  readonly port?: number;
}

/** `host`, `ip` or `cidr`, each with an optional `:port` (`[v6]:port`); undefined when the text is none of these. */
export function parseAllowEntry(text: string): AllowEntry | undefined {
  let rest = text.trim().toLowerCase();
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  const hostPort = /^([^:]+):(\d+)$/.exec(rest); // one colon: an IPv6 address without brackets has several
  if (bracketed) {
    rest = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (hostPort) {
    rest = hostPort[1]!;
    port = Number(hostPort[2]);
  }
  if (port !== undefined && !(port >= 1 && port <= 65535)) return undefined;
  const cidr = /^(.+)\/(\d{1,3})$/.exec(rest);
  const ip = cidr ? cidr[1]! : rest;
  const family = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : undefined;
  if (family) {
    const max = family === 'ipv4' ? 32 : 128;
    const bits = cidr ? Number(cidr[2]) : max;
    if (bits > max) return undefined;
    const block = new net.BlockList();
    block.addSubnet(ip, bits, family);
    return { block, ...(port !== undefined ? { port } : {}) };
  }
  if (cidr || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(rest)) return undefined;
  return { host: rest, ...(port !== undefined ? { port } : {}) };
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** `1048576`, `100GiB`, `1.5 TB` -> bytes; undefined when it is none of these. */
export function parseByteSize(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = UNITS[(m?.[2] || 'b').toLowerCase()];
  if (!m || unit === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * unit);
  return n > 0 ? n : undefined;
}

const HTTP_KEYS = new Set(['allowPrivateAddresses', 'allowHosts', 'maxDownloadSize']);

function parseHttpSettings(raw: unknown, file: string): HttpSettings {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file}: storage.http: expected a mapping (${[...HTTP_KEYS].join(', ')})`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!HTTP_KEYS.has(k)) throw new UsageError(`${file}: storage.http.${k}: unknown setting (known: ${[...HTTP_KEYS].join(', ')})`);
  if (o.allowPrivateAddresses !== undefined && typeof o.allowPrivateAddresses !== 'boolean') {
    throw new UsageError(`${file}: storage.http.allowPrivateAddresses: expected true or false`);
  }
  let allowHosts: string[] | undefined;
  if (o.allowHosts !== undefined) {
    const list = Array.isArray(o.allowHosts) ? (o.allowHosts as unknown[]) : [o.allowHosts];
    allowHosts = list.map((h) => {
      if (typeof h !== 'string' || !parseAllowEntry(h)) {
        throw new UsageError(`${file}: storage.http.allowHosts: ${String(h)}: expected a host name, an IP address or a CIDR block, each with an optional :port`);
      }
      return h;
    });
  }
  let maxDownloadBytes: number | undefined;
  if (o.maxDownloadSize !== undefined) {
    maxDownloadBytes = parseByteSize(o.maxDownloadSize);
    if (maxDownloadBytes === undefined) throw new UsageError(`${file}: storage.http.maxDownloadSize: expected a size such as 100GiB, 500MB or a number of bytes`);
  }
  return {
    ...(o.allowPrivateAddresses !== undefined ? { allowPrivateAddresses: o.allowPrivateAddresses as boolean } : {}),
    ...(allowHosts ? { allowHosts } : {}),
    ...(maxDownloadBytes !== undefined ? { maxDownloadBytes } : {}),
  };
}

const S3_KEYS = new Set(['endpoint', 'region', 'forcePathStyle', 'profile']);
const KNOWN = ['s3', 'http'];

/** Check the raw `storage:` section read from `file`. */
export function parseStorageSettings(raw: unknown, file: string): StorageSettings {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file}: storage: expected a mapping (s3: {...})`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KNOWN.includes(k)) throw new UsageError(`${file}: storage.${k}: unknown setting (known: ${KNOWN.join(', ')})`);
  const http = o.http !== undefined && o.http !== null ? { http: parseHttpSettings(o.http, file) } : {};
  if (o.s3 === undefined || o.s3 === null) return http;
  if (typeof o.s3 !== 'object' || Array.isArray(o.s3)) throw new UsageError(`${file}: storage.s3: expected a mapping (endpoint, region, forcePathStyle, profile)`);
  const s3 = o.s3 as Record<string, unknown>;
  for (const k of Object.keys(s3)) {
    if (!S3_KEYS.has(k)) {
      const hint = /key|secret|token|password/i.test(k) ? ' (credentials come from the AWS chain: environment, ~/.aws files, profile)' : '';
      throw new UsageError(`${file}: storage.s3.${k}: unknown setting (known: ${[...S3_KEYS].join(', ')})${hint}`);
    }
  }
  const text = (k: string): string | undefined => {
    const v = s3[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new UsageError(`${file}: storage.s3.${k}: expected text`);
    return v;
  };
  const endpoint = text('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/]/i.test(endpoint)) {
    throw new UsageError(`${file}: storage.s3.endpoint: expected an http:// or https:// URL, got ${endpoint}`);
  }
  if (s3.forcePathStyle !== undefined && typeof s3.forcePathStyle !== 'boolean') {
    throw new UsageError(`${file}: storage.s3.forcePathStyle: expected true or false`);
  }
  const region = text('region');
  const profile = text('profile');
  return {
    ...http,
    s3: {
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(region !== undefined ? { region } : {}),
      ...(s3.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle as boolean } : {}),
      ...(profile !== undefined ? { profile } : {}),
    },
  };
}
