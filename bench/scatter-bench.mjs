#!/usr/bin/env node
// Scatter benchmark: N `echo` tasks, each writing its own file, run by
//
//   xargs       `xargs -P P` spawning `sh -c 'exec echo "$1" > "$OUT/$1.txt"'`: the floor.
//               Per task one fork, two execs (sh, then /bin/echo) and one file written:
//               what any runner must pay to start a process and capture its stdout, with
//               no bookkeeping at all.
//   node spawn  the same N processes from Node's child_process.spawn, P at a time, stdout
//               to a file: the floor for an engine written in Node.
//   strand      `strand run` of scatter-echo.cwl (a CWL scatter over N strings), as a user runs
//               it: the task cache on, with a fresh store (so nothing is reused) each time.
//   strand --cache off
//               the same without the task cache: what the cache costs is the ratio of the two.
//   cwltool     `cwltool --parallel` of the same workflow, when cwltool is installed.
//   ... (JS)    strand and cwltool again on scatter-echo-js.cwl: the same tasks and outputs,
//               with three JavaScript expressions per task (InlineJavascriptRequirement: a $()
//               in an environment variable, a ${} block building the argument, a $() naming
//               stdout), so the expression sandbox's cost shows: the JS/echo ratio of each
//               runner is printed at the end. --no-js leaves them out. cwltool's JS variant
//               only with --cwltool-js: it takes minutes for 1,000 tasks (126 s against 79 s
//               for its echo run, measured on a loaded 2-core machine).
//
// A CWL runner does more per task than the floors: a working directory, the command line
// built from the tool's bindings, stdout capture, an output glob with a checksum, the move
// of the file to --outdir and the output object. The ratio to the xargs floor is that cost.
//
// Every Strand run is timed per task (STRAND_TASK_TIMINGS, src/engine/task-timings.ts): the bench
// prints where a task's time went (median and p90 of each step), how busy the slots were, and
// Strand's own CPU per task (bench/task-timings.mjs). --toil adds toil-cwl-runner at --toil-n tasks
// (default 100; it takes minutes for more).
//
// Usage: node bench/scatter-bench.mjs [--n 1000] [--parallel P] [--repeat K] [--toil] [--toil-n 100]
//          [--strand "node bin/strand.js"] [--no-strand] [--no-cwltool] [--no-node] [--no-js]
//          [--cwltool-js]
//          [--timeout SECONDS] [--settle SECONDS] [--keep]
// Each runner is timed K times (default 1) and the best wall time is kept. Every run's
// outputs are checked (N files, each holding its item) before its time is accepted.
// Before each timed run the bench calls sync and waits --settle seconds (default 6): on ext4
// without a journal, inodes deleted while their table block is dirty are skipped when new ones
// are made, for up to 300 s, so without it each runner pays for the files the previous one
// removed.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const workflow = join(here, 'scatter-echo.cwl');
const jsWorkflow = join(here, 'scatter-echo-js.cwl');

// --- options -------------------------------------------------------------------------------
function parseOptions(argv) {
  const o = {
    n: 1000,
    parallel: availableParallelism(),
    repeat: 1,
    strand: `node ${join(root, 'bin', 'strand.js')}`,
    runStrand: true,
    runCwltool: true,
    runNode: true,
    runJs: true,
    cwltoolJs: false,
    toil: false,
    toilN: 100,
    timeout: 900,
    settle: 6,
    keep: false,
  };
  const intArg = (name, v) => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1) fail(`${name} needs a positive integer, got "${v}"`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--n': o.n = intArg(a, next()); break;
      case '--parallel': o.parallel = intArg(a, next()); break;
      case '--repeat': o.repeat = intArg(a, next()); break;
      case '--timeout': o.timeout = intArg(a, next()); break;
      case '--settle': { const v = next(); o.settle = Number(v); if (!(o.settle >= 0)) fail(`--settle needs a number of seconds, got "${v}"`); break; }
      case '--strand': o.strand = next(); break;
      case '--no-strand': o.runStrand = false; break;
      case '--no-cwltool': o.runCwltool = false; break;
      case '--no-node': o.runNode = false; break;
      case '--no-js': o.runJs = false; break;
      case '--cwltool-js': o.cwltoolJs = true; break;
      case '--toil': o.toil = true; break;
      case '--toil-n': o.toilN = intArg(a, next()); break;
      case '--keep': o.keep = true; break;
      case '-h': case '--help':
        console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
        process.exit(0);
        break;
      default: fail(`unknown option ${a}`);
    }
  }
  return o;
}

