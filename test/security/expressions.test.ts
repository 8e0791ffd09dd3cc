/**
 * JavaScript expressions cannot hurt Strand (docs/security.md, "Expressions"): a promise job that
 * never ends, a replaced JSON, Promise.reject(), import(), a heap bomb, gigabytes of typed arrays
 * and globals left for the next evaluation each fail (or stay inside) that one expression, with a
 * clear message, while Strand goes on; a run with such an expression fails with exit code 1 and
 * answers SIGTERM. Each case runs in a child process (the built dist/), killed if it never ends,
 * because on unprotected code several of them hang or crash the process that evaluates them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { built, repo, runStrand } from '../support/strand-cli.js';

/** A fail-safe only: a case that hangs is killed so that the test fails instead of never ending. */
const HANG_GUARD_MS = Number(process.env.GUARD_MS ?? 120_000);

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-expr-sec-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

type Outcome = { value: unknown } | { error: string };
interface Evaluated {
  code: number | null;
  signal: NodeJS.Signals | null;
  outcomes: Outcome[];
  stderr: string;
}

/** Evaluate `cases` in turn with one evaluator in a new Node process; each outcome is printed as it comes. */
function evaluateInChild(cases: Array<string | { text: string; inputs: Record<string, unknown> }>, opts: { lib?: string[]; timeoutMs: number; memoryMb?: number }): Promise<Evaluated> {
  const script = `
    const { createEvaluator } = await import(${JSON.stringify(path.join(repo, 'dist/src/expressions/index.js'))});
    const { cases, lib, timeoutMs, memoryMb } = JSON.parse(process.argv[1]);
    const ev = createEvaluator({ inlineJavascript: true, expressionLib: lib, timeoutMs, memoryMb });
    for (const c of cases) {
      const text = typeof c === 'string' ? c : c.text;
      const inputs = typeof c === 'string' ? { n: 4, s: 'hi' } : c.inputs;
      let out;
      try { out = { value: ev.evaluate(text, { inputs, self: null, runtime: {} }) }; }
      catch (err) { out = { error: String(err.message) }; }
      process.stdout.write(JSON.stringify(out) + '\\n');
    }`;
  const arg = JSON.stringify({ cases, lib: opts.lib ?? [], timeoutMs: opts.timeoutMs, memoryMb: opts.memoryMb });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, arg], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), HANG_GUARD_MS);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      const outcomes = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Outcome);
      resolve({ code, signal, outcomes, stderr });
    });
  });
}

