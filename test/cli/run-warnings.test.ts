/**
 * Warnings of `strand run` for jobs that cwltool runs and Strand runs too, but that are likely
 * mistakes (issue 17, item 9): job file keys that are no input of the document, and tasks that ask
 * for more cores or memory than this machine has.
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

  it('says once per step when its tasks ask for more cores or memory than the machine has, and runs them', async () => {
    writeFileSync(
      path.join(dir, 'big.cwl'),
      'cwlVersion: v1.2\nclass: CommandLineTool\nrequirements:\n  ResourceRequirement: { coresMin: 64, ramMin: 900000 }\n' +
        'baseCommand: echo\ninputs:\n  n: {type: int, inputBinding: {}}\nstdout: out.txt\noutputs:\n  out:\n    type: string\n' +
        '    outputBinding: {glob: out.txt, loadContents: true, outputEval: "$(self[0].contents)"}\n',
    );
    writeFileSync(
      path.join(dir, 'scatter-big.cwl'),
      'cwlVersion: v1.2\nclass: Workflow\nrequirements: {ScatterFeatureRequirement: {}}\ninputs: {ns: "int[]"}\n' +
        'outputs: {outs: {type: "string[]", outputSource: big/out}}\nsteps:\n  big:\n    run: big.cwl\n    scatter: n\n    in: {n: ns}\n    out: [out]\n',
    );
    const cores = os.availableParallelism();
    const ramMiB = Math.floor(os.totalmem() / (1024 * 1024));
    const asks = [cores < 64 ? 'coresMin 64' : '', ramMiB < 900000 ? 'ramMin 900000 MiB' : ''].filter(Boolean).join(' and ');
    const has = [cores < 64 ? `${cores} core${cores === 1 ? '' : 's'}` : '', ramMiB < 900000 ? `${ramMiB} MiB of memory` : ''].filter(Boolean).join(', ');
    expect(asks).not.toBe('');
    const r = await strand('run', 'scatter-big.cwl', '--ns', '1', '--ns', '2', '--ns', '3');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ outs: ['1\n', '2\n', '3\n'] });
    expect(warnings(r.stderr)).toEqual([
      `[strand] warning: step scatter-big/big asks for ${asks} (ResourceRequirement), more than this machine has (${has}); it runs with what there is`,
    ]);
  });
});
