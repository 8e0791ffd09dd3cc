/**
 * Connecting to a cluster the way kubectl does.
 *
 * Where the configuration comes from, first match wins:
 *   1. an explicit kubeconfig file (`--kubeconfig`, `kubernetes.kubeconfig`);
 *   2. `$KUBECONFIG`, a list of files separated by `:` (`;` on Windows), merged like kubectl:
 *      missing files are skipped, the first file to define a cluster, user or context wins, and
 *      `current-context` comes from the first file that sets one;
 *   3. `~/.kube/config`;
 *   4. the in-cluster service account (`KUBERNETES_SERVICE_HOST`/`_PORT` and the token under
 *      /var/run/secrets/kubernetes.io/serviceaccount), when running in a pod.
 *
 * client-node's `loadFromDefault` is not used: it reads `process.env` directly, throws on a
 * name defined in two KUBECONFIG files (kubectl keeps the first), lets later files override
 * `current-context`, and silently falls back to http://localhost:8080.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Cluster, Context, User } from '@kubernetes/client-node';
import { KubeConfig } from './kubernetes-client.js';
import { UsageError } from '../errors.js';

export interface KubeConnection {
  kc: KubeConfig;
  /** The context in use (`in-cluster` for the service account). */
  context: string;
  namespace: string;
  /** The API server URL. */
  server: string;
  inCluster: boolean;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const IN_CLUSTER_CONTEXT = 'in-cluster';

interface Loaded {
  clusters: Cluster[];
  users: User[];
  contexts: Context[];
  currentContext: string | undefined;
  /** Where it came from, for messages: a file, or "KUBECONFIG (a:b)". */
  source: string;
}

function readKubeconfigFile(file: string, via: string): Loaded | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read kubeconfig file ${file} (${via}): ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === '') return undefined;
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new UsageError(`kubeconfig file ${file} (${via}) is not a valid kubeconfig: ${(err as Error).message}`, { cause: err });
  }
  const current = kc.getCurrentContext();
  return {
    clusters: kc.getClusters(),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: current ? current : undefined,
    source: file,
  };
}

/** kubectl's merge: the first definition of each name wins, and the first current-context set. */
function merge(parts: Loaded[], source: string): Loaded {
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const seen = new Map<string, T>();
    for (const l of lists) for (const x of l) if (!seen.has(x.name)) seen.set(x.name, x);
    return [...seen.values()];
  };
  return {
    clusters: firstByName(parts.map((p) => p.clusters)),
    users: firstByName(parts.map((p) => p.users)),
    contexts: firstByName(parts.map((p) => p.contexts)),
    currentContext: parts.find((p) => p.currentContext !== undefined)?.currentContext,
    source,
  };
}

function inClusterConfig(env: NodeJS.ProcessEnv, saDir: string): { loaded: Loaded; namespace: string | undefined } | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = path.join(saDir, 'token');
  if (!host || !port || !existsSync(tokenFile)) return undefined;
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const caFile = path.join(saDir, 'ca.crt');
  const cluster: Cluster = {
    name: IN_CLUSTER_CONTEXT,
    server: `https://${hostPart}:${port}`,
    skipTLSVerify: false,
    ...(existsSync(caFile) ? { caFile } : {}),
  };
  // client-node's FileAuth re-reads the token file, so projected (rotating) tokens keep working.
  const user: User = { name: IN_CLUSTER_CONTEXT, authProvider: { name: 'tokenFile', config: { tokenFile } } };
  let namespace: string | undefined;
  const nsFile = path.join(saDir, 'namespace');
  if (existsSync(nsFile)) namespace = readFileSync(nsFile, 'utf8').trim() || undefined;
  return {
    loaded: {
      clusters: [cluster],
      users: [user],
      contexts: [{ name: IN_CLUSTER_CONTEXT, cluster: IN_CLUSTER_CONTEXT, user: IN_CLUSTER_CONTEXT, ...(namespace ? { namespace } : {}) }],
      currentContext: IN_CLUSTER_CONTEXT,
      source: `the in-cluster service account (${saDir})`,
    },
    namespace,
  };
}

/**
 * Resolve the kubeconfig, context and namespace like kubectl. `env` defaults to process.env
 * (HOME, KUBECONFIG, KUBERNETES_SERVICE_HOST/PORT are read from it); `serviceAccountDir` is where
 * the pod's service account is mounted (a parameter so tests can point it elsewhere).
 */
