/**
 * What task pods use, from the cluster's resource metrics API (`metrics.k8s.io/v1beta1`, served
 * by metrics-server where a cluster runs it): one list of the run's PodMetrics every
 * `usageIntervalSeconds` while its tasks run, kept per pod until its task ends.
 *
 * A PodMetrics item is each container's usage averaged over `window` seconds ending at
 * `timestamp` (CPU as a rate in cores, memory as the working set). metrics-server scrapes every
 * 15-60 s, so a list read twice between two scrapes repeats the same sample: samples count once
 * per timestamp, and the CPU seconds of a sample cover at most the time since the one before (no
 * second counted twice). So `cpuSeconds` over `sampledSeconds` is the average share of a core in
 * the windows seen, and `peakRssMiB` the largest working set seen: lower bounds, as on the local
 * executor. A task shorter than the first scrape has no usage ("not measured"), never a made-up one.
 *
 * Only the tool's container (`task`) counts: in object-store mode the pod's Strand containers
 * (stage-in, upload) are Strand's cost, not the tool's.
 *
 * Clusters without metrics-server answer 404 (no such API group), 503 (registered but down) or
 * 403 (no `list pods.metrics.k8s.io` right): then the run reads no more metrics and says so once.
 */
import type { TaskUsage } from '../executor.js';
import { cpuToMilli } from './admission.js';
import { quantityToMiB } from './settings.js';
import { KubeApiError, type KubeApi } from '../../cluster/kube-api.js';

/** The fields of a metrics.k8s.io/v1beta1 PodMetrics that Strand reads. */
export interface PodMetrics {
  metadata?: { name?: string };
  timestamp?: string;
  window?: string;
  containers?: Array<{ name?: string; usage?: { cpu?: string; memory?: string } }>;
}

/** A CPU quantity (`250m`, `1`, `12345678n`, `15u`) in cores; undefined when it is not one. */
export function cpuCores(q: string): number | undefined {
  const milli = cpuToMilli(q);
  return milli === undefined ? undefined : milli / 1000;
}

/** A duration as metrics-server writes it (`15s`, `1m0s`, `30.5s`, `500ms`) in seconds. */
export function windowSeconds(w: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(w); m; m = re.exec(w)) {
    total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001 }[m[2] as 'h' | 'm' | 's' | 'ms'];
    matched = re.lastIndex;
  }
  return matched === w.length && w.length > 0 ? total : undefined;
}

interface PodAcc {
  cpuSeconds: number;
  coveredSeconds: number;
  peakMiB: number;
  samples: number;
  lastTimestamp: number;
}

/** Pure: accumulates PodMetrics samples per pod, and gives a pod's usage when its task ends. */
export class PodUsageBook {
  private readonly pods = new Map<string, PodAcc>();
  /** Pods already taken: a later list may still show them for a moment. */
  private readonly taken = new Set<string>();

  constructor(private readonly container: string) {}

  /** Add one list's items; samples already seen (same timestamp) and unreadable ones are skipped. */
  add(items: readonly PodMetrics[]): void {
    for (const item of items) {
      const name = item.metadata?.name;
      const ts = item.timestamp ? Date.parse(item.timestamp) : NaN;
      const window = item.window ? windowSeconds(item.window) : undefined;
      const c = item.containers?.find((x) => x.name === this.container) ?? (item.containers?.length === 1 ? item.containers[0] : undefined);
      const cores = c?.usage?.cpu !== undefined ? cpuCores(c.usage.cpu) : undefined;
      const mib = c?.usage?.memory !== undefined ? quantityToMiB(c.usage.memory) : undefined;
      if (!name || this.taken.has(name) || !Number.isFinite(ts) || window === undefined || window <= 0 || cores === undefined || mib === undefined) continue;
      const acc = this.pods.get(name);
      if (acc && ts <= acc.lastTimestamp) continue;
      const span = acc ? Math.min(window, (ts - acc.lastTimestamp) / 1000) : window;
      const next: PodAcc = acc ?? { cpuSeconds: 0, coveredSeconds: 0, peakMiB: 0, samples: 0, lastTimestamp: ts };
      next.cpuSeconds += cores * span;
      next.coveredSeconds += span;
      next.peakMiB = Math.max(next.peakMiB, mib);
      next.samples++;
      next.lastTimestamp = ts;
      this.pods.set(name, next);
    }
  }

  /** The usage seen of a pod, forgotten once taken; undefined when no sample saw it. */
  take(pod: string): TaskUsage | undefined {
    const acc = this.pods.get(pod);
    this.pods.delete(pod);
    this.taken.add(pod);
    if (!acc) return undefined;
    return {
      cpuSeconds: round3(acc.cpuSeconds),
      peakRssMiB: round3(acc.peakMiB),
      source: 'metrics.k8s.io',
      samples: acc.samples,
      sampledSeconds: round3(acc.coveredSeconds),
    };
  }

  get size(): number {
    return this.pods.size;
  }
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * I/O: reads the run's PodMetrics every `intervalMs` while `busy()` says tasks run. The first
 * read that finds no metrics API stops it for good, with one `onUnavailable` message.
 */
export class PodUsagePoller {
  readonly book: PodUsageBook;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly labelSelector: string,
    private readonly intervalMs: number,
    container: string,
    private readonly busy: () => boolean,
    private readonly onUnavailable: (message: string) => void,
  ) {
    this.book = new PodUsageBook(container);
  }

  start(): void {
    if (this.intervalMs <= 0 || this.stopped) return;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.reading = this.readOnce().finally(() => {
        this.reading = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref?.();
  }

  /** One list of the run's pod metrics into the book (only while tasks run). */
  async readOnce(): Promise<void> {
    if (this.stopped || !this.busy()) return;
    try {
      const list = (await this.api.call(`list PodMetrics (metrics.k8s.io) in namespace ${this.namespace}`, () =>
        this.api.custom.listNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace: this.namespace, plural: 'pods', labelSelector: this.labelSelector }),
      )) as { items?: PodMetrics[] };
      this.book.add(list.items ?? []);
    } catch (err) {
      const why = noMetricsApi(err);
      if (why) {
        this.stop();
        this.onUnavailable(`task pods' CPU and memory are not measured in this run: ${why}`);
      }
      // Anything else (a timeout, a reset): this sample is missed; the next one may work.
    }
  }

  /** Stop reading (waits for a read in flight). */
  async close(): Promise<void> {
    this.stop();
    await this.reading;
  }

  private stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Why an error means the cluster offers Strand no pod metrics (undefined: a passing failure). */
export function noMetricsApi(err: unknown): string | undefined {
  if (!(err instanceof KubeApiError)) return undefined;
  if (err.status === 404) return 'the cluster has no metrics API (metrics.k8s.io: is metrics-server installed?)';
  if (err.status === 403) return 'not allowed to list pods.metrics.k8s.io (strand rbac includes it)';
  if (err.status === 503) return 'the metrics API (metrics.k8s.io) is registered but not answering';
  return undefined;
}
