/**
 * The `storage:` section of strand.yaml: how Strand reaches object stores.
 *
 *   storage:
 *     s3:
 *       endpoint: http://127.0.0.1:9000   # MinIO or another S3-compatible server; default AWS
 *       region: us-east-1                 # default: AWS_REGION, then the profile's region
 *       forcePathStyle: true              # http://host/bucket/key instead of http://bucket.host/key
 *       profile: research                 # a profile of ~/.aws/config and ~/.aws/credentials
 *
 * Credentials are never set here: they come from the standard AWS chain (environment, shared
 * credentials and config files, the profile, SSO, web identity, container or instance roles).
 */
import { UsageError } from '../errors.js';

export interface S3Settings {
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  readonly profile?: string;
}

export interface StorageSettings {
  readonly s3?: S3Settings;
}

const S3_KEYS = new Set(['endpoint', 'region', 'forcePathStyle', 'profile']);

/** Check the raw `storage:` section read from `file`. */
export function parseStorageSettings(raw: unknown, file: string): StorageSettings {
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file}: storage: expected a mapping (s3: {...})`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== 's3') throw new UsageError(`${file}: storage.${k}: unknown setting (known: s3)`);
  if (o.s3 === undefined || o.s3 === null) return {};
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
    s3: {
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(region !== undefined ? { region } : {}),
      ...(s3.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle as boolean } : {}),
      ...(profile !== undefined ? { profile } : {}),
    },
  };
}
