/**
 * The Job controller (batch/v1, non-indexed): creates pods from the template, tracks
 * active/succeeded/failed, applies backoffLimit (with exponential back-off between retries),
 * activeDeadlineSeconds, completion conditions, FailedCreate events on admission refusals; and
 * the TTL-after-finished controller.
 */
import type { Api } from './api.js';
import { isTerminal } from './api.js';
import type { EventRecorder } from './events.js';
import { resourceByPlural } from './resources.js';
import { StatusError } from './status.js';
import type { StoredEvent } from './store.js';
import { type Job, type KubeObject, type Pod, clone, nowIso } from './types.js';

export interface JobControllerOptions {
  /** First back-off after a failed pod (real: 10s), doubled per failure, capped at 6 minutes. */
  backoffBaseMs: number;
  /** Behave like Kubernetes < 1.21 (TTLAfterFinished off): finished Jobs are never deleted. */
  ignoreTtl: boolean;
  /** How long to wait before retrying pod creation after it was refused (quota). */
  createRetryMs: number;
}

interface Tracking {
  /** Pod uids already counted as succeeded / failed. */
  succeeded: Set<string>;
  failed: Set<string>;
  lastFailureAt: number;
  timers: NodeJS.Timeout[];
  deadlineArmed: boolean;
}

const JOB_CONDITIONS = (j: Job): string | undefined =>
  j.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type;

export const jobFinished = (j: Job): boolean => JOB_CONDITIONS(j) !== undefined;

export class JobController {
  private readonly tracking = new Map<string, Tracking>();
  private readonly queued = new Set<string>();
  private stopped = false;

