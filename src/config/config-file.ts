/**
 * The Strand config file (UserConfig): YAML, found at `--config <file>`, else $STRAND_CONFIG,
 * else ./strand.yaml, else ~/.config/strand/config.yaml (first that exists). Sections:
 *
 *   executor: kubernetes       # default executor for `strand run`
 *   parallel: 8                # same as --parallel
 *   kubernetes: { ... }        # the Kubernetes executor's settings (see executor/kubernetes/settings.ts)
 *   storage: { s3: { ... } }   # object stores (see storage-settings.ts)
 *   cache: { shared: false, keyFile: ..., scope: ... }   # the task cache (docs/caching.md)
 *   retry: { count: 2, backoff: 1s, maxBackoff: 30s }    # failed tasks run again (retry-settings.ts)
 *   onError: continue          # same as --on-error
 *   noContainer: true          # same as --no-container
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { UsageError } from '../errors.js';
import { parseStorageSettings, type StorageSettings } from './storage-settings.js';
import { parseOnError, parseRetrySettings, type OnError, type RetryFileSettings } from './retry-settings.js';

export interface UserConfigFile {
  /** Absolute path of the file read. */
  readonly path: string;
  readonly executor?: string;
  readonly parallel?: number;
  /** Raw `kubernetes:` section; the backend validates it. */
  readonly kubernetes?: unknown;
  /** The checked `storage:` section. */
  readonly storage?: StorageSettings;
  /** The checked `cache:` section (docs/caching.md). */
  readonly cache?: CacheSettings;
  /** The checked `retry:` section. */
  readonly retry?: RetryFileSettings;
  readonly onError?: OnError;
  /** `noContainer: true`: as --no-container (DockerRequirement ignored; on a cluster every task runs in kubernetes.defaultImage). */
  readonly noContainer?: boolean;
}

/** `cache:` of the config file: who shares the task cache, and the key that signs its entries. */
export interface CacheSettings {
  readonly shared?: boolean;
  /** Relative to the config file's directory. */
  readonly keyFile?: string;
  readonly scope?: string;
}

const KNOWN = new Set(['executor', 'parallel', 'kubernetes', 'storage', 'cache', 'retry', 'onError', 'noContainer']);

function parseCacheSettings(raw: unknown, file: string): CacheSettings {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${file}: cache: expected a mapping (shared, keyFile, scope)`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['shared', 'keyFile', 'scope'].includes(k)) throw new UsageError(`${file}: cache.${k}: unknown setting (known: shared, keyFile, scope)`);
  if (o.shared !== undefined && typeof o.shared !== 'boolean') throw new UsageError(`${file}: cache.shared: expected true or false`);
  for (const k of ['keyFile', 'scope'] as const) if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === '')) throw new UsageError(`${file}: cache.${k}: expected a string`);
  return {
    ...(o.shared !== undefined ? { shared: o.shared as boolean } : {}),
    ...(o.keyFile !== undefined ? { keyFile: o.keyFile as string } : {}),
    ...(o.scope !== undefined ? { scope: o.scope as string } : {}),
  };
}

/** Where the config file is, or undefined when there is none. An explicit path must exist. */
export function findConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const given = explicit ?? env.STRAND_CONFIG;
  if (given) {
    const p = path.resolve(cwd, given);
    if (!existsSync(p)) throw new UsageError(`config file ${p} does not exist`);
    return p;
  }
  const candidates = [path.join(cwd, 'strand.yaml'), path.join(env.HOME ?? os.homedir(), '.config', 'strand', 'config.yaml')];
  return candidates.find((p) => existsSync(p));
}

/** Read and check the config file; undefined when there is none. */
export function loadUserConfig(explicit?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): UserConfigFile | undefined {
  const file = findConfigFile(explicit, env, cwd);
  if (!file) return undefined;
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  if (raw === null || raw === undefined) return { path: file };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file}: expected a mapping at the top level`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) throw new UsageError(`${file}: ${k}: unknown setting (known: ${[...KNOWN].join(', ')})`);
  }
  if (o.executor !== undefined && typeof o.executor !== 'string') throw new UsageError(`${file}: executor: expected a name (local, kubernetes)`);
  if (o.noContainer !== undefined && typeof o.noContainer !== 'boolean') throw new UsageError(`${file}: noContainer: expected true or false`);
  if (o.parallel !== undefined && !(Number.isInteger(o.parallel) && (o.parallel as number) >= 1)) {
    throw new UsageError(`${file}: parallel: expected a whole number of at least 1`);
  }
  return {
    path: file,
    ...(o.executor !== undefined ? { executor: o.executor as string } : {}),
    ...(o.noContainer !== undefined ? { noContainer: o.noContainer as boolean } : {}),
    ...(o.parallel !== undefined ? { parallel: o.parallel as number } : {}),
    ...(o.kubernetes !== undefined ? { kubernetes: o.kubernetes } : {}),
    ...(o.storage !== undefined ? { storage: parseStorageSettings(o.storage, file) } : {}),
    ...(o.cache !== undefined ? { cache: parseCacheSettings(o.cache, file) } : {}),
    ...(o.retry !== undefined ? { retry: parseRetrySettings(o.retry, file) } : {}),
    ...(o.onError !== undefined ? { onError: parseOnError(o.onError, `${file}: onError`) } : {}),
  };
}
