import type { V1ResourceQuota } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { Admission, NamespaceRoom, capacityFromQuotas, sharedRoom } from './admission.js';

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

describe('the namespace room shared by the runs of one process', () => {
  const d = { cpuMilli: 400, memMiB: 100 };
  const settle = () => new Promise((r) => setImmediate(r));

  it('two runs do not both spend the same quota, and room one frees goes to the other run first', async () => {
    const room = new NamespaceRoom();
    const a = new Admission(10, {}, room);
    a.setCapacity({ cpuMilli: 1000 });
    const a1 = await a.acquire(d);
    await a.acquire(d);
    // The second run starts now: the quota's `used` counts the first run's 800m, this process's own.
    const b = new Admission(10, {}, room);
    b.setCapacity({ cpuMilli: 200 });
    expect(room.free.cpuMilli).toBe(1000);
    let bGot = false;
    void b.acquire(d).then(() => (bGot = true));
    let aGot = false;
    void a.acquire(d).then(() => (aGot = true));
    await settle();
    expect([bGot, aGot]).toEqual([false, false]);
    a1();
    await settle();
    expect([bGot, aGot]).toEqual([true, false]);
    expect(room.count).toBe(2);
  });

  it('each run keeps its own --max-parallel in the shared room', async () => {
    const room = new NamespaceRoom();
    const a = new Admission(1, {}, room);
    const b = new Admission(5, {}, room);
    const ra = await a.acquire(d);
    let second = false;
    void a.acquire(d).then(() => (second = true));
    await b.acquire(d);
    await b.acquire(d);
    await settle();
    expect(second).toBe(false);
    expect(room.count).toBe(3);
    b.close();
    ra();
    await settle();
    expect(second).toBe(true);
  });

  it('is one per API server and namespace', () => {
    expect(sharedRoom('https://127.0.0.1:6443', 'lab-ada')).toBe(sharedRoom('https://127.0.0.1:6443', 'lab-ada'));
    expect(sharedRoom('https://127.0.0.1:6443', 'lab-ada')).not.toBe(sharedRoom('https://127.0.0.1:6443', 'lab-bob'));
  });
});
