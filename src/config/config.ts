/**
 * Configuration: flags (InlineConfig) + defaults -> one read-only ResolvedConfig.
 * A config file (UserConfig) joins this chain with the Kubernetes executor.
 */
import os from 'node:os';
import path from 'node:path';
import type { UserConfigFile } from './config-file.js';
import type { StorageSettings } from './storage-settings.js';
import { isRetryCount, MAX_RETRIES, type OnError } from './retry-settings.js';
import { UsageError } from '../errors.js';

export interface InlineConfig {
  outdir?: string;
  basedir?: string;
  tmpdirPrefix?: string;
  parallel?: number;
  ramMiB?: number;
  noContainer?: boolean;
  /** `podman`, `docker` or a client's path; default $STRAND_CONTAINER_RUNTIME, else the first that works. */
  containerRuntime?: string;
  executor?: string;
  /** Run store directory; `false` disables recording. */
  storeDir?: string | false;
  leaveTmpdir?: boolean;
  quiet?: boolean;
  debug?: boolean;
  /** Print what would be submitted instead of running (Kubernetes executor). */
  dryRun?: boolean;
  /** How the run uses the task cache (docs/caching.md); `on` is `readwrite`. */
  cache?: 'off' | 'read' | 'write' | 'readwrite' | 'on';
  /** Where the task cache lives (cwltool's --cachedir); default `<store>/cache`. */
  cacheDir?: string;
  /** The task cache's scope directory instead of `user-<uid>` / `ns-<namespace>` (docs/caching.md). */
  cacheScope?: string;
  /** Share the task cache with everyone holding its key (`shared` scope). */
  cacheShared?: boolean;
  /** The file holding the key that signs cache entries; default `<store>/cache.key`. */
  cacheKeyFile?: string;
  /** Executor settings given as flags (e.g. kubernetes namespace, maxParallel), over the config file. */
  executorOverrides?: Record<string, unknown>;
  /** More attempts a failed task gets (--retries); default `retry.count` of the config file, else 0. */
  retries?: number;
  /** After a task fails: stop the run (default) or run what does not depend on it (--on-error). */
  onError?: OnError;
}

export interface ResolvedConfig {
  /** A local directory (absolute), or a remote prefix as given (`s3://bucket/prefix`). */
  readonly outdir: string;
  readonly basedir: string;
  readonly tmpdirPrefix: string;
  readonly parallel: number;
  readonly ramMiB: number;
  readonly noContainer: boolean;
  readonly containerRuntime?: string;
  readonly executor: string;
  readonly storeDir: string | false;
  readonly leaveTmpdir: boolean;
  readonly quiet: boolean;
  readonly debug: boolean;
  readonly dryRun: boolean;
  /** How the task cache is used: `off`, `read` (reuse only), `write` (record only), `readwrite` (the default). */
  readonly cacheMode: 'off' | 'read' | 'write' | 'readwrite';
  /**
   * The task cache directory given (--cachedir, $STRAND_CACHE_DIR); undefined: `<store>/cache`
   * (on a cluster, the shared workspace), none when the store is off.
   */
  readonly cacheDir?: string;
  /** `cache.scope` ($STRAND_CACHE_SCOPE): the cache's scope directory; default `user-<uid>`, `ns-<namespace>` on a cluster. */
  readonly cacheScope?: string;
  /** `cache.shared` ($STRAND_CACHE_SHARED=1): one cache for everyone holding its key. */
  readonly cacheShared: boolean;
  /** `cache.keyFile` ($STRAND_CACHE_KEY_FILE), absolute: the key signing cache entries. */
  readonly cacheKeyFile?: string;
  /** The config file read, if any. */
  readonly configFile?: string;
  /** The config file's section for the chosen executor (validated by the backend). */
  readonly executorSettings?: unknown;
  readonly executorOverrides: Readonly<Record<string, unknown>>;
  /** Object store settings (strand.yaml `storage:`); credentials come from the AWS chain. */
  readonly storage: StorageSettings;
  /** How failed tasks are retried: --retries (or `retry.count`), and the waits between attempts (`retry:`). */
  readonly retry: { readonly retries: number; readonly backoffMs: number; readonly maxBackoffMs: number };
  /** --on-error (or `onError:`): `stop` (default) or `continue`. */
  readonly onError: OnError;
}

