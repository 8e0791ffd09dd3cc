/**
 * The cluster side of a submitted run: create the leader's objects (strand submit), read the state
 * it publishes and its pods (strand show/list/logs), delete it (strand cancel), and, in the leader,
 * publish that state at a bounded rate. The objects themselves are built in leader-manifests.ts.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, type Writable } from 'node:stream';
import type { CoreV1Event, V1ConfigMap, V1Job, V1Pod } from '@kubernetes/client-node';
import { Log, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from './kubernetes-client.js';
import { UsageError } from '../errors.js';
import { isConflict, isForbidden, isNotFound, type KubeApi } from './kube-api.js';
import { rbacObjects } from './rbac.js';
import {
  BUNDLE_MAX_BYTES,
  CACHE_KEY_SECRET,
  LEADER_CONTAINER,
  STATUS_KEY,
  buildBundleConfigMap,
  buildCacheKeySecret,
  buildJobSecret,
  buildLeaderJob,
  bundleName,
  buildStatusConfigMap,
  configMapPayloadBytes,
  ownedByJob,
  leaderJobName,
  leaderSelector,
  statusName,
  type LeaderSpec,
} from './leader-manifests.js';

/** The Role and RoleBinding `--setup-rbac` makes for a leader's ServiceAccount. */
export const leaderRbacName = (serviceAccount: string): string => `strand-submit-${serviceAccount}`;

/**
 * The ServiceAccount and the Role/RoleBinding `strand rbac` prints, created when missing (an
 * existing Role is updated to exactly those rules). Needs the right to manage RBAC in the namespace.
 */
export async function setupLeaderRbac(api: KubeApi, namespace: string, serviceAccount: string): Promise<string[]> {
  const rbac = api.conn.kc.makeApiClient(RbacAuthorizationV1Api);
  const made: string[] = [];
  try {
    await api.call(`create ServiceAccount ${serviceAccount} in namespace ${namespace}`, () =>
      api.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount, namespace } } }),
    );
    made.push(`serviceaccount/${serviceAccount}`);
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  // A name of its own: a Role "strand" bound to people (strand rbac --user) stays as it is.
  const { role, binding } = rbacObjects({ namespace, serviceAccounts: [serviceAccount], name: leaderRbacName(serviceAccount) });
  const roleName = role.metadata!.name!;
  try {
    await api.call(`create Role ${roleName} in namespace ${namespace}`, () => rbac.createNamespacedRole({ namespace, body: role }));
    made.push(`role/${roleName}`);
  } catch (err) {
    if (!isConflict(err)) throw err;
    await api.call(`replace Role ${roleName} in namespace ${namespace}`, () => rbac.replaceNamespacedRole({ name: roleName, namespace, body: role }));
    made.push(`role/${roleName} (rules updated)`);
  }
  try {
    await api.call(`create RoleBinding ${roleName} in namespace ${namespace}`, () => rbac.createNamespacedRoleBinding({ namespace, body: binding }));
    made.push(`rolebinding/${roleName}`);
  } catch (err) {
    if (!isConflict(err)) throw err;
    await api.call(`replace RoleBinding ${roleName} in namespace ${namespace}`, () => rbac.replaceNamespacedRoleBinding({ name: roleName, namespace, body: binding }));
  }
  return made;
}

/**
 * Create the bundle and status ConfigMaps, the job Secret (owned by the bundle ConfigMap), then the
 * leader Job, then make the Job the ConfigMaps' owner. In this order the leader pod finds its
 * bundle and job at once (a pod whose ConfigMap or Secret volume is missing waits for the
 * kubelet's mount retries, seconds each); with the owner set afterwards, deleting the Job still
 * removes them all. `jobJson` is the job with its real input URLs: it goes in the Secret only.
 * `requestJson`, the request the run was submitted with as a front end kept it (redacted), goes in
 * the status ConfigMap (REQUEST_KEY).
 */
