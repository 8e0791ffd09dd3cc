/**
 * Settings of the Kubernetes executor: the `kubernetes:` section of a Strand config file, with
 * command-line flags applied on top. Parsed here (not in config/) so the backend owns its own
 * schema; every error names the field, e.g. `strand.yaml: kubernetes.workspace.claimName: ...`.
 *
 * Example (strand.yaml):
 *
 *   executor: kubernetes
 *   kubernetes:
 *     context: lab-cluster            # default: the kubeconfig's current context
 *     namespace: genomics             # default: the context's namespace, else "default"
 *     owner: alice                    # strand.dev/owner label; default: local user name
 *     defaultImage: debian:stable-slim
 *     workspace:                      # ReadWriteMany PVC holding task directories
 *       claimName: strand-workspace
 *       mountPath: /workspace         # where pods see it
 *       localPath: /mnt/strand        # where Strand sees it (NFS mount); default = mountPath
 *     dataVolumes:                    # ReadOnlyMany claims, mounted where the data already lives
 *       - { claimName: reference-genomes, mountPath: /data/reference }
 *     scratch: { medium: Memory, sizeLimit: 2Gi }   # emptyDir for runtime.tmpdir (optional)
 *     secretEnv:                      # env vars from Secrets, by reference
 *       - { name: AWS_ACCESS_KEY_ID, secretName: minio, key: accesskey }
 *     nodeSelector: { disktype: ssd }
 *     tolerations: [ { key: gpu, operator: Exists, effect: NoSchedule } ]
 *     serviceAccountName: strand-task
 *     imagePullSecrets: [ regcred ]
 *     priorityClassName: batch-low
 *     securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 }  # pod securityContext
 *     maxParallel: 32                 # tasks in flight at once
 *     pendingTimeoutSeconds: 600      # fail unschedulable tasks after this; default off
 *     maxMemory: 64Gi                 # OOMKilled tasks retry with doubled memory up to this
 *     ttlSecondsAfterFinished: 3600
 *     requestsPerSecond: 20           # client-side API rate limit (burst = 2x)
 *     usageIntervalSeconds: 15        # read task pods' CPU/memory from metrics.k8s.io this often; 0: never
 *     storage: objectStore            # no workspace: task files in a bucket (default: workspace)
 *     objectStore: { location: s3://lab/strand, credentialsSecret: strand-s3, image: ... }
 *                                     # see object-store-mode/settings.ts
 */
import { UsageError } from '../../errors.js';
import { parseObjectStoreSettings, parseStorageMode, type ObjectStoreSettings, type StorageModeName } from './object-store-mode/settings.js';
import { strandVersion } from './object-store-mode/version.js';
import type { Toleration, VolumeClaimMount } from '../../cluster/pod-spec-types.js';
export type { Toleration, VolumeClaimMount } from '../../cluster/pod-spec-types.js';


export interface WorkspaceSettings extends VolumeClaimMount {
  /** Where Strand (outside the cluster) sees the same storage; defaults to mountPath. */
  localPath: string;
}

export interface ScratchSettings {
  medium?: 'Memory';
  sizeLimit?: string;
}

export interface SecretEnv {
  name: string;
  secretName: string;
  key: string;
}


export interface KubernetesSettings {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  owner: string;
  defaultImage: string;
  /** How task pods get their files: a shared workspace claim (default) or a bucket (object-store-mode/). */
  storage?: StorageModeName;
  workspace?: WorkspaceSettings;
  objectStore?: ObjectStoreSettings;
  dataVolumes: VolumeClaimMount[];
  scratch?: ScratchSettings;
  secretEnv: SecretEnv[];
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  serviceAccountName?: string;
  imagePullSecrets: string[];
  priorityClassName?: string;
  /** A pod-level securityContext (V1PodSecurityContext fields), passed through. */
  securityContext?: Record<string, unknown>;
  maxParallel: number;
  /** Seconds an unschedulable task may wait; undefined = wait for ever (autoscalers). */
  pendingTimeoutSeconds?: number;
  /** Upper bound for OOM retries, in MiB. */
  maxMemoryMiB: number;
  ttlSecondsAfterFinished: number;
  requestsPerSecond: number;
  /** Seconds between two reads of the run's pod metrics (metrics.k8s.io); 0: never read them. */
  usageIntervalSeconds: number;
  /**
   * The object that owns the run anchor (so deleting it deletes the run). Set by `strand leader`,
   * the Strand process of a submitted run, to its own Job; not for config files.
   */
  runOwner?: RunOwner;
}

export interface RunOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export const KUBERNETES_DEFAULTS = {
  defaultImage: 'debian:stable-slim',
  maxParallel: 32,
  maxMemoryMiB: 64 * 1024,
  ttlSecondsAfterFinished: 3600,
  requestsPerSecond: 20,
  usageIntervalSeconds: 15,
} as const;

type Raw = Record<string, unknown>;

class FieldReader {
  constructor(
    private readonly source: string,
    private readonly prefix: string,
  ) {}

