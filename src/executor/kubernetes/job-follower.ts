/**
 * Follows one task's Job (and its pod) through the run's watch until it ends, and says how it
 * ended. Fed by the executor with every watch event of its Job and pod (and cluster Events about
 * them); resolves `done` once. Pure of I/O: timers only.
 */
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import { onlyWaitingForRoom } from './capacity.js';
import { eventNews } from './cluster-events.js';
import { diagnoseJob, diagnosePod, type PodVerdict } from './diagnose.js';

/** How long to wait for a pod's final status after its Job is reported failed. */
const POD_NEWS_GRACE_MS = 3000;

export interface Outcome {
  verdict: PodVerdict | { state: 'gone'; message: string };
  podName?: string;
  /** The pod as last seen (its containers' statuses). */
  pod?: V1Pod;
  job?: V1Job;
  /** The Job is still active (its pod will never run, or waits for ever): delete it. */
  stillActive?: true;
}

/** Follows one Job through the run's watch until it ends. */
export class JobFollower {
  private lastPod: V1Pod | undefined;
  private lastFinished: PodVerdict | undefined;
  private started = false;
  private unschedulableSince: number | undefined;
  private lastNote = '';
  private timer: NodeJS.Timeout | undefined;
  private jobEnded: Outcome | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  readonly done: Promise<Outcome>;
  private resolve!: (o: Outcome) => void;

  constructor(
    readonly name: string,
    private readonly pendingTimeoutMs: number | undefined,
    private readonly onRunning: () => void,
    private readonly note: (msg: string) => void,
    /** Some node could hold the pod (Strand read the nodes): "Insufficient cpu" only means wait. */
    private readonly fitsSomeNode = false,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  /** The node the Job's pod was scheduled on, once known. */
  get nodeName(): string | undefined {
    return this.lastPod?.spec?.nodeName ?? undefined;
  }

  private finish(o: Outcome): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.timer = undefined;
    this.resolve(this.lastPod && !o.pod ? { ...o, pod: this.lastPod } : o);
  }

  pod(pod: V1Pod, type: 'add' | 'update' | 'delete'): void {
    this.lastPod = pod;
    const podName = pod.metadata?.name;
    const v = diagnosePod(pod);
    if (v.state === 'running' || (v.state === 'finished' && !this.started)) {
      if (!this.started) {
        this.started = true;
        this.onRunning();
      }
    }
    if (v.state === 'image_error') return this.finish({ verdict: v, podName, stillActive: true });
    // The kubelet cannot create the container (a missing Secret, a subPath it refuses): it would retry for ever.
    if (v.state === 'finished' && v.stuck) return this.finish({ verdict: v, podName, stillActive: true });
    if (v.state === 'finished') {
      this.lastFinished = v;
      if (this.jobEnded) return this.finish({ ...this.jobEnded, verdict: v, podName });
    }
    if (v.state === 'pending' && v.unschedulable) {
      if (v.unschedulable !== this.lastNote) {
        this.lastNote = v.unschedulable;
        this.note(`pod ${podName ?? '?'} cannot be scheduled: ${v.unschedulable}`);
      }
      if (this.unschedulableSince === undefined && this.pendingTimeoutMs !== undefined && !(this.fitsSomeNode && onlyWaitingForRoom(v.unschedulable))) {
        this.unschedulableSince = Date.now();
        this.timer = setTimeout(() => {
          this.finish({
            verdict: {
              state: 'finished',
              reason: 'unschedulable',
              exitCode: null,
              message: `pod ${podName ?? '?'} stayed unschedulable for ${Math.round(this.pendingTimeoutMs! / 1000)} s (--pending-timeout): ${v.unschedulable}`,
            },
            podName,
            stillActive: true,
          });
        }, this.pendingTimeoutMs);
        this.timer.unref?.();
      }
    } else if (v.state !== 'pending' && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (type === 'delete' && !this.lastFinished) {
      this.lastFinished = { state: 'finished', reason: 'lost', exitCode: null, message: `pod ${podName ?? '?'} was deleted before it finished` };
    }
  }

  job(job: V1Job, type: 'add' | 'update' | 'delete'): void {
    const j = diagnoseJob(job);
    if (j.state === 'finished') {
      const podName = this.lastPod?.metadata?.name;
      if (j.reason === 'timed_out') return this.finish({ verdict: { state: 'finished', reason: 'timed_out', exitCode: null, message: j.message }, podName, job });
      if (this.lastFinished) return this.finish({ verdict: this.lastFinished, podName, job });
      // Jobs and pods are separate watches: the Job's end can arrive before its pod's.
      // Complete means the pod exited 0; for a failure, give the pod's news a moment to arrive.
      if (j.reason === 'completed') return this.finish({ verdict: { state: 'finished', reason: 'completed', exitCode: 0, message: j.message }, podName, job });
      this.jobEnded = { verdict: { state: 'finished', reason: j.reason, exitCode: null, message: j.message }, podName, job };
      this.graceTimer ??= setTimeout(() => this.finish(this.jobEnded!), POD_NEWS_GRACE_MS);
      return;
    }
    if (type === 'delete') {
      this.finish({ verdict: this.lastFinished ?? { state: 'gone', message: `Job ${this.name} was deleted before it finished` }, podName: this.lastPod?.metadata?.name, job });
    }
  }

  /** A Warning Event about this Job or its pod. */
  event(ev: CoreV1Event): void {
    const news = eventNews(ev);
    if (!news) return;
    if (news.kind === 'refused') {
      return this.finish({ verdict: { state: 'finished', reason: 'failed', exitCode: null, message: news.message }, podName: this.lastPod?.metadata?.name, stillActive: true });
    }
    if (news.message !== this.lastNote) {
      this.lastNote = news.message;
      this.note(news.message);
    }
  }

  cancel(): void {
    this.finish({ verdict: { state: 'gone', message: 'cancelled' } });
  }
}