export async function submitLeader(
  api: KubeApi,
  spec: LeaderSpec,
  bundle: ReadonlyMap<string, Buffer>,
  statusJson: string,
  jobJson: Buffer,
  requestJson?: string,
): Promise<{ job: string; uid: string }> {
  const ns = spec.namespace;
  const body = buildLeaderJob(spec);
  const name = body.metadata!.name!;
  const cms = [buildBundleConfigMap(spec, bundle), buildStatusConfigMap(spec, statusJson, undefined, requestJson)];
  const bytes = configMapPayloadBytes(cms[0]!);
  if (bytes > BUNDLE_MAX_BYTES) {
    throw new UsageError(`the run's bundle takes ${bytes} bytes, more than a ConfigMap holds (${BUNDLE_MAX_BYTES}); put large inputs on the workspace`);
  }
  const existing = await api
    .call(`get Job ${name}`, () => api.batch.readNamespacedJob({ name, namespace: ns }))
    .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
  if (existing) throw new UsageError(`run ${spec.runId} was already submitted to namespace ${ns} (Job ${name} exists); choose another --run-id`);
  const made: string[] = [];
  // Deleting the ConfigMaps also removes the job Secret (the garbage collector, by its owner).
  const undo = async () => {
    for (const n of made) await api.call(`delete ConfigMap ${n}`, () => api.core.deleteNamespacedConfigMap({ name: n, namespace: ns })).catch(() => undefined);
  };
  try {
    let bundleOwner: { name: string; uid: string } | undefined;
    for (const cm of cms) {
      const n = cm.metadata!.name!;
      let stored;
      try {
        stored = await api.call(`create ConfigMap ${n} in namespace ${ns}`, () => api.core.createNamespacedConfigMap({ namespace: ns, body: cm }));
      } catch (err) {
        if (!isConflict(err)) throw err;
        // Left by an earlier submission of this id that failed half-way (no Job): take it over.
        stored = await api.call(`replace ConfigMap ${n} in namespace ${ns}`, () => api.core.replaceNamespacedConfigMap({ name: n, namespace: ns, body: cm }));
      }
      made.push(n);
      if (n === bundleName(spec.runId) && stored.metadata?.uid) bundleOwner = { name: n, uid: stored.metadata.uid };
    }
    const secret = buildJobSecret(spec, jobJson, bundleOwner);
    const sn = secret.metadata!.name!;
    try {
      await api.call(`create Secret ${sn} in namespace ${ns}`, () => api.core.createNamespacedSecret({ namespace: ns, body: secret }));
    } catch (err) {
      if (isForbidden(err)) throw secretsForbidden(ns, sn, "the run's job (its inputs)");
      if (!isConflict(err)) throw err;
      throw new UsageError(
        `run ${spec.runId}: Secret ${sn} is left in namespace ${ns} by an earlier submission of this id; it goes with that submission's ConfigMap ` +
          `(or kubectl -n ${ns} delete secret ${sn}); or choose another --run-id`,
      );
    }
  } catch (err) {
    await undo();
    throw err;
  }
  let job: V1Job;
  try {
    job = await api.call(`create Job ${name} in namespace ${ns}`, () => api.batch.createNamespacedJob({ namespace: ns, body }));
  } catch (err) {
    await undo();
    if (isConflict(err)) throw new UsageError(`run ${spec.runId} was already submitted to namespace ${ns} (Job ${name} exists); choose another --run-id`);
    throw err;
  }
  const uid = job.metadata?.uid;
  if (!uid) throw new Error(`Job ${name} has no uid`);
  try {
    for (const n of made) {
      await api.call(`patch ConfigMap ${n}`, () =>
        api.core.patchNamespacedConfigMap(
          { name: n, namespace: ns, body: { metadata: { ownerReferences: [ownedByJob({ name, uid })] } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
    }
  } catch (err) {
    await deleteLeader(api, ns, spec.runId).catch(() => undefined);
    await undo();
    throw err;
  }
  return { job: name, uid };
}

function secretsForbidden(namespace: string, name: string, what: string): UsageError {
  return new UsageError(
    `strand submit may not create Secret ${name} (${what}) in namespace ${namespace}: it needs create on secrets there, which ` +
      `the Role of \`strand rbac --namespace ${namespace} --user <you>\` grants (docs/leader-in-cluster.md)`,
  );
}

/**
 * Make the namespace's cache key Secret (CACHE_KEY_SECRET) with 32 random bytes if it is not there.
 * An existing one is never read, changed or replaced: a create that finds it (made by an
 * administrator, an earlier submit, or a concurrent one: 409 AlreadyExists) is the answer
 * 'there'. Needs only `create` on Secrets.
 */
export async function ensureCacheKeySecret(api: KubeApi, namespace: string): Promise<'made' | 'there'> {
  try {
    await api.call(`create Secret ${CACHE_KEY_SECRET} in namespace ${namespace}`, () =>
      api.core.createNamespacedSecret({ namespace, body: buildCacheKeySecret(namespace, randomBytes(32)) }),
    );
    return 'made';
  } catch (err) {
    if (isConflict(err)) return 'there';
    if (isForbidden(err)) throw secretsForbidden(namespace, CACHE_KEY_SECRET, 'the key that signs the task cache');
    throw err;
  }
}

export interface LeaderState {
  /** The published state (JSON text), if the status ConfigMap is there. */
  statusJson?: string;
  job?: {
    name: string;
    active: number;
    succeeded: number;
    failed: number;
    complete: boolean;
    failedCondition?: string;
    warning?: string;
    /** The Job is being deleted (a cancel: it has a deletionTimestamp). */
    deleting?: boolean;
  };
  /** Leader pods, oldest first. */
  pods: Array<{ name: string; phase: string; reason?: string; startedAt?: string }>;
}

/** The objects a submitted run's state is read from, as the API server gave them. */
export interface LeaderObjects {
  statusConfigMap?: V1ConfigMap;
  job?: V1Job;
  /** Leader pods, oldest first. */
  pods: V1Pod[];
  /** The leader Job's events; undefined when they could not be read. */
  events?: CoreV1Event[];
}

export async function readLeaderObjects(api: KubeApi, namespace: string, runId: string): Promise<LeaderObjects> {
  const [cm, job, pods, events] = await Promise.all([
    api
      .call(`get ConfigMap ${statusName(runId)}`, () => api.core.readNamespacedConfigMap({ name: statusName(runId), namespace }))
      .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err))),
    api
      .call(`get Job ${leaderJobName(runId)}`, () => api.batch.readNamespacedJob({ name: leaderJobName(runId), namespace }))
      .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err))),
    leaderPods(api, namespace, runId),
    // Why the Job cannot make its pod (e.g. "serviceaccount "strand" not found"): its Warning events.
    api
      .call(`list events of Job ${leaderJobName(runId)}`, () =>
        api.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Job,involvedObject.name=${leaderJobName(runId)}` }),
      )
      .catch(() => undefined),
  ]);
  return { ...(cm ? { statusConfigMap: cm } : {}), ...(job ? { job } : {}), pods, ...(events ? { events: events.items } : {}) };
}

export async function readLeaderState(api: KubeApi, namespace: string, runId: string): Promise<LeaderState> {
  return leaderStateOf(await readLeaderObjects(api, namespace, runId));
}

/** What the leader's objects say of its run: the published state, the Job's and its pods'. */
export function leaderStateOf(o: LeaderObjects): LeaderState {
  const { statusConfigMap: cm, job, pods } = o;
  const warning = (o.events ?? [])
    .filter((e) => e.type === 'Warning')
    .sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')))
    .pop();
  const conditions = job?.status?.conditions ?? [];
  const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
  return {
    ...(cm?.data?.[STATUS_KEY] !== undefined ? { statusJson: cm.data[STATUS_KEY] } : {}),
    ...(job
      ? {
          job: {
            name: job.metadata?.name ?? '',
            active: job.status?.active ?? 0,
            succeeded: job.status?.succeeded ?? 0,
            failed: job.status?.failed ?? 0,
            complete: conditions.some((c) => c.type === 'Complete' && c.status === 'True'),
            ...(failed ? { failedCondition: `${failed.reason ?? 'Failed'}: ${failed.message ?? ''}`.trim() } : {}),
            ...(warning && (job.status?.active ?? 0) === 0 ? { warning: `${warning.reason ?? 'Warning'}: ${warning.message ?? ''}`.trim() } : {}),
            ...(job.metadata?.deletionTimestamp ? { deleting: true } : {}),
          },
        }
      : {}),
    pods: pods.map((p) => {
      const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
      const term = p.status?.containerStatuses?.[0]?.state?.terminated;
      const reason = waiting?.reason ?? term?.reason ?? p.status?.reason;
      return {
        name: p.metadata?.name ?? '',
        phase: p.metadata?.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? 'Unknown'),
        ...(reason ? { reason } : {}),
        ...(p.status?.startTime ? { startedAt: new Date(p.status.startTime).toISOString() } : {}),
      };
    }),
  };
}

export async function leaderPods(api: KubeApi, namespace: string, runId: string): Promise<V1Pod[]> {
  const list = await api.call(`list leader pods of run ${runId}`, () => api.core.listNamespacedPod({ namespace, labelSelector: leaderSelector(runId) }));
  return list.items.sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')));
}

/**
 * Cancel a submitted run: delete its leader Job with foreground propagation. The garbage collector
 * then removes the leader pod, the bundle and status ConfigMaps and the run anchor, which takes
 * the task Jobs and their pods with it. Resolves false when there was no such Job.
 */
export async function deleteLeader(api: KubeApi, namespace: string, runId: string): Promise<boolean> {
  try {
    await api.call(`delete Job ${leaderJobName(runId)}`, () =>
      api.batch.deleteNamespacedJob({ name: leaderJobName(runId), namespace, propagationPolicy: 'Foreground' }),
    );
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * The leader pods' logs into `out`: each pod under a header, oldest first. With follow, the newest
 * pod is followed; when it ends while the Job goes on (it restarts a dead leader), the next one is.
 */
export async function writeLeaderLogs(
  api: KubeApi,
  namespace: string,
  runId: string,
  out: Writable,
  opts: { follow?: boolean; tailLines?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const log = new Log(api.conn.kc);
  const shown = new Set<string>();
  const one = async (pod: string, follow: boolean) => {
    out.write(`==> leader (pod ${pod}) <==\n`);
    const sink = new PassThrough();
    sink.on('data', (d: Buffer) => out.write(d));
    const ended = new Promise<void>((resolve) => {
      sink.on('finish', resolve);
      sink.on('close', resolve);
    });
    try {
      const ctl = await log.log(namespace, pod, LEADER_CONTAINER, sink, { follow, ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}) });
      // Stopped (Ctrl-C): end this stream now, whatever the server does with the aborted request.
      const stop = () => {
        ctl.abort();
        sink.end();
      };
      if (opts.signal?.aborted) stop();
      else opts.signal?.addEventListener('abort', stop, { once: true });
      await ended;
      opts.signal?.removeEventListener('abort', stop);
    } catch (err) {
      // The API's answer in one line (the client's message is a dump of the whole response).
      const body = (err as { body?: unknown }).body;
      const why = typeof body === 'string' ? ((JSON.parse(body) as { message?: string }).message ?? body) : (err as Error).message.split('\n')[0];
      out.write(`(no log: ${why})\n`);
    }
  };
  for (;;) {
    const pods = (await leaderPods(api, namespace, runId)).map((p) => ({ name: p.metadata?.name ?? '', phase: p.status?.phase }));
    // Following: a pod not started yet (a replacement leader waiting to be scheduled, its image
    // pulled) has no log to follow yet: wait for it rather than ask now and get a 400.
    const fresh = pods.filter((p) => !shown.has(p.name) && !(opts.follow && p.phase === 'Pending'));
    for (const [i, p] of fresh.entries()) {
      shown.add(p.name);
      const last = i === fresh.length - 1;
      await one(p.name, (opts.follow ?? false) && last && p.phase !== 'Succeeded' && p.phase !== 'Failed');
    }
    if (!opts.follow || opts.signal?.aborted) return shown.size;
    const state = await readLeaderState(api, namespace, runId);
    if (!state.job || state.job.complete || state.job.failedCondition) return shown.size;
    // The Job is still going: wait for its next pod.
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * In the leader: replace the published state, at most once per `minIntervalMs` (the last state
 * given always gets out: `flush()` sends it at once). Failures are reported, never thrown: the run
 * goes on without its status.
 */
export class StatusPublisher {
  private pending: string | undefined;
  private lastSent = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  /** How many patches were sent (for tests and the final report). */
  sent = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly runId: string,
    private readonly minIntervalMs: number,
    private readonly warn: (msg: string) => void,
  ) {}

  publish(statusJson: string): void {
    this.pending = statusJson;
    if (this.timer) return;
    const wait = Math.max(0, this.lastSent + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.send();
    }, wait);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.send();
  }

  private send(): Promise<void> {
    this.inFlight = this.inFlight.then(async () => {
      const text = this.pending;
      if (text === undefined) return;
      this.pending = undefined;
      this.lastSent = Date.now();
      const name = statusName(this.runId);
      try {
        await this.api.call(`patch ConfigMap ${name}`, () =>
          this.api.core.patchNamespacedConfigMap({ name, namespace: this.namespace, body: { data: { [STATUS_KEY]: text } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
        );
        this.sent++;
      } catch (err) {
        this.warn(`could not publish the run's state to ConfigMap ${name}: ${(err as Error).message}`);
      }
    });
    return this.inFlight;
  }
}
