import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readPidFile } from './container.js';
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

  it("measures a container's first process's session under the client's key, from its start, whatever the parent's first child was", async () => {
    const sampler = new UsageSampler(100);
    // The parent (conmon's place) first runs a short-lived child in its own session (as conmon
    // runs the OCI runtime), then, 300 ms on, starts the real first process in a session of its
    // own, writes its pid to a file (podman's --pidfile) and lets it spin for ~600 ms. The parent's
    // CPU time and its first child's are not the container's.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strand-sampler-'));
    const pidFile = path.join(dir, 'container.pid');
    const child = `const end = Date.now() + 600; while (Date.now() < end);`;
    const parent = [
      `const cp = require('child_process'), fs = require('fs');`,
      `cp.spawn('sleep', ['0.5'], { stdio: 'ignore' });`,
      `setTimeout(() => { const c = cp.spawn(process.execPath, ['-e', ${JSON.stringify(child)}], { detached: true, stdio: 'ignore' }); fs.writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); c.on('exit', () => process.exit(0)); }, 300);`,
    ].join('\n');
    const p = spawn(process.execPath, ['-e', parent], { stdio: 'ignore' });
    await once(p, 'spawn');
    const key = 1_000_000_000 + p.pid!;
    const t0 = performance.now();
    sampler.trackProcess(key, () => readPidFile(pidFile));
    await once(p, 'exit');
    const wallSeconds = (performance.now() - t0) / 1000;
    const usage = sampler.stop(key);
    await rm(dir, { recursive: true, force: true });
    expect(usage).toBeDefined();
    expect(usage!.samples).toBeGreaterThan(2);
    expect(usage!.cpuSeconds).toBeGreaterThan(0.2);
    // The span starts when the process did (its start time, to a 10 ms tick), not at trackProcess:
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
