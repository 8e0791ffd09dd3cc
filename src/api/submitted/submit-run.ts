/**
 * Submit a run to a cluster: its leader (the Strand process itself) as a Job in the namespace,
 * the workflow's files in a ConfigMap, the job in a Secret, and a record in the submitter's run
 * store. The front end (strand submit, the coming server) has loaded and checked the document
 * and job; everything from here on is the same for every front end. docs/leader-in-cluster.md.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { resolveConfig } from '../../config/config.js';
import type { UserConfigFile } from '../../config/config-file.js';
import { UsageError } from '../../errors.js';
import { stringifyJsonExact } from '../../model/exact-json.js';
import type { CwlObject, Process } from '../../model/types.js';
import type { KubeApi } from '../../cluster/kube-api.js';
import type { KubernetesSettings } from '../../executor/kubernetes/settings.js';
import { openRunStore } from '../../store/run-store.js';
import { redactUrl } from '../../storage/redact-url.js';
import type { Principal } from '../principal.js';
import { newRunId } from '../run-id.js';
import { planBundle, type BundleFs } from './bundle.js';
import { recordRequest, recordedRequestText, tagsAnnotation, type RecordedRequest } from './recorded-request.js';
import { SUBMITTED_EXECUTOR, writeCachedSnapshot, type SubmittedDetail } from './follow.js';
import { bundleDirOf, leaderKubernetesSettings, leaderStorageSettings, objectStoreOutdir, outdirInPods, podPathLocally, runRootFor, type LeaderPlan } from './plan.js';

/** The leader pod: its image, account and size. */
export interface LeaderOptions {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  serviceAccount: string;
  /** Create the ServiceAccount and the Role/RoleBinding of `strand rbac` if missing. */
  setupRbac?: boolean;
  cpu: string;
  memory: string;
  /** Leader pods the Job may start again after one dies. */
  restarts: number;
  runAsUser?: number;
}

export interface SubmitRequest {
  /** The document as given (a path, optionally with #id), loaded and checked by the caller. */
  document: string;
  process: Process;
  /** The local files it is made of (loadDocument's `files`), the main file first. */
  documentFiles: string[];
  inputs: CwlObject;
  jobPath?: string;
  /** Where outputs go: a directory on the workspace, or s3://bucket/prefix without one. */
  outdir?: string;
  runId?: string;
  /** The submitter's config file (strand.yaml), if any, and the flags over it. */
  config?: UserConfigFile;
  overrides: Record<string, unknown>;
  leader: LeaderOptions;
  /** Bytes of input files that may travel with the run. */
  bundleLimit: number;
  /** How the leader's run treats the cache and failed tasks (over the config file). */
  run: { cache?: 'off' | 'read' | 'write' | 'readwrite' | 'on'; retries?: number; onError?: 'stop' | 'continue'; noContainer?: boolean };
  /** The submitter's working directory (relative paths, the record's cwd). */
  cwd: string;
  /** The document as the run records it; default: its absolute path (a server gives the name the request used). */
  documentPath?: string;
  /**
   * The request as the front end received it (a WES RunRequest), to be kept with the run for its
   * submitter: redacted and bounded (recorded-request.ts), in its status ConfigMap, its tags also
   * in an annotation. Its real parameters travel in the job Secret only, as `inputs`.
   */
  request?: RecordedRequest;
}

export interface SubmittedRun {
  runId: string;
  namespace: string;
  job: string;
  image: string;
  serviceAccount: string;
  /** Where the outputs go, as the submitter sees it, and as pods see it. */
  outdir: string;
  outdirInPods: string;
  packedFiles: number;
  packedBytes: number;
  /** Inputs used where they are (on the workspace or a data volume). */
  inPlace: number;
}

export interface SubmitSay {
  /** What was done on the way (RBAC made, the cache key made). */
  info(line: string): void;
  warn(line: string): void;
}

