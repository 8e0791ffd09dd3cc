/**
 * The run service of a server that holds no run store (the lab server): every run is a leader Job
 * in its member's namespace (submitted/submit-run.ts), found again from the cluster on every call,
 * so a server restarted finds every run it had, and those submitted meanwhile. Each call acts for
 * the member with their own rights (member-access.ts) in their own namespace; among the runs
 * there, a member sees only those they submitted (recorded on the Job: LEADER_ANNOTATIONS), and
 * another's run is answered as one that does not exist (RunNotFoundError, the same message).
 *
 * A cancel keeps the run's status ConfigMap (it no longer belongs to the Job, and is labelled
 * KEPT_STATUS_LABEL) so the cancelled run is still found; everything else goes with the Job. The
 * request a run was submitted with (SubmitRequest.request), as kept, is in that ConfigMap too
 * (recordedRequest), its tags on the Job and the ConfigMap (a list row's `tags`).
 */
import type { Writable } from 'node:stream';
import type { UserConfigFile } from '../../config/config-file.js';
import { UsageError } from '../../errors.js';
import type { KubeApi } from '../../cluster/kube-api.js';
import type { AttemptWindow, RunSummary } from '../../store/run-store.js';
import type { MemberAccess, MemberCluster } from '../member-access.js';
import type { Principal } from '../principal.js';
import type { LogsOptions, LogsWritten } from '../run-logs.js';
import { RunNotFoundError, summaryOf, watchKey, watchPause, type CancelResult, type RunService, type RunView, type StartedRun, type WatchOptions } from '../run-service.js';
import type { RecordedRequest } from '../submitted/recorded-request.js';
import type { LeaderOptions, SubmitRequest, SubmitSay, SubmittedRun } from '../submitted/submit-run.js';
import { clusterRunView, runMetaOf, type ClusterRunMeta } from './cluster-run-records.js';

export interface ClusterRunServiceOptions {
  /** How each member's namespace is reached, with their rights. */
  access: MemberAccess;
  /**
   * The server's config: its `kubernetes:` section (workspace claim or object store, default
   * image, data volumes...) and `storage:` make every run's settings, whatever a request says.
   * Without one (or without a workspace or object store in it), submit says what is missing.
   */
  config?: UserConfigFile;
  /** Settings over the config's `kubernetes:` section (as strand submit's flags), if any. */
  overrides?: Record<string, unknown>;
  /** The leader pod of every run. */
  leader: LeaderOptions;
  /** Bytes of input files that may travel with a run (over the request's). */
  bundleLimit?: number;
}

export function clusterRunService(opts: ClusterRunServiceOptions): RunService {
  return new ClusterRunService(opts);
}

/** How often a watch reads the run again, by default. */
const WATCH_INTERVAL_MS = 2_000;
/** A run id longer than this names no run (a Kubernetes name holds 253 characters). */
const MAX_RUN_REF = 253;

class ClusterRunService implements RunService {
  constructor(private readonly opts: ClusterRunServiceOptions) {}

  start(): StartedRun {
    throw new UsageError('this server runs nothing in its own process: submit the run (each run is a leader Job in your namespace)');
  }

  async submit(p: Principal, req: SubmitRequest, say: SubmitSay): Promise<SubmittedRun> {
    const member = await this.opts.access.forMember(p);
    const [{ submitSettings, submitToCluster }, { labelValue }] = await Promise.all([import('../submitted/submit-run.js'), import('../../cluster/names.js')]);
    // The server's settings, never the request's: where runs go, their leader, their claims. The
    // owner label is the member's (task Jobs carry it too); the exact name goes in an annotation.
    const { config: _theirs, ...rest } = req;
    void _theirs;
    const own: SubmitRequest = {
      ...rest,
      ...(this.opts.config ? { config: this.opts.config } : {}),
      overrides: { ...this.opts.overrides, namespace: member.namespace, owner: labelValue(p.user) },
      leader: this.opts.leader,
      bundleLimit: this.opts.bundleLimit ?? req.bundleLimit,
    };
    const settings = await submitSettings(own);
    const made = await submitToCluster(p, member, settings, own, say);
    return made.run;
  }

  async list(p: Principal, opts: { limit?: number } = {}): Promise<RunSummary[]> {
    const member = await this.opts.access.forMember(p);
    const metas = (await this.ownRuns(p, member)).slice(0, Math.max(0, opts.limit ?? 20));
    const { leaderStateOf } = await import('../../cluster/leader-api.js');
    const { statusName } = await import('../../cluster/leader-manifests.js');
    return Promise.all(
      metas.map(async ({ meta, job, kept }) => {
        // A list row needs the Job (listed) and the snapshot: no pods, no events.
        const cm =
          kept ??
          (await getOrUndefined(member.api, `get ConfigMap ${statusName(meta.runId)}`, () =>
            member.api.core.readNamespacedConfigMap({ name: statusName(meta.runId), namespace: member.namespace }),
          ));
        const state = leaderStateOf({ ...(job ? { job } : {}), ...(cm ? { statusConfigMap: cm } : {}), pods: [] });
        return summaryOf(clusterRunView(meta, state).run);
      }),
    );
  }

