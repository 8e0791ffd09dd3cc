/**
 * The run plan `strand submit` hands to the leader (the bundle's submit.json), and the pure rules
 * both sides share: where a submitted run lives on the workspace, and the settings the leader's
 * Kubernetes executor gets (in-cluster: no kubeconfig, the workspace where the pod mounts it).
 *
 *   <workspace>/strand-submit/<run>/bundle/   the workflow and packed inputs (the job stays in its Secret)
 *   <workspace>/strand-submit/<run>/store/    the leader's run store (and task logs)
 *   <workspace>/strand-submit/<run>/out/      outputs, unless --outdir says elsewhere
 *
 * Without a workspace (`kubernetes.storage: objectStore`) the bundle and run store are on the
 * leader pod's own emptyDir (LEADER_SCRATCH/strand-submit/<run>/) and the outputs go to the
 * bucket: `--outdir s3://...`, by default `<objectStore location>/strand-submit/<run>/out`.
 */
import path from 'node:path';
import type { CwlObject } from '../../model/types.js';

export interface LeaderPlan {
  /** 2: the job is in the run's job Secret (leader-manifests.ts: JOB_MOUNT), not in `job`. */
  version: 1 | 2;
  runId: string;
  /** The document, relative to the bundle directory (with its #fragment). */
  document: string;
  /** Bundle keys and where each goes, relative to the bundle directory. */
  files: Array<{ key: string; path: string }>;
  dirs: string[];
  /**
   * Version 1 only: the job. Since version 2 it travels in the job Secret instead: its URLs may
   * carry credentials and its inputs may be secrets, and this plan is in a ConfigMap.
   */
  job?: CwlObject;
  /** Where outputs go, as pods see it (an s3:// location in object-store mode). */
  outdir: string;
  /** <workspace mountPath>/strand-submit/<run>, or on the leader pod's emptyDir without a workspace. */
  runRoot: string;
  /** The submitter's `storage:` section (S3 endpoint, region, path style), without a local profile. */
  storage?: { s3?: Record<string, unknown> };
  /** The `kubernetes:` settings of the leader's executor (raw, validated by the backend). */
  kubernetes: Record<string, unknown>;
  /** Minimum milliseconds between two state publications. */
  publishIntervalMs: number;
  /** How the leader's run uses the task cache (--cache or $STRAND_CACHE of the submitter); absent: readwrite. */
  cache?: 'off' | 'read' | 'write' | 'readwrite';
  /** Retries of failed tasks and the waits between (--retries and `retry:` of the submitter); absent: none. */
  retry?: { retries: number; backoffMs: number; maxBackoffMs: number };
  /** --on-error (or `onError:`) of the submitter; absent: stop. */
  onError?: 'stop' | 'continue';
  /** --no-container (or `noContainer:`) of the submitter: DockerRequirement ignored, every task in kubernetes.defaultImage. */
  noContainer?: boolean;
  submittedAt: string;
  submittedBy: string;
}

export const SUBMIT_DIR = 'strand-submit';

export function runRootFor(mountPath: string, runId: string): string {
  return path.join(mountPath, SUBMIT_DIR, runId);
}

export const bundleDirOf = (runRoot: string) => path.join(runRoot, 'bundle');
export const storeDirOf = (runRoot: string) => path.join(runRoot, 'store');

/** The `storage:` settings the leader gets: a profile names credentials on the submitter's machine only. */
export function leaderStorageSettings(storage: { s3?: object } | undefined): LeaderPlan['storage'] {
  if (!storage?.s3) return undefined;
  const { profile: _profile, ...s3 } = storage.s3 as Record<string, unknown>;
  void _profile;
  return Object.keys(s3).length ? { s3 } : undefined;
}

/** Default outputs of a submitted run without a workspace: beside the run's files in the bucket. */
export function objectStoreOutdir(bucket: string, prefix: string, runId: string): string {
  return `s3://${bucket}/${[prefix, SUBMIT_DIR, runId, 'out'].filter(Boolean).join('/')}`;
}

/**
 * `--outdir` of a submitted run as pods see it: a path under the workspace, given as this machine
 * sees it (localPath) or as pods do (mountPath); undefined when it is neither.
 */
export function outdirInPods(outdir: string, ws: { localPath: string; mountPath: string }): string | undefined {
  const under = (p: string, d: string) => p === d || p.startsWith(d.endsWith('/') ? d : d + '/');
  const abs = path.resolve(outdir);
  if (under(abs, ws.localPath)) return path.join(ws.mountPath, path.relative(ws.localPath, abs));
  if (under(abs, ws.mountPath)) return abs;
  return undefined;
}

/** A pod path under the workspace, as this machine sees it. */
export function podPathLocally(p: string, ws: { localPath: string; mountPath: string }): string {
  const under = p === ws.mountPath || p.startsWith(ws.mountPath.endsWith('/') ? ws.mountPath : ws.mountPath + '/');
  return under ? path.join(ws.localPath, path.relative(ws.mountPath, p)) : p;
}

/**
 * The leader's executor settings: the submitter's `kubernetes:` section with the flags applied,
 * minus how this machine reaches the cluster (kubeconfig, context: the leader uses its service
 * account), in the submitter's namespace, with the workspace where the leader pod mounts it.
 */
export function leaderKubernetesSettings(raw: Record<string, unknown>, overrides: Record<string, unknown>, namespace: string): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...raw };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) merged[k] = v;
  delete merged.kubeconfig;
  delete merged.context;
  delete merged.runOwner;
  merged.namespace = namespace;
  const ws = merged.workspace as Record<string, unknown> | undefined;
  if (ws && typeof ws === 'object') merged.workspace = { ...ws, localPath: ws.mountPath };
  return merged;
}