  constructor(
    private readonly api: Api,
    private readonly recorder: EventRecorder,
    private readonly opts: JobControllerOptions,
  ) {
    api.store.onChange((ev) => this.observe(ev));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.tracking.values()) t.timers.forEach(clearTimeout);
  }

  private observe(ev: StoredEvent): void {
    if (ev.plural === 'jobs') {
      if (ev.type === 'DELETED') {
        const t = this.tracking.get(ev.object.metadata.uid!);
        t?.timers.forEach(clearTimeout);
        this.tracking.delete(ev.object.metadata.uid!);
      } else this.enqueue(ev.namespace, ev.object.metadata.name!);
      return;
    }
    if (ev.plural === 'pods') {
      const owner = ev.object.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Job');
      if (owner) {
        // Count terminal pods from the event itself: the pod may be gone before the next sync.
        const job = this.api.store.get('jobs', ev.namespace, owner.name) as Job | undefined;
        if (job && job.metadata.uid === owner.uid) {
          const t = this.track(job);
          const puid = ev.object.metadata.uid!;
          const phase = (ev.object as Pod).status?.phase;
          if (!t.succeeded.has(puid) && !t.failed.has(puid)) {
            if (phase === 'Succeeded') t.succeeded.add(puid);
            // A pod removed before it finished counts as failed (podReplacementPolicy TerminatingOrFailed).
            else if (phase === 'Failed' || ev.type === 'DELETED' || ev.object.metadata.deletionTimestamp) {
              t.failed.add(puid);
              t.lastFailureAt = Date.now();
            }
          }
        }
        this.enqueue(ev.namespace, owner.name);
      }
      // Capacity (quota) may have freed up for jobs that could not create pods.
      if ((ev.type === 'DELETED' || isTerminal(ev.object as Pod)) && this.api.store.some('resourcequotas', ev.namespace))
        for (const j of this.api.store.list('jobs', ev.namespace, (o) => !jobFinished(o as Job))) this.enqueue(ev.namespace, j.metadata.name!);
    }
    if (ev.plural === 'resourcequotas') for (const j of this.api.store.list('jobs', ev.namespace)) if (!jobFinished(j as Job)) this.enqueue(ev.namespace, j.metadata.name!);
  }

  private enqueue(ns: string, name: string): void {
    const k = `${ns}/${name}`;
    if (this.queued.has(k) || this.stopped) return;
    this.queued.add(k);
    setImmediate(() => {
      this.queued.delete(k);
      if (this.stopped) return;
      const job = this.api.store.get('jobs', ns, name) as Job | undefined;
      if (job) this.sync(job);
    });
  }

  private track(job: Job): Tracking {
    let t = this.tracking.get(job.metadata.uid!);
    if (!t) {
      t = { succeeded: new Set(), failed: new Set(), lastFailureAt: 0, timers: [], deadlineArmed: false };
      this.tracking.set(job.metadata.uid!, t);
    }
    return t;
  }

  private timer(t: Tracking, ms: number, job: Job): void {
    t.timers.push(setTimeout(() => this.enqueue(job.metadata.namespace!, job.metadata.name!), Math.max(0, ms)));
  }

  private sync(job: Job): void {
    const ns = job.metadata.namespace!;
    const t = this.track(job);
    if (job.metadata.deletionTimestamp) return;
    if (jobFinished(job)) return this.ttl(job, t);
    if (job.spec.suspend) return;
    const pods = this.api.store.list('pods', ns, (p) => p.metadata.ownerReferences?.some((r) => r.uid === job.metadata.uid && r.controller) === true) as Pod[];
    for (const p of pods) {
      if (p.status?.phase === 'Succeeded') t.succeeded.add(p.metadata.uid!);
      const failed = p.status?.phase === 'Failed' || (p.metadata.deletionTimestamp !== undefined && p.status?.phase !== 'Succeeded');
      if (failed && !t.succeeded.has(p.metadata.uid!) && !t.failed.has(p.metadata.uid!)) {
        t.failed.add(p.metadata.uid!);
        t.lastFailureAt = Date.now();
      }
    }
    const active = pods.filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp);
    const restarts = job.spec.template.spec.restartPolicy === 'OnFailure' ? active.reduce((a, p) => a + (p.status?.containerStatuses?.[0]?.restartCount ?? 0), 0) : 0;
    const st = clone(job.status ?? {});
    const before = JSON.stringify(st);
    st.startTime ??= nowIso();
    st.succeeded = t.succeeded.size;
    st.failed = t.failed.size;
    st['uncountedTerminatedPods'] = {};
    const completions = job.spec.completions ?? 1;
    const backoffLimit = job.spec.backoffLimit ?? 6;
    const deadline = job.spec.activeDeadlineSeconds;
    let finish: { type: 'Complete' | 'Failed'; reason?: string; message?: string } | undefined;
    if (t.succeeded.size >= completions) finish = { type: 'Complete' };
    else if (t.failed.size + restarts > backoffLimit)
      finish = { type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    else if (deadline !== undefined && Date.now() >= Date.parse(st.startTime) + deadline * 1000)
      finish = { type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    if (finish) {
      for (const p of active) {
        this.deletePod(job, p);
        if (finish.type === 'Failed') t.failed.add(p.metadata.uid!);
      }
      st.failed = t.failed.size;
      st.active = 0;
      st.ready = 0;
      const now = nowIso();
      const cond = { type: finish.type, status: 'True' as const, lastProbeTime: now, lastTransitionTime: now, ...(finish.reason ? { reason: finish.reason, message: finish.message } : {}) };
      st.conditions = [...(st.conditions ?? []), cond];
      if (finish.type === 'Complete') st.completionTime = now;
      job.status = st;
      const saved = this.api.updateInternal('jobs', job) as Job;
      if (finish.type === 'Complete') this.recorder.record(saved, 'Normal', 'Completed', 'Job completed', 'job-controller');
      else this.recorder.record(saved, 'Warning', finish.reason!, finish.message!, 'job-controller');
      return this.ttl(saved, t);
    }
    let activeCount = active.length;
    const want = Math.min(job.spec.parallelism ?? 1, completions - t.succeeded.size);
    if (activeCount < want) {
      const n = t.failed.size;
      const wait = n === 0 ? 0 : t.lastFailureAt + Math.min(this.opts.backoffBaseMs * 2 ** (n - 1), 360_000) - Date.now();
      if (wait > 0) this.timer(t, wait, job);
      else
        for (let i = activeCount; i < want; i++) {
          if (!this.createPod(job)) {
            this.timer(t, this.opts.createRetryMs, job);
            break;
          }
          activeCount++;
        }
    }
    st.active = activeCount;
    st.ready = active.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    if (deadline !== undefined && !t.deadlineArmed) {
      t.deadlineArmed = true;
      // A timer may fire a millisecond before Date.now() reaches the deadline (its clock is not
      // Date's): it disarms first, so the sync it starts arms it again for what is left instead of
      // leaving the Job running until its pod ends (seen: a 1 s deadline not met after 20 s).
      const ms = Date.parse(st.startTime) + deadline * 1000 - Date.now();
      t.timers.push(
        setTimeout(() => {
          t.deadlineArmed = false;
          this.enqueue(ns, job.metadata.name!);
        }, Math.max(0, ms)),
      );
    }
    if (JSON.stringify(st) !== before) {
      const cur = this.api.store.get('jobs', ns, job.metadata.name!) as Job | undefined;
      if (!cur || cur.metadata.uid !== job.metadata.uid) return;
      cur.status = st;
      this.api.updateInternal('jobs', cur);
    }
  }

  private createPod(job: Job): boolean {
    const tmpl = clone(job.spec.template);
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...(tmpl.metadata ?? {}),
        generateName: `${job.metadata.name}-`,
        namespace: job.metadata.namespace,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name!, uid: job.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: tmpl.spec,
    };
    delete pod.metadata.name;
    try {
      const created = this.api.createInternal('pods', job.metadata.namespace!, pod);
      this.recorder.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, 'job-controller');
      return true;
    } catch (err) {
      const msg = err instanceof StatusError ? err.status.message : String(err);
      this.recorder.record(job, 'Warning', 'FailedCreate', `Error creating: ${msg}`, 'job-controller');
      return false;
    }
  }

  private deletePod(job: Job, p: Pod): void {
    try {
      this.api.delete(resourceByPlural('pods'), p.metadata.namespace!, p.metadata.name!, {});
      this.recorder.record(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, 'job-controller');
    } catch {
      // already gone
    }
  }

  private ttl(job: Job, t: Tracking): void {
    const ttl = job.spec.ttlSecondsAfterFinished;
    if (ttl === undefined || this.opts.ignoreTtl) return;
    const finishedAt = job.status?.completionTime ?? job.status?.conditions?.find((c) => c.type === 'Failed')?.lastTransitionTime;
    const due = Date.parse(finishedAt ?? nowIso()) + ttl * 1000;
    if (Date.now() < due) return this.timer(t, due - Date.now() + 5, job);
    try {
      this.api.delete(resourceByPlural('jobs'), job.metadata.namespace!, job.metadata.name!, { propagationPolicy: 'Foreground', preconditions: { uid: job.metadata.uid! } });
    } catch {
      // gone already
    }
  }
}