  async get(p: Principal, runRef: string, _opts: { attempts?: AttemptWindow } = {}): Promise<RunView> {
    const member = await this.opts.access.forMember(p);
    const { meta, objects } = await this.visible(p, member, runRef);
    const { leaderStateOf } = await import('../../cluster/leader-api.js');
    return clusterRunView(meta, leaderStateOf(objects));
  }

  async cancel(p: Principal, runRef: string): Promise<CancelResult> {
    const member = await this.opts.access.forMember(p);
    const { meta, objects } = await this.visible(p, member, runRef);
    const { deleteLeader } = await import('../../cluster/leader-api.js');
    const { KEPT_STATUS_LABEL, LEADER_ANNOTATIONS, statusName } = await import('../../cluster/leader-manifests.js');
    const { PatchStrategy, setHeaderOptions } = await import('../../cluster/kubernetes-client.js');
    const ns = member.namespace;
    const cm = objects.statusConfigMap;
    if (cm && !meta.kept) {
      // Keep the run's record: its status ConfigMap no longer belongs to the Job, so it stays.
      const name = statusName(meta.runId);
      await member.api
        .call(`patch ConfigMap ${name}`, () =>
          member.api.core.patchNamespacedConfigMap(
            {
              name,
              namespace: ns,
              body: {
                metadata: {
                  ownerReferences: null,
                  labels: { [KEPT_STATUS_LABEL]: 'true' },
                  annotations: { [LEADER_ANNOTATIONS.cancelledAt]: new Date().toISOString() },
                },
              },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          ),
        )
        .catch(async (err: unknown) => {
          const { isNotFound } = await import('../../cluster/kube-api.js');
          if (!isNotFound(err)) throw err;
        });
    }
    const deleted = await deleteLeader(member.api, ns, meta.runId);
    return {
      runId: meta.runId,
      said: deleted
        ? `cancelled run ${meta.runId}: deleted job/${meta.job} in namespace ${ns}; its pods, task Jobs and bundle go with it`
        : `run ${meta.runId}: job/${meta.job} is already gone from namespace ${ns}`,
    };
  }

  async recordedRequest(p: Principal, runRef: string): Promise<RecordedRequest | undefined> {
    const member = await this.opts.access.forMember(p);
    const [{ readRecordedRequest }, { REQUEST_KEY, leaderJobName, statusName }] = await Promise.all([
      import('../submitted/recorded-request.js'),
      import('../../cluster/leader-manifests.js'),
    ]);
    // The request is kept in the status ConfigMap, which records the run as its Job does (the same
    // annotations, kept after a cancel): read alone, it says whose run it is, with one call.
    if (runRef !== '' && runRef.length <= MAX_RUN_REF) {
      const cm = await getOrUndefined(member.api, `get ConfigMap ${statusName(runRef)}`, () =>
        member.api.core.readNamespacedConfigMap({ name: statusName(runRef), namespace: member.namespace }),
      );
      const meta = cm ? runMetaOf(cm, member.namespace, leaderJobName) : undefined;
      if (meta && meta.runId === runRef && meta.owner === p.user) return readRecordedRequest(cm!.data?.[REQUEST_KEY]);
    }
    // A prefix, or a run whose status ConfigMap is not there: as get finds it (or answers it is not found).
    const { objects } = await this.visible(p, member, runRef);
    return readRecordedRequest(objects.statusConfigMap?.data?.[REQUEST_KEY]);
  }

  async logs(p: Principal, runRef: string, out: Writable, opts: LogsOptions = {}): Promise<LogsWritten> {
    const member = await this.opts.access.forMember(p);
    const { meta } = await this.visible(p, member, runRef);
    const ns = member.namespace;
    const pods = {
      follow: opts.follow ?? false,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.tail !== undefined ? { tailLines: opts.tail } : {}),
    };
    if (opts.step !== undefined) {
      const { writeRunPodLogs } = await import('../../cluster/pod-logs.js');
      const n = await writeRunPodLogs(member.api, ns, meta.runId, out, { ...pods, step: opts.step });
      return { written: n, said: n === 0 ? [`no task pods of step ${opts.step} of run ${meta.runId} left in namespace ${ns}; their logs are in the leader's run store`] : [] };
    }
    const { writeLeaderLogs } = await import('../../cluster/leader-api.js');
    const n = await writeLeaderLogs(member.api, ns, meta.runId, out, pods);
    return { written: n, said: n === 0 ? [`no leader pod of run ${meta.runId} in namespace ${ns} (not started yet, or deleted with its Job)`] : [] };
  }