function fail(msg) {
  console.error(`scatter-bench: ${msg}`);
  process.exit(2);
}

const opts = parseOptions(process.argv.slice(2));
const items = Array.from({ length: opts.n }, (_, i) => `item-${String(i + 1).padStart(String(opts.n).length, '0')}`);
const work = mkdtempSync(join(tmpdir(), 'strand-bench-'));
const jobPath = join(work, 'job.json');
writeFileSync(jobPath, JSON.stringify({ items }));

// --- checks --------------------------------------------------------------------------------
// Every item must have produced <item>.txt holding "<item>\n" somewhere under dir.
function checkOutputs(dir, expected = items) {
  const found = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.txt')) found.set(e.name, p);
    }
  };
  walk(dir);
  const bad = [];
  for (const item of expected) {
    const p = found.get(`${item}.txt`);
    if (!p) bad.push(`${item}.txt missing`);
    else if (readFileSync(p, 'utf8') !== `${item}\n`) bad.push(`${item}.txt has wrong content`);
    if (bad.length >= 3) break;
  }
  return bad.length === 0 ? null : `${found.size}/${expected.length} files; ${bad.join(', ')}`;
}

// --- runners -------------------------------------------------------------------------------
// Each returns { ms } or { error }; outDir is empty on entry.
function runCommand(cmd, args, { cwd, env, input }) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    input,
    encoding: 'utf8',
    timeout: opts.timeout * 1000,
    killSignal: 'SIGKILL',
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  if (r.error?.code === 'ETIMEDOUT') return { error: `timed out after ${opts.timeout} s`, timedOut: true };
  if (r.error) return { error: r.error.code === 'ENOENT' ? `${cmd}: not found` : String(r.error.message) };
  if (r.status !== 0) {
    const lines = (r.stderr || r.stdout || '').split('\n').map((l) => l.trim()).filter(Boolean);
    const first = lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '';
    return { error: `exit ${r.status ?? r.signal}: ${first.slice(0, 300)}` };
  }
  return { ms, stdout: r.stdout };
}

const runners = [];

runners.push({
  name: `xargs -P ${opts.parallel}`,
  floor: true,
  run: (outDir) =>
    runCommand('xargs', ['-P', String(opts.parallel), '-n', '1', 'sh', '-c', 'exec echo "$1" > "$OUT/$1.txt"', 'sh'], {
      cwd: work,
      env: { OUT: outDir },
      input: items.join('\n') + '\n',
    }),
});

if (opts.runNode) {
  runners.push({
    name: `node spawn x${opts.parallel}`,
    run: (outDir) =>
      new Promise((resolvePromise) => {
        const t0 = performance.now();
        let next = 0;
        let running = 0;
        let failed = null;
        const launch = () => {
          while (running < opts.parallel && next < items.length && !failed) {
            const item = items[next++];
            const fd = openSync(join(outDir, `${item}.txt`), 'w');
            running++;
            const child = spawn('echo', [item], { stdio: ['ignore', fd, 'inherit'] });
            const done = (err) => {
              closeSync(fd);
              running--;
              if (err && !failed) failed = err;
              if ((next >= items.length || failed) && running === 0) {
                resolvePromise(failed ? { error: String(failed) } : { ms: performance.now() - t0 });
              } else launch();
            };
            child.on('error', (e) => done(e));
            child.on('exit', (code) => done(code === 0 ? null : `echo exited ${code}`));
          }
        };
        launch();
      }),
  });
}

