/**
 * The Kubernetes executor: every task is one batch/v1 Job in the user's namespace.
 *
 * Per run: one anchor ConfigMap that owns every Job of the run (deleting it deletes the run), one
 * label-selected watch over the run's Jobs and Pods, one admission queue (max in flight, quota).
 * Per task: make inputs visible (workspace, data volumes, or a copy), build the Job (pure), create
 * it, follow it through the watch, turn what happened into a TaskResult. OOM-killed tasks retry
 * with doubled memory; evicted, deleted or lost pods retry; quota refusals wait and retry.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import type { Executor, NativeIds, TaskReason, TaskResult, TaskSpec, TaskUsage } from '../executor.js';
import { openConfined } from '../../staging/confined-read.js';
import { readLogTail } from '../local/log-tail.js';
import { WORKDIR_ANNOTATION, adoptedWorkDir, takeOverWorkDir } from './adoption.js';
import { Admission, capacityFromQuotas, sharedRoom, type Capacity } from './admission.js';
import { capacityOfNodes, neverFitsNodes, nodeRooms, tighter, type NodeRoom } from './capacity.js';
import { buildAnchor } from './anchor.js';
import { jobOfEvent } from './cluster-events.js';
import { diagnoseJob, pullFailure } from './diagnose.js';
import { JobFollower, type Outcome } from './job-follower.js';
import { InputStager } from './input-stager.js';
import { buildTaskJob, InvisiblePathError, TASK_CONTAINER } from './job-builder.js';
import type { PodLayout } from './object-store-mode/layout.js';
import type { ObjectStoreMode, ObjectStoreRun } from './object-store-mode/mode.js';
import type { JobTraffic } from './object-store-mode/run-files.js';
import { KubeApi, isConflict, isNotFound, isQuotaExceeded } from '../../cluster/kube-api.js';
import { anchorName, jobName, runSelector } from '../../cluster/names.js';
import { PodUsagePoller } from './pod-usage.js';
import { RunWatch } from './run-watch.js';
import type { KubernetesSettings } from './settings.js';
import { demandOf, jobOfPod, lastLines, sleep, waitUntil } from './task-helpers.js';

/** How many times a task is retried for reasons that are not its own (eviction, lost node, OOM). */
export const MAX_INFRA_RETRIES = 3;
const LOG_TAIL_LINES = 20;

export interface KubernetesExecutorHooks {
  /** Status news about a task that is not an event of the engine (e.g. "unschedulable: ..."). */
  note?(taskId: string, message: string): void;
  /** Diagnostics (retries, watch reconnects). */
  warn?(message: string): void;
  /** News about the run that is not a problem (e.g. pod usage not measured on this cluster). */
  info?(message: string): void;
  /** Milliseconds to wait before retrying a create refused by a ResourceQuota (default 2000). */
  quotaRetryMs?: number;
}

interface RunState {
  runId: string;
  anchor: { name: string; uid: string };
  watch: RunWatch;
  followers: Map<string, JobFollower>;
  /** Workspace mode: inputs made visible on the shared claim. */
  stager?: InputStager;
  /** Object-store mode: the run's files in the bucket. */
  files?: ObjectStoreRun;
  /** Finished Jobs deleted to make room under a count/jobs.batch quota. */
  reaped: Set<string>;
  /** The run's pod metrics (metrics.k8s.io), read while tasks run; absent with usageIntervalSeconds 0. */
  usage?: PodUsagePoller;
}