const nodeFs: BundleFs = {
  stat(p) {
    try {
      const st = statSync(p);
      return { size: st.size, kind: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other' };
    } catch {
      return undefined;
    }
  },
  list: (p) => readdirSync(p),
};

/** Where a run is submitted: a namespace, and a client acting there (as the submitter). */
export interface SubmitTarget {
  readonly api: KubeApi;
  readonly namespace: string;
}

/** A run submitted to a cluster: what the submitter is told, and what a local record needs. */
export interface ClusterSubmission {
  run: SubmittedRun;
  /** The run's directory as pods see it (workspace or the leader's own disk). */
  runRoot: string;
  /** The run's directory as the submitter sees it (on the workspace), else runRoot. */
  workDir: string;
  /** The document as the run records it. */
  documentPath: string;
  settings: KubernetesSettings;
}

/**
 * The `kubernetes:` settings a submission uses (the config file's, the flags over them); a
 * UsageError when they give the run neither a workspace nor an object store.
 */
export async function submitSettings(req: Pick<SubmitRequest, 'config' | 'overrides'>): Promise<KubernetesSettings> {
  const file = req.config;
  const src = file?.path ?? 'flags';
  const { resolveKubernetesSettings } = await import('../../executor/kubernetes/index.js');
  const settings = resolveKubernetesSettings({ settings: file?.kubernetes, settingsSource: src, overrides: req.overrides });
  if (!settings.workspace && !settings.objectStore) {
    throw new UsageError(
      `${src}: kubernetes.workspace is not set: a submitted run keeps its bundle, run store and outputs on the workspace claim, ` +
        'or, with kubernetes.storage: objectStore, its outputs in the bucket (see docs/leader-in-cluster.md)',
    );
  }
  return settings;
}

/** `strand submit`: the run submitted with the kubeconfig's session, and recorded in the local run store. */
export async function submitRun(p: Principal, storeDir: string, req: SubmitRequest, say: SubmitSay): Promise<SubmittedRun> {
  const file = req.config;
  const settings = await submitSettings(req);
  const { openKubeSession } = await import('../../executor/kubernetes/session.js');
  const session = openKubeSession({ settings: file?.kubernetes, settingsSource: file?.path ?? 'flags', overrides: req.overrides });
  const ns = session.namespace;
  const made = await submitToCluster(p, { api: session.api, namespace: ns }, settings, req, say);
  const { run } = made;
  const { statusName } = await import('../../cluster/leader-manifests.js');
  const detail: SubmittedDetail = {
    ...(settings.kubeconfig ? { kubeconfig: path.resolve(req.cwd, settings.kubeconfig) } : {}),
    ...(session.api.conn.context ? { context: session.api.conn.context } : {}),
    namespace: ns,
    server: session.api.conn.server,
    job: run.job,
    statusConfigMap: statusName(run.runId),
    image: run.image,
    outdir: run.outdir,
    outdirInPods: run.outdirInPods,
  };
  const store = openRunStore(storeDir);
  try {
    store.createRun({
      runId: run.runId,
      processId: req.process.id,
      documentPath: made.documentPath,
      ...(req.jobPath ? { jobPath: path.resolve(req.cwd, req.jobPath) } : {}),
      outdir: run.outdir,
      workDir: made.workDir,
      cwd: req.cwd,
      executor: SUBMITTED_EXECUTOR,
      executorDetail: detail as unknown as Record<string, unknown>,
      owner: p.user,
    });
  } finally {
    store.close();
  }
  writeCachedSnapshot(storeDir, run.runId, '{}');
  // A few seconds for the leader pod to appear: a Job that cannot make it (no such ServiceAccount,
  // a quota) says why in an event, which is worth saying now rather than at the first strand show.
  const api = await import('../../cluster/leader-api.js');
  const deadline = Date.now() + 15_000;
  for (;;) {
    const st = await api.readLeaderState(session.api, ns, run.runId).catch(() => undefined);
    if (!st || st.pods.length > 0 || Date.now() > deadline) break;
    if (st.job?.warning) {
      say.warn(`job/${run.job} cannot start the leader pod yet: ${st.job.warning}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return run;
}

/**
 * Submit a run to `target` as `p`: its leader Job, bundle and status ConfigMaps and job Secret,
 * recorded on the cluster only (the Job and status ConfigMap carry its owner, document and
 * submission time: LEADER_ANNOTATIONS; the status ConfigMap the request as kept, when the front end
 * gave one: recorded-request.ts). Every front end's submission goes through here.
 */
export async function submitToCluster(p: Principal, target: SubmitTarget, settings: KubernetesSettings, req: SubmitRequest, say: SubmitSay): Promise<ClusterSubmission> {
  const file = req.config;
  const ws = settings.workspace;
  const objectStore = settings.objectStore;
  const ns = target.namespace;
  const runId = req.runId ?? newRunId();
  const manifests = await import('../../cluster/leader-manifests.js');
  const runRoot = runRootFor(ws ? ws.mountPath : manifests.LEADER_SCRATCH, runId);
  const remoteOut = req.outdir !== undefined && /^s3:\/\//i.test(req.outdir) ? req.outdir.replace(/\/+$/, '') : undefined;
  const outdir = ws
    ? req.outdir === undefined
      ? path.join(runRoot, 'out')
      : outdirInPods(req.outdir, ws)
    : req.outdir === undefined
      ? objectStoreOutdir(objectStore!.bucket, objectStore!.prefix, runId)
      : remoteOut;
  if (outdir === undefined) {
    throw new UsageError(
      ws
        ? `--outdir ${req.outdir}: a submitted run writes its outputs on the workspace: give a directory under ${ws.localPath} (or ${ws.mountPath}, as pods see it)`
        : `--outdir ${req.outdir}: a submitted run without a workspace (kubernetes.storage: objectStore) writes its outputs to the bucket: give s3://bucket/prefix`,
    );
  }
  const hash = req.document.lastIndexOf('#');
  const plan = planBundle(
    {
      documentFiles: req.documentFiles,
      ...(hash > 0 ? { fragment: req.document.slice(hash + 1) } : {}),
      job: req.inputs,
      ...(ws ? { workspace: ws } : {}),
      dataVolumes: settings.dataVolumes.map((d) => d.mountPath),
      bundleDir: bundleDirOf(runRoot),
      budget: req.bundleLimit,
    },
    nodeFs,
  );
  if (plan.problems.length) {
    throw new UsageError(`cannot submit ${req.document}:\n  ${plan.problems.join('\n  ')}`);
  }
  const leaderStorage = leaderStorageSettings(file?.storage);
  // How the leader's run treats failed tasks: the request over the submitter's strand.yaml.
  const runConfig = resolveConfig(
    { cache: req.run.cache, retries: req.run.retries, onError: req.run.onError, ...(req.run.noContainer ? { noContainer: true } : {}) },
    process.env,
    req.cwd,
    file,
  );
  const submittedAt = new Date().toISOString();
  const leaderPlan: LeaderPlan = {
    version: 2,
    runId,
    document: plan.document,
    files: plan.files.map((f) => ({ key: f.key, path: f.path })),
    dirs: plan.dirs,
    outdir,
    runRoot,
    ...(leaderStorage ? { storage: leaderStorage } : {}),
    kubernetes: leaderKubernetesSettings((file?.kubernetes ?? {}) as Record<string, unknown>, req.overrides, ns),
    publishIntervalMs: 2000,
    cache: runConfig.cacheMode,
    retry: { ...runConfig.retry },
    onError: runConfig.onError,
    ...(runConfig.noContainer ? { noContainer: true } : {}),
    submittedAt,
    submittedBy: p.user.replace(/[^A-Za-z0-9_.-]/g, '-') || 'unknown',
  };
  const bundle = new Map<string, Buffer>(plan.files.map((f) => [f.key, readFileSync(f.source)]));
  bundle.set(manifests.PLAN_KEY, Buffer.from(stringifyJsonExact(leaderPlan, 2)));
  const documentPath = redactUrl(req.documentPath ?? path.resolve(req.cwd, req.document));
  const localOut = ws ? podPathLocally(outdir, ws) : outdir;

  const api = await import('../../cluster/leader-api.js');
  const leader = req.leader;
  if (leader.setupRbac) {
    const made = await api.setupLeaderRbac(target.api, ns, leader.serviceAccount);
    say.info(made.length ? `RBAC in namespace ${ns}: ${made.join(', ')}` : `RBAC in namespace ${ns}: already there`);
  }
  // The key that signs the namespace's task cache entries: made once, never replaced (docs/caching.md).
  if (leaderPlan.cache !== 'off' && (await api.ensureCacheKeySecret(target.api, ns)) === 'made') {
    say.info(`made Secret ${manifests.CACHE_KEY_SECRET} in namespace ${ns}: the key that signs its task cache entries (docs/caching.md)`);
  }
  const A = manifests.LEADER_ANNOTATIONS;
  const kept = req.request ? recordRequest(req.request, { process: req.process, inputs: req.inputs }) : undefined;
  // The job (input URLs may hold credentials, inputs may be secrets) goes in a Secret of its own,
  // never in the bundle ConfigMap: see docs/security.md, "Credentials in URLs".
  const job = await api.submitLeader(
    target.api,
    {
      runId,
      namespace: ns,
      owner: settings.owner,
      image: leader.image,
      ...(leader.imagePullPolicy ? { imagePullPolicy: leader.imagePullPolicy } : {}),
      serviceAccountName: leader.serviceAccount,
      ...(ws ? { workspace: { claimName: ws.claimName, mountPath: ws.mountPath } } : {}),
      ...(objectStore?.credentialsSecret ? { credentialsSecret: objectStore.credentialsSecret } : {}),
      dataVolumes: settings.dataVolumes,
      args: ['leader', '--bundle', '/etc/strand/bundle'],
      cpu: leader.cpu,
      memory: leader.memory,
      restarts: leader.restarts,
      ...(leader.runAsUser !== undefined ? { runAsUser: leader.runAsUser } : {}),
      nodeSelector: settings.nodeSelector,
      tolerations: settings.tolerations,
      imagePullSecrets: settings.imagePullSecrets,
      ...(settings.priorityClassName ? { priorityClassName: settings.priorityClassName } : {}),
      annotations: {
        [A.submittedBy]: p.user,
        [A.document]: documentPath.slice(0, ANNOTATION_MAX),
        ...(req.process.id ? { [A.processId]: req.process.id.slice(0, ANNOTATION_MAX) } : {}),
        [A.submittedAt]: submittedAt,
        [A.outdir]: localOut.slice(0, ANNOTATION_MAX),
        // Bounded by recordRequest (RECORDED_TAGS_MAX): a list reads them from here.
        ...(kept ? { [A.tags]: tagsAnnotation(kept.tags) } : {}),
      },
    },
    bundle,
    '{}',
    Buffer.from(stringifyJsonExact(plan.job, 2)),
    kept ? recordedRequestText(kept) : undefined,
  );
  return {
    run: {
      runId,
      namespace: ns,
      job: job.job,
      image: leader.image,
      serviceAccount: leader.serviceAccount,
      outdir: localOut,
      outdirInPods: outdir,
      packedFiles: plan.files.length,
      packedBytes: plan.packedBytes,
      inPlace: plan.inPlace.length,
    },
    runRoot,
    workDir: ws ? podPathLocally(runRoot, ws) : runRoot,
    documentPath,
    settings,
  };
}

/** The longest text kept in one annotation of the run (all of them together may take 256 KiB). */
const ANNOTATION_MAX = 4096;
