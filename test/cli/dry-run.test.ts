/** `strand run --dry-run` with the local executor: prints what would run, runs nothing, writes nothing. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = path.join(repo, 'bin/strand.js');
const built = existsSync(path.join(repo, 'dist/src/cli/main.js'));
let dir = '';
let tmp = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-dry-run-'));
  tmp = path.join(dir, 'tmp');
  mkdirSync(tmp);
  writeFileSync(path.join(dir, 'reads.txt'), 'r1\nr2\n');
  // Every tool leaves a mark if it runs.
  const tool = (cmd: string, inputs: string, out: string) =>
    `{class: CommandLineTool, baseCommand: [sh, -c, '${cmd}; touch ${dir}/ran'], inputs: ${inputs}, stdout: out.txt, outputs: ${out}}`;
  writeFileSync(
    path.join(dir, 'wf.cwl'),
    [
      'cwlVersion: v1.2',
      'class: Workflow',
      'requirements: {ScatterFeatureRequirement: {}, DockerRequirement: {dockerPull: "debian:stable-slim"}}',
      'inputs: {reads: File, names: "string[]"}',
      'outputs: {}',
      'steps:',
      `  count: {run: ${tool('wc -l "$0"', '{f: {type: File, inputBinding: {position: 1}}}', '{n: stdout}')}, in: {f: reads}, out: [n]}`,
      `  greet: {run: ${tool('echo "$0"', '{w: {type: string, inputBinding: {position: 1}}}', '{g: stdout}')}, scatter: w, in: {w: names}, out: [g]}`,
      `  after: {run: ${tool('cat "$0"', '{f: {type: File, inputBinding: {position: 1}}}', '[]')}, in: {f: count/n}, out: []}`,
    ].join('\n') + '\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function strand(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
    delete env.STRAND_STORE; // the default store, ./.strand, must not appear
    const child = spawn(process.execPath, [strandBin, ...args], { cwd: dir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!built)('strand run --dry-run (local executor)', () => {
  it('prints each task whose inputs exist (command, workdir, image), runs none and leaves no file', async () => {
    const before = readdirSync(dir).sort();
    const r = await strand('run', '--dry-run', '--outdir', 'results', 'wf.cwl', '--reads', 'reads.txt', '--names', 'x y', '--names', 'z');
    expect(r.code, r.stderr).toBe(0);
    const tasks = [...r.stdout.matchAll(/^task (\S+)$/gm)].map((m) => m[1]).sort();
    expect(tasks).toEqual(['wf/count', 'wf/greet/0', 'wf/greet/1']); // wf/after needs count's output
    expect(r.stdout).toMatch(/^ {2}command: sh -c 'echo "\$0"; touch \S+\/ran' 'x y' > \S+\/out\.txt$/m);
    expect(r.stdout).toMatch(/^ {2}command: sh -c .* \S*reads\.txt > \S+\/out\.txt$/m);
    expect(r.stdout).toMatch(/^ {2}workdir: \//m);
    expect(r.stdout).toMatch(/^ {2}image: {3}debian:stable-slim/m);
    expect(r.stderr).toContain('dry run: printed the tasks whose inputs exist now');
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before); // no results/, no .strand/
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('--help says what --dry-run does with the local executor', async () => {
    const r = await strand('run', '--help');
    expect(r.stdout.replace(/\s+/g, ' ')).toContain(
      '--dry-run run nothing, write no file: print what would run for the tasks whose inputs exist now (local: command line, working directory, image; Kubernetes: the Job manifests)',
    );
  });
});