export class KubernetesExecutor implements Executor {
  readonly name = 'kubernetes';
  /** What a task without an image of its own runs in (job-builder.ts), so part of its cache key. */
  get defaultImage(): string {
    return this.settings.defaultImage;
  }
  readonly isolated = true;
  get slots(): number {
    return this.settings.maxParallel;
  }
  readonly admission: Admission;
  private readonly runs = new Map<string, Promise<RunState>>();
  private readonly tasks = new Set<Promise<unknown>>();
  /**
   * Tasks enter the admission queue in the order run() was called, whatever their preparation
   * (input staging, reading the task's directory) took: each waits until the one before it is in.
   */
  private lastInQueue: Promise<void> = Promise.resolve();
  private closed = false;
  private shutdownDone: Promise<void> | undefined;
  /** Tasks that ended cancelled (their pods may still be terminating when shutdown comes). */
  private cancelledTasks = 0;
  /** Aborted by shutdown(): stops every task still running or queued. */
  private readonly stopAll = new AbortController();
  /** The nodes' allocatable, when Strand may read nodes (undefined: it may not). */
  private rooms: NodeRoom[] | undefined;
  /** Jobs created, adopted, and the OOM/eviction retries made, for the run's summary. */
  readonly stats: { created: number; adopted: number; retries: number; quotaWaits: number; transfers?: JobTraffic[] } = { created: 0, adopted: 0, retries: 0, quotaWaits: 0 };

  constructor(
    readonly settings: KubernetesSettings,
    readonly api: KubeApi,
    private readonly hooks: KubernetesExecutorHooks = {},
    /** `kubernetes.storage: objectStore`: pods get their files from a bucket (object-store-mode/). */
    private readonly objectStore?: ObjectStoreMode,
  ) {
    // The namespace's quota room is shared with every other run of this process (admission.ts).
    this.admission = new Admission(settings.maxParallel, {}, sharedRoom(api.conn.server, api.conn.namespace));
  }

  get namespace(): string {
    return this.api.conn.namespace;
  }

  get detail(): Record<string, unknown> {
    // A submitted run's leader Job: the run lives as long as it does (executor/run-marker.ts).
    const leader = this.settings.runOwner?.kind === 'Job' ? { leaderJob: this.settings.runOwner.name } : {};
    return { context: this.api.conn.context, namespace: this.namespace, server: this.api.conn.server, owner: this.settings.owner, ...leader };
  }

  /** Every task pod mounts the workspace read-write (object-store mode has none: pods see a bucket). */
  get sharedRoot(): string | undefined {
    return this.objectStore ? undefined : this.settings.workspace?.localPath;
  }

  inputCopiesOf(runId: string): string[] {
    if (this.objectStore) return this.objectStore.inputCopies();
    return this.settings.workspace ? [path.join(this.settings.workspace.localPath, '.strand-staged', runId)] : [];
  }

  /** Object-store mode: pods read `s3://` inputs in the run's own bucket where they are (object-store-mode/in-place.ts). */
  readsInPlace(location: { bucket: string; key: string }): boolean {
    return this.objectStore?.readsInPlace(location) ?? false;
  }

  /** Task directories must live in the workspace so pods see them. */
  get workRoot(): string | undefined {
    if (this.objectStore) return this.objectStore.workRoot;
    return this.settings.workspace ? path.join(this.settings.workspace.localPath, 'runs') : undefined;
  }

  run(spec: TaskSpec, signal: AbortSignal, onStarted?: () => void, onNote?: (message: string) => void): Promise<TaskResult> {
    if (this.closed) return Promise.resolve(result('cancelled', null, `task ${spec.taskId} was not run: the executor is shut down`));
    const both = AbortSignal.any([signal, this.stopAll.signal]);
    const place: Place = {};
    const before = this.lastInQueue;
    let entered!: () => void;
    this.lastInQueue = new Promise<void>((r) => (entered = r));
    const turn = { before, entered };
    const p = this.runTask(spec, both, onStarted, onNote, place, turn)
      .catch((err: unknown) => result(both.aborted ? 'cancelled' : 'failed', null, `${spec.stepPath}: ${(err as Error).message ?? String(err)}`))
      .then((r) => {
        // A cancelled task's Job was deleted, but its pod may take its grace period to go: shutdown waits for it.
        if (r.reason === 'cancelled') this.cancelledTasks++;
        return { ...r, ...(place.native ? { native: place.native } : {}), ...(place.usage ? { usage: place.usage } : {}) };
      })
      .finally(() => entered());
    this.tasks.add(p);
    void p.finally(() => this.tasks.delete(p));
    return p;
  }

