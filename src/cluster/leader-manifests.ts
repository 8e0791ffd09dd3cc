/**
 * The objects of a submitted run (`strand submit`, the leader inside the cluster), built as plain
 * data (no API calls):
 *
 *   Job        strand-leader-<run>   one pod running `strand leader`: the Strand process itself, with
 *                                     the run's ServiceAccount and in-cluster configuration; restarted
 *                                     by the Job when it dies (it then adopts its task Jobs)
 *   ConfigMap  strand-bundle-<run>   the workflow, the job and the small input files, mounted in the
 *                                     leader pod at BUNDLE_MOUNT
 *   ConfigMap  strand-status-<run>   the run's state as the leader publishes it (`strand show`), and
 *                                     the request it was submitted with, redacted, if one was kept
 *   Secret     strand-job-<run>      the job (the run's inputs), mounted in the leader pod only at
 *                                     JOB_MOUNT: input URLs may carry credentials (`user:pw@`, a
 *                                     pre-signed S3 signature) and inputs may be secrets
 *                                     (cwltool:Secrets), so the job is never in a ConfigMap
 *
 * Both ConfigMaps are owned by the Job (made first, then given their owner once the Job exists),
 * the job Secret by the bundle ConfigMap (so it goes with it), and the leader makes the Job the owner of the run's anchor
 * (which owns every task Job), so `kubectl delete job strand-leader-<run>` removes the whole run.
 * The leader's objects carry `strand.dev/leader=<run>`, not `strand.dev/run`, so the run's own
 * watch and `strand clean --run` see only task Jobs.
 */
