import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputPaths, OutputConfinement, placeInside, prepareStreamFiles, relativeName, writeNoFollow } from './confine.js';

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

describe('relativeName: names Strand writes stay inside', () => {
  it('takes relative names that stay inside, normalised', () => {
    expect(relativeName('a.txt', 'e')).toBe('a.txt');
    expect(relativeName('sub/./x.txt', 'e')).toBe('sub/x.txt');
    expect(relativeName('sub/../x.txt', 'e')).toBe('x.txt');
  });

  it('refuses names that climb out, absolute names, and the directory itself', () => {
    for (const bad of ['../x', 'a/../../x', '..', '/etc/passwd', '', '.', 'a/..']) expect(() => relativeName(bad, 'entry e')).toThrow(/entry e: the name/);
  });
});

describe('placeInside and writeNoFollow: never through a link', () => {
  it('makes the directories on the way and reports what is at the name', async () => {
    const { target, existing } = await placeInside(path.join(root, 'place'), 'a/b/c.txt', 'e');
    expect(target).toBe(path.join(root, 'place', 'a', 'b', 'c.txt'));
    expect(existing).toBeUndefined();
  });

  it('refuses a name under a link to elsewhere, and writes nothing there', async () => {
    const before = await readdir(inputDir);
    await expect(placeInside(outdir, 'dir-link/new.txt', 'entry dir-link/new.txt')).rejects.toThrow(`entry dir-link/new.txt: dir-link/new.txt would be written through dir-link, a link to ${inputDir}`);
    expect(await readdir(inputDir)).toEqual(before);
  });

  it('stream files: a fresh output directory checks only the name; a name with a directory, or a used directory, is checked on disk', async () => {
    await expect(prepareStreamFiles(outdir, { stdout: '../out.txt' }, { fresh: true })).rejects.toThrow(/climbs out/);
    await expect(prepareStreamFiles(outdir, { stdout: '/tmp/out.txt' }, { fresh: true })).rejects.toThrow(/is absolute/);
    await expect(prepareStreamFiles(outdir, { stdout: 'dir-link/out.txt' }, { fresh: true })).rejects.toThrow(/would be written through dir-link/);
    await expect(prepareStreamFiles(outdir, { stdout: 'symlink.txt' })).rejects.toThrow(/would be written through/);
    await expect(prepareStreamFiles(outdir, { stdout: 'plain.txt', stderr: 'plain.err' }, { fresh: true })).resolves.toBeUndefined();
  });

  it('does not open a link for writing', async () => {
    await expect(writeNoFollow(path.join(outdir, 'symlink.txt'), 'x', 'e')).rejects.toThrow(/would be written through/);
    expect(await readFile(elsewhere, 'utf8')).toBe('x\n');
  });
});

describe('OutputConfinement.checkValue: whatever names an output', () => {
  it('refuses a path outside named by value (cwl.output.json, outputEval), naming output and path', async () => {
    await expect(guard().checkValue({ class: 'File', path: elsewhere }, 'out')).rejects.toThrow(`output out: ${elsewhere} lies outside`);
    await expect(guard().checkValue({ class: 'File', location: 'own.txt', secondaryFiles: [{ class: 'File', path: elsewhere }] }, 'out')).rejects.toThrow(elsewhere);
  });

  it('refuses a link inside an output Directory that leaves, but not one to an input', async () => {
    const d = path.join(outdir, 'dir-out');
    await mkdir(d);
    await symlink(input, path.join(d, 'to-input'));
    await guard().checkValue({ class: 'Directory', path: d }, 'd');
    await symlink(elsewhere, path.join(d, 'leak'));
    await expect(guard().checkValue({ class: 'Directory', path: d }, 'd')).rejects.toThrow(`output d: dir-out/leak is a link to ${elsewhere}`);
  });

  it('refuses a dangling link instead of resolving it', async () => {
    await symlink('/nonexistent-in-this-host/x', path.join(outdir, 'dangling'));
    await expect(guard().checkValue({ class: 'File', location: 'dangling' }, 'o')).rejects.toThrow('o: dangling is a link to /nonexistent-in-this-host/x, which does not exist here');
  });

  it("without an output directory (an ExpressionTool): only the step's inputs and literals", async () => {
    const g = new OutputConfinement(undefined, [input]);
    await g.checkValue({ a: { class: 'File', path: input }, b: { class: 'File', basename: 'x', contents: 'x' } }, 'o');
    await expect(g.checkValue({ class: 'File', path: path.join(outdir, 'own.txt') }, 'o')).rejects.toThrow("outside the step's inputs");
  });
});

describe('OutputConfinement.checkTree: links to elsewhere in the output directory are read through', () => {
  it('refuses a leak one link away (relocation copies through the link)', async () => {
    const d = path.join(outdir, 'dir-hop');
    const other = path.join(outdir, 'other');
    await mkdir(d);
    await mkdir(other);
    await symlink(other, path.join(d, 'hop'));
    await symlink(elsewhere, path.join(other, 'leak'));
    await expect(guard().checkValue({ class: 'Directory', path: d }, 'd')).rejects.toThrow(`output d: dir-hop/hop/leak is a link to ${elsewhere}`);
  });

  it('ends on a cycle of links', async () => {
    const d = path.join(outdir, 'dir-cycle');
    await mkdir(d);
    await symlink(d, path.join(d, 'self'));
    await guard().checkValue({ class: 'Directory', path: d }, 'd');
  });
});

describe("OutputConfinement: an input's own links", () => {
  it("takes a link to an input's entry that is the user's own link elsewhere (a staged link farm passed through)", async () => {
    const userDir = path.join(root, 'user-dir');
    const farm = path.join(root, 'farm');
    await mkdir(userDir);
    await mkdir(farm);
    await symlink(elsewhere, path.join(userDir, 'ref-link')); // the user's link, to outside the input
    await symlink(path.join(userDir, 'ref-link'), path.join(farm, 'ref-link')); // the farm's link to the user's entry
    const g = new OutputConfinement(outdir, [userDir], [farm]);
    await g.checkValue({ class: 'Directory', path: farm }, 'd');
    // A link the tool makes that climbs out of the input by text is not the input's.
    await symlink(`${userDir}/../elsewhere.txt`, path.join(farm, 'climb'));
    await expect(new OutputConfinement(outdir, [userDir], [farm]).checkValue({ class: 'Directory', path: farm }, 'd')).rejects.toThrow(`climb is a link to ${elsewhere}`);
  });
});