describe.skipIf(!built)('JavaScript expressions stay in their sandbox', { timeout: HANG_GUARD_MS * 2 }, () => {
  it('stops a promise job that never ends at the time limit, and goes on', async () => {
    const r = await evaluateInChild(['$(Promise.resolve().then(function () { while (true) {} }) && 1)', '$(inputs.n + 1)'], { timeoutMs: 500 });
    expect(r.outcomes).toEqual([{ error: expect.stringMatching(/exceeded the time limit of 0\.5 s/) }, { value: 5 }]);
    expect(r.code).toBe(0);
  });

  it('is not fooled or hung by a replaced JSON.stringify or JSON.parse', async () => {
    const lib = ['JSON.stringify = function () { return { toString: function () { while (true) {} } }; };'];
    const r = await evaluateInChild(
      [
        '$({a: inputs.n})',
        '${ JSON.parse = function () { while (true) {} }; return 1; }',
        { text: '$([inputs.s, JSON.stringify === undefined])', inputs: { s: 'next job' } },
      ],
      { lib, timeoutMs: 2000 },
    );
    expect(r.outcomes).toEqual([{ value: { a: 4 } }, { value: 1 }, { value: ['next job', false] }]);
    expect(r.code).toBe(0);
  });

  it('fails an expression that gives a rejected promise, and survives one it leaves unhandled', async () => {
    const r = await evaluateInChild(['$(Promise.reject(new Error("no")))', '${ Promise.reject(new Error("no")); return 2; }', '$(inputs.n)'], { timeoutMs: 2000 });
    expect(r.outcomes).toEqual([{ error: expect.stringMatching(/returned a Promise/) }, { value: 2 }, { value: 4 }]);
    expect(r.code).toBe(0);
  });

  it('refuses import(): no module is reached, and Strand goes on', async () => {
    const marker = path.join(dir, 'imported');
    const before = readdirSync(dir);
    const r = await evaluateInChild(
      ['$(import("fs"))', `\${ import("fs").then(function (fs) { fs.writeFileSync(${JSON.stringify(marker)}, "x"); }); return 1; }`, '$(inputs.n)'],
      { timeoutMs: 2000 },
    );
    // The promise of import() is refused: an expression that gives it fails; one that drops it gets
    // its own value, and the module's code never runs.
    expect(r.outcomes).toEqual([{ error: expect.stringMatching(/returned a Promise/) }, { value: 1 }, { value: 4 }]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir)).toEqual(before);
  });

  it('stops a heap bomb at the memory limit', async () => {
    const r = await evaluateInChild(['${ var a = []; while (true) a.push({ x: [1, 2, 3] }); }', '$(inputs.n)'], { timeoutMs: 60_000, memoryMb: 64 });
    expect(r.outcomes).toEqual([{ error: expect.stringMatching(/ran out of memory \(limit 64 MB/) }, { value: 4 }]);
    expect(r.code).toBe(0);
  });

  it('stops a heap bomb in a builtin that cannot be interrupted (it would abort a worker thread\'s whole process)', async () => {
    const r = await evaluateInChild(['$(new Array(1e8).fill(0).length)', '$(inputs.n)'], { timeoutMs: 60_000, memoryMb: 64 });
    expect(r.outcomes).toEqual([{ error: expect.stringMatching(/ran out of memory \(limit 64 MB/) }, { value: 4 }]);
    expect(r.code).toBe(0);
  });

  it('refuses 2 GB of typed arrays (memory outside the JavaScript heap)', async () => {
    const r = await evaluateInChild(
      ['$(new Uint8Array(2 * 1024 * 1024 * 1024).fill(1).length)', '$(new ArrayBuffer(8, { maxByteLength: 2 * 1024 * 1024 * 1024 }).byteLength)', '$(new Uint8Array(1024).fill(1).length)'],
      { timeoutMs: 20_000, memoryMb: 64 },
    );
    expect(r.outcomes).toEqual([
      { error: expect.stringMatching(/more than 64 MB of binary data/) },
      { error: expect.stringMatching(/more than 64 MB of binary data/) },
      { value: 1024 },
    ]);
    expect(r.code).toBe(0);
  });

  it('gives each evaluation fresh globals: nothing one leaves is seen by the next', async () => {
    const counter = '${ calls += 1; globalThis.seen = (globalThis.seen || 0) + 1; Array.prototype.mark = (Array.prototype.mark || 0) + 1; return [calls, seen, [].mark]; }';
    const r = await evaluateInChild([counter, counter, counter], { lib: ['var calls = 0;'], timeoutMs: 2000 });
    expect(r.outcomes).toEqual([{ value: [1, 1, 1] }, { value: [1, 1, 1] }, { value: [1, 1, 1] }]);
  });
});

describe.skipIf(!built)('JavaScript expressions in a run (CLI)', { timeout: HANG_GUARD_MS * 3 }, () => {
  const env = () => ({ ...process.env, STRAND_STORE: 'off', TMPDIR: dir });

  it('scattered tasks each see fresh globals, whatever their order', async () => {
    writeFileSync(
      path.join(dir, 'wf.cwl'),
      `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}, InlineJavascriptRequirement: {}}
inputs: {ns: "int[]"}
outputs: {counts: {type: "int[]", outputSource: count/out}}
steps:
  count:
    scatter: n
    in: {n: ns}
    out: [out]
    run:
      class: ExpressionTool
      requirements: {InlineJavascriptRequirement: {expressionLib: ["var calls = 0;"]}}
      inputs: {n: int}
      outputs: {out: int}
      expression: '\${ calls += 1; globalThis.seen = (globalThis.seen || 0) + 1; return {out: calls * 10 + seen}; }'
`,
    );
    const outdir = path.join(dir, 'out');
    const r = await runStrand(['run', '--outdir', outdir, 'wf.cwl', '--ns', '1', '--ns', '2', '--ns', '3', '--ns', '4', '--ns', '5'], { cwd: dir, env: env() });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ counts: [11, 11, 11, 11, 11] });
    expect(readdirSync(outdir)).toEqual([]);
  });

  it('--eval-memory caps what an expression may hold; the run fails with exit code 1', async () => {
    writeFileSync(
      path.join(dir, 'big.cwl'),
      `cwlVersion: v1.2
class: ExpressionTool
requirements: {InlineJavascriptRequirement: {}}
inputs: {mb: int}
outputs: {out: int}
expression: '\${ return {out: new Uint8Array(inputs.mb * 1024 * 1024).fill(1).length}; }'
`,
    );
    const outdir = path.join(dir, 'out');
    const r = await runStrand(['run', '--eval-memory', '64', '--outdir', outdir, 'big.cwl', '--mb', '128'], { cwd: dir, env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/more than 64 MB of binary data/);
    const small = await runStrand(['run', '--eval-memory', '64', '--outdir', outdir, 'big.cwl', '--mb', '8'], { cwd: dir, env: env() });
    expect(small.code).toBe(0);
    expect(JSON.parse(small.stdout)).toEqual({ out: 8 * 1024 * 1024 });
    expect(readdirSync(outdir)).toEqual([]);
  });

  it('a runaway expression fails its task with a clear message and exit code 1; Strand answers SIGTERM', async () => {
    writeFileSync(
      path.join(dir, 'spin.cwl'),
      `cwlVersion: v1.2
class: ExpressionTool
requirements: {InlineJavascriptRequirement: {}}
inputs: {n: int}
outputs: {out: int}
expression: '\${ Promise.resolve().then(function () { while (true) {} }); return {out: inputs.n}; }'
`,
    );
    const guarded = (args: string[], onStarted?: (kill: () => void) => void) =>
      runStrand(args, {
        cwd: dir,
        env: env(),
        onSpawn: (child) => {
          const guard = setTimeout(() => child.kill('SIGKILL'), HANG_GUARD_MS);
          child.on('close', () => clearTimeout(guard));
          let said = '';
          child.stderr?.on('data', (d) => {
            said += d;
            if (onStarted && /run \S+ started/.test(said)) {
              onStarted(() => child.kill('SIGTERM'));
              onStarted = undefined;
            }
          });
        },
      });

    const failed = await guarded(['run', '--eval-timeout', '1', 'spin.cwl', '--n', '3']);
    expect(failed.signal).toBe(null);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/expression \$\{ Promise\.resolve\(\).* exceeded the time limit of 1 s/);

    // SIGTERM while the expression spins: handled once the evaluation ends, within its limit.
    const stopped = await guarded(['run', '--eval-timeout', '3', 'spin.cwl', '--n', '3'], (kill) => kill());
    expect(stopped.signal).toBe(null);
    expect([1, 130]).toContain(stopped.code);
  });
});