/** Resolve flags against the environment and defaults. `cwd` is the directory relative paths start from. */
export function resolveConfig(
  inline: InlineConfig,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  file?: UserConfigFile,
): ResolvedConfig {
  const storeFromEnv = env.STRAND_STORE;
  let storeDir: string | false;
  if (inline.storeDir === false || storeFromEnv === 'off') storeDir = false;
  else storeDir = path.resolve(cwd, inline.storeDir ?? storeFromEnv ?? '.strand');
  const cacheFlag = inline.cache ?? (env.STRAND_CACHE as InlineConfig['cache']) ?? 'readwrite';
  const cacheMode = cacheFlag === 'on' ? 'readwrite' : cacheFlag;
  if (!['off', 'read', 'write', 'readwrite'].includes(cacheMode)) throw new UsageError(`STRAND_CACHE must be off, read, write or readwrite, not ${cacheMode}`);
  const cacheDir = inline.cacheDir ?? env.STRAND_CACHE_DIR;
  const cacheScope = inline.cacheScope ?? env.STRAND_CACHE_SCOPE ?? file?.cache?.scope;
  const sharedEnv = env.STRAND_CACHE_SHARED;
  if (sharedEnv !== undefined && !/^(1|0|true|false|yes|no)$/i.test(sharedEnv)) throw new UsageError(`STRAND_CACHE_SHARED must be 1 or 0, not ${sharedEnv}`);
  const cacheShared = inline.cacheShared ?? (sharedEnv !== undefined ? /^(1|true|yes)$/i.test(sharedEnv) : undefined) ?? file?.cache?.shared ?? false;
  const cacheKeyFile = inline.cacheKeyFile ?? env.STRAND_CACHE_KEY_FILE ?? file?.cache?.keyFile;
  const retries = inline.retries ?? file?.retry?.count ?? 0;
  if (!isRetryCount(retries)) throw new UsageError(`--retries must be a whole number from 0 to ${MAX_RETRIES}, not ${retries}`);
  const backoffMs = file?.retry?.backoffMs ?? 1000;
  const maxBackoffMs = Math.max(backoffMs, file?.retry?.maxBackoffMs ?? 30_000);
  return Object.freeze({
    outdir: /^s3:\/\//i.test(inline.outdir ?? '') ? (inline.outdir as string).replace(/\/+$/, '') : path.resolve(cwd, inline.outdir ?? '.'),
    basedir: path.resolve(cwd, inline.basedir ?? '.'),
    tmpdirPrefix: inline.tmpdirPrefix ?? path.join(os.tmpdir(), 'strand-'),
    parallel: inline.parallel ?? file?.parallel ?? os.availableParallelism(),
    ramMiB: inline.ramMiB ?? Math.floor(os.totalmem() / (1024 * 1024)),
    noContainer: inline.noContainer ?? file?.noContainer ?? false,
    ...((inline.containerRuntime ?? env.STRAND_CONTAINER_RUNTIME) ? { containerRuntime: inline.containerRuntime ?? env.STRAND_CONTAINER_RUNTIME } : {}),
    executor: inline.executor ?? env.STRAND_EXECUTOR ?? file?.executor ?? 'local',
    storeDir,
    leaveTmpdir: inline.leaveTmpdir ?? false,
    quiet: inline.quiet ?? false,
    debug: inline.debug ?? false,
    dryRun: inline.dryRun ?? false,
    // A dry run writes nothing, to the cache neither.
    cacheMode: inline.dryRun ? 'off' : cacheMode,
    ...(cacheDir ? { cacheDir: path.resolve(cwd, cacheDir) } : {}),
    ...(cacheScope ? { cacheScope } : {}),
    cacheShared,
    ...(cacheKeyFile ? { cacheKeyFile: path.resolve(file && !inline.cacheKeyFile && !env.STRAND_CACHE_KEY_FILE ? path.dirname(file.path) : cwd, cacheKeyFile) } : {}),
    ...(file ? { configFile: file.path } : {}),
    ...(file?.kubernetes !== undefined ? { executorSettings: file.kubernetes } : {}),
    executorOverrides: inline.executorOverrides ?? {},
    storage: file?.storage ?? {},
    retry: { retries, backoffMs, maxBackoffMs },
    onError: inline.onError ?? file?.onError ?? 'stop',
  });
}
