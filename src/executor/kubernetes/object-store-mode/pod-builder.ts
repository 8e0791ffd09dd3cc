/**
 * TaskSpec -> batch/v1 Job for a cluster without a shared volume (pure, no I/O).
 *
 * The pod has one emptyDir (`strand-data`) and three containers, all mounting it at the layout's
 * root:
 *  1. init container `stage-in` (the Strand image): fetches exactly the objects of the task's
 *     stage-in manifest (its inputs and the initial working directory) to the paths the command
 *     line uses; a failure fails the pod before the tool runs.
 *  2. `task` (the tool's image): the same wrapper script as the workspace mode, which also writes
 *     the tool's exit status to a done-file on any exit. Inputs are mounted read-only over the
 *     emptyDir (subPath mounts), as the workspace mode mounts them.
 *  3. `upload` (the Strand image): waits for the done-file, uploads the working directory and the
 *     logs, and writes `result.json` last: the leader trusts nothing else. Kubernetes 1.20 has
 *     no sidecar containers, so this is Argo's "wait" container pattern.
 * Credentials reach Strand's containers only as `envFrom` a Secret; the tool never sees them.
 */
import path from 'node:path';
import type { V1Container, V1EnvFromSource, V1EnvVar, V1Job, V1VolumeMount } from '@kubernetes/client-node';
import type { TaskSpec } from '../../executor.js';
import { TASK_CONTAINER, resourcesFor, taskCommand, taskEnv, wrapInJob } from '../job-builder.js';
import type { KubernetesSettings } from '../settings.js';
import { coalesce } from '../storage-mounts.js';
import { jobPrefix, type PodLayout } from './layout.js';
import { RESULT, STAGE_IN } from './manifest.js';
import type { ObjectStoreSettings } from './settings.js';

export const DATA_VOLUME = 'strand-data';
export const STAGE_IN_CONTAINER = 'stage-in';
export const UPLOAD_CONTAINER = 'upload';
/** The hidden subcommand of the Strand CLI that does a pod's transfers. */
export const POD_IO_COMMAND = '_pod-io';

export interface ObjectJobContext {
  settings: KubernetesSettings;
  store: ObjectStoreSettings;
  /** How Strand's containers reach the store, when not set in `store` (storage.s3). */
  s3: { endpoint?: string; region?: string; forcePathStyle?: boolean };
  namespace: string;
  anchor: { name: string; uid: string };
  attempt: number;
  memoryMiB?: number;
  job: string;
  layout: PodLayout;
}

/** Non-secret settings of the S3 client in Strand's containers, and the Secret with the credentials. */
function helperEnv(ctx: ObjectJobContext): { env: V1EnvVar[]; envFrom: V1EnvFromSource[] } {
  const endpoint = ctx.store.endpoint ?? ctx.s3.endpoint;
  const region = ctx.store.region ?? ctx.s3.region;
  const forcePathStyle = ctx.store.forcePathStyle ?? ctx.s3.forcePathStyle;
  const env: V1EnvVar[] = [];
  if (endpoint !== undefined) env.push({ name: 'STRAND_S3_ENDPOINT', value: endpoint });
  if (region !== undefined) env.push({ name: 'AWS_REGION', value: region });
  if (forcePathStyle !== undefined) env.push({ name: 'STRAND_S3_FORCE_PATH_STYLE', value: String(forcePathStyle) });
  // With credentials from a Secret there is no instance role to ask for (and no metadata server to wait for).
  if (ctx.store.credentialsSecret !== undefined) env.push({ name: 'AWS_EC2_METADATA_DISABLED', value: 'true' });
  const envFrom = ctx.store.credentialsSecret !== undefined ? [{ secretRef: { name: ctx.store.credentialsSecret } }] : [];
  return { env, envFrom };
}

export function buildObjectStoreJob(spec: TaskSpec, ctx: ObjectJobContext): V1Job {
  const { layout, store } = ctx;
  const { paths, root } = layout;
  const prefix = jobPrefix(store, spec.runId, ctx.job);
  const at = (name: string) => `s3://${store.bucket}/${prefix}/${name}`;
  const workDir = paths.map(spec.workDir);
  const { env, envFrom } = helperEnv(ctx);
  const dataMount: V1VolumeMount = { name: DATA_VOLUME, mountPath: root };
  const helper = (name: string, args: string[]): V1Container => ({
    name,
    image: store.image,
    command: [...store.command, POD_IO_COMMAND, ...args],
    env,
    ...(envFrom.length > 0 ? { envFrom } : {}),
    resources: { requests: { ...store.helperResources.requests }, limits: { ...store.helperResources.limits } },
    volumeMounts: [{ ...dataMount }],
    // The last lines of a failing transfer's log become its status message, which Strand reports.
    terminationMessagePolicy: 'FallbackToLogsOnError',
  });

  const stageIn = helper(STAGE_IN_CONTAINER, ['stage-in', '--manifest', at(STAGE_IN), '--root', root, '--task-dir', path.posix.dirname(layout.doneFile)]);
  const upload = helper(UPLOAD_CONTAINER, [
    'upload',
    '--root',
    root,
    '--workdir',
    workDir,
    '--task-dir',
    path.posix.dirname(layout.doneFile),
    '--to',
    `s3://${store.bucket}/${prefix}/`,
    '--result',
    at(RESULT),
  ]);

  // Inputs read-only over the emptyDir, at their paths (the fewest mounts that show them all).
  const inputs = coalesce(layout.inputs.filter((p) => p !== root && !p.startsWith(`${workDir}/`) && p !== workDir).map((p) => ({ podPath: p, readOnly: true })));
  const task: V1Container = {
    name: TASK_CONTAINER,
    image: spec.image ?? ctx.settings.defaultImage,
    command: taskCommand(spec, paths, workDir, layout.localTaskDir + '/logs', layout.doneFile),
    workingDir: workDir,
    env: taskEnv(spec, ctx.settings, paths),
    resources: resourcesFor(spec, ctx),
    volumeMounts: [dataMount, ...inputs.map((i) => ({ name: DATA_VOLUME, mountPath: i.podPath, subPath: path.posix.relative(root, i.podPath), readOnly: true }))],
  };
  return wrapInJob(spec, ctx, { initContainers: [stageIn], containers: [task, upload], volumes: [{ name: DATA_VOLUME, emptyDir: {} }] });
}