  private async runTask(
    spec: TaskSpec,
    signal: AbortSignal,
    onStarted?: () => void,
    onNote?: (message: string) => void,
    place: Place = {},
    turn: { before: Promise<void>; entered: () => void } = { before: Promise.resolve(), entered: () => undefined },
  ): Promise<TaskResult> {
    // News about this task goes to the engine (run status, progress) and to the hooks.
    const note = (msg: string) => {
      onNote?.(msg);
      this.hooks.note?.(spec.taskId, msg);
    };
    const run = await this.ensureRun(spec.runId);
    const shared = run.stager
      ? { paths: await run.stager.pathMapFor(spec.mounts), links: await run.stager.resolveLinks(spec.mounts), linkedFromWorkDir: await run.stager.linkTargetsIn(spec.workDir) }
      : undefined;
    let memoryMiB = spec.resources.ramMiB;
    let retries = 0;
    let started = false;
    const startOnce = () => {
      if (!started) {
        started = true;
        onStarted?.();
      }
    };
    for (let k = 1; ; k++) {
      if (signal.aborted) return result('cancelled', null, `${spec.stepPath}: cancelled`);
      const attempt = (spec.attempt - 1) * 10 + k;
      let job: V1Job;
      let layout: PodLayout | undefined;
      try {
        if (this.objectStore && run.files) {
          const name = jobName(spec.runId, spec.taskId, attempt);
          ({ job, layout } = this.objectStore.build(spec, { namespace: this.namespace, anchor: run.anchor, attempt, memoryMiB, job: name }));
        } else {
          job = buildTaskJob(spec, {
            settings: this.settings,
            namespace: this.namespace,
            anchor: run.anchor,
            paths: shared!.paths,
            memoryMiB,
            attempt,
            logDir: podLogDir(spec, attempt),
            links: shared!.links,
            linkedFromWorkDir: shared!.linkedFromWorkDir,
          });
        }
      } catch (err) {
        if (err instanceof InvisiblePathError) return result('failed', null, `${spec.stepPath}: ${err.message}`);
        throw err;
      }
      job.metadata!.annotations = { ...job.metadata!.annotations, [WORKDIR_ANNOTATION]: spec.workDir };
      const demand = demandOf(job, spec, memoryMiB);
      const nowhere = this.rooms && neverFitsNodes(demand, this.rooms);
      if (nowhere) return result('unschedulable', null, `${spec.stepPath}: cannot run on this cluster: ${nowhere}`);
      const never = this.admission.neverFits(demand);
      if (never) return result('unschedulable', null, `${spec.stepPath}: cannot run in namespace ${this.namespace}: ${never}`);
      // The first time: after the task run() was called for before this one is in the queue.
      if (k === 1) await turn.before;
      const admitted = this.admission.acquire(demand, signal);
      turn.entered();
      const release = await admitted;
      let outcome: Outcome;
      try {
        const name = job.metadata!.name!;
        // Object-store mode: the pod's files go to the bucket once it is admitted (in order).
        const unsent = layout && run.files ? await run.files.prepare(spec, layout, name, signal).then(() => undefined, (err: unknown) => err as Error) : undefined;
        if (unsent) return signal.aborted ? result('cancelled', null, `${spec.stepPath}: cancelled`) : result('failed', null, `${spec.stepPath}: ${unsent.message}`);
        const follower = new JobFollower(
          name,
          this.settings.pendingTimeoutSeconds !== undefined ? this.settings.pendingTimeoutSeconds * 1000 : undefined,
          startOnce,
          (msg) => note(`${spec.stepPath}: ${msg}`),
          this.rooms !== undefined,
        );
        run.followers.set(name, follower);
        const onAbort = () => follower.cancel();
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          const earlierDir = await this.createOrAdopt(run, job, spec, signal, note);
          this.replayCache(run, name, follower);
          outcome = await follower.done;
          place.native = { job: name, ...(outcome.podName ? { pod: outcome.podName } : {}), ...(follower.nodeName ? { node: follower.nodeName } : {}) };
          // The pod of the attempt that counts (an OOM retry's pod replaces the usage of the one before).
          const usage = outcome.podName ? run.usage?.book.take(outcome.podName) : undefined;
          if (usage) place.usage = usage;
          else delete place.usage;
          if (earlierDir && !signal.aborted) await takeOverWorkDir(earlierDir, spec.workDir);
        } finally {
          signal.removeEventListener('abort', onAbort);
          run.followers.delete(name);
        }
        if (signal.aborted) {
          // A delete that failed after its retries is said: the run's end (its anchor) removes the Job then.
          const kept = await this.deleteJob(name).then(
            () => undefined,
            (err: unknown) => (err as Error).message,
          );
          if (kept !== undefined) this.hooks.warn?.(`${spec.stepPath}: cancelled, but Job ${name} could not be deleted now (${kept}); it goes with the run's anchor when the run ends`);
          return result('cancelled', null, `${spec.stepPath}: cancelled (Job ${name} ${kept === undefined ? 'deleted' : 'not deleted yet'})`);
        }
        if (outcome.stillActive) {
          // The Job is still active: delete it (before its slot is released) so that its pod is
          // not scheduled later and runs a task already reported as failed. Its pod never ran: remove
          // it at once (a kubelet can keep a pod whose image it cannot pull Terminating for minutes).
          await this.deleteJob(name).catch(() => undefined);
          if (outcome.podName && !started) await this.deletePodNow(outcome.podName);
        }
      } finally {
        release();
      }

      const v = this.objectStore && outcome.verdict.state === 'finished' ? this.objectStore.verdict(outcome.verdict, outcome.pod) : outcome.verdict;
      const podName = outcome.podName ?? '?';
      const where = `${spec.stepPath}: pod ${podName} (Job ${job.metadata!.name!})`;
      if (v.state === 'image_error') {
        return result('image_unavailable', null, `${where}: cannot pull image "${v.image}" (${v.reason}): ${pullFailure(v.message)}`);
      }
      if (v.state === 'gone') {
        if (retries < MAX_INFRA_RETRIES) {
          retries++;
          this.stats.retries++;
          note(`${where}: ${v.message}; retrying (${retries}/${MAX_INFRA_RETRIES})`);
          continue;
        }
        return result('lost', null, `${where}: ${v.message}`);
      }
      if (v.state !== 'finished') return result('failed', null, `${where}: ended in an unexpected state ${v.state}`);
      if (v.reason === 'oom_killed') {
        // Double the memory, up to the --max-memory cap itself (a last try at the cap before giving up).
        const next = Math.min(memoryMiB * 2, this.settings.maxMemoryMiB);
        if (next > memoryMiB && retries < MAX_INFRA_RETRIES + 3) {
          retries++;
          this.stats.retries++;
          const capped = next < memoryMiB * 2 ? ' (the --max-memory cap)' : '';
          note(`${where}: OOMKilled with a ${Math.ceil(memoryMiB)}Mi memory limit; retrying with ${Math.ceil(next)}Mi${capped}`);
          memoryMiB = next;
          continue;
        }
        const tail = await this.logTail(podName);
        return result('oom_killed', null, `${where}: OOMKilled at ${Math.ceil(memoryMiB)}Mi, the --max-memory cap (${Math.ceil(this.settings.maxMemoryMiB)}Mi); raise --max-memory or the tool's ramMin`, tail);
      }
      if ((v.reason === 'evicted' || v.reason === 'lost') && retries < MAX_INFRA_RETRIES) {
        retries++;
        this.stats.retries++;
        note(`${where}: ${v.reason}: ${v.message}; retrying (${retries}/${MAX_INFRA_RETRIES})`);
        continue;
      }
      let tail: string | undefined;
      if (layout && run.files) {
        // The tool exited: bring its working directory back from the bucket (any exit code: the engine judges it).
        if (v.reason === 'completed') {
          try {
            await run.files.collect(spec, layout, job.metadata!.name!, signal);
          } catch (err) {
            if (signal.aborted) return result('cancelled', null, `${spec.stepPath}: cancelled`);
            return result('failed', null, `${where}: ${(err as Error).message}`, await this.logTail(podName));
          }
          tail = await readLogTail(this.stderrFile(spec), this.stderrRoot(spec));
        } else tail = await this.logTail(podName);
      } else tail = await this.collectLogs(spec, attempt);
      if (v.reason === 'completed' && v.exitCode === 127) {
        const podLog = (await this.logTail(podName)) ?? '';
        const missing = /strand: command not found: (.*)/.exec(podLog);
        if (missing) return result('failed', null, `${where}: command not found in image ${job.spec?.template.spec?.containers[0]?.image ?? '?'}: ${missing[1]}`, podLog);
      }
      if (v.reason === 'completed') {
        // A pod that failed before the tool started (a non-root image that cannot enter its work
        // dir, log FIFOs that cannot be made) said why only in its own log: that is the tail.
        if (v.exitCode !== 0 && tail === undefined) tail = await this.logTail(podName);
        return result('completed', v.exitCode, v.exitCode === 0 ? `${where}: exited 0` : `${where}: exited with code ${v.exitCode}`, v.exitCode === 0 ? undefined : tail);
      }
      return result(v.reason, v.exitCode, `${where}: ${v.reason}: ${v.message}`, tail);
    }
  }

  /**
   * Create the Job; when it already exists (a restarted run), adopt it and return the task
   * directory its pod uses, if that is an earlier one. Quota refusals wait and retry.
   */
  private async createOrAdopt(run: RunState, job: V1Job, spec: TaskSpec, signal: AbortSignal, note: (msg: string) => void): Promise<string | undefined> {
    const name = job.metadata!.name!;
    // A Job of this name the run's watch already knows (an earlier process of the run): adopt it without a create.
    const known = run.watch.jobs().find((j) => j.metadata?.name === name);
    if (known && !known.metadata?.deletionTimestamp) return this.adopt(run, name, spec, known);
    for (;;) {
      try {
        await this.api.call(`create Job ${name} in namespace ${this.namespace}`, () => this.api.batch.createNamespacedJob({ namespace: this.namespace, body: job }), signal);
        this.stats.created++;
        return undefined;
      } catch (err) {
        if (isConflict(err)) return this.adopt(run, name, spec);
        if (isQuotaExceeded(err) && !signal.aborted) {
          this.stats.quotaWaits++;
          // Finished Jobs count against a count/jobs.batch quota until deleted: make room with ours.
          if ((err as Error).message.includes('count/jobs.batch')) await this.deleteFinishedJobs(run);
          note(`${spec.stepPath}: ${(err as Error).message}; waiting for room in the quota`);
          await sleep(this.hooks.quotaRetryMs ?? 2000, signal);
          continue;
        }
        throw err;
      }
    }
  }

  /** Delete the run's finished Jobs that no task follows any more (their results are collected). */
  private async deleteFinishedJobs(run: RunState): Promise<void> {
    for (const j of run.watch.jobs()) {
      const n = j.metadata?.name;
      if (!n || j.metadata?.deletionTimestamp || run.followers.has(n) || run.reaped.has(n) || diagnoseJob(j).state !== 'finished') continue;
      run.reaped.add(n);
      await this.deleteJob(n).catch(() => run.reaped.delete(n));
    }
  }

  /** A Job of this name exists from an earlier process of the same run: follow it; its pod works in the earlier task directory. */
  private async adopt(run: RunState, name: string, spec: TaskSpec, known?: V1Job): Promise<string | undefined> {
    const existing = known ?? (await this.api.call(`get Job ${name}`, () => this.api.batch.readNamespacedJob({ name, namespace: this.namespace })));
    this.stats.adopted++;
    this.hooks.warn?.(`${spec.stepPath}: adopting Job ${name} left by an earlier attempt of run ${run.runId}`);
    return adoptedWorkDir(existing, spec.workDir);
  }

  /** Feed what the watch already knows about this Job (adopted Jobs, or events that raced the create). */
  private replayCache(run: RunState, name: string, follower: JobFollower): void {
    for (const pod of run.watch.pods()) if (jobOfPod(pod) === name) follower.pod(pod, 'update');
    for (const job of run.watch.jobs()) if (job.metadata?.name === name) follower.job(job, 'update');
  }

  /** Move the task's own log files (written by the pod in the workspace) to the run's logs; the tail of stderr. */
  private async collectLogs(spec: TaskSpec, attempt: number): Promise<string | undefined> {
    const from = podLogDir(spec, attempt);
    await mkdir(spec.logDir, { recursive: true });
    for (const f of ['stdout.log', 'stderr.log']) await moveLogFile(from, path.join(from, f), path.join(spec.logDir, f));
    await rm(from, { recursive: true, force: true });
    return readLogTail(this.stderrFile(spec), this.stderrRoot(spec));
  }

  /** Where the stderr file must really be for its tail to be read (the pod can write both places). */
  private stderrRoot(spec: TaskSpec): string {
    return spec.stderr !== undefined ? spec.workDir : spec.logDir;
  }

  private stderrFile(spec: TaskSpec): string {
    return spec.stderr !== undefined ? path.resolve(spec.workDir, spec.stderr) : path.join(spec.logDir, 'stderr.log');
  }

  private async logTail(podName: string): Promise<string | undefined> {
    try {
      const text = await this.api.call(`read log of pod ${podName}`, () =>
        this.api.core.readNamespacedPodLog({ name: podName, namespace: this.namespace, container: TASK_CONTAINER, tailLines: LOG_TAIL_LINES }),
      );
      return lastLines(text, LOG_TAIL_LINES);
    } catch {
      return undefined;
    }
  }

  private deletePodNow(name: string): Promise<unknown> {
    return this.api
      .call(`delete Pod ${name}`, () => this.api.core.deleteNamespacedPod({ name, namespace: this.namespace, gracePeriodSeconds: 0 }))
      .catch(() => undefined);
  }

  private deleteJob(name: string): Promise<unknown> {
    return this.api
      .call(`delete Job ${name}`, () =>
        this.api.batch.deleteNamespacedJob({ name, namespace: this.namespace, propagationPolicy: 'Foreground', gracePeriodSeconds: 5 }),
      )
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
  }

  private ensureRun(runId: string): Promise<RunState> {
    let p = this.runs.get(runId);
    if (!p) {
      p = this.startRun(runId);
      this.runs.set(runId, p);
    }
    return p;
  }

  private async startRun(runId: string): Promise<RunState> {
    const ws = this.settings.workspace;
    if (!ws && !this.objectStore) throw new Error('kubernetes.workspace is not configured: tasks need a ReadWriteMany volume (see docs/kubernetes.md)');
    const ns = this.namespace;
    const name = anchorName(runId);
    let anchor: V1ConfigMap | undefined;
    for (let tries = 0; !anchor; tries++) {
      try {
        anchor = await this.api.call(`create ConfigMap ${name} in namespace ${ns}`, () =>
          this.api.core.createNamespacedConfigMap({
            namespace: ns,
            body: buildAnchor(runId, ns, this.settings.owner, { processId: '', startedAt: new Date(), ownedBy: this.settings.runOwner }),
          }),
        );
      } catch (err) {
        if (!isConflict(err)) throw err;
        const existing = await this.api.call(`get ConfigMap ${name}`, () => this.api.core.readNamespacedConfigMap({ name, namespace: ns }));
        if (existing.metadata?.deletionTimestamp && tries < 300) {
          // The anchor of an earlier run with this id is being deleted (with its Jobs): wait for it to go.
          await sleep(100);
          continue;
        }
        anchor = existing;
        this.hooks.warn?.(`run ${runId} was started before: adopting its Jobs that still exist`);
      }
    }
    const uid = anchor.metadata?.uid;
    if (!uid) throw new Error(`ConfigMap ${name} has no uid`);

    const followers = new Map<string, JobFollower>();
    const watch = new RunWatch(this.api, ns, runSelector(runId), {
      onJob: (job, type) => {
        const n = job.metadata?.name;
        if (n) followers.get(n)?.job(job, type);
      },
      onPod: (pod, type) => {
        const n = jobOfPod(pod);
        if (n) followers.get(n)?.pod(pod, type);
      },
      onWarning: (ev) => {
        const n = jobOfEvent(ev);
        if (n) followers.get(n)?.event(ev);
      },
      onError: (err, retryInMs) =>
        this.hooks.warn?.(
          retryInMs < 0
            ? `run ${runId}: ${(err as Error).message ?? String(err)}`
            : `watch of run ${runId} broke (${(err as Error).message ?? String(err)}); reconnecting in ${Math.round(retryInMs)} ms`,
        ),
    });
    await watch.start();

    let capacity: Capacity = {};
    try {
      const quotas = await this.api.call(`list ResourceQuotas in namespace ${ns}`, () => this.api.core.listNamespacedResourceQuota({ namespace: ns }));
      capacity = capacityFromQuotas(quotas.items);
    } catch (err) {
      this.hooks.warn?.(`cannot read ResourceQuotas in namespace ${ns} (${(err as Error).message}); admission uses --max-parallel only`);
    }
    if (this.objectStore) {
      // The stage-in and upload containers must pass the namespace's LimitRanges (optional right: without it, the defaults).
      const ranges = await this.api.call(`list LimitRanges in namespace ${ns}`, () => this.api.core.listNamespacedLimitRange({ namespace: ns })).catch(() => undefined);
      for (const note of ranges ? this.objectStore.fitHelpers(ranges.items) : []) this.hooks.info?.(`run ${runId}: object-store helper containers: ${note}`);
    }
    // Nodes are cluster-scoped: many users may not read them, and then only the quota bounds admission.
    const nodes = await this.api.call('list Nodes', () => this.api.core.listNode({})).catch(() => undefined);
    if (nodes) this.rooms = nodeRooms(nodes.items, this.settings);
    this.admission.setCapacity(this.rooms ? tighter(capacity, capacityOfNodes(this.rooms)) : capacity);
    const usage =
      this.settings.usageIntervalSeconds > 0
        ? new PodUsagePoller(this.api, ns, runSelector(runId), this.settings.usageIntervalSeconds * 1000, TASK_CONTAINER, () => followers.size > 0, (m) =>
            this.hooks.info?.(`run ${runId}: ${m}`),
          )
        : undefined;
    usage?.start();
    const who = { runId, owner: this.settings.owner, namespace: ns, leaderJob: this.detail.leaderJob as string | undefined };
    const files = this.objectStore?.startRun(runId);
    await files?.mark(who).catch((err: unknown) => this.hooks.warn?.(`could not mark run ${runId}'s objects in the bucket (strand clean will not remove them): ${(err as Error).message}`));
    return {
      runId,
      anchor: { name, uid },
      watch,
      followers,
      ...(files ? { files } : { stager: new InputStager(ws!, this.settings.dataVolumes, runId, who) }),
      reaped: new Set(),
      ...(usage ? { usage } : {}),
    };
  }

  /**
   * Stop: cancel what is running, then delete the run's anchor with foreground propagation, which
   * deletes every Job and pod of the run (also on clusters that ignore ttlSecondsAfterFinished).
   */
  shutdown(): Promise<void> {
    this.shutdownDone ??= this.doShutdown();
    return this.shutdownDone;
  }

  private async doShutdown(): Promise<void> {
    this.closed = true;
    // Tasks still in flight, or tasks cancelled already (the engine waits for a cancelled step's
    // tasks before it shuts the executor down): a cancelled run, whose pods must be stopped and
    // gone before Strand exits. Otherwise every Job has ended: the garbage collector removes them
    // after the anchor, without Strand waiting (or deleting pods one by one).
    const cancelling = this.tasks.size > 0 || this.cancelledTasks > 0;
    this.stopAll.abort(new Error('executor shut down'));
    await Promise.allSettled([...this.tasks]);
    this.admission.close();
    for (const p of this.runs.values()) {
      const run = await p.catch(() => undefined);
      if (!run) continue;
      const propagationPolicy = cancelling ? 'Foreground' : 'Background';
      await this.api
        .call(`delete ConfigMap ${run.anchor.name}`, () => this.api.core.deleteNamespacedConfigMap({ name: run.anchor.name, namespace: this.namespace, propagationPolicy }))
        .catch((err: unknown) => {
          if (!isNotFound(err)) this.hooks.warn?.(`could not delete run anchor ${run.anchor.name}: ${(err as Error).message}`);
        });
      // A pod whose container has stopped can stay Terminating for a minute while its kubelet tidies
      // up (seen on a real 1.20 node): its processes are gone, so remove the object at once.
      const removed = new Set<string>();
      if (cancelling) await waitUntil(() => {
        for (const pod of run.watch.pods()) {
          const n = pod.metadata?.name;
          const over = pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
          if (n && over && pod.metadata?.deletionTimestamp && !removed.has(n)) {
            removed.add(n);
            void this.deletePodNow(n);
          }
        }
        return run.watch.jobs().length === 0 && run.watch.pods().length === 0;
      }, 30_000);
      await run.watch.stop();
      await run.usage?.close();
      if (run.files) {
        this.stats.transfers = [...(this.stats.transfers ?? []), ...run.files.traffic];
        await run.files.cleanup().catch((err: unknown) => this.hooks.warn?.(`could not remove the run's objects under ${run.files!.settings.bucket}: ${(err as Error).message}`));
      }
      if (this.settings.workspace && !this.objectStore) {
        await rm(path.join(this.settings.workspace.localPath, '.strand-staged', run.runId), { recursive: true, force: true });
      }
    }
    this.objectStore?.close();
  }
}

