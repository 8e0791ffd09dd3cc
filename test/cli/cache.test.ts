/**
 * The task cache through the CLI: a second identical run reuses everything; a changed input
 * re-runs only what depends on it; a corrupted cached output re-runs its task; --cache modes,
 * WorkReuse, --cachedir (as in cwltool), strand cache list/clear, and cached results untouched.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { built, runStrand } from '../support/strand-cli.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-cache-cli-'));
  for (const n of ['a', 'b', 'c']) writeFileSync(path.join(dir, `${n}.txt`), `${n} ${n} ${n}\n`);
  // Each tool appends its name and input to ran.log when it really runs.
  const log = path.join(dir, 'ran.log');
  writeFileSync(
    path.join(dir, 'wf.cwl'),
    `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {texts: "File[]"}
outputs:
  upper: {type: "File[]", outputSource: shout/up}
  total: {type: File, outputSource: join/all}
steps:
  shout:
    scatter: f
    in: {f: texts}
    out: [up]
    run:
      class: CommandLineTool
      inputs: {f: {type: File, inputBinding: {position: 1}}}
      baseCommand: [sh, -c, 'echo "shout $(basename $0)" >> ${log}; tr a-z A-Z < "$0"']
      stdout: $(inputs.f.nameroot).up
      outputs: {up: stdout}
  join:
    in: {fs: shout/up}
    out: [all]
    run:
      class: CommandLineTool
      inputs: {fs: {type: "File[]", inputBinding: {position: 1}}}
      baseCommand: [sh, -c, 'echo join >> ${log}; cat "$@"', join]
      stdout: all.txt
      outputs: {all: stdout}
`,
  );
  writeFileSync(path.join(dir, 'job.yml'), 'texts: [{class: File, path: a.txt}, {class: File, path: b.txt}, {class: File, path: c.txt}]\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const env = () => ({ ...process.env, STRAND_STORE: path.join(dir, 'store'), TMPDIR: os.tmpdir() });
const strand = (...args: string[]) => runStrand(args, { cwd: dir, env: env() });
const ranLog = () => (existsSync(path.join(dir, 'ran.log')) ? readFileSync(path.join(dir, 'ran.log'), 'utf8').trim().split('\n').sort() : []);
const clearLog = () => rmSync(path.join(dir, 'ran.log'), { force: true });

interface Attempt {
  taskId: string;
  status: string;
  cacheKey?: string;
  reusedFrom?: { runId: string; entry: string; taskId: string };
}
async function show(runId: string): Promise<{ attempts: Attempt[]; cacheDir?: string; tasks: { reused: number } }> {
  const r = await strand('show', '--json', runId);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { attempts: Attempt[]; cacheDir?: string; tasks: { reused: number } };
}
const runIdOf = (stderr: string) => /\[strand\] run (\S+) started/.exec(stderr)?.[1] as string;

describe.skipIf(!built)('task cache (CLI)', () => {
  it('a second identical run reuses every task, says from which run, and gives the same outputs', async () => {
    const first = await strand('run', '--outdir', 'out1', 'wf.cwl', 'job.yml');
    expect(first.code, first.stderr).toBe(0);
    expect(ranLog()).toEqual(['join', 'shout a.txt', 'shout b.txt', 'shout c.txt']);
    clearLog();
    const second = await strand('run', '--outdir', 'out2', 'wf.cwl', 'job.yml');
    expect(second.code, second.stderr).toBe(0);
    expect(ranLog()).toEqual([]);
    expect(second.stderr).toContain('[strand] tasks: 0 run, 4 reused, 0 failed · wall time');
    const a = JSON.parse(first.stdout) as { total: { checksum: string }; upper: Array<{ checksum: string }> };
    const b = JSON.parse(second.stdout) as typeof a;
    expect(b.total.checksum).toBe(a.total.checksum);
    expect(b.upper.map((f) => f.checksum)).toEqual(a.upper.map((f) => f.checksum));
    expect(readFileSync(path.join(dir, 'out2', 'all.txt'), 'utf8')).toBe('A A A\nB B B\nC C C\n');
    const run1 = runIdOf(first.stderr);
    const run2 = await show(runIdOf(second.stderr));
    expect(run2.tasks.reused).toBe(4);
    expect(run2.attempts.map((x) => x.reusedFrom?.runId)).toEqual([run1, run1, run1, run1]);
    const text = await strand('show', runIdOf(second.stderr));
    expect(text.stdout).toContain('4 ok (4 reused from the cache)');
    expect(text.stdout).toContain(`wf/join (attempt 1): reused from run ${run1}, exit 0`);

    // The results in --outdir are copies: changing one leaves the cache as it was.
    writeFileSync(path.join(dir, 'out2', 'all.txt'), 'changed by the user\n');
    clearLog();
    const third = await strand('run', '--outdir', 'out3', 'wf.cwl', 'job.yml');
    expect(third.code, third.stderr).toBe(0);
    expect(ranLog()).toEqual([]);
    expect(readFileSync(path.join(dir, 'out3', 'all.txt'), 'utf8')).toBe('A A A\nB B B\nC C C\n');
  });

  it('a changed input re-runs only the tasks that depend on it', async () => {
    expect((await strand('run', '--outdir', 'out', 'wf.cwl', 'job.yml')).code).toBe(0);
    clearLog();
    writeFileSync(path.join(dir, 'b.txt'), 'b b b b\n');
    const r = await strand('run', '--outdir', 'out', 'wf.cwl', 'job.yml');
    expect(r.code, r.stderr).toBe(0);
    expect(ranLog()).toEqual(['join', 'shout b.txt']);
    expect(readFileSync(path.join(dir, 'out', 'all.txt'), 'utf8')).toBe('A A A\nB B B B\nC C C\n');
    expect(r.stderr).toContain('[strand] tasks: 2 run, 2 reused, 0 failed');
  });

  it('a corrupted cached output (other bytes, same size) is not used: its task runs again, the result is right', async () => {
    const first = await strand('run', '--outdir', 'out', 'wf.cwl', 'job.yml');
    expect(first.code).toBe(0);
    const run = await show(runIdOf(first.stderr));
    const shoutB = run.attempts.find((x) => x.taskId === 'wf/shout/1') as Attempt;
    const entry = path.join(run.cacheDir as string, shoutB.cacheKey as string);
    expect(readFileSync(path.join(entry, 'b.up'), 'utf8')).toBe('B B B\n');
    writeFileSync(path.join(entry, 'b.up'), 'X X X\n');
    clearLog();
    const r = await strand('run', '--outdir', 'out2', 'wf.cwl', 'job.yml');
    expect(r.code, r.stderr).toBe(0);
    expect(ranLog()).toEqual(['shout b.txt']);
    expect(r.stderr).toMatch(/wf\/shout\/1: the cached result is not used: .*b\.up: checksum .* expected sha1\$\w+; running the task again/);
    expect(readFileSync(path.join(dir, 'out2', 'all.txt'), 'utf8')).toBe('A A A\nB B B\nC C C\n');
    // The broken entry was replaced by the new result: the next run reuses it.
    clearLog();
    expect((await strand('run', '--outdir', 'out3', 'wf.cwl', 'job.yml')).code).toBe(0);
    expect(ranLog()).toEqual([]);
  });

  it('--cache off runs everything and writes no cache; read reuses without writing; write records without reusing', async () => {
    const off = await strand('run', '--cache', 'off', '--outdir', 'out', 'wf.cwl', 'job.yml');
    expect(off.code, off.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'store', 'cache'))).toBe(false);
    clearLog();
    const read = await strand('run', '--cache', 'read', '--outdir', 'out', 'wf.cwl', 'job.yml');
    expect(read.code).toBe(0);
    expect(ranLog()).toHaveLength(4);
    expect(existsSync(path.join(dir, 'store', 'cache'))).toBe(false);
    clearLog();
    expect((await strand('run', '--cache', 'write', '--outdir', 'out', 'wf.cwl', 'job.yml')).code).toBe(0);
    expect(ranLog()).toHaveLength(4);
    clearLog();
    expect((await strand('run', '--cache', 'write', '--outdir', 'out', 'wf.cwl', 'job.yml')).code).toBe(0);
    expect(ranLog()).toHaveLength(4);
    clearLog();
    expect((await strand('run', '--cache', 'read', '--outdir', 'out', 'wf.cwl', 'job.yml')).code).toBe(0);
    expect(ranLog()).toEqual([]);
    clearLog();
    const offAgain = await strand('run', '--cache', 'off', '--outdir', 'out', 'wf.cwl', 'job.yml');
    expect(offAgain.code).toBe(0);
    expect(ranLog()).toHaveLength(4);
    const bad = await strand('run', '--cache', 'sometimes', 'wf.cwl', 'job.yml');
    expect(bad.code).toBe(2);
  });

  it('honours WorkReuse: {enableReuse: false}: the tool runs every time and nothing of it is cached', async () => {
    const wf = readFileSync(path.join(dir, 'wf.cwl'), 'utf8').replace(
      '      inputs: {fs:',
      '      requirements: {WorkReuse: {enableReuse: false}}\n      inputs: {fs:',
    );
    writeFileSync(path.join(dir, 'wf.cwl'), wf);
    expect((await strand('run', '--outdir', 'out', 'wf.cwl', 'job.yml')).code).toBe(0);
    clearLog();
    const r = await strand('run', '--outdir', 'out', 'wf.cwl', 'job.yml');
    expect(r.code, r.stderr).toBe(0);
    expect(ranLog()).toEqual(['join']);
    const run = await show(runIdOf(r.stderr));
    expect(run.attempts.find((x) => x.taskId === 'wf/join')?.cacheKey).toBeUndefined();
  });

  it('--cachedir DIR keeps the cache in DIR (DIR/<scope>/<key> per task), with or without the run store', async () => {
    const base = path.join(dir, 'mycache');
    const cachedir = path.join(base, `user-${os.userInfo().uid}`);
    // Without a run store the key is in the user's config directory: this test's own.
    const env2 = () => ({ ...env(), XDG_CONFIG_HOME: path.join(dir, 'config') });
    const r = await runStrand(['run', '--cachedir', base, '--no-record', '--outdir', 'out', 'wf.cwl', 'job.yml'], { cwd: dir, env: env2() });
    expect(r.code, r.stderr).toBe(0);
    const names = readdirSync(cachedir);
    expect(names.filter((n) => /^[0-9a-f]{40}$/.test(n))).toHaveLength(4);
    expect(names.filter((n) => /^[0-9a-f]{40}\.json$/.test(n))).toHaveLength(4);
    expect(existsSync(path.join(dir, 'store'))).toBe(false);
    clearLog();
    const again = await runStrand(['run', '--cachedir', base, '--outdir', 'out2', 'wf.cwl', 'job.yml'], {
      cwd: dir,
      env: { ...env2(), STRAND_STORE: 'off' },
    });
    expect(again.code, again.stderr).toBe(0);
    expect(ranLog()).toEqual([]);
    const list = await strand('cache', 'list', '--cachedir', base);
    expect(list.stdout).toMatch(new RegExp(`task cache ${cachedir}: 4 entries`));
    expect(list.stdout).toContain('wf/join');
    const clear = await strand('cache', 'clear', '--cachedir', base);
    expect(clear.stdout).toMatch(/removed 4 entries/);
    expect(readdirSync(cachedir)).toEqual([]);
    // The results that were relocated from the cache are still there: they were copied.
    expect(readFileSync(path.join(dir, 'out2', 'all.txt'), 'utf8')).toBe('A A A\nB B B\nC C C\n');
  });

  it('a tool with InplaceUpdateRequirement turns the cache off for its run, so no cached result is changed', async () => {
    writeFileSync(
      path.join(dir, 'inplace.cwl'),
      `cwlVersion: v1.2
class: CommandLineTool
requirements: {InplaceUpdateRequirement: {inplaceUpdate: true}, InitialWorkDirRequirement: {listing: [{entry: $(inputs.f), writable: true}]}}
inputs: {f: File}
baseCommand: [sh, -c, 'echo more >> ${'$'}{0}', a.txt]
outputs: {o: {type: File, outputBinding: {glob: a.txt}}}
`,
    );
    const r = await strand('run', '--outdir', 'out', 'inplace.cwl', '--f', 'a.txt');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('task cache off for this run');
    expect(existsSync(path.join(dir, 'store', 'cache'))).toBe(false);
  });
});
