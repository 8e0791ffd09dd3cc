/**
 * Environment detection for the Kubernetes end-to-end test (kubernetes.e2e.test.ts).
 *
 *   STRAND_E2E_FAKE=1      run against test/support/fake-kube (no cluster needed; a self-check
 *                          of the harness and the executor)
 *   STRAND_E2E_CONFIG      a strand.yaml for a real cluster (required unless STRAND_E2E_FAKE=1)
 *   STRAND_E2E_IMAGE       image with samtools, bcftools and freebayes for examples/variant-calling
 *                          (the example is skipped when unset)
 *   KUBECONFIG             as for kubectl; else ~/.kube/config (or `kubernetes.kubeconfig` in
 *                          the config file)
 *
 * `planE2e` is pure (its file-system access is injected); `resolveE2e` adds the one network
 * probe. Every reason to skip is a single sentence that says what to set.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { parse } from 'yaml';

export interface E2eFs {
  exists(p: string): boolean;
  readText(p: string): string;
  homedir: string;
}

/** The parts of the config file's `kubernetes:` section the harness needs to find the cluster. */
export interface ClusterHints {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export type E2ePlan =
  | { kind: 'skip'; reason: string }
  | { kind: 'fake'; image?: string }
  | {
      kind: 'cluster';
      configPath: string;
      /** Kubeconfig files in merge order (KUBECONFIG may name several). */
      kubeconfigFiles: string[];
      hints: ClusterHints;
      image?: string;
    };

const HOW =
  'set STRAND_E2E_CONFIG to a strand.yaml for your cluster (see docs/kubernetes.md), or STRAND_E2E_FAKE=1 to use the fake API server';

/** Read `kubernetes.kubeconfig/context/namespace` from a config file's text. */
export function clusterHints(yamlText: string): ClusterHints {
  const doc = parse(yamlText) as unknown;
  const k8s = doc && typeof doc === 'object' ? (doc as Record<string, unknown>)['kubernetes'] : undefined;
  if (!k8s || typeof k8s !== 'object') return {};
  const o = k8s as Record<string, unknown>;
  const hints: ClusterHints = {};
  for (const key of ['kubeconfig', 'context', 'namespace'] as const) {
    const v = o[key];
    if (typeof v === 'string' && v !== '') hints[key] = v;
  }
  return hints;
}

/** Kubeconfig files the way kubectl finds them: KUBECONFIG (a path list), else ~/.kube/config. */
export function kubeconfigFiles(env: NodeJS.ProcessEnv, fs: E2eFs): string[] {
  const list = env.KUBECONFIG;
  if (list !== undefined && list !== '') return list.split(path.delimiter).filter((p) => p !== '' && fs.exists(p));
  const home = path.join(fs.homedir, '.kube', 'config');
  return fs.exists(home) ? [home] : [];
}

/** Decide what the e2e test can run, from the environment alone (no network). */
export function planE2e(env: NodeJS.ProcessEnv, fs: E2eFs): E2ePlan {
  const image = env.STRAND_E2E_IMAGE || undefined;
  if (env.STRAND_E2E_FAKE === '1') return image ? { kind: 'fake', image } : { kind: 'fake' };
  const configPath = env.STRAND_E2E_CONFIG;
  if (!configPath) return { kind: 'skip', reason: `STRAND_E2E_CONFIG is not set: ${HOW}` };
  const abs = path.resolve(configPath);
  if (!fs.exists(abs)) return { kind: 'skip', reason: `STRAND_E2E_CONFIG=${configPath}: no such file` };
  let hints: ClusterHints;
  try {
    hints = clusterHints(fs.readText(abs));
  } catch (err) {
    return { kind: 'skip', reason: `STRAND_E2E_CONFIG=${configPath}: not valid YAML (${(err as Error).message.split('\n')[0]})` };
  }
  let files: string[];
  if (hints.kubeconfig) {
    const p = hints.kubeconfig.replace(/^~(?=$|\/)/, fs.homedir);
    if (!fs.exists(p)) return { kind: 'skip', reason: `${abs}: kubernetes.kubeconfig ${p} does not exist` };
    files = [p];
  } else {
    files = kubeconfigFiles(env, fs);
    if (files.length === 0) {
      const where = env.KUBECONFIG ? `no file named by KUBECONFIG=${env.KUBECONFIG} exists` : 'KUBECONFIG is not set and ~/.kube/config does not exist';
      return { kind: 'skip', reason: `no cluster configured: ${where}` };
    }
  }
  return { kind: 'cluster', configPath: abs, kubeconfigFiles: files, hints, ...(image ? { image } : {}) };
}

/** A KubeConfig for the plan's files and context (the context must exist). */
export function loadKubeConfig(files: string[], context: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  const [first, ...rest] = files;
  if (first === undefined) throw new Error('no kubeconfig file');
  kc.loadFromFile(first);
  for (const f of rest) {
    const more = new KubeConfig();
    more.loadFromFile(f);
    kc.mergeConfig(more, true);
  }
  if (context) kc.setCurrentContext(context);
  const current = kc.getCurrentContext();
  if (!current || !kc.getContextObject(current)) {
    throw new Error(context ? `context "${context}" is not in ${files.join(', ')}` : `no current context in ${files.join(', ')}`);
  }
  return kc;
}

/** The namespace Strand will use: the config file's, else the context's, else "default". */
export function namespaceFor(kc: KubeConfig, configured: string | undefined): string {
  if (configured) return configured;
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}

/** undefined when the API server answers GET /version within `timeoutMs`, else why not. */
export async function probeCluster(kc: KubeConfig, timeoutMs = 5000): Promise<string | undefined> {
  const server = kc.getCurrentCluster()?.server ?? '(no server)';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`cluster ${server} did not answer within ${timeoutMs / 1000} s`), timeoutMs);
    timer.unref();
  });
  const probe = kc
    .makeApiClient(VersionApi)
    .getCode()
    .then(
      () => undefined,
      (err: unknown) => `cluster ${server} is not reachable: ${(err as Error).message?.split('\n')[0] ?? String(err)}`,
    );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type ResolvedE2e =
  | { kind: 'skip'; reason: string }
  | { kind: 'fake'; image?: string }
  | { kind: 'cluster'; configPath: string; kc: KubeConfig; namespace: string; image?: string };

