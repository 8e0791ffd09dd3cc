/**
 * The resource metrics API (`metrics.k8s.io/v1beta1`) as metrics-server serves it, for the pods
 * the fake kubelet runs: off by default (then, as on a cluster without metrics-server, such as
 * the k8s rig, every path under /apis/metrics.k8s.io is a 404).
 *
 * On (`metrics: { scrapeIntervalMs }`): every interval it scrapes each running container's
 * process group from /proc (every container process leads its own group): CPU time of the live
 * members (utime+stime+cutime+cstime, so time of waited-for children stays counted) and their
 * resident memory. Like metrics-server it serves a rate: the CPU seconds between the last two
 * scrapes over the time between them, with that `window` and the `timestamp` of the last scrape;
 * a pod is listed only when every running container has two scrapes, and only while it runs.
 * Lists honour `labelSelector`; RBAC is checked as for any resource (`pods.metrics.k8s.io`).
 */
import { readFileSync, readdirSync } from 'node:fs';
import type { Kubelet } from './kubelet.js';

const CLK_TCK = 100;
const PAGE_BYTES = 4096;

interface Scrape {
  at: number;
  cpuSeconds: number;
  memoryBytes: number;
}

interface ContainerSeries {
  prev?: Scrape;
  last?: Scrape;
}

export interface PodMetricsItem {
  kind: 'PodMetrics';
  apiVersion: 'metrics.k8s.io/v1beta1';
  metadata: { name: string; namespace: string; creationTimestamp: string; labels?: Record<string, string> };
  timestamp: string;
  window: string;
  containers: Array<{ name: string; usage: { cpu: string; memory: string } }>;
}

export class FakeMetrics {
  /** By pod (ns/name), by container. */
  private readonly series = new Map<string, Map<string, ContainerSeries>>();
  private timer: NodeJS.Timeout | undefined;
  /** Scrapes made (for tests). */
  scrapes = 0;

  constructor(
    private readonly kubelet: Kubelet,
    private readonly labelsOf: (ns: string, name: string) => Record<string, string> | undefined,
    readonly scrapeIntervalMs: number,
  ) {
    this.timer = setInterval(() => this.scrape(), scrapeIntervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One scrape of every running container. */
  scrape(now = Date.now()): void {
    this.scrapes++;
    const running = this.kubelet.runningContainers();
    const groups = processGroups(new Set(running.map((c) => c.pid)));
    const live = new Set<string>();
    for (const c of running) {
      const key = `${c.ns}/${c.name}`;
      live.add(key);
      const g = groups.get(c.pid);
      if (!g) continue;
      const byContainer = this.series.get(key) ?? new Map<string, ContainerSeries>();
      this.series.set(key, byContainer);
      const s = byContainer.get(c.container) ?? {};
      byContainer.set(c.container, { ...(s.last ? { prev: s.last } : {}), last: { at: now, cpuSeconds: g.ticks / CLK_TCK, memoryBytes: g.rssPages * PAGE_BYTES } });
    }
    for (const key of [...this.series.keys()]) if (!live.has(key)) this.series.delete(key);
  }

  /** The PodMetrics of the pods in `namespace` (all namespaces when undefined) that have a rate. */
  list(namespace: string | undefined, matches: (labels: Record<string, string>) => boolean): PodMetricsItem[] {
    const out: PodMetricsItem[] = [];
    for (const key of this.series.keys()) {
      const [ns, name] = key.split('/') as [string, string];
      if (namespace !== undefined && ns !== namespace) continue;
      const item = this.get(ns, name);
      if (item && matches(item.metadata.labels ?? {})) out.push(item);
    }
    return out;
  }

  get(ns: string, name: string): PodMetricsItem | undefined {
    const byContainer = this.series.get(`${ns}/${name}`);
    const labels = this.labelsOf(ns, name);
    if (!byContainer || !labels) return undefined;
    const containers: PodMetricsItem['containers'] = [];
    let at = 0;
    let window = 0;
    for (const [container, s] of byContainer) {
      if (!s.prev || !s.last) return undefined;
      const dt = (s.last.at - s.prev.at) / 1000;
      const cores = dt > 0 ? Math.max(0, s.last.cpuSeconds - s.prev.cpuSeconds) / dt : 0;
      containers.push({ name: container, usage: { cpu: `${Math.round(cores * 1e9)}n`, memory: `${Math.round(s.last.memoryBytes / 1024)}Ki` } });
      at = Math.max(at, s.last.at);
      window = Math.max(window, dt);
    }
    return {
      kind: 'PodMetrics',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: { name, namespace: ns, creationTimestamp: new Date().toISOString(), labels },
      timestamp: new Date(at).toISOString(),
      window: `${window.toFixed(3).replace(/\.?0+$/, '')}s`,
      containers,
    };
  }
}

/** CPU ticks and resident pages of the live members of each process group led by one of `leaders`. */
function processGroups(leaders: Set<number>): Map<number, { ticks: number; rssPages: number }> {
  const out = new Map<number, { ticks: number; rssPages: number }>();
  if (leaders.size === 0) return out;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The fields after the command name (which may hold spaces and parentheses).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(f[2]);
    if (!leaders.has(pgrp)) continue;
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    const rss = Number(f[21]);
    const g = out.get(pgrp) ?? { ticks: 0, rssPages: 0 };
    g.ticks += ticks;
    g.rssPages += rss;
    out.set(pgrp, g);
  }
  return out;
}
