#!/usr/bin/env node
// Resume benchmark: a 1,000-task scatter (bench/scatter-echo.cwl) killed with SIGKILL when half of
// its tasks are in the task cache, then `strand run --resume`. Prints how many tasks the resumed
// run skipped (reused from the cache) and the wall times:
//
//   full            one uninterrupted run, task cache on (the default)
//   full, no cache  the same with --cache off: what keeping the cache costs
//   first half      the run that is killed, from start to the kill
//   resumed         `strand run --resume` of the killed run, to the end
//
// and the resumed run's time as a fraction of the full run's. Every finished run's outputs are
// checked (N files in --outdir, each holding its item).
//
// Usage: node bench/resume-bench.mjs [--n 1000] [--parallel P] [--kill-at 0.5] [--keep]

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const workflow = join(here, 'scatter-echo.cwl');
const strandBin = join(root, 'bin', 'strand.js');

function fail(msg) {
  console.error(`resume-bench: ${msg}`);
  process.exit(2);
}

const o = { n: 1000, parallel: availableParallelism(), killAt: 0.5, keep: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => process.argv[++i] ?? fail(`${a} needs a value`);
  if (a === '--n') o.n = Number(next());
  else if (a === '--parallel') o.parallel = Number(next());
  else if (a === '--kill-at') o.killAt = Number(next());
  else if (a === '--keep') o.keep = true;
  else if (a === '-h' || a === '--help') {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
    process.exit(0);
  } else fail(`unknown option ${a}`);
}
if (!Number.isInteger(o.n) || o.n < 2) fail('--n needs a whole number of at least 2');
if (!(o.killAt > 0 && o.killAt < 1)) fail('--kill-at needs a fraction between 0 and 1');
if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) fail('build Strand first: npm run build');

const base = mkdtempSync(join(tmpdir(), 'strand-resume-bench-'));
const items = Array.from({ length: o.n }, (_, i) => `item${String(i).padStart(5, '0')}`);
const job = join(base, 'job.json');
writeFileSync(job, JSON.stringify({ items }));

function strand(args, store, { onSpawn } = {}) {
  return new Promise((resolvePromise) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [strandBin, ...args], {
      cwd: base,
      env: { ...process.env, STRAND_STORE: store },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    onSpawn?.(child);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr, ms: performance.now() - t0 }));
  });
}

function checkOutputs(outdir) {
  const names = readdirSync(outdir).filter((n) => n.endsWith('.txt'));
  if (names.length !== o.n) throw new Error(`${outdir}: ${names.length} output files, expected ${o.n}`);
  for (const it of items) {
    const text = readFileSync(join(outdir, `${it}.txt`), 'utf8');
    if (text !== `${it}\n`) throw new Error(`${outdir}/${it}.txt holds ${JSON.stringify(text)}`);
  }
}

const entries = (store) => {
  // The cache's scope directory: this user's (docs/caching.md).
  const dir = join(store, 'cache', `user-${process.getuid()}`);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')).length : 0;
};
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const settle = () => spawnSync('sync');

console.log(`resume benchmark: ${o.n}-task scatter, --parallel ${o.parallel}, killed at ${Math.round(o.killAt * 100)}% (${base})`);
const runArgs = (outdir) => ['run', '--quiet', '--parallel', String(o.parallel), '--outdir', outdir, workflow, job];

settle();
const full = await strand(runArgs(join(base, 'out-full')), join(base, 'store-full'));
if (full.code !== 0) fail(`full run failed:\n${full.stderr}`);
checkOutputs(join(base, 'out-full'));
console.log(`  full run (cache on):       ${secs(full.ms)}`);

settle();
const noCache = await strand(['run', '--cache', 'off', ...runArgs(join(base, 'out-nocache')).slice(1)], join(base, 'store-nocache'));
if (noCache.code !== 0) fail(`run with --cache off failed:\n${noCache.stderr}`);
checkOutputs(join(base, 'out-nocache'));
console.log(`  full run (--cache off):    ${secs(noCache.ms)}`);

settle();
const store = join(base, 'store');
const target = Math.round(o.n * o.killAt);
let atKill = 0;
const killed = await strand(runArgs(join(base, 'out')), store, {
  onSpawn: (child) => {
    const poll = setInterval(() => {
      if (entries(store) >= target) {
        clearInterval(poll);
        child.kill('SIGKILL');
      }
    }, 10);
    child.on('exit', () => clearInterval(poll));
  },
});
if (killed.signal !== 'SIGKILL') fail(`the run was to be killed but ended with code ${killed.code}:\n${killed.stderr}`);
// The launcher stops the run's tasks when Strand dies; give it a moment before counting.
await new Promise((r) => setTimeout(r, 300));
atKill = entries(store);
console.log(`  first half (until kill -9): ${secs(killed.ms)}  (${atKill} of ${o.n} tasks in the cache)`);

settle();
const resumed = await strand(['run', '--resume', '--quiet', '--parallel', String(o.parallel)], store);
if (resumed.code !== 0) fail(`resumed run failed:\n${resumed.stderr}`);
checkOutputs(join(base, 'out'));
const list = await strand(['list', '--json', '-n', '1'], store);
const runId = JSON.parse(list.stdout)[0].id;
const shown = JSON.parse((await strand(['show', '--json', runId], store)).stdout);
const skipped = shown.tasks.reused;
console.log(`  resumed run:               ${secs(resumed.ms)}  (skipped ${skipped} of ${o.n} tasks: ${((100 * skipped) / o.n).toFixed(1)}%; ran ${o.n - skipped})`);
console.log('');
console.log(`skipped on resume: ${skipped}/${o.n} (${((100 * skipped) / o.n).toFixed(1)}%)`);
console.log(`wall times: full ${secs(full.ms)}, first half ${secs(killed.ms)}, resumed ${secs(resumed.ms)}`);
console.log(`resumed / full: ${(resumed.ms / full.ms).toFixed(2)}; first half + resumed / full: ${((killed.ms + resumed.ms) / full.ms).toFixed(2)}; cache on / off: ${(full.ms / noCache.ms).toFixed(2)}`);
if (skipped !== atKill) {
  console.error(`resume-bench: ${atKill} tasks were cached when the run was killed but ${skipped} were reused`);
  process.exitCode = 1;
}
if (!o.keep) rmSync(base, { recursive: true, force: true });
