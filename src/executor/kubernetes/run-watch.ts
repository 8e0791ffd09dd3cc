/**
 * One label-selected watch per run for Jobs and Pods (never per-task polling), built on
 * client-node informers.
 *
 * How the informer behaves (client-node 1.x, ListWatch): it lists, then watches from the list's
 * resourceVersion; when a watch ends cleanly it watches again from the last resourceVersion;
 * after a 410 Expired it relists by itself and reports objects gone meanwhile as `delete`. When a
 * watch fails (a dropped connection, an HTTP error) or a list fails, it emits `error` and stops.
 * RunWatch then restarts it with exponential backoff; the restarted informer resumes from its
 * last resourceVersion (the server replays what it missed, deletions included) or, if that is too
 * old, relists — either way the cache converges with the server and the handlers see every
 * add/update/delete needed to get there.
 */
import type { CoreV1Event, Informer, KubernetesObject, ObjectCache, V1Job, V1Pod } from '@kubernetes/client-node';
import { makeInformer } from '../../cluster/kubernetes-client.js';
import type { KubeApi } from '../../cluster/kube-api.js';
import { toKubeApiError } from '../../cluster/kube-api.js';

export interface RunWatchHandlers {
  onJob(job: V1Job, type: 'add' | 'update' | 'delete'): void;
  onPod(pod: V1Pod, type: 'add' | 'update' | 'delete'): void;
  /**
   * Warning Events of the namespace (Events carry no labels: the handler picks those about the
   * run's Jobs and pods). A third stream, started only when this handler is given.
   */
  onWarning?(event: CoreV1Event): void;
  /**
   * A watch failed and will be restarted in `retryInMs`. Also called with `retryInMs = -1` when
   * a handler threw (the watch goes on).
   */
  onError?(err: unknown, retryInMs: number): void;
}

type EventType = 'add' | 'update' | 'delete';

interface Stream<T extends KubernetesObject> {
  kind: 'Jobs' | 'Pods' | 'Events';
  informer: Informer<T> & ObjectCache<T>;
  /** Errors emitted while we are inside informer.start(), handled by the caller of start(). */
  captured: unknown[] | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Consecutive failed restarts, for the backoff. */
  failures: number;
}