export function connect(
  opts: { kubeconfig?: string; context?: string; namespace?: string },
  env: NodeJS.ProcessEnv = process.env,
  serviceAccountDir: string = SERVICE_ACCOUNT_DIR,
): KubeConnection {
  const looked: string[] = [];
  let loaded: Loaded | undefined;
  let inClusterNs: string | undefined;
  let inCluster = false;

  if (opts.kubeconfig !== undefined) {
    if (!existsSync(opts.kubeconfig)) {
      throw new UsageError(`kubeconfig file ${opts.kubeconfig} does not exist (given with --kubeconfig or kubernetes.kubeconfig)`);
    }
    loaded = readKubeconfigFile(opts.kubeconfig, 'given with --kubeconfig or kubernetes.kubeconfig');
    if (!loaded) throw new UsageError(`kubeconfig file ${opts.kubeconfig} (given with --kubeconfig or kubernetes.kubeconfig) is empty`);
  } else {
    const kubeconfigEnv = env.KUBECONFIG;
    if (kubeconfigEnv !== undefined && kubeconfigEnv !== '') {
      const files = kubeconfigEnv.split(path.delimiter).filter((f) => f !== '');
      const parts = files.filter((f) => existsSync(f)).map((f) => readKubeconfigFile(f, 'from $KUBECONFIG'));
      const present = parts.filter((p): p is Loaded => p !== undefined);
      if (present.length > 0) loaded = merge(present, `$KUBECONFIG (${files.join(path.delimiter)})`);
      else looked.push(`$KUBECONFIG=${kubeconfigEnv} (no such file, or empty)`);
    } else {
      looked.push('$KUBECONFIG (not set)');
      const home = env.HOME || env.USERPROFILE || homedir();
      const file = path.join(home, '.kube', 'config');
      if (!existsSync(file)) looked.push(`${file} (does not exist)`);
      else {
        loaded = readKubeconfigFile(file, 'the default kubeconfig');
        if (!loaded) looked.push(`${file} (empty)`);
      }
    }
    if (loaded && loaded.contexts.length === 0) {
      looked.push(`${loaded.source} (defines no contexts)`);
      loaded = undefined;
    }
    if (!loaded) {
      const ic = inClusterConfig(env, serviceAccountDir);
      if (ic) {
        loaded = ic.loaded;
        inClusterNs = ic.namespace;
        inCluster = true;
      } else {
        looked.push(
          env.KUBERNETES_SERVICE_HOST
            ? `the in-cluster service account (no token at ${path.join(serviceAccountDir, 'token')})`
            : 'the in-cluster service account (not in a pod: KUBERNETES_SERVICE_HOST is not set)',
        );
      }
    }
  }

  if (!loaded) {
    throw new UsageError(
      `no Kubernetes configuration found; looked at: ${looked.join('; ')}. ` +
        'Set KUBECONFIG to your kubeconfig file (or pass --kubeconfig), choose a context with --context, ' +
        'or run Strand in a pod with a service account.',
    );
  }

  const available = loaded.contexts.map((c) => c.name);
  const contextName = opts.context ?? loaded.currentContext;
  if (contextName === undefined) {
    throw new UsageError(
      `${loaded.source} sets no current-context; choose one with --context (available: ${available.join(', ')})`,
    );
  }
  const ctx = loaded.contexts.find((c) => c.name === contextName);
  if (!ctx) {
    const how = opts.context !== undefined ? '--context' : 'current-context';
    throw new UsageError(
      `context "${contextName}" (${how}) is not defined in ${loaded.source}; available contexts: ${available.join(', ') || '(none)'}`,
    );
  }
  const cluster = loaded.clusters.find((c) => c.name === ctx.cluster);
  if (!cluster) {
    throw new UsageError(`context "${ctx.name}" in ${loaded.source} refers to cluster "${ctx.cluster}", which is not defined there`);
  }
  if (!loaded.users.some((u) => u.name === ctx.user)) {
    throw new UsageError(`context "${ctx.name}" in ${loaded.source} refers to user "${ctx.user}", which is not defined there`);
  }

  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: loaded.clusters, users: loaded.users, contexts: loaded.contexts, currentContext: ctx.name });
  const namespace = opts.namespace || ctx.namespace || inClusterNs || 'default';
  return { kc, context: ctx.name, namespace, server: cluster.server, inCluster };
}
