import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { UsageSampler } from './usage-sampler.js';

const linux = process.platform === 'linux';

describe.skipIf(!linux)('UsageSampler', () => {
  it('measures CPU time and peak memory of a process group, children included', async () => {
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

  it('says nothing about a group it never sampled', () => {
    const sampler = new UsageSampler(100);
    sampler.track(999_999_999);
    expect(sampler.stop(999_999_999)).toBeUndefined();
  });
});
