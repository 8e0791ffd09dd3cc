import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { UsageSampler } from './usage-sampler.js';

const linux = process.platform === 'linux';

describe.skipIf(!linux)('UsageSampler', () => {
  it('measures CPU time and peak memory of a task session, children included', async () => {
    const sampler = new UsageSampler(100);
    // The group leader starts a child that holds ~80 MiB and spins for ~700 ms, then waits for it.
    const child = `const b = Buffer.alloc(80 * 1024 * 1024, 1); const end = Date.now() + 700; let x = 0; while (Date.now() < end) x += b[x % b.length]; console.log(x > 0)`;
    const leader = `const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(child)}], { stdio: 'ignore' }); c.on('exit', () => {})`;
    const p = spawn(process.execPath, ['-e', leader], { detached: true, stdio: 'ignore' });
    await once(p, 'spawn');
    sampler.track(p.pid!);
    await once(p, 'exit');
    const usage = sampler.stop(p.pid!);
    expect(usage).toBeDefined();
    expect(usage!.source).toBe('proc');
    expect(usage!.samples).toBeGreaterThan(2);
    expect(usage!.cpuSeconds).toBeGreaterThan(0.3);
    expect(usage!.peakRssMiB).toBeGreaterThan(75);
    expect(usage!.rcharBytes).toBeGreaterThan(0);
  });

  it('counts processes that moved to a process group of their own (timeout), by the session', async () => {
    const sampler = new UsageSampler(100);
    // GNU timeout puts itself and its command in a new process group; the session stays the task's.
    const spin = `const end = Date.now() + 700; while (Date.now() < end);`;
    const p = spawn('sh', ['-c', `timeout 30 "${process.execPath}" -e '${spin}'`], { detached: true, stdio: 'ignore' });
    await once(p, 'spawn');
    sampler.track(p.pid!);
    await once(p, 'exit');
    const usage = sampler.stop(p.pid!);
    expect(usage).toBeDefined();
    expect(usage!.cpuSeconds).toBeGreaterThan(0.2);
  });

  it("measures a child's own session under its parent's key, from the child's start (a container under conmon)", async () => {
    const sampler = new UsageSampler(100);
    // The parent (conmon's place) idles 300 ms, then starts a child in a session of its own that
    // spins for ~600 ms; the parent's own CPU time is not the child's.
    const child = `const end = Date.now() + 600; while (Date.now() < end);`;
    const parent = `setTimeout(() => { const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(child)}], { detached: true, stdio: 'ignore' }); c.on('exit', () => process.exit(0)); }, 300)`;
    const p = spawn(process.execPath, ['-e', parent], { stdio: 'ignore' });
    await once(p, 'spawn');
    const key = 1_000_000_000 + p.pid!;
    const t0 = performance.now();
    sampler.trackChild(key, () => p.pid);
    await once(p, 'exit');
    const wallSeconds = (performance.now() - t0) / 1000;
    const usage = sampler.stop(key);
    expect(usage).toBeDefined();
    expect(usage!.samples).toBeGreaterThan(2);
    expect(usage!.cpuSeconds).toBeGreaterThan(0.2);
    // The span starts when the child did (its start time, to a 10 ms tick), not at trackChild:
    // at least the parent's 300 ms earlier.
    expect(usage!.sampledSeconds!).toBeLessThan(wallSeconds - 0.3 + 0.02);
  });

  it('scans nothing for a stream of tasks that each end within 40 ms, and still looks twice early at a longer one', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    try {
      const sampler = new UsageSampler(60_000);
      // Overlapping, as a scatter's tasks are: the next starts before the last one is stopped, so
      // some task is always tracked, for well over the first early look's 50 ms. (No such
      // processes: a scan finds nothing of them, and is counted all the same.)
      let pid = 900_000_000;
      sampler.track(pid);
      for (let i = 0; i < 30; i++) {
        vi.advanceTimersByTime(15);
        sampler.track(pid + 1);
        vi.advanceTimersByTime(15);
        sampler.stop(pid++);
      }
      expect(sampler.scans).toBe(0);
      // A task that lives 400 ms, with no interval sample before it ends: looked at 50 and 200 ms.
      sampler.track(++pid);
      sampler.stop(pid - 1); // the last short one
      vi.advanceTimersByTime(400);
      sampler.stop(pid);
      expect(sampler.scans).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('says nothing about a task it never sampled', () => {
    const sampler = new UsageSampler(100);
    sampler.track(999_999_999);
    expect(sampler.stop(999_999_999)).toBeUndefined();
  });
});
