#!/usr/bin/env node
// The cost of one expression evaluation, before and after expressions moved out of Strand's process
// (docs/security.md, "Expressions"). Needs `npx tsc -p tsconfig.build.json` first.
//
//   before: one node:vm context per evaluator, reused, in Strand's thread, with vm's timeout
//           (what src/expressions/sandbox.ts did until 2026-12-06, reproduced here in a few lines)
//   after:  dist/src/expressions (a fresh context per evaluation in a child process, reached
//           synchronously through a relay worker)
//
// Prints microseconds per evaluation for each case and the after/before ratio.
// Options: --n 2000 (evaluations per case), --warmup 200.
import path from 'node:path';
import vm from 'node:vm';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const N = opt('n', 2000);
const WARMUP = opt('warmup', 200);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { createEvaluator } = await import(path.join(repo, 'dist/src/expressions/index.js'));

/** The previous sandbox: a context per evaluator, data re-injected when the job changes. */
function beforeEvaluator(lib) {
  const context = vm.createContext(Object.create(null), { codeGeneration: { strings: true, wasm: false } });
  for (const l of lib) new vm.Script(l).runInContext(context, { timeout: 20_000 });
  const inject = new vm.Script('var __d = JSON.parse(__json); var inputs = __d.inputs; var self = __d.self; var runtime = __d.runtime;');
  const scripts = new Map();
  let last;
  return (kind, code, ctx) => {
    if (last !== ctx) {
      context.__json = JSON.stringify(ctx);
      inject.runInContext(context);
      last = ctx;
    }
    let s = scripts.get(code);
    if (!s) {
      const body = kind === 'paren' ? `return (${code}\n);` : code;
      s = new vm.Script(`(function(){ var __r = (function(){ ${body}\n })(); return __r === undefined ? 'null' : JSON.stringify(__r); })()`);
      scripts.set(code, s);
    }
    return JSON.parse(s.runInContext(context, { timeout: 20_000 }));
  };
}

const lib = ['function basename(p) { return p.split("/").pop(); } function twice(v) { return v * 2; }'];
const file = (i) => ({ class: 'File', path: `/data/sample-${i}.bam`, basename: `sample-${i}.bam`, size: 1000 + i });
const oneJob = { inputs: { n: 4, reads: file(0), threads: 2 }, self: null, runtime: { outdir: '/out', cores: 2 } };
const cases = [
  { name: 'parameter reference (no JS, in-process both)', text: '$(inputs.reads.path)', ref: true, jobs: () => oneJob },
  { name: 'small JS expression, same job', text: '$(inputs.n + 1)', kind: 'paren', code: 'inputs.n + 1', jobs: () => oneJob },
  { name: 'expressionLib call, same job', text: '$(basename(inputs.reads.path))', kind: 'paren', code: 'basename(inputs.reads.path)', jobs: () => oneJob },
  {
    name: 'function body, a new job each time (scatter)',
    text: '${ return inputs.reads.basename + "." + twice(inputs.n); }',
    kind: 'brace',
    code: ' return inputs.reads.basename + "." + twice(inputs.n); ',
    jobs: (i) => ({ inputs: { n: i, reads: file(i), threads: 2 }, self: null, runtime: { outdir: '/out', cores: 2 } }),
  },
];

const time = (fn) => {
  for (let i = 0; i < WARMUP; i++) fn(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn(i);
  return Number(process.hrtime.bigint() - t) / 1000 / N;
};

const after = createEvaluator({ inlineJavascript: true, expressionLib: lib });
const before = beforeEvaluator(lib);
const rows = [];
for (const c of cases) {
  const jobsA = Array.from({ length: N + WARMUP }, (_, i) => c.jobs(i));
  const jobsB = Array.from({ length: N + WARMUP }, (_, i) => c.jobs(i));
  const a = time((i) => after.evaluate(c.text, jobsA[i]));
  const b = c.ref ? a : time((i) => before(c.kind, c.code, jobsB[i]));
  if (!c.ref && JSON.stringify(after.evaluate(c.text, jobsA[0])) !== JSON.stringify(before(c.kind, c.code, jobsB[0]))) throw new Error(`${c.name}: results differ`);
  rows.push([c.name, b, a]);
}
// Bursts: one task's evaluations back to back (here 6), then the task runs (30 ms, not counted),
// as in a run; the child makes contexts ahead while idle.
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const burst = (fn) => {
  let total = 0n;
  let count = 0;
  for (let b = 0; b < Math.ceil(N / 6 / 4); b++) {
    sleep(30);
    const t = process.hrtime.bigint();
    for (let i = 0; i < 6; i++, count++) fn(count);
    total += process.hrtime.bigint() - t;
  }
  return Number(total) / 1000 / count;
};
{
  const c = cases[3];
  const jobsA = Array.from({ length: N }, (_, i) => c.jobs(i));
  const jobsB = Array.from({ length: N }, (_, i) => c.jobs(i));
  const a = burst((i) => after.evaluate(c.text, jobsA[i]));
  const b = burst((i) => before(c.kind, c.code, jobsB[i]));
  rows.push(['bursts of 6 with 30 ms between (a task)', b, a]);
}
const pad = (s, n) => String(s).padEnd(n);
console.log(`${pad('case', 48)}${pad('before (us)', 13)}${pad('after (us)', 12)}after/before`);
for (const [name, b, a] of rows) console.log(`${pad(name, 48)}${pad(b.toFixed(1), 13)}${pad(a.toFixed(1), 12)}${(a / b).toFixed(1)}x`);