  fail(field: string, what: string): never {
    throw new UsageError(`${this.source}: ${this.prefix}${field}: ${what}`);
  }

  obj(raw: unknown, field: string): Raw | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'object' || Array.isArray(raw)) this.fail(field, 'expected a mapping');
    return raw as Raw;
  }

  str(raw: Raw, field: string, at = field): string | undefined {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') this.fail(at, `expected a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  }

  reqStr(raw: Raw, field: string, at = field): string {
    const v = this.str(raw, field, at);
    if (v === undefined) this.fail(at, 'is required');
    return v;
  }

  absPath(raw: Raw, field: string, at = field): string | undefined {
    const v = this.str(raw, field, at);
    if (v !== undefined && !v.startsWith('/')) this.fail(at, `expected an absolute path, got "${v}"`);
    return v === undefined ? undefined : v.replace(/\/+$/, '') || '/';
  }

  wholeNumber(raw: Raw, field: string, at = field): number | undefined {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) this.fail(at, `expected a whole number (0 or more), got ${JSON.stringify(v)}`);
    return v;
  }

  posInt(raw: Raw, field: string, at = field): number | undefined {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) this.fail(at, `expected a whole number of at least 1, got ${JSON.stringify(v)}`);
    return v;
  }

  list(raw: Raw, field: string): unknown[] {
    const v = raw[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(field, 'expected a list');
    return v as unknown[];
  }
}

/** Parse a memory quantity (`512Mi`, `64Gi`, `1G`, `2048` bytes) into MiB. */
export function quantityToMiB(q: string | number): number | undefined {
  if (typeof q === 'number') return q / (1024 * 1024);
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit: Record<string, number> = {
    '': 1 / (1024 * 1024),
    Ki: 1 / 1024,
    Mi: 1,
    Gi: 1024,
    Ti: 1024 * 1024,
    k: 1000 / (1024 * 1024),
    K: 1000 / (1024 * 1024),
    M: 1e6 / (1024 * 1024),
    G: 1e9 / (1024 * 1024),
    T: 1e12 / (1024 * 1024),
  };
  return n * (unit[m[2] ?? ''] ?? 1);
}

/**
 * Parse the `kubernetes:` section (`raw`, possibly undefined) from `source` (a file name or
 * "flags"), filling defaults. `defaultOwner` is usually os.userInfo().username.
 */