import type { V1ConfigMap, V1EnvVar, V1Job, V1OwnerReference, V1Secret, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { LABELS, MANAGED_BY, labelValue, runObjectName } from './names.js';
import type { Toleration, VolumeClaimMount } from './pod-spec-types.js';

export const LEADER_LABEL = 'strand.dev/leader';
/** The leader Job's annotation naming its run id in full (label values are cut at 63 characters). */
export const LEADER_RUN_ANNOTATION = 'strand.dev/run-id';
/**
 * What the leader Job and its status ConfigMap record of the run, so that a server holding no
 * state finds it again (annotations hold any text; labels only label-safe values): who submitted
 * it (the exact user name; the owner label holds its labelValue), its document, process, outputs
 * and when it was submitted.
 */
export const LEADER_ANNOTATIONS = {
  runId: LEADER_RUN_ANNOTATION,
  submittedBy: 'strand.dev/submitted-by',
  document: 'strand.dev/document',
  processId: 'strand.dev/process-id',
  submittedAt: 'strand.dev/submitted-at',
  outdir: 'strand.dev/outdir',
  /** Set on the status ConfigMap when the run is cancelled (ISO time). */
  cancelledAt: 'strand.dev/cancelled-at',
  /** The tags of the request the run was submitted with (JSON), when one was kept (REQUEST_KEY). */
  tags: 'strand.dev/tags',
} as const;
/**
 * On a status ConfigMap kept after its run's Job was deleted (a cancel): `true`. Such a
 * ConfigMap has no owner left, so the garbage collector leaves it: it is the run's record.
 */
export const KEPT_STATUS_LABEL = 'strand.dev/kept';
export const LEADER_CONTAINER = 'leader';
/**
 * The leader pod's own disk (an emptyDir) when the run has no workspace (object-store mode): its
 * run store, the bundle copy and its temporary files. A leader pod started again begins it anew.
 */
export const LEADER_SCRATCH = '/var/lib/strand-leader';
/**
 * The Secret holding the key that signs the namespace's task cache entries (docs/caching.md), made
 * by an administrator (`kubectl create secret generic strand-cache-key --from-literal=key=$(openssl
 * rand -hex 32)`), or by `strand submit` when it is missing (ensureCacheKeySecret, leader-api.ts).
 * Mounted in the leader pod only, never in task pods: tasks write the workspace the cache is on,
 * and must not be able to sign what they write. Optional: without it the leader's run has no
 * cache key, and the cache off.
 */
export const CACHE_KEY_SECRET = 'strand-cache-key';
/** The key of that Secret holding the key (hex), as `kubectl create secret ... --from-literal=key=` makes it. */
export const CACHE_KEY_ITEM = 'key';
/** Where the leader pod sees that Secret; STRAND_CACHE_KEY_FILE names its `key`. */
export const CACHE_KEY_MOUNT = '/etc/strand/cache-key';
/** Where the leader pod sees the job Secret, and the key in it holding the job (JSON). */
export const JOB_MOUNT = '/etc/strand/job';
export const JOB_KEY = 'job.json';
/** Where the leader pod sees the bundle ConfigMap. */
export const BUNDLE_MOUNT = '/etc/strand/bundle';
/** The bundle key holding the run plan (what to run, where; see cli/submit). */
export const PLAN_KEY = 'submit.json';
/** The status ConfigMap key holding the published state (JSON). */
export const STATUS_KEY = 'status.json';
/**
 * The status ConfigMap key holding the request the run was submitted with, as a front end kept it
 * (api/submitted/recorded-request.ts: redacted, bounded), if it kept one. In the status ConfigMap
 * because a cancel keeps that one; the leader's publishing patches STATUS_KEY only.
 */
export const REQUEST_KEY = 'request.json';
/** Environment of the leader container: who owns the run anchor, and the namespace. */
export const LEADER_ENV = {
  jobName: 'STRAND_LEADER_JOB_NAME',
  jobUid: 'STRAND_LEADER_JOB_UID',
  namespace: 'STRAND_LEADER_NAMESPACE',
  pod: 'STRAND_LEADER_POD',
} as const;

export const leaderJobName = (runId: string): string => runObjectName('strand-leader-', runId);
export const bundleName = (runId: string): string => runObjectName('strand-bundle-', runId);
export const statusName = (runId: string): string => runObjectName('strand-status-', runId);
export const jobSecretName = (runId: string): string => runObjectName('strand-job-', runId);
export const leaderSelector = (runId: string): string => `${LABELS.managedBy}=${MANAGED_BY},${LEADER_LABEL}=${labelValue(runId)}`;

export interface LeaderSpec {
  runId: string;
  namespace: string;
  owner: string;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  serviceAccountName: string;
  /** The workspace claim; undefined in object-store mode (then an emptyDir at LEADER_SCRATCH). */
  workspace?: VolumeClaimMount;
  /** Object-store mode: the Secret whose keys (AWS_ACCESS_KEY_ID...) the leader gets as env (envFrom). */
  credentialsSecret?: string;
  /** Read-only data claims, mounted where tasks see them (the leader reads inputs there too). */
  dataVolumes: VolumeClaimMount[];
  /** Arguments after `strand` (the image's entrypoint). */
  args: string[];
  cpu: string;
  memory: string;
  /** Leader pods the Job may start after the first fails or is deleted. */
  restarts: number;
  /** runAsUser of the leader pod (it must be able to create directories on the workspace). */
  runAsUser?: number;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  imagePullSecrets?: string[];
  priorityClassName?: string;
  /** More annotations of the Job and the status ConfigMap (LEADER_ANNOTATIONS). */
  annotations?: Record<string, string>;
}

function labels(spec: { runId: string; owner: string }): Record<string, string> {
  return { [LABELS.managedBy]: MANAGED_BY, [LEADER_LABEL]: labelValue(spec.runId), [LABELS.owner]: labelValue(spec.owner) };
}

/** The leader Job. Its pod learns its Job's name and uid from the labels the Job controller sets. */
export function buildLeaderJob(spec: LeaderSpec): V1Job {
  const fromLabel = (name: string, label: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath: `metadata.labels['${label}']` } } });
  const volumes: V1Volume[] = [
    { name: 'bundle', configMap: { name: bundleName(spec.runId) } },
    spec.workspace ? { name: 'workspace', persistentVolumeClaim: { claimName: spec.workspace.claimName } } : { name: 'scratch', emptyDir: {} },
    ...spec.dataVolumes.map((v, i) => ({ name: `data-${i}`, persistentVolumeClaim: { claimName: v.claimName, readOnly: true } })),
    // 0444: a Secret's files belong to root, and the image runs as user 10001 (no fsGroup: that
    // would change the ownership of the workspace). Only Strand runs in this container; it uses
    // the cache key through a 0600 copy of its own (api/submitted/leader-key.ts).
    { name: 'cache-key', secret: { secretName: CACHE_KEY_SECRET, optional: true, defaultMode: 0o444 } },
    { name: 'job', secret: { secretName: jobSecretName(spec.runId), defaultMode: 0o444 } },
  ];
  const mounts: V1VolumeMount[] = [
    { name: 'bundle', mountPath: BUNDLE_MOUNT, readOnly: true },
    spec.workspace ? { name: 'workspace', mountPath: spec.workspace.mountPath } : { name: 'scratch', mountPath: LEADER_SCRATCH },
    ...spec.dataVolumes.map((v, i) => ({ name: `data-${i}`, mountPath: v.mountPath, readOnly: true })),
    { name: 'cache-key', mountPath: CACHE_KEY_MOUNT, readOnly: true },
    { name: 'job', mountPath: JOB_MOUNT, readOnly: true },
  ];
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: leaderJobName(spec.runId), namespace: spec.namespace, labels: labels(spec), annotations: { ...spec.annotations, [LEADER_RUN_ANNOTATION]: spec.runId } },
    spec: {
      backoffLimit: spec.restarts,
      template: {
        metadata: { labels: labels(spec) },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: spec.serviceAccountName,
          // The run's task pods are the leader's children: give it time to stop them on SIGTERM.
          terminationGracePeriodSeconds: 60,
          ...(spec.runAsUser !== undefined ? { securityContext: { runAsUser: spec.runAsUser } } : {}),
          ...(spec.nodeSelector && Object.keys(spec.nodeSelector).length ? { nodeSelector: spec.nodeSelector } : {}),
          ...(spec.tolerations?.length ? { tolerations: spec.tolerations } : {}),
          ...(spec.imagePullSecrets?.length ? { imagePullSecrets: spec.imagePullSecrets.map((name) => ({ name })) } : {}),
          ...(spec.priorityClassName ? { priorityClassName: spec.priorityClassName } : {}),
          containers: [
            {
              name: LEADER_CONTAINER,
              image: spec.image,
              ...(spec.imagePullPolicy ? { imagePullPolicy: spec.imagePullPolicy } : {}),
              args: spec.args,
              env: [
                fromLabel(LEADER_ENV.jobName, 'job-name'),
                fromLabel(LEADER_ENV.jobUid, 'controller-uid'),
                { name: LEADER_ENV.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: LEADER_ENV.pod, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'STRAND_CACHE_KEY_FILE', value: `${CACHE_KEY_MOUNT}/key` },
                // No workspace: temporary files (object-store mode's work root) on the pod's emptyDir.
                ...(spec.workspace ? [] : [{ name: 'TMPDIR', value: LEADER_SCRATCH }]),
              ],
              ...(spec.credentialsSecret ? { envFrom: [{ secretRef: { name: spec.credentialsSecret } }] } : {}),
              resources: { requests: { cpu: spec.cpu, memory: spec.memory }, limits: { memory: spec.memory } },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** An owner reference to the leader Job (not blocking: no finalizer rights needed). */
export function ownedByJob(job: { name: string; uid: string }): V1OwnerReference {
  return { apiVersion: 'batch/v1', kind: 'Job', name: job.name, uid: job.uid };
}

/** Bundle keys: what a ConfigMap allows (`[-._a-zA-Z0-9]+`). */
export const BUNDLE_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
/** What a ConfigMap may hold in all (1 MiB), less room for the metadata. */
export const BUNDLE_MAX_BYTES = 1024 * 1024 - 16 * 1024;

/** The bundle ConfigMap: text files as data, others as binaryData (base64). */
export function buildBundleConfigMap(
  spec: { runId: string; namespace: string; owner: string },
  files: ReadonlyMap<string, Buffer>,
  owner?: { name: string; uid: string },
): V1ConfigMap {
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const [key, bytes] of files) {
    if (!BUNDLE_KEY.test(key)) throw new Error(`bundle key "${key}" is not a valid ConfigMap key`);
    const text = bytes.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(bytes)) data[key] = text;
    else binaryData[key] = bytes.toString('base64');
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: bundleName(spec.runId), namespace: spec.namespace, labels: labels(spec), ...(owner ? { ownerReferences: [ownedByJob(owner)] } : {}) },
    data,
    ...(Object.keys(binaryData).length ? { binaryData } : {}),
  };
}

/** The job Secret: the job as JSON, owned by the bundle ConfigMap (and through it by the Job). */
export function buildJobSecret(spec: { runId: string; namespace: string; owner: string }, jobJson: Buffer, bundle?: { name: string; uid: string }): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: jobSecretName(spec.runId),
      namespace: spec.namespace,
      labels: labels(spec),
      ...(bundle ? { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: bundle.name, uid: bundle.uid }] } : {}),
    },
    data: { [JOB_KEY]: jobJson.toString('base64') },
  };
}

