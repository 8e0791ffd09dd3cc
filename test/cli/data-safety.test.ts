/**
 * `strand run` never damages the user's data and never reports a result it does not deliver:
 * small CWL tools written here, run through the CLI on files in a temp directory, then the user's
 * files and --outdir are inspected. STRAND_TEST_BIN runs another build (e.g. an older one, to see
 * these tests fail on it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = process.env.STRAND_TEST_BIN ?? path.join(repo, 'bin/strand.js');

let tmp: string;
let data: string;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strand-safety-'));
  data = path.join(tmp, 'data');
  await mkdir(data);
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, Record<string, unknown>>;
}

function strand(args: string[], cwd = tmp): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [strandBin, 'run', '--quiet', '--store', path.join(tmp, 'store'), ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      let outputs = {};
      try {
        outputs = JSON.parse(stdout) as Ran['outputs'];
      } catch {
        // a failed run prints no output object
      }
      resolve({ code, stdout, stderr, outputs });
    });
  });
}

async function tool(name: string, body: string): Promise<string> {
  const p = path.join(tmp, name);
  await writeFile(p, `cwlVersion: v1.2\n${body}`);
  return p;
}

const text = (p: string) => readFile(p, 'utf8');
const isRealFile = async (p: string) => (await lstat(p)).isFile();

async function expectDelivered(ran: Ran, outdir: string): Promise<void> {
  expect(ran.code, ran.stderr).toBe(0);
  for (const [name, v] of Object.entries(ran.outputs)) {
    if (!v || v.class !== 'File') continue;
    const p = v.path as string;
    expect(path.dirname(p), name).toBe(outdir);
    expect(await isRealFile(p), `${name}: ${p} is a real file`).toBe(true);
    expect((await lstat(p)).size, name).toBe(v.size);
  }
}

describe('strand run: inputs are never the tool\'s to destroy', () => {
  it('a bzip2-like tool that replaces its input leaves the user\'s file', async () => {
    const cwl = await tool('bzip.cwl', `class: CommandLineTool
# like \`bzip2 FILE\`: writes FILE.bz2 beside FILE and removes FILE
baseCommand: [sh, -c, 'gzip -c "$0" > "$0.bz2" && rm "$0" && mv "$0.bz2" .']
inputs:
  f: {type: File, inputBinding: {position: 1}}
outputs:
  packed: {type: File, outputBinding: {glob: '$(inputs.f.basename).bz2'}}
`);
    await writeFile(path.join(data, 'sample.tsv'), 'a\tb\n1\t2\n');
    const outdir = path.join(tmp, 'out');
    const ran = await strand(['--outdir', outdir, cwl, '--f', path.join(data, 'sample.tsv')]);
    expect(await text(path.join(data, 'sample.tsv'))).toBe('a\tb\n1\t2\n');
    expect(await readdir(data)).toEqual(['sample.tsv']);
    await expectDelivered(ran, outdir);
  });

  it('an index tool writes its side file in Strand\'s staging directory, not beside the user\'s input', async () => {
    const cwl = await tool('faidx.cwl', `class: CommandLineTool
baseCommand: [sh, -c, 'wc -c < "$0" > "$0.fai"']
inputs:
  ref: {type: File, inputBinding: {position: 1}}
outputs:
  indexed:
    type: File
    secondaryFiles: [.fai]
    outputBinding: {outputEval: $(inputs.ref)}
`);
    await writeFile(path.join(data, 'ref.fa'), '>1\nACGT\n');
    const outdir = path.join(tmp, 'out');
    const ran = await strand(['--outdir', outdir, cwl, '--ref', path.join(data, 'ref.fa')]);
    expect(await readdir(data)).toEqual(['ref.fa']);
    await expectDelivered(ran, outdir);
    expect(await isRealFile(path.join(outdir, 'ref.fa.fai'))).toBe(true);
    expect(await text(path.join(data, 'ref.fa'))).toBe('>1\nACGT\n');
  });

  it('outputs globbed through an InitialWorkDir link to the user\'s directory are copied, the directory kept whole', async () => {
    const cwl = await tool('iwd-dir.cwl', `class: CommandLineTool
requirements:
  InitialWorkDirRequirement:
    listing: [$(inputs.d)]
inputs:
  d: Directory
baseCommand: 'true'
outputs:
  b: {type: File, outputBinding: {glob: $(inputs.d.basename)/B}}
`);
    await mkdir(path.join(data, 'rec'));
    await writeFile(path.join(data, 'rec', 'B'), 'B\n');
    const outdir = path.join(tmp, 'out');
    const ran = await strand(['--outdir', outdir, cwl, '--d', path.join(data, 'rec')]);
    expect(await text(path.join(data, 'rec', 'B'))).toBe('B\n');
    await expectDelivered(ran, outdir);
  });
});

describe('strand run: every output reported is delivered', () => {
  it('the index-tool idiom (InitialWorkDir $(inputs.f), glob its basename) delivers the main file, not a dangling link', async () => {
    const sort = await tool('sort.cwl', `class: CommandLineTool
baseCommand: [sort]
inputs:
  f: {type: File, inputBinding: {position: 1}}
stdout: sorted.txt
outputs:
  sorted: {type: stdout}
`);
    const index = await tool('index.cwl', `class: CommandLineTool
requirements:
  InitialWorkDirRequirement:
    listing: [$(inputs.f)]
baseCommand: [sh, -c, 'wc -l < "$0" > "$0.idx"']
arguments: [$(inputs.f.basename)]
inputs:
  f: File
outputs:
  indexed:
    type: File
    secondaryFiles: [.idx]
    outputBinding: {glob: $(inputs.f.basename)}
`);
    const wf = await tool('wf.cwl', `class: Workflow
inputs:
  f: File
outputs:
  indexed: {type: File, outputSource: index/indexed}
steps:
  sort: {run: ${sort}, in: {f: f}, out: [sorted]}
  index: {run: ${index}, in: {f: sort/sorted}, out: [indexed]}
`);
    await writeFile(path.join(data, 'in.txt'), 'b\na\nc\n');
    const outdir = path.join(tmp, 'out');
    const ran = await strand(['--outdir', outdir, wf, '--f', path.join(data, 'in.txt')]);
    await expectDelivered(ran, outdir);
    expect(await text(path.join(outdir, 'sorted.txt'))).toBe('a\nb\nc\n');
    expect(await text(path.join(outdir, 'sorted.txt.idx'))).toBe('3\n');
  });

  it('a Directory output holding links lands as real files', async () => {
    const cwl = await tool('linkdir.cwl', `class: CommandLineTool
baseCommand: [sh, -c, 'mkdir d && ln -s "$0" d/input.txt && echo own > d/own.txt']
inputs:
  f: {type: File, inputBinding: {position: 1}}
outputs:
  d: {type: Directory, outputBinding: {glob: d}}
`);
    await writeFile(path.join(data, 'in.txt'), 'input\n');
    const outdir = path.join(tmp, 'out');
    const ran = await strand(['--outdir', outdir, cwl, '--f', path.join(data, 'in.txt')]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(await isRealFile(path.join(outdir, 'd', 'input.txt'))).toBe(true);
    expect(await text(path.join(outdir, 'd', 'input.txt'))).toBe('input\n');
    expect(await text(path.join(data, 'in.txt'))).toBe('input\n');
  });
});

describe('strand run: a staged input is a link to the original, which outlives the run', () => {
  // The tool archives what it was given: the archive's links must still lead somewhere once the
  // run's scratch directory is gone (cwltool's staged links point at the originals too).
  const tarTool = (input: 'File' | 'Directory') => `class: CommandLineTool
requirements:
  InitialWorkDirRequirement:
    listing: [$(inputs.x)]
baseCommand: [sh, -c, 'tar cf out.tar "$0"']
arguments: [$(inputs.x.basename)]
inputs:
  x: ${input}
outputs:
  archive: {type: File, outputBinding: {glob: out.tar}}
`;
  const untar = async (archive: string): Promise<string> => {
    const into = path.join(tmp, 'untarred');
    await mkdir(into);
    const r = spawnSync('tar', ['xf', archive, '-C', into]);
    expect(r.status, String(r.stderr)).toBe(0);
    return into;
  };

  it('an InitialWorkDir File archived with tar is a link to the user\'s file, which is untouched', async () => {
    const cwl = await tool('tar-file.cwl', tarTool('File'));
    await writeFile(path.join(data, 'a.bed'), 'chr1\t1\t2\n');
    const outdir = path.join(tmp, 'out');
    const ran = await strand(['--outdir', outdir, cwl, '--x', path.join(data, 'a.bed')]);
    await expectDelivered(ran, outdir);
    const into = await untar(path.join(outdir, 'out.tar'));
    expect(await readlink(path.join(into, 'a.bed'))).toBe(await realpath(path.join(data, 'a.bed')));
    expect(await text(path.join(into, 'a.bed'))).toBe('chr1\t1\t2\n');
    expect(await isRealFile(path.join(data, 'a.bed'))).toBe(true);
    expect(await text(path.join(data, 'a.bed'))).toBe('chr1\t1\t2\n');
    expect(await readdir(data)).toEqual(['a.bed']);
  });

  it('an InitialWorkDir Directory archived with tar holds links to the user\'s files, and the directory is untouched', async () => {
    const cwl = await tool('tar-dir.cwl', tarTool('Directory'));
    await mkdir(path.join(data, 'rec', 'sub'), { recursive: true });
    await writeFile(path.join(data, 'rec', 'A'), 'A\n');
    await writeFile(path.join(data, 'rec', 'sub', 'B'), 'B\n');
    const outdir = path.join(tmp, 'out');
    const ran = await strand(['--outdir', outdir, cwl, '--x', path.join(data, 'rec')]);
    await expectDelivered(ran, outdir);
    const into = await untar(path.join(outdir, 'out.tar'));
    expect(await text(path.join(into, 'rec', 'A'))).toBe('A\n');
    expect(await text(path.join(into, 'rec', 'sub', 'B'))).toBe('B\n');
    expect(await readlink(path.join(into, 'rec', 'sub', 'B'))).toBe(path.join(await realpath(data), 'rec', 'sub', 'B'));
    expect(await readdir(path.join(data, 'rec'))).toEqual(['A', 'sub']);
    expect(await readdir(path.join(data, 'rec', 'sub'))).toEqual(['B']);
    expect(await isRealFile(path.join(data, 'rec', 'A'))).toBe(true);
  });

  it('a plain input given as the user\'s link is seen under its own name, one hop from the real file', async () => {
    const cwl = await tool('readlink.cwl', `class: CommandLineTool
baseCommand: [sh, -c, 'basename "$0" > name.txt; readlink "$0" > target.txt']
inputs:
  f: {type: File, inputBinding: {position: 1}}
outputs:
  name: {type: File, outputBinding: {glob: name.txt}}
  target: {type: File, outputBinding: {glob: target.txt}}
`);
    await writeFile(path.join(data, 'a.bed'), 'chr1\t1\t2\n');
    await symlink('a.bed', path.join(data, 'latest.bed'));
    const outdir = path.join(tmp, 'out');
    const ran = await strand(['--outdir', outdir, cwl, '--f', path.join(data, 'latest.bed')]);
    await expectDelivered(ran, outdir);
    expect(await text(path.join(outdir, 'name.txt'))).toBe('latest.bed\n');
    expect(await text(path.join(outdir, 'target.txt'))).toBe(`${await realpath(path.join(data, 'a.bed'))}\n`);
    expect(await readlink(path.join(data, 'latest.bed'))).toBe('a.bed');
    expect(await text(path.join(data, 'a.bed'))).toBe('chr1\t1\t2\n');
  });
});

describe('strand run: re-running into the same --outdir', () => {
  const count = `class: CommandLineTool
baseCommand: [sh, -c, 'echo "$0" > count.txt']
inputs:
  n: {type: string, inputBinding: {position: 1}}
outputs:
  c: {type: File, outputBinding: {glob: count.txt}}
`;

  it('replaces what the earlier run wrote, as cwltool does (no count_2.txt beside a stale count.txt)', async () => {
    const cwl = await tool('count.cwl', count);
    const outdir = path.join(tmp, 'out');
    expect((await strand(['--outdir', outdir, cwl, '--n', '1'])).code).toBe(0);
    const ran = await strand(['--outdir', outdir, cwl, '--n', '2']);
    await expectDelivered(ran, outdir);
    expect(await readdir(outdir)).toEqual(['count.txt']);
    expect(await text(path.join(outdir, 'count.txt'))).toBe('2\n');
  });

  it('never replaces a file Strand did not write: the run fails naming it and says where the results are', async () => {
    const cwl = await tool('count.cwl', count);
    const outdir = path.join(tmp, 'out');
    await mkdir(outdir);
    await writeFile(path.join(outdir, 'count.txt'), 'my notes\n');
    const ran = await strand(['--outdir', outdir, cwl, '--n', '3']);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain(path.join(outdir, 'count.txt'));
    expect(await text(path.join(outdir, 'count.txt'))).toBe('my notes\n');
    const kept = /outputs are kept in (\S+)/.exec(ran.stderr)?.[1];
    expect(kept, ran.stderr).toBeDefined();
    expect(await text(path.join(kept as string, 'count.txt'))).toBe('3\n');
  });

  it('never replaces an input of this run (--outdir . in the data directory)', async () => {
    const cwl = await tool('upper.cwl', `class: CommandLineTool
baseCommand: [sh, -c, 'tr a-z A-Z < "$0" > "$(basename "$0")"']
inputs:
  f: {type: File, inputBinding: {position: 1}}
outputs:
  up: {type: File, outputBinding: {glob: $(inputs.f.basename)}}
`);
    await writeFile(path.join(data, 'sample.txt'), 'abc\n');
    const first = await strand(['--outdir', '.', cwl, '--f', 'sample.txt'], data);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/sample\.txt \(output up\) is an input of this run/);
    expect(await text(path.join(data, 'sample.txt'))).toBe('abc\n');
    expect(existsSync(path.join(data, 'sample_2.txt'))).toBe(false);
  });
});
