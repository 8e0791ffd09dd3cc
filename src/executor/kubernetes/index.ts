/** Entry point of the Kubernetes backend, imported lazily by the executor registry. */
import os from 'node:os';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import type { Executor, ExecutorOptions } from '../executor.js';
import { connect } from '../../cluster/connection.js';
import { DryRunExecutor } from './dry-run-executor.js';
import { KubeApi } from '../../cluster/kube-api.js';
import { KubernetesExecutor } from './kubernetes-executor.js';
import { parseKubernetesSettings, type KubernetesSettings } from './settings.js';
import { ObjectStoreMode, localWorkRoot } from './object-store-mode/mode.js';

function localUser(): string {
  try {
    return os.userInfo().username.replace(/[^A-Za-z0-9_.-]/g, '-') || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Settings from the config file's section, with command-line overrides on top. */
export function resolveKubernetesSettings(options: ExecutorOptions): KubernetesSettings {
  const raw = (options.settings ?? {}) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...raw };
  for (const [k, v] of Object.entries(options.overrides ?? {})) if (v !== undefined) merged[k] = v;
  return parseKubernetesSettings(merged, options.settingsSource ?? 'flags', localUser());
}

export async function createKubernetesExecutor(options: ExecutorOptions): Promise<Executor> {
  const settings = resolveKubernetesSettings(options);
  const src = options.settingsSource ?? 'the config file';
  if (settings.storage === 'objectStore') return createObjectStoreExecutor(settings, options);
  if (!settings.workspace) {
    throw new UsageError(
      `${src}: kubernetes.workspace is not set: the Kubernetes executor needs a ReadWriteMany volume claim for task directories ` +
        '(kubernetes.workspace.claimName, mountPath, localPath); see docs/kubernetes.md',
    );
  }
  const conn = connect({ kubeconfig: settings.kubeconfig, context: settings.context, namespace: settings.namespace });
  if (options.dryRun) return new DryRunExecutor(settings, conn.namespace, options.output ?? process.stdout);
  let st;
  try {
    st = statSync(settings.workspace.localPath);
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory()) {
    throw new UsageError(
      `${src}: kubernetes.workspace.localPath: ${settings.workspace.localPath} is not a directory on this machine; mount the ` +
        `workspace volume (claim ${settings.workspace.claimName}) there, or set localPath to where it is mounted`,
    );
  }
  const api = new KubeApi(conn, { requestsPerSecond: settings.requestsPerSecond });
  const log = options.log;
  // Task news reaches the run's status through the engine (onNote); the rest is logged.
  return withStatsFile(new KubernetesExecutor(settings, api, { warn: (msg) => log?.warn(msg), info: (msg) => log?.info(msg) }), api);
}

/**
 * `kubernetes.storage: objectStore`: no workspace claim; the bucket is checked first (it exists,
 * Strand's credentials may use it), so a wrong name or key fails the run before any task starts.
 */
async function createObjectStoreExecutor(settings: KubernetesSettings, options: ExecutorOptions): Promise<Executor> {
  const conn = connect({ kubeconfig: settings.kubeconfig, context: settings.context, namespace: settings.namespace });
  const workRoot = localWorkRoot();
  const mode = new ObjectStoreMode(settings, options.storage?.s3 ?? {}, workRoot);
  if (options.dryRun) return new DryRunExecutor(settings, conn.namespace, options.output ?? process.stdout, mode);
  try {
    await mode.check();
  } catch (err) {
    mode.close();
    throw err;
  }
  mkdirSync(workRoot, { recursive: true, mode: 0o700 });
  const api = new KubeApi(conn, { requestsPerSecond: settings.requestsPerSecond });
  const log = options.log;
  return withStatsFile(new KubernetesExecutor(settings, api, { warn: (msg) => log?.warn(msg), info: (msg) => log?.info(msg) }, mode), api);
}

function withStatsFile(executor: KubernetesExecutor, api: KubeApi): Executor {
  // For benchmarks (bench/kubernetes-scatter-bench.mjs): the API calls this process made.
  const statsFile = process.env.STRAND_KUBE_API_STATS;
  if (statsFile) {
    const shutdown = executor.shutdown.bind(executor);
    executor.shutdown = async () => {
      await shutdown();
      writeFileSync(statsFile, JSON.stringify({ requests: Object.fromEntries(api.counts), retries: api.retries, executor: executor.stats }) + '\n');
    };
  }
  return executor;
}