if (opts.runStrand) {
  const [cmd, ...pre] = opts.strand.split(/\s+/).filter(Boolean);
  let runs = 0;
  const strandRunner = (name, wf, js, cache) => ({
    name,
    strand: true,
    js,
    cache,
    run: (outDir) => {
      // A fresh store each time: with the cache on, nothing of an earlier run is reused.
      const store = join(work, `strand-store-${++runs}`);
      const timings = join(work, `timings-${runs}.jsonl`);
      const res = runCommand(
        cmd,
        [...pre, 'run', '--quiet', ...(cache ? [] : ['--cache', 'off']), '--parallel', String(opts.parallel), '--store', store, '--outdir', outDir, wf, jobPath],
        { cwd: work, env: { STRAND_TASK_TIMINGS: timings } },
      );
      rmSync(store, { recursive: true, force: true });
      if (!res.error) res.timings = timings;
      return res;
    },
  });
  runners.push(strandRunner('strand', workflow, false, true));
  runners.push(strandRunner('strand --cache off', workflow, false, false));
  if (opts.runJs) runners.push(strandRunner('strand (JS)', jsWorkflow, true, false));
}

let cwltoolNote = null;
if (opts.runCwltool) {
  const probe = spawnSync('cwltool', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    cwltoolNote = 'cwltool: skipped (not installed)';
  } else {
    const cwltoolRunner = (name, wf, js) => ({
      name,
      cwltool: true,
      js,
      run: (outDir) =>
        runCommand(
          'cwltool',
          ['--parallel', '--quiet', '--no-container', '--tmpdir-prefix', join(work, 'cwltool-tmp') + '/', '--tmp-outdir-prefix', join(work, 'cwltool-out') + '/', '--outdir', outDir, wf, jobPath],
          { cwd: work },
        ),
    });
    runners.push(cwltoolRunner('cwltool --parallel', workflow, false));
    if (opts.toil) {
      const toilItems = items.slice(0, opts.toilN);
      const toilJob = join(work, 'toil-job.json');
      writeFileSync(toilJob, JSON.stringify({ items: toilItems }));
      runners.push({
        name: `toil-cwl-runner (N=${toilItems.length})`,
        toil: true,
        n: toilItems.length,
        run: (outDir) =>
          runCommand('toil-cwl-runner', ['--quiet', '--no-container', '--jobStore', join(work, `toil-store-${Date.now()}`), '--outdir', outDir, workflow, toilJob], { cwd: work }),
      });
    }
    if (opts.runJs && opts.cwltoolJs) runners.push(cwltoolRunner('cwltool --parallel (JS)', jsWorkflow, true));
  }
}

// --- measure -------------------------------------------------------------------------------
console.log(`scatter-bench: ${opts.n} echo tasks${opts.runJs ? ' (and again with JavaScript expressions)' : ''}, parallelism ${opts.parallel}, best of ${opts.repeat}, work dir ${work}`);
const results = [];
for (const r of runners) {
  let best = null;
  let error = null;
  for (let k = 0; k < opts.repeat; k++) {
    const outDir = join(work, `out-${r.name.replace(/[^A-Za-z0-9]+/g, '_')}-${k}`);
    mkdirSync(outDir, { recursive: true });
    if (r.cwltool) {
      mkdirSync(join(work, 'cwltool-tmp'), { recursive: true });
      mkdirSync(join(work, 'cwltool-out'), { recursive: true });
    }
    if (opts.settle > 0) {
      spawnSync('sync');
      await new Promise((resolveWait) => setTimeout(resolveWait, opts.settle * 1000));
    }
    process.stderr.write(`  running ${r.name} (${k + 1}/${opts.repeat}) ... `);
    const res = await r.run(outDir);
    if (!res.error) {
      const bad = checkOutputs(outDir, r.n ? items.slice(0, r.n) : items);
      if (bad) res.error = `wrong outputs: ${bad}`;
    }
    if (!opts.keep) rmSync(outDir, { recursive: true, force: true });
    if (res.error) {
      process.stderr.write(`failed: ${res.error}\n`);
      error = res.error;
      break; // a failure (or a timeout) is not worth repeating
    }
    process.stderr.write(`${(res.ms / 1000).toFixed(2)} s\n`);
    if (best === null || res.ms < best) {
      best = res.ms;
      r.timings = res.timings;
    }
  }
  results.push({ ...r, ms: error ? null : best, error });
}