  async *watch(p: Principal, runRef: string, opts: WatchOptions = {}): AsyncGenerator<RunSummary> {
    let id = runRef;
    let said = '';
    for (let first = true; ; first = false) {
      let view: RunView;
      try {
        view = await this.get(p, id);
      } catch (err) {
        // Gone while watched (its Job and records deleted by hand): the watch ends.
        if (!first && err instanceof RunNotFoundError) return;
        throw err;
      }
      id = view.run.id;
      const run = summaryOf(view.run);
      const key = watchKey(run);
      if (key !== said) {
        said = key;
        yield run;
      }
      if (run.status !== 'running') return;
      if (!(await watchPause(opts.intervalMs ?? WATCH_INTERVAL_MS, opts.signal))) return;
    }
  }

  close(): void {
    // Nothing held: every call reads the cluster.
  }

  /**
   * `p`'s runs in their namespace, newest first: leader Jobs recording `p` as their submitter,
   * and status ConfigMaps kept after a cancel.
   */
  private async ownRuns(p: Principal, member: MemberCluster): Promise<OwnRun[]> {
    const { LABELS, MANAGED_BY, labelValue } = await import('../../cluster/names.js');
    const { KEPT_STATUS_LABEL, LEADER_LABEL, leaderJobName } = await import('../../cluster/leader-manifests.js');
    const ns = member.namespace;
    const mine = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.owner}=${labelValue(p.user)}`;
    const [jobs, kept] = await Promise.all([
      member.api.call(`list leader Jobs in namespace ${ns}`, () => member.api.batch.listNamespacedJob({ namespace: ns, labelSelector: `${mine},${LEADER_LABEL}` })),
      member.api.call(`list kept run records in namespace ${ns}`, () => member.api.core.listNamespacedConfigMap({ namespace: ns, labelSelector: `${mine},${KEPT_STATUS_LABEL}=true` })),
    ]);
    const found = new Map<string, OwnRun>();
    for (const job of jobs.items) {
      const meta = runMetaOf(job, ns, leaderJobName);
      if (meta && meta.owner === p.user) found.set(meta.runId, { meta, job });
    }
    for (const cm of kept.items) {
      const meta = runMetaOf(cm, ns, leaderJobName);
      if (meta && meta.owner === p.user && !found.has(meta.runId)) found.set(meta.runId, { meta, kept: cm });
    }
    return [...found.values()].sort((a, b) => b.meta.submittedAt.localeCompare(a.meta.submittedAt) || b.meta.runId.localeCompare(a.meta.runId));
  }

  /**
   * The run `runRef` names (its id, or a unique prefix of one of `p`'s), with its objects, if `p`
   * submitted it; the same RunNotFoundError whether it is absent or another's.
   */
  private async visible(p: Principal, member: MemberCluster, runRef: string): Promise<{ meta: ClusterRunMeta; objects: LeaderObjectsOf }> {
    if (runRef === '' || runRef.length > MAX_RUN_REF) throw new RunNotFoundError(runRef);
    const exact = await this.read(p, member, runRef);
    if (exact) return exact;
    const candidates = (await this.ownRuns(p, member)).filter((r) => r.meta.runId.startsWith(runRef));
    if (candidates.length === 1) {
      const one = await this.read(p, member, candidates[0]!.meta.runId);
      if (one) return one;
    }
    throw new RunNotFoundError(runRef);
  }

  private async read(p: Principal, member: MemberCluster, runId: string): Promise<{ meta: ClusterRunMeta; objects: LeaderObjectsOf } | undefined> {
    const { readLeaderObjects } = await import('../../cluster/leader-api.js');
    const { leaderJobName } = await import('../../cluster/leader-manifests.js');
    const objects = await readLeaderObjects(member.api, member.namespace, runId);
    // The Job records the run; once it is deleted, its kept status ConfigMap does.
    const recorded = objects.job ?? objects.statusConfigMap;
    const meta = recorded ? runMetaOf(recorded, member.namespace, leaderJobName) : undefined;
    if (!meta || meta.runId !== runId || meta.owner !== p.user) return undefined;
    if (objects.job && objects.statusConfigMap) {
      // Whether the record was kept is said by the ConfigMap.
      const cmMeta = runMetaOf(objects.statusConfigMap, member.namespace, leaderJobName);
      if (cmMeta?.kept) meta.kept = true;
      if (cmMeta?.cancelledAt) meta.cancelledAt = cmMeta.cancelledAt;
    }
    return { meta, objects };
  }
}

type LeaderObjectsOf = Awaited<ReturnType<typeof import('../../cluster/leader-api.js').readLeaderObjects>>;
/** One of a member's runs as listed: its record, and its Job, or its kept status ConfigMap. */
interface OwnRun {
  meta: ClusterRunMeta;
  job?: NonNullable<LeaderObjectsOf['job']>;
  kept?: NonNullable<LeaderObjectsOf['statusConfigMap']>;
}

async function getOrUndefined<T>(api: KubeApi, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  const { isNotFound } = await import('../../cluster/kube-api.js');
  return api.call(what, fn).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
}