export class RunWatch {
  private readonly jobStream: Stream<V1Job>;
  private readonly podStream: Stream<V1Pod>;
  private readonly eventStream: Stream<CoreV1Event> | undefined;
  private readonly maxBackoffMs: number;
  private readonly baseBackoffMs: number;
  private stopped = false;
  private started = false;
  private restartCount = 0;
  private readonly abort = new AbortController();

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly labelSelector: string,
    private readonly handlers: RunWatchHandlers,
    opts: { maxBackoffMs?: number; baseBackoffMs?: number } = {},
  ) {
    this.maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.baseBackoffMs = opts.baseBackoffMs ?? 500;
    const where = `in namespace ${namespace} (labels ${labelSelector})`;
    const signal = this.abort.signal;
    this.jobStream = this.makeStream<V1Job>(
      'Jobs',
      `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`,
      () => api.call(`list Jobs ${where}`, () => api.batch.listNamespacedJob({ namespace, labelSelector }), signal),
      (o, t) => handlers.onJob(o, t),
    );
    this.podStream = this.makeStream<V1Pod>(
      'Pods',
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      () => api.call(`list Pods ${where}`, () => api.core.listNamespacedPod({ namespace, labelSelector }), signal),
      (o, t) => handlers.onPod(o, t),
    );
    const onWarning = handlers.onWarning;
    if (onWarning) {
      const fieldSelector = 'type=Warning';
      this.eventStream = this.makeStream<CoreV1Event>(
        'Events',
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/events?fieldSelector=${encodeURIComponent(fieldSelector)}`,
        () => api.call(`list Events in namespace ${namespace}`, () => api.core.listNamespacedEvent({ namespace, fieldSelector }), signal),
        (o, t) => {
          if (t !== 'delete') onWarning(o);
        },
        null,
      );
    }
  }

  /** Times a failed watch has been restarted. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Lists Jobs and Pods and starts watching; resolves once both initial lists are in the cache. */
  async start(): Promise<void> {
    if (this.started) throw new Error(`RunWatch for ${this.labelSelector} in namespace ${this.namespace} was already started`);
    this.started = true;
    const errors = await Promise.all([this.startStream(this.jobStream), this.startStream(this.podStream)]);
    // Events help explain, they are not needed to follow tasks: a failure to watch them (no RBAC) is only reported.
    if (this.eventStream) {
      const err = await this.startStream(this.eventStream);
      if (err !== undefined) this.handlers.onError?.(toKubeApiError(`watch Events in namespace ${this.namespace}`, err, this.api.conn), -1);
    }
    const first = errors.find((e) => e !== undefined);
    if (first !== undefined) {
      const stream = errors[0] !== undefined ? this.jobStream : this.podStream;
      await this.stop();
      throw toKubeApiError(`watch ${stream.kind} in namespace ${this.namespace} (labels ${this.labelSelector})`, first, this.api.conn);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error('RunWatch stopped'));
    const streams = [this.jobStream, this.podStream, ...(this.eventStream ? [this.eventStream] : [])] as Stream<KubernetesObject>[];
    for (const s of streams) {
      if (s.timer !== undefined) clearTimeout(s.timer);
      s.timer = undefined;
    }
    await Promise.all(streams.map((s) => s.informer.stop()));
  }

  jobs(): V1Job[] {
    return [...this.jobStream.informer.list()];
  }

  pods(): V1Pod[] {
    return [...this.podStream.informer.list()];
  }

  private makeStream<T extends KubernetesObject>(
    kind: 'Jobs' | 'Pods' | 'Events',
    path: string,
    list: () => Promise<{ items: T[] }>,
    deliver: (o: T, t: EventType) => void,
    labelSelector: string | null = this.labelSelector,
  ): Stream<T> {
    const informer = makeInformer<T>(this.api.conn.kc, path, list, labelSelector ?? undefined);
    const stream: Stream<T> = { kind, informer, captured: undefined, timer: undefined, failures: 0 };
    const on = (t: EventType) => (o: T) => {
      try {
        deliver(o, t);
      } catch (err) {
        this.handlers.onError?.(err, -1);
      }
    };
    informer.on('add', on('add'));
    informer.on('update', on('update'));
    informer.on('delete', on('delete'));
    informer.on('connect', () => this.api.count('watch'));
    informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      if (stream.captured) stream.captured.push(err);
      else this.scheduleRestart(stream as unknown as Stream<KubernetesObject>, err);
    });
    return stream;
  }

  /** Runs informer.start(); returns the first error it emitted meanwhile (list or watch failed). */
  private async startStream<T extends KubernetesObject>(s: Stream<T>): Promise<unknown> {
    s.captured = [];
    try {
      await s.informer.start();
    } catch (err) {
      s.captured.push(err);
    }
    const [err] = s.captured;
    s.captured = undefined;
    return err;
  }

  private scheduleRestart(s: Stream<KubernetesObject>, err: unknown): void {
    if (this.stopped || s.timer !== undefined) return;
    const exp = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** s.failures);
    const delay = Math.round(exp * (0.5 + 0.5 * Math.random()));
    s.failures++;
    try {
      this.handlers.onError?.(err, delay);
    } catch {
      // a failing error handler must not stop the restart
    }
    s.timer = setTimeout(() => {
      s.timer = undefined;
      void this.restart(s);
    }, delay);
  }

  private async restart(s: Stream<KubernetesObject>): Promise<void> {
    if (this.stopped) return;
    this.restartCount++;
    const err = await this.startStream(s);
    if (this.stopped) {
      await s.informer.stop();
      return;
    }
    if (err !== undefined) this.scheduleRestart(s, err);
    else s.failures = 0;
  }
}
