import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../cluster/kube-api.js';
import { PodUsageBook, cpuCores, noMetricsApi, windowSeconds, type PodMetrics } from './pod-usage.js';

const sample = (pod: string, at: string, window: string, cpu: string, memory: string, container = 'task'): PodMetrics => ({
  metadata: { name: pod },
  timestamp: at,
  window,
  containers: [{ name: container, usage: { cpu, memory } }],
});

describe('quantities of metrics-server', () => {
  it('reads CPU rates in cores and windows in seconds', () => {
    expect(cpuCores('250m')).toBe(0.25);
    expect(cpuCores('2')).toBe(2);
    expect(cpuCores('12345678n')).toBeCloseTo(0.012345678, 9);
    expect(cpuCores('15u')).toBeCloseTo(0.000015, 9);
    expect(cpuCores('0')).toBe(0);
    expect(cpuCores('lots')).toBeUndefined();
    expect(windowSeconds('15s')).toBe(15);
    expect(windowSeconds('1m0s')).toBe(60);
    expect(windowSeconds('30.5s')).toBe(30.5);
    expect(windowSeconds('500ms')).toBe(0.5);
    expect(windowSeconds('15')).toBeUndefined();
    expect(windowSeconds('')).toBeUndefined();
  });
});

describe('PodUsageBook', () => {
  it('counts each scrape once, CPU over the time since the one before, the largest working set', () => {
    const book = new PodUsageBook('task');
    book.add([sample('p1', '2026-12-01T10:00:15Z', '15s', '500m', '100Mi')]);
    // The same scrape read again (the list was read twice between two scrapes): no change.
    book.add([sample('p1', '2026-12-01T10:00:15Z', '15s', '500m', '100Mi')]);
    // The next scrape 10 s later with a 15 s window: only the 10 new seconds count.
    book.add([sample('p1', '2026-12-01T10:00:25Z', '15s', '1', '300Mi')]);
    book.add([sample('p1', '2026-12-01T10:00:40Z', '15s', '2', '200Mi')]);
    const u = book.take('p1');
    expect(u).toEqual({ cpuSeconds: 0.5 * 15 + 1 * 10 + 2 * 15, peakRssMiB: 300, source: 'metrics.k8s.io', samples: 3, sampledSeconds: 40 });
    // Taken: forgotten, and a late list that still shows the pod does not bring it back.
    book.add([sample('p1', '2026-12-01T10:00:55Z', '15s', '2', '200Mi')]);
    expect(book.take('p1')).toBeUndefined();
    expect(book.size).toBe(0);
  });

  it("counts the tool's container only, and a pod never sampled has no usage", () => {
    const book = new PodUsageBook('task');
    book.add([
      {
        metadata: { name: 'p2' },
        timestamp: '2026-12-01T10:00:15Z',
        window: '15s',
        containers: [
          { name: 'upload', usage: { cpu: '900m', memory: '80Mi' } },
          { name: 'task', usage: { cpu: '100m', memory: '10Mi' } },
        ],
      },
    ]);
    expect(book.take('p2')).toMatchObject({ cpuSeconds: 1.5, peakRssMiB: 10, samples: 1 });
    expect(book.take('never-seen')).toBeUndefined();
  });

  it('skips items it cannot read instead of guessing', () => {
    const book = new PodUsageBook('task');
    book.add([
      { metadata: { name: 'a' }, window: '15s', containers: [{ name: 'task', usage: { cpu: '1', memory: '1Mi' } }] },
      { metadata: { name: 'b' }, timestamp: '2026-12-01T10:00:15Z', window: '15s', containers: [{ name: 'task', usage: { cpu: 'x', memory: '1Mi' } }] },
      { metadata: { name: 'c' }, timestamp: '2026-12-01T10:00:15Z', window: '15s', containers: [{ name: 'sidecar', usage: { cpu: '1', memory: '1Mi' } }, { name: 'other', usage: { cpu: '1', memory: '1Mi' } }] },
      { timestamp: '2026-12-01T10:00:15Z', window: '15s', containers: [] },
    ]);
    expect(book.size).toBe(0);
  });
});

describe('noMetricsApi', () => {
  const err = (status: number) => new KubeApiError('list PodMetrics', { status, reason: undefined, kubeMessage: 'x' });
  it('names the cases where a cluster offers no pod metrics, and only those', () => {
    expect(noMetricsApi(err(404))).toMatch(/no metrics API/);
    expect(noMetricsApi(err(403))).toMatch(/not allowed to list pods.metrics.k8s.io/);
    expect(noMetricsApi(err(503))).toMatch(/not answering/);
    expect(noMetricsApi(err(500))).toBeUndefined();
    expect(noMetricsApi(new Error('reset'))).toBeUndefined();
  });
});