/**
 * Moves a log the pod wrote into the run's logs, only when it is a regular file in the pod's log
 * directory: the pod can swap it for a link (to a host file, a key), which is left behind, never
 * moved, copied or read.
 */
async function moveLogFile(podLogs: string, from: string, to: string): Promise<void> {
  const opened = await openConfined(podLogs, from);
  if (!opened) return;
  try {
    await rename(from, to).catch(async () => {
      // Another file system: copy from the descriptor that was checked, not by name.
      await pipeline(opened.fh.createReadStream({ start: 0, autoClose: false }), createWriteStream(to, { flags: 'wx' })).catch(() => undefined);
    });
  } finally {
    await opened.fh.close().catch(() => undefined);
  }
}

/** Where the pod writes unredirected stdout/stderr: beside the work dir, in the workspace. */
function podLogDir(spec: TaskSpec, attempt: number): string {
  return path.join(path.dirname(spec.workDir), '.strand-logs', jobName(spec.runId, spec.taskId, attempt));
}

/** What a task's result gets besides its outcome: where it ran and what it used. */
interface Place {
  native?: NativeIds;
  usage?: TaskUsage;
}

function result(reason: TaskReason, exitCode: number | null, message: string, logTail?: string): TaskResult {
  const r: TaskResult = { reason, exitCode, message, finishedAt: new Date() };
  if (logTail) r.logTail = logTail;
  return r;
}
