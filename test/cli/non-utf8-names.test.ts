/**
 * File names that are not UTF-8 (issue 17, point 9): `caf\xe9.txt`, a Latin-1 name from a
 * directory of data files made elsewhere. Node.js reads such a name as UTF-8 and loses the byte;
 * Strand keeps it (staging/raw-names.ts). Real files, the built CLI (npm run build first);
 * STRAND_TEST_BIN runs another build, to see these fail on it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { built, runCommand, runStrand, strandBin } from '../support/strand-cli.js';

/** `caf\xe9.txt`: é in Latin-1, one byte that is not UTF-8. */
const LATIN1 = Buffer.from('caf\xe9.txt', 'latin1');
const at = (dir: string, name: Buffer) => Buffer.concat([Buffer.from(dir + '/'), name]);
const names = (dir: string) => readdirSync(dir, { encoding: 'buffer' }).map((b) => b.toString('hex')).sort();

let dir = '';
const env = { ...process.env, STRAND_STORE: 'off' };

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-non-utf8-'));
  mkdirSync(path.join(dir, 'indir'));
  writeFileSync(at(path.join(dir, 'indir'), LATIN1), 'data\n');
  writeFileSync(path.join(dir, 'indir', 'plain.txt'), 'x\n');
  writeFileSync(path.join(dir, 'secret.txt'), 'SECRET\n');
  const write = (name: string, lines: string[]) => writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  write('dir.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'requirements: {InlineJavascriptRequirement: {}}',
    'inputs:',
    '  d: {type: Directory, loadListing: shallow_listing}',
    `baseCommand: [sh, -c, 'mkdir out && cp "$0"/* out/ && ls "$0" > names.txt']`,
    'arguments: [$(inputs.d.path)]',
    'outputs:',
    '  out: {type: Directory, outputBinding: {glob: out}}',
    '  names: {type: File, outputBinding: {glob: names.txt}}',
    '  listed: {type: "string[]", outputBinding: {outputEval: "$(inputs.d.listing.map(function (f) { return f.location; }))"}}',
  ]);
  write('pass.cwl', [
    'cwlVersion: v1.2',
    'class: ExpressionTool',
    'requirements: {InlineJavascriptRequirement: {}}',
    'inputs: {d: Directory}',
    'expression: \'$({"out": inputs.d})\'',
    'outputs: {out: Directory}',
  ]);
  write('stdin.cwl', ['cwlVersion: v1.2', 'class: CommandLineTool', 'inputs: {f: File}', 'baseCommand: cat', 'stdin: $(inputs.f.path)', 'stdout: got.txt', 'outputs: {o: stdout}']);
  write('arg.cwl', ['cwlVersion: v1.2', 'class: CommandLineTool', 'inputs: {f: {type: File, inputBinding: {}}}', 'baseCommand: cat', 'stdout: got.txt', 'outputs: {o: stdout}']);
  write('job.yml', ['f: {class: File, location: "indir/caf%E9.txt"}']);
  write('link.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'inputs: []',
    `baseCommand: [sh, -c, 'mkdir out && echo hi > out/a && ln -s "$0" "out/$(printf "l\\351")"', ${JSON.stringify(path.join(dir, 'secret.txt'))}]`,
    'outputs: {out: {type: Directory, outputBinding: {glob: out}}}',
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!built)('file names that are not UTF-8', () => {
  it('a Directory input holding one is staged with the name intact, listed, and an output Directory holding it is delivered with its bytes', async () => {
    const r = await runStrand(['run', '--outdir', 'o1', 'dir.cwl', '--d', 'indir'], { cwd: dir, env });
    expect(r.stderr).toContain('finished: success');
    expect(r.code).toBe(0);
    // The tool saw the name's bytes (ls wrote them), and the listing carries them percent-encoded.
    expect(readFileSync(path.join(dir, 'o1', 'names.txt'))).toEqual(Buffer.concat([LATIN1, Buffer.from('\nplain.txt\n')]));
    const out = JSON.parse(r.stdout);
    expect(out.listed).toHaveLength(2);
    expect(out.listed[0]).toMatch(/^file:\/\/\/.*\/indir\/caf%E9\.txt$/); // the staged name, its byte percent-encoded
    expect(out.listed[1]).toMatch(/\/indir\/plain\.txt$/);
    expect(names(path.join(dir, 'o1', 'out'))).toEqual([LATIN1.toString('hex'), Buffer.from('plain.txt').toString('hex')].sort());
    expect(readFileSync(at(path.join(dir, 'o1', 'out'), LATIN1), 'utf8')).toBe('data\n');
    const entry = out.out.listing.find((f: { location: string }) => f.location.endsWith('caf%E9.txt'));
    expect(entry).toMatchObject({ location: `file://${dir}/o1/out/caf%E9.txt`, size: 5, basename: 'caf\udce9.txt' });
  });

  it('a Directory input passed through as an output is copied to --outdir with the name intact', async () => {
    const r = await runStrand(['run', '--outdir', 'o2', 'pass.cwl', '--d', 'indir'], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(names(path.join(dir, 'o2', 'indir'))).toEqual(names(path.join(dir, 'indir')));
    expect(readFileSync(at(path.join(dir, 'o2', 'indir'), LATIN1), 'utf8')).toBe('data\n');
    expect(readFileSync(at(path.join(dir, 'indir'), LATIN1), 'utf8')).toBe('data\n'); // the input untouched
  });

  it('a link with such a name inside an output Directory that leaves the run is refused (confinement)', async () => {
    const r = await runStrand(['run', '--outdir', 'o3', 'link.cwl'], { cwd: dir, env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/output out: out\/l.* is a link to .*secret\.txt, outside the task's output directory and its inputs/);
    expect(existsSync(path.join(dir, 'o3', 'out'))).toBe(false);
  });

  it('a job file location with the bytes percent-encoded finds the file (read through stdin)', async () => {
    const r = await runStrand(['run', '--outdir', 'o4', 'stdin.cwl', 'job.yml'], { cwd: dir, env });
    expect(r.stderr).toContain('finished: success');
    expect(readFileSync(path.join(dir, 'o4', 'got.txt'), 'utf8')).toBe('data\n');
  });

  it('such a name on the tool command line is refused, saying why, instead of passing a wrong name', async () => {
    const r = await runStrand(['run', '--outdir', 'o5', 'arg.cwl', 'job.yml'], { cwd: dir, env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/caf\\xE9\.txt, a file name that is not UTF-8, which Strand cannot pass as an argument intact/);
  });

  it('such a name as an input flag says the bytes are lost and to use a job file with the name percent-encoded', async () => {
    // Node's spawn passes arguments as UTF-8; the shell gives strand the byte itself.
    const r = await runCommand('sh', ['-c', `exec "$0" "$1" run --outdir o6 stdin.cwl --f "indir/$(printf 'caf\\351.txt')"`, process.execPath, strandBin], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('its name was not valid UTF-8 on the command line');
    expect(r.stderr).toContain('percent-encoded');
    expect(r.stderr).not.toContain('file not found');
  });

  it('with the run store on: a changed input with such a name is not answered from the task cache', async () => {
    const store = ['--store', path.join(dir, 'store-a')];
    const on = { ...process.env };
    delete on.STRAND_STORE;
    writeFileSync(path.join(dir, 'job-c.yml'), 'f: {class: File, location: "c/caf%E9.txt"}\n');
    mkdirSync(path.join(dir, 'c'));
    writeFileSync(at(path.join(dir, 'c'), LATIN1), 'one\n');
    expect((await runStrand(['run', ...store, '--outdir', 'c1', 'stdin.cwl', 'job-c.yml'], { cwd: dir, env: on })).code).toBe(0);
    expect(readFileSync(path.join(dir, 'c1', 'got.txt'), 'utf8')).toBe('one\n');
    writeFileSync(at(path.join(dir, 'c'), LATIN1), 'two\n');
    expect((await runStrand(['run', ...store, '--outdir', 'c2', 'stdin.cwl', 'job-c.yml'], { cwd: dir, env: on })).code).toBe(0);
    expect(readFileSync(path.join(dir, 'c2', 'got.txt'), 'utf8')).toBe('two\n');
  });

  it('with the run store on: a second run replaces the Directory the first delivered to the same --outdir', async () => {
    const store = ['--store', path.join(dir, 'store-b')];
    const on = { ...process.env };
    delete on.STRAND_STORE;
    for (const n of [1, 2]) {
      const r = await runStrand(['run', ...store, '--outdir', 'r1', 'dir.cwl', '--d', 'indir'], { cwd: dir, env: on });
      expect(r.stderr, `run ${n}`).toContain('finished: success');
    }
    expect(readFileSync(at(path.join(dir, 'r1', 'out'), LATIN1), 'utf8')).toBe('data\n');
  });

  it('with the run store on: an output holding such a name is delivered, and the task cache says why it does not keep it', async () => {
    const on = { ...process.env };
    delete on.STRAND_STORE;
    writeFileSync(path.join(dir, 'make.cwl'), [
      'cwlVersion: v1.2',
      'class: CommandLineTool',
      'inputs: []',
      `baseCommand: [sh, -c, 'mkdir out && echo hi > "out/$(printf "caf\\351.txt")"']`,
      'outputs: {out: {type: Directory, outputBinding: {glob: out}}}',
    ].join('\n') + '\n');
    const r = await runStrand(['run', '--store', path.join(dir, 'store-m'), '--outdir', 'm1', 'make.cwl'], { cwd: dir, env: on });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/could not cache its result .*out\/caf\\xE9\.txt has a name that is not UTF-8, which the task cache does not keep/);
    expect(readFileSync(at(path.join(dir, 'm1', 'out'), LATIN1), 'utf8')).toBe('hi\n');
  });

  it('a glob matches such a name (it was silently left out), and a matched link with such a name leading out is refused', async () => {
    const tool = (cmd: string) =>
      ['cwlVersion: v1.2', 'class: CommandLineTool', 'inputs: []', `baseCommand: [sh, -c, '${cmd}', ${JSON.stringify(path.join(dir, 'secret.txt'))}]`,
        "outputs: {all: {type: 'File[]', outputBinding: {glob: '*.txt'}}}"].join('\n') + '\n';
    writeFileSync(path.join(dir, 'glob.cwl'), tool('echo hi > "$(printf "caf\\351.txt")"; echo x > b.txt'));
    const r = await runStrand(['run', '--outdir', 'g1', 'glob.cwl'], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).all.map((f: { location: string }) => path.basename(f.location))).toEqual(['b.txt', 'caf%E9.txt']);
    expect(readFileSync(at(path.join(dir, 'g1'), LATIN1), 'utf8')).toBe('hi\n');
    writeFileSync(path.join(dir, 'glob-link.cwl'), tool('ln -s "$0" "$(printf "l\\351.txt")"'));
    const l = await runStrand(['run', '--outdir', 'g2', 'glob-link.cwl'], { cwd: dir, env });
    expect(l.code).not.toBe(0);
    expect(l.stderr).toMatch(/is a link to .*secret\.txt, outside the task's output directory/);
    expect(existsSync(path.join(dir, 'g2')) ? readdirSync(path.join(dir, 'g2')) : []).toEqual([]);
  });

  it('a symlink to the directory, or the name in a deeper directory, changes nothing', async () => {
    mkdirSync(path.join(dir, 'deep', 'sub'), { recursive: true });
    writeFileSync(at(path.join(dir, 'deep', 'sub'), LATIN1), 'deep\n');
    symlinkSync(path.join(dir, 'deep'), path.join(dir, 'deep-link'));
    const r = await runStrand(['run', '--outdir', 'o7', 'pass.cwl', '--d', 'deep-link'], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(readFileSync(at(path.join(dir, 'o7', 'deep-link', 'sub'), LATIN1), 'utf8')).toBe('deep\n');
  });
});
