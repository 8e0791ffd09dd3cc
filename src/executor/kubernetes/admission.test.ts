import type { V1ResourceQuota } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Admission, capacityFromQuotas } from './admission.js';

const quota = (name: string, hard: Record<string, string>, used: Record<string, string> = {}): V1ResourceQuota => ({
  metadata: { name },
  spec: { hard },
  status: { hard, used },
});

describe('capacityFromQuotas', () => {
  it('reads requests, limits, pods and Jobs, the tightest of all quotas, minus what is used', () => {
    const cap = capacityFromQuotas([
      quota('a', { 'requests.cpu': '4', 'limits.cpu': '8', 'limits.memory': '2Gi', pods: '10' }, { 'requests.cpu': '1500m', 'limits.memory': '512Mi' }),
      quota('b', { 'limits.memory': '1Gi', 'count/jobs.batch': '5' }),
    ]);
    expect(cap).toEqual({ cpuMilli: 2500, limitsCpuMilli: 8000, limitsMemMiB: 1024, pods: 10, jobs: 5, source: 'ResourceQuota a, b' });
  });
});

describe('Admission', () => {
  it('a limit larger than the limits.* quota never fits, naming the quota and the key', () => {
    const a = new Admission(10, capacityFromQuotas([quota('lim', { 'limits.memory': '512Mi', 'limits.cpu': '2' })]));
    expect(a.neverFits({ cpuMilli: 100, memMiB: 100, limitMemMiB: 256, limitCpuMilli: 1000 })).toBeUndefined();
    expect(a.neverFits({ cpuMilli: 100, memMiB: 100, limitMemMiB: 1024 })).toMatch(/memory limit is 1024Mi but ResourceQuota lim leaves 512Mi of limits.memory free/);
    expect(a.neverFits({ cpuMilli: 100, memMiB: 100, limitCpuMilli: 3000 })).toMatch(/CPU limit is 3 CPU but ResourceQuota lim leaves 2 CPU of limits.cpu free/);
    // Without a limit the pod may still get one from a LimitRange: not judged here.
    expect(a.neverFits({ cpuMilli: 100, memMiB: 100 })).toBeUndefined();
  });

  it('admits by the sum of limits under a limits.* quota', async () => {
    const a = new Admission(10, capacityFromQuotas([quota('lim', { 'limits.memory': '1Gi' })]));
    const d = { cpuMilli: 100, memMiB: 100, limitMemMiB: 400 };
    const r1 = await a.acquire(d);
    const r2 = await a.acquire(d);
    let third = false;
    const p3 = a.acquire(d).then((r) => {
      third = true;
      return r;
    });
    await new Promise((r) => setImmediate(r));
    expect(a.running).toBe(2);
    expect(third).toBe(false);
    r1();
    (await p3)();
    r2();
    expect(third).toBe(true);
    expect(a.running).toBe(0);
  });
});
