/**
 * Configuration: flags (InlineConfig) + defaults -> one read-only ResolvedConfig.
 * A config file (UserConfig) joins this chain with the Kubernetes executor.
 */
import os from 'node:os';
import path from 'node:path';
import type { UserConfigFile } from './config-file.js';
import type { StorageSettings } from './storage-settings.js';

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
  /** Executor settings given as flags (e.g. kubernetes namespace, maxParallel), over the config file. */
  executorOverrides?: Record<string, unknown>;
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
  /** The config file read, if any. */
  readonly configFile?: string;
  /** The config file's section for the chosen executor (validated by the backend). */
  readonly executorSettings?: unknown;
  readonly executorOverrides: Readonly<Record<string, unknown>>;
  /** Object store settings (strand.yaml `storage:`); credentials come from the AWS chain. */
  readonly storage: StorageSettings;
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
  return Object.freeze({
    outdir: /^s3:\/\//i.test(inline.outdir ?? '') ? (inline.outdir as string).replace(/\/+$/, '') : path.resolve(cwd, inline.outdir ?? '.'),
    basedir: path.resolve(cwd, inline.basedir ?? '.'),
    tmpdirPrefix: inline.tmpdirPrefix ?? path.join(os.tmpdir(), 'strand-'),
    parallel: inline.parallel ?? file?.parallel ?? os.availableParallelism(),
    ramMiB: inline.ramMiB ?? Math.floor(os.totalmem() / (1024 * 1024)),
    noContainer: inline.noContainer ?? false,
    ...((inline.containerRuntime ?? env.STRAND_CONTAINER_RUNTIME) ? { containerRuntime: inline.containerRuntime ?? env.STRAND_CONTAINER_RUNTIME } : {}),
    executor: inline.executor ?? env.STRAND_EXECUTOR ?? file?.executor ?? 'local',
    storeDir,
    leaveTmpdir: inline.leaveTmpdir ?? false,
    quiet: inline.quiet ?? false,
    debug: inline.debug ?? false,
    dryRun: inline.dryRun ?? false,
    ...(file ? { configFile: file.path } : {}),
    ...(file?.kubernetes !== undefined ? { executorSettings: file.kubernetes } : {}),
    executorOverrides: inline.executorOverrides ?? {},
    storage: file?.storage ?? {},
  });
}