export function parseKubernetesSettings(raw: unknown, source: string, defaultOwner: string): KubernetesSettings {
  const r: FieldReader = new FieldReader(source, 'kubernetes.');
  const top = r.obj(raw, '(section)') ?? {};
  const known = new Set([
    'kubeconfig', 'context', 'namespace', 'owner', 'defaultImage', 'workspace', 'dataVolumes', 'scratch', 'secretEnv',
    'nodeSelector', 'tolerations', 'serviceAccountName', 'imagePullSecrets', 'priorityClassName', 'securityContext',
    'maxParallel', 'pendingTimeoutSeconds', 'maxMemory', 'ttlSecondsAfterFinished', 'requestsPerSecond', 'usageIntervalSeconds', 'runOwner', 'storage', 'objectStore',
  ]);
  for (const k of Object.keys(top)) if (!known.has(k)) r.fail(k, `unknown setting (known: ${[...known].join(', ')})`);

  let workspace: WorkspaceSettings | undefined;
  const ws = r.obj(top.workspace, 'workspace');
  if (ws) {
    const claimName = r.reqStr(ws, 'claimName', 'workspace.claimName');
    const mountPath = r.absPath(ws, 'mountPath', 'workspace.mountPath');
    if (!mountPath) r.fail('workspace.mountPath', 'is required');
    workspace = { claimName, mountPath, localPath: r.absPath(ws, 'localPath', 'workspace.localPath') ?? mountPath };
  }

  const dataVolumes = r.list(top, 'dataVolumes').map((v, i) => {
    const o = r.obj(v, `dataVolumes[${i}]`) ?? r.fail(`dataVolumes[${i}]`, 'expected a mapping');
    const mountPath = r.absPath(o, 'mountPath', `dataVolumes[${i}].mountPath`);
    if (!mountPath) r.fail(`dataVolumes[${i}].mountPath`, 'is required');
    return { claimName: r.reqStr(o, 'claimName', `dataVolumes[${i}].claimName`), mountPath };
  });

  let scratch: ScratchSettings | undefined;
  const sc = r.obj(top.scratch, 'scratch');
  if (sc) {
    const medium = r.str(sc, 'medium', 'scratch.medium');
    if (medium !== undefined && medium !== 'Memory') r.fail('scratch.medium', 'expected "Memory" or nothing (node disk)');
    const sizeLimit = r.str(sc, 'sizeLimit', 'scratch.sizeLimit');
    if (sizeLimit !== undefined && quantityToMiB(sizeLimit) === undefined) r.fail('scratch.sizeLimit', `not a quantity: "${sizeLimit}"`);
    scratch = { ...(medium ? { medium: 'Memory' as const } : {}), ...(sizeLimit ? { sizeLimit } : {}) };
  }

  const secretEnv = r.list(top, 'secretEnv').map((v, i) => {
    const o = r.obj(v, `secretEnv[${i}]`) ?? r.fail(`secretEnv[${i}]`, 'expected a mapping');
    return {
      name: r.reqStr(o, 'name', `secretEnv[${i}].name`),
      secretName: r.reqStr(o, 'secretName', `secretEnv[${i}].secretName`),
      key: r.reqStr(o, 'key', `secretEnv[${i}].key`),
    };
  });

  const nodeSelector: Record<string, string> = {};
  const ns = r.obj(top.nodeSelector, 'nodeSelector') ?? {};
  for (const [k, v] of Object.entries(ns)) {
    if (typeof v !== 'string') r.fail(`nodeSelector.${k}`, 'expected a string');
    nodeSelector[k] = v;
  }

  const tolerations = r.list(top, 'tolerations').map((v, i) => (r.obj(v, `tolerations[${i}]`) ?? {}) as Toleration);
  const imagePullSecrets = r.list(top, 'imagePullSecrets').map((v, i): string => {
    if (typeof v === 'string' && v !== '') return v;
    const o = r.obj(v, `imagePullSecrets[${i}]`);
    if (o && typeof o.name === 'string') return o.name;
    return r.fail(`imagePullSecrets[${i}]`, 'expected a Secret name');
  });

  let maxMemoryMiB: number = KUBERNETES_DEFAULTS.maxMemoryMiB;
  const mm = top.maxMemory;
  if (mm !== undefined && mm !== null) {
    const mib = typeof mm === 'string' || typeof mm === 'number' ? quantityToMiB(mm) : undefined;
    if (mib === undefined || mib <= 0) r.fail('maxMemory', `not a memory quantity: ${JSON.stringify(mm)} (e.g. 64Gi)`);
    maxMemoryMiB = mib;
  }

  const storage = parseStorageMode(top.storage, source) ?? 'workspace';
  if (storage === 'objectStore' && dataVolumes.length > 0) r.fail('dataVolumes', 'cannot be used with storage: objectStore (pods share no volume; put reference data in the bucket)');
  const settings: KubernetesSettings = {
    storage,
    owner: r.str(top, 'owner') ?? defaultOwner,
    defaultImage: r.str(top, 'defaultImage') ?? KUBERNETES_DEFAULTS.defaultImage,
    dataVolumes,
    secretEnv,
    nodeSelector,
    tolerations,
    imagePullSecrets,
    maxParallel: r.posInt(top, 'maxParallel') ?? KUBERNETES_DEFAULTS.maxParallel,
    maxMemoryMiB,
    ttlSecondsAfterFinished: r.posInt(top, 'ttlSecondsAfterFinished') ?? KUBERNETES_DEFAULTS.ttlSecondsAfterFinished,
    requestsPerSecond: r.posInt(top, 'requestsPerSecond') ?? KUBERNETES_DEFAULTS.requestsPerSecond,
    usageIntervalSeconds: r.wholeNumber(top, 'usageIntervalSeconds') ?? KUBERNETES_DEFAULTS.usageIntervalSeconds,
  };
  const opt = <K extends keyof KubernetesSettings>(k: K, v: KubernetesSettings[K] | undefined) => {
    if (v !== undefined) settings[k] = v;
  };
  opt('kubeconfig', r.str(top, 'kubeconfig'));
  opt('context', r.str(top, 'context'));
  opt('namespace', r.str(top, 'namespace'));
  opt('workspace', workspace);
  if (storage === 'objectStore') settings.objectStore = parseObjectStoreSettings(top.objectStore, source, strandVersion());
  else if (top.objectStore !== undefined && top.objectStore !== null) r.fail('objectStore', 'is set but kubernetes.storage is not objectStore');
  opt('scratch', scratch);
  opt('serviceAccountName', r.str(top, 'serviceAccountName'));
  opt('priorityClassName', r.str(top, 'priorityClassName'));
  opt('securityContext', r.obj(top.securityContext, 'securityContext'));
  opt('pendingTimeoutSeconds', r.posInt(top, 'pendingTimeoutSeconds'));
  const ro = r.obj(top.runOwner, 'runOwner');
  if (ro) {
    settings.runOwner = {
      apiVersion: r.reqStr(ro, 'apiVersion', 'runOwner.apiVersion'),
      kind: r.reqStr(ro, 'kind', 'runOwner.kind'),
      name: r.reqStr(ro, 'name', 'runOwner.name'),
      uid: r.reqStr(ro, 'uid', 'runOwner.uid'),
    };
  }
  if (!/^[a-z0-9A-Z]([-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9])?$/.test(settings.owner)) {
    r.fail('owner', `"${settings.owner}" is not a valid label value (letters, digits, - _ . ; at most 63)`);
  }
  return settings;
}