/** The cache key Secret of a namespace: 32 random bytes, as hex (see CACHE_KEY_SECRET). */
export function buildCacheKeySecret(namespace: string, key: Buffer): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: CACHE_KEY_SECRET, namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
    data: { [CACHE_KEY_ITEM]: Buffer.from(key.toString('hex')).toString('base64') },
  };
}

/** The status ConfigMap, holding `statusJson` (see store/run-snapshot.ts) and the kept request, if any (REQUEST_KEY). */
export function buildStatusConfigMap(
  spec: { runId: string; namespace: string; owner: string; annotations?: Record<string, string> },
  statusJson: string,
  owner?: { name: string; uid: string },
  requestJson?: string,
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: statusName(spec.runId),
      namespace: spec.namespace,
      labels: labels(spec),
      ...(spec.annotations ? { annotations: { ...spec.annotations, [LEADER_RUN_ANNOTATION]: spec.runId } } : {}),
      ...(owner ? { ownerReferences: [ownedByJob(owner)] } : {}),
    },
    data: { [STATUS_KEY]: statusJson, ...(requestJson !== undefined ? { [REQUEST_KEY]: requestJson } : {}) },
  };
}

/** Bytes a ConfigMap's payload takes (data as UTF-8, binaryData as base64 text). */
export function configMapPayloadBytes(cm: V1ConfigMap): number {
  let n = 0;
  for (const [k, v] of Object.entries(cm.data ?? {})) n += k.length + Buffer.byteLength(v, 'utf8');
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) n += k.length + v.length;
  return n;
}
