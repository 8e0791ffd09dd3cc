/**
 * One truth per run (issue 17): what happened to each task attempt is decided once by the engine
 * and recorded; the summary line, strand list, strand show, the trace and the report all say the
 * same. STRAND_TEST_BIN runs another build (an older one, to see these tests fail on it).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runStrand } from '../support/strand-cli.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strand-truth-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const strand = (args: string[]) => runStrand(args, { cwd: tmp });

async function runAndRead(tool: string): Promise<{ code: number | null; stderr: string; list: string; show: string; trace: string; report: string; json: { tasks: Record<string, number> } }> {
  const file = path.join(tmp, 'tool.cwl');
  await writeFile(file, `cwlVersion: v1.2\n${tool}`);
  const store = path.join(tmp, 'store');
  const ran = await strand(['run', '--store', store, '--cache', 'off', '--outdir', path.join(tmp, 'out'), file]);
  const list = (await strand(['list', '--store', store])).stdout;
  const runId = /run (\d{8}-\d{6}-\S+?) (started|finished|failed)/.exec(ran.stderr)?.[1] ?? 'missing';
  const show = (await strand(['show', '--store', store, runId])).stdout;
  const json = JSON.parse((await strand(['show', '--store', store, '--json', runId])).stdout) as { tasks: Record<string, number> };
  await strand(['report', '--store', store, runId, '-o', path.join(tmp, 'report.html'), '--trace', path.join(tmp, 'trace.tsv')]);
  const trace = await readFile(path.join(tmp, 'trace.tsv'), 'utf8').catch(() => '');
  const report = await readFile(path.join(tmp, 'report.html'), 'utf8').catch(() => '');
  return { code: ran.code, stderr: ran.stderr, list, show, trace, report, json };
}

describe('the engine decides once whether a task succeeded, and every front end says so', () => {
  it('a tool whose successCodes make exit 1 a success: 1 run, 0 failed everywhere', async () => {
    const r = await runAndRead(`class: CommandLineTool
baseCommand: [sh, -c, 'echo hi > out.txt; exit 1']
successCodes: [1]
inputs: []
outputs: {out: {type: File, outputBinding: {glob: out.txt}}}
`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/tasks: 1 run, 0 reused, 0 failed/);
    expect(r.list).toMatch(/success\s.*\s1\/0\s/);
    expect(r.show).toMatch(/1 attempts: 1 ok, 0 failed/);
    expect(r.show).toMatch(/\(attempt 1\): succeeded, exit 1/);
    expect(r.json.tasks).toMatchObject({ total: 1, ok: 1, failed: 0 });
    expect(r.trace.split('\n')[1]).toMatch(/\tCOMPLETED\t1\t/);
    expect(r.report).not.toMatch(/attempt 1: failed/);
  });

  it('a task that exits 0 but whose outputs cannot be collected is failed, not succeeded', async () => {
    const r = await runAndRead(`class: CommandLineTool
baseCommand: [sh, -c, 'true']
inputs: []
outputs: {out: {type: File, outputBinding: {glob: missing.txt}}}
`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tasks: 0 run, 0 reused, 1 failed/);
    expect(r.list).toMatch(/failed\s.*\s0\/1\s/);
    expect(r.show).toMatch(/1 attempts: 0 ok, 1 failed/);
    expect(r.show).toMatch(/outputs could not be collected/);
    expect(r.trace.split('\n')[1]).toMatch(/\tFAILED\t0\t/);
  });
});
