/**
 * Warnings of `strand run` for jobs that cwltool runs and Strand runs too, but that are likely
 * mistakes (issue 17, item 9): job file keys that are no input of the document.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { built, repo, runStrand } from '../support/strand-cli.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-run-warnings-'));
  cpSync(path.join(repo, 'examples/hello'), dir, { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const strand = (...args: string[]) => runStrand(args, { cwd: dir, env: { ...process.env, STRAND_STORE: 'off', TMPDIR: dir } });
const warnings = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('[strand] warning:'));

describe.skipIf(!built)(`strand run warnings${built ? '' : ' (skipped: run `npm run build` first)'}`, () => {
  it('names each job file key that is not an input, where it is, the inputs, and the nearest one; the run goes on', async () => {
    const job = readFileSync(path.join(dir, 'job.yml'), 'utf8');
    const lines = job.split('\n').length;
    writeFileSync(
      path.join(dir, 'typo.yml'),
      job + '$namespaces: {edam: "http://edamontology.org/"}\nTop: 3\ntop_n: 3\ncwl:requirements: []\nzzz: 1\nedam:note: fine\n',
    );
    const r = await strand('run', 'wordcount.cwl', 'typo.yml');
    expect(r.code).toBe(0);
    expect(warnings(r.stderr)).toEqual([
      `[strand] warning: typo.yml:${lines + 1}:1: "Top" is not an input of wordcount.cwl (its inputs: texts, top); did you mean "top"?`,
      `[strand] warning: typo.yml:${lines + 2}:1: "top_n" is not an input of wordcount.cwl (its inputs: texts, top); did you mean "top"?`,
      `[strand] warning: typo.yml:${lines + 4}:1: "zzz" is not an input of wordcount.cwl (its inputs: texts, top)`,
    ]);
    expect(JSON.parse(r.stdout)).toHaveProperty('top_words');
  });

  it('suggests bed_file for bed_flie', async () => {
    writeFileSync(path.join(dir, 'beds.cwl'), 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: "true"\ninputs:\n  bed_file: string?\n  reads: string?\noutputs: []\n');
    writeFileSync(path.join(dir, 'beds.yml'), 'reads: r\nbed_flie: x\n');
    const r = await strand('run', 'beds.cwl', 'beds.yml');
    expect(r.code).toBe(0);
    expect(warnings(r.stderr)).toEqual([
      '[strand] warning: beds.yml:2:1: "bed_flie" is not an input of beds.cwl (its inputs: bed_file, reads); did you mean "bed_file"?',
    ]);
  });
});
