/**
 * CWL values as cwltool gives them, through the CLI (issue 17, point 8): a File's `format` is the
 * IRI its prefix names, integers beyond 2^53 come out with every digit, and an InitialWorkDir
 * File literal is found relative to its document, whatever directory Strand is started from.
 * Needs the built CLI (npx tsc -p tsconfig.build.json).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = path.join(repo, 'bin/strand.js');
const built = existsSync(path.join(repo, 'dist/src/cli/main.js'));
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-cwl-values-'));
  const write = (name: string, lines: string[]) => {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  };
  write('tools/format.cwl', [
    '$namespaces: {edam: "http://edamontology.org/"}',
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'baseCommand: cat',
    'stdout: out.txt',
    'inputs:',
    '  input: {type: File, format: edam:format_2330, inputBinding: {}}',
    'outputs:',
    '  literal: {type: File, format: edam:format_2330, outputBinding: {glob: out.txt}}',
    '  fromInput: {type: File, format: $(inputs.input.format), outputBinding: {glob: out.txt}}',
  ]);
  write('data/whale.txt', ['Call me Ishmael.']);
  write('format-job.json', ['{"input": {"class": "File", "location": "data/whale.txt", "format": "edam:format_2330"}}']);
  write('tools/big.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'baseCommand: echo',
    'stdout: cwl.output.json',
    'inputs:',
    '  d: {type: double, default: 4200000000000000000000000000000000000000000}',
    '  l: long',
    "arguments: ['{\"d\": $(inputs.d), \"l\": $(inputs.l)}']",
    'outputs:',
    '  d: double',
    '  l: long',
  ]);
  write('big-job.json', ['{"l": 9007199254740993}']);
  write('tools/js.cwl', [
    'cwlVersion: v1.2',
    'class: ExpressionTool',
    'requirements: {InlineJavascriptRequirement: {}}',
    'inputs:',
    '  d: {type: double, default: 4200000000000000000000000000000000000000000}',
    'outputs:',
    '  twice: double',
    "expression: '$({twice: inputs.d * 2})'",
  ]);
  write('tools/iwd.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'requirements:',
    '  InitialWorkDirRequirement:',
    '    listing:',
    '      - {class: File, location: ../data/whale.txt}',
    'baseCommand: "true"',
    'inputs: []',
    'outputs:',
    '  staged: {type: File, outputBinding: {glob: whale.txt}}',
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `strand run` started in `dir` (the suite-root situation: documents in a subdirectory). */
function run(...args: string[]): Promise<Ran> {
  const outdir = mkdtempSync(path.join(dir, 'out-'));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [strandBin, 'run', '--quiet', '--no-container', `--outdir=${outdir}`, ...args], {
      cwd: dir,
      env: { ...process.env, STRAND_STORE: path.join(dir, 'store'), STRAND_CACHE: 'off' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!built)('CWL values as cwltool gives them', () => {
  it("gives a File's format as the IRI, from the tool's literal and from the job's prefixed name", async () => {
    const r = await run('tools/format.cwl', 'format-job.json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { format?: string }>;
    expect(out.literal?.format).toBe('http://edamontology.org/format_2330');
    expect(out.fromInput?.format).toBe('http://edamontology.org/format_2330');
  });

  it('keeps integers beyond 2^53 exact from the document and the job to the output', async () => {
    const r = await run('tools/big.cwl', 'big-job.json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"d": 4200000000000000000000000000000000000000000[,\n]/);
    expect(r.stdout).toMatch(/"l": 9007199254740993[,\n]/);
  });

  it('hands JavaScript expressions a big integer as a number, as cwltool does', async () => {
    const r = await run('tools/js.cwl');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ twice: 8.4e42 });
  });

  it("stages an InitialWorkDir File literal found relative to its document, not to Strand's working directory", async () => {
    const r = await run('tools/iwd.cwl');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { staged: { path: string } };
    expect(readFileSync(out.staged.path, 'utf8')).toBe('Call me Ishmael.\n');
  });
});
