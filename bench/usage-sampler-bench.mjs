#!/usr/bin/env node
// Cost of the local executor's usage sampler (src/executor/local/usage-sampler.ts): one sample
// scans /proc once and reads stat, status and io of the tracked tasks' processes. Times samples
// with --groups busy process groups running beside everything else on the machine, and prints the
// cost per sample, per process scanned, and the share of one core at the sampler's 500 ms interval.
//
// Usage: npm run build && node bench/usage-sampler-bench.mjs [--groups 8] [--samples 200]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (n, d) => (process.argv.includes(`--${n}`) ? Number(process.argv[process.argv.indexOf(`--${n}`) + 1]) : d);
const GROUPS = arg('groups', 8);
const SAMPLES = arg('samples', 200);
const { UsageSampler } = await import(join(ROOT, 'dist/src/executor/local/usage-sampler.js'));

const kids = [];
for (let i = 0; i < GROUPS; i++) {
  // A shell with two sleeping children: three processes per group.
  const p = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], { detached: true, stdio: 'ignore' });
  kids.push(p);
}
await new Promise((r) => setTimeout(r, 300));
const sampler = new UsageSampler(3_600_000);
for (const k of kids) sampler.track(k.pid);
const procs = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
const t = performance.now();
for (let i = 0; i < SAMPLES; i++) sampler.sample();
const per = (performance.now() - t) / SAMPLES;
const usage = kids.map((k) => sampler.stop(k.pid));
for (const k of kids) process.kill(-k.pid, 'SIGKILL');
console.log(`usage sampler: ${GROUPS} tracked tasks (${GROUPS * 3} processes), ${procs} processes on the machine`);
console.log(`  ${per.toFixed(2)} ms per sample, ${((per * 1000) / procs).toFixed(1)} us per process scanned`);
console.log(`  at one sample every 500 ms: ${((per / 500) * 100).toFixed(2)}% of one core`);
console.log(`  every group measured: ${usage.every((u) => u && u.samples === SAMPLES)}`);
