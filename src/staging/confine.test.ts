import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputPaths, OutputConfinement } from './confine.js';

let root = '';
let outdir = '';
let elsewhere = '';
let input = '';
let inputDir = '';
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-linkguard-'));
  outdir = path.join(root, 'out');
  await mkdir(path.join(outdir, 'sub'), { recursive: true });
  elsewhere = path.join(root, 'elsewhere.txt');
  input = path.join(root, 'input.txt');
  inputDir = path.join(root, 'input-dir');
  await mkdir(inputDir);
  for (const f of [elsewhere, input, path.join(inputDir, 'a'), path.join(outdir, 'own.txt')]) await writeFile(f, 'x\n');
  await symlink(path.join(outdir, 'own.txt'), path.join(outdir, 'inner-link'));
  await symlink(elsewhere, path.join(outdir, 'symlink.txt'));
  await symlink(input, path.join(outdir, 'input-link'));
  await symlink(inputDir, path.join(outdir, 'dir-link'));
  await symlink(root, path.join(outdir, 'root-link'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const guard = () => new OutputConfinement(outdir, inputPaths({ f: { class: 'File', path: input }, d: { class: 'Directory', location: `file://${inputDir}` } }));

describe('OutputConfinement: what a glob may collect', () => {
  it("takes the tool's own files, links inside the output directory, and inputs linked in", async () => {
    const g = guard();
    for (const p of ['own.txt', 'inner-link', 'input-link', 'dir-link', 'dir-link/a', 'sub']) await g.check(path.join(outdir, p), 'o');
  });

  it('refuses a link the tool made to a file outside (symlink-illegal.cwl), naming where it points', async () => {
    await expect(guard().check(path.join(outdir, 'symlink.txt'), 'output_file')).rejects.toThrow(
      `output output_file: symlink.txt is a link to ${elsewhere}, outside the task's output directory and its inputs`,
    );
  });

  it('refuses a file reached through a linked directory that is not an input', async () => {
    await expect(guard().check(path.join(outdir, 'root-link', 'elsewhere.txt'), 'o')).rejects.toThrow('outside the task');
  });
});