// --- report --------------------------------------------------------------------------------
const floor = results.find((r) => r.floor)?.ms ?? null;
const header = ['runner', 'wall (s)', 'per task (ms)', 'vs xargs'];
const rows = results.map((r) =>
  r.ms === null
    ? [r.name, 'failed', '-', '-']
    : [r.name, (r.ms / 1000).toFixed(2), (r.ms / (r.n ?? opts.n)).toFixed(2), floor ? `${((r.ms / (r.n ?? opts.n)) / (floor / opts.n)).toFixed(1)}x` : '-'],
);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log('');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));
console.log('');
console.log('per task = wall time / tasks. The xargs floor pays one fork + exec of sh + exec of /bin/echo and one');
console.log('file per task and nothing else; a CWL runner also makes a working directory, builds the command');
console.log('line, collects and checksums the output, moves it to --outdir and reports the output object.');
for (const r of results.filter((x) => x.error)) console.log(`${r.name}: ${r.error}`);
if (cwltoolNote) console.log(cwltoolNote);

const strand = results.find((r) => r.strand && !r.js && r.cache);
const strandOff = results.find((r) => r.strand && !r.js && !r.cache);
const cwltool = results.find((r) => r.cwltool && !r.js);
if (strand && strand.ms !== null && floor) {
  console.log(`Strand/xargs ratio: ${(strand.ms / floor).toFixed(2)}x (${(strand.ms / 1000).toFixed(2)} s vs ${(floor / 1000).toFixed(2)} s for ${opts.n} tasks; the default run: task cache on, fresh store)`);
} else {
  console.log(`Strand/xargs ratio: n/a (${strand ? 'strand failed' : 'strand not run'})`);
}
if (strand?.ms && strandOff?.ms) console.log(`task cache on/off: ${(strand.ms / strandOff.ms).toFixed(2)}x (${(strand.ms / 1000).toFixed(2)} s vs ${(strandOff.ms / 1000).toFixed(2)} s)`);
if (strand?.ms && cwltool?.ms) console.log(`cwltool/Strand: ${(cwltool.ms / strand.ms).toFixed(2)}x (Strand's default run is that many times faster than cwltool --parallel)`);
const toil = results.find((r) => r.toil);
if (toil?.ms && strand?.ms) console.log(`toil/Strand per task: ${((toil.ms / toil.n) / (strand.ms / opts.n)).toFixed(1)}x (toil at N=${toil.n})`);
const { summarizeTimings } = await import('./task-timings.mjs');
for (const r of results.filter((x) => x.strand && x.timings)) {
  console.log('');
  console.log(`${r.name}: ${summarizeTimings(r.timings, opts.parallel).join('\n')}`);
}

// The expression sandbox's cost: each runner's JS variant against its echo variant, same series.
if (opts.runJs) {
  for (const [label, pick] of [['Strand', (r) => r.strand], ['cwltool', (r) => r.cwltool]]) {
    const plain = results.find((r) => pick(r) && !r.js);
    const js = results.find((r) => pick(r) && r.js);
    if (!plain || !js) continue;
    if (plain.ms === null || js.ms === null) {
      console.log(`${label} JS/echo ratio: n/a (${plain.ms === null ? plain.name : js.name} failed)`);
      continue;
    }
    const extra = (js.ms - plain.ms) / opts.n;
    console.log(
      `${label} JS/echo ratio: ${(js.ms / plain.ms).toFixed(2)}x (${(js.ms / 1000).toFixed(2)} s vs ${(plain.ms / 1000).toFixed(2)} s; ` +
        `${extra.toFixed(2)} ms more per task, 3 expressions each)`,
    );
  }
  const sj = results.find((r) => r.strand && r.js);
  const cj = results.find((r) => r.cwltool && r.js);
  if (sj?.ms && cj?.ms) console.log(`Strand/cwltool on the JS workflow: ${(sj.ms / cj.ms).toFixed(2)}x (${(sj.ms / 1000).toFixed(2)} s vs ${(cj.ms / 1000).toFixed(2)} s)`);
}

if (!opts.keep) rmSync(work, { recursive: true, force: true });
else console.log(`kept ${work}`);
// Strand failing, or a floor failing, is an error; cwltool timing out is only reported.
const hardFailure = results.some((r) => r.error && !r.cwltool);
process.exit(hardFailure ? 1 : 0);