/** planE2e on the real environment, then load the kubeconfig and probe the cluster. */
export async function resolveE2e(env: NodeJS.ProcessEnv = process.env): Promise<ResolvedE2e> {
  const plan = planE2e(env, { exists: existsSync, readText: (p) => readFileSync(p, 'utf8'), homedir: env.HOME || os.homedir() });
  if (plan.kind !== 'cluster') return plan;
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig(plan.kubeconfigFiles, plan.hints.context);
  } catch (err) {
    return { kind: 'skip', reason: `no usable kubeconfig: ${(err as Error).message}` };
  }
  const unreachable = await probeCluster(kc);
  if (unreachable) return { kind: 'skip', reason: unreachable };
  return {
    kind: 'cluster',
    configPath: plan.configPath,
    kc,
    namespace: namespaceFor(kc, plan.hints.namespace),
    ...(plan.image ? { image: plan.image } : {}),
  };
}

/** The strand.yaml used against the fake API server: workspace seen at the same path everywhere. */
export function fakeConfigYaml(opts: { workspaceDir: string; claimName: string; namespace: string; defaultImage?: string; reference?: { claimName: string; dir: string } }): string {
  return [
    '# Written by test/e2e/kubernetes.e2e.test.ts for the fake API server.',
    'executor: kubernetes',
    'kubernetes:',
    `  namespace: ${opts.namespace}`,
    `  defaultImage: ${JSON.stringify(opts.defaultImage ?? 'debian:stable-slim')}`,
    '  workspace:',
    `    claimName: ${opts.claimName}`,
    `    mountPath: ${JSON.stringify(opts.workspaceDir)}`,
    `    localPath: ${JSON.stringify(opts.workspaceDir)}`,
    ...(opts.reference ? [`  dataVolumes: [ { claimName: ${opts.reference.claimName}, mountPath: ${JSON.stringify(opts.reference.dir)} } ]`] : []),
    '  ttlSecondsAfterFinished: 600',
    '',
  ].join('\n');
}

/**
 * The config file for one example: the user's file with `kubernetes.defaultImage` replaced
 * (the variant-calling example runs with --no-container, so every step uses the default image).
 */
export function withDefaultImage(yamlText: string, image: string): string {
  const doc = (parse(yamlText) as Record<string, unknown> | null) ?? {};
  const k8s = (doc['kubernetes'] as Record<string, unknown> | undefined) ?? {};
  return JSON.stringify({ ...doc, kubernetes: { ...k8s, defaultImage: image } }, null, 2) + '\n';
}

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity as a number (`500m` -> 0.5, `1Gi` -> 1073741824, `1e3` -> 1000); NaN if malformed. */
export function parseQuantity(q: string | number | undefined): number {
  if (typeof q === 'number') return q;
  if (q === undefined) return Number.NaN;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkKMGTPE])?)$/.exec(q.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? '';
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? Number.NaN);
}

/** Which of `steps` a `strand.dev/step` label value names (the longest whole-word match). */
export function stepFromLabel(label: string, steps: readonly string[]): string | undefined {
  const words = (s: string) => s.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  const have = words(label);
  let best: string | undefined;
  for (const step of steps) {
    const want = words(step);
    const found = have.some((_, i) => want.every((w, j) => have[i + j] === w));
    if (found && (best === undefined || step.length > best.length)) best = step;
  }
  return best;
}
