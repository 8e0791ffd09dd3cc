/**
 * relocateOutputs on real trees with real symbolic links: it must never move, replace or delete
 * what Strand did not create, and every output must land in destDir as a real file.
 */
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CwlObject, FileValue } from '../model/types.js';
import { finishOutputValue } from './collect-outputs.js';
import { replaceableFrom } from './earlier-outputs.js';
import { locationFromPath } from './paths.js';
import { relocateOutputs } from './relocate.js';

let tmp: string;
let user: string; // the user's data
let work: string; // the run's work root
let task: string; // a task's outdir inside it
let dest: string; // --outdir

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strand-relocate-'));
  user = path.join(tmp, 'data');
  work = path.join(tmp, 'work');
  task = path.join(work, 'task-1-abc');
  dest = path.join(tmp, 'out');
  await mkdir(user, { recursive: true });
  await mkdir(task, { recursive: true });
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const file = (p: string): FileValue => ({ class: 'File', location: locationFromPath(p), path: p });
/** An output value as collection finishes it (names, size, checksum, listing). */
const finished = async (v: CwlObject): Promise<CwlObject> => (await finishOutputValue(v, task)) as CwlObject;
const text = (p: string) => readFile(p, 'utf8');
const isLink = async (p: string) => (await lstat(p)).isSymbolicLink();

async function linksUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isSymbolicLink()) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

describe('relocateOutputs: ownership on real paths', () => {
  it('copies a file globbed through a task-dir link to the user directory, and leaves the user file', async () => {
    // stage-array-dirs.cwl: InitialWorkDir links `rec` to an input directory, the glob is rec/B.
    await mkdir(path.join(user, 'rec'));
    await writeFile(path.join(user, 'rec', 'B'), 'user data\n');
    await symlink(path.join(user, 'rec'), path.join(task, 'rec'));
    const out = await relocateOutputs(await finished({ b: file(path.join(task, 'rec', 'B')) }), dest, work);
    expect(await text(path.join(user, 'rec', 'B'))).toBe('user data\n');
    expect((out.b as FileValue).path).toBe(path.join(dest, 'B'));
    expect(await isLink(path.join(dest, 'B'))).toBe(false);
    expect(await text(path.join(dest, 'B'))).toBe('user data\n');
  });

  it('copies an input passed through as an output, never moving the user file', async () => {
    await writeFile(path.join(user, 'sample.tsv'), 'a\tb\n');
    await relocateOutputs(await finished({ f: file(path.join(user, 'sample.tsv')) }), dest, work);
    expect(await text(path.join(user, 'sample.tsv'))).toBe('a\tb\n');
    expect(await text(path.join(dest, 'sample.tsv'))).toBe('a\tb\n');
  });

  it('lands a Directory output holding links as real files, the linked files untouched', async () => {
    const upstream = path.join(work, 'up-1-xyz');
    await mkdir(upstream);
    await writeFile(path.join(upstream, 'u.txt'), 'from an earlier step\n');
    await writeFile(path.join(user, 'ref.fa'), '>chr1\nACGT\n');
    const d = path.join(task, 'd');
    await mkdir(path.join(d, 'sub'), { recursive: true });
    await writeFile(path.join(d, 'own.txt'), 'written by the tool\n');
    await symlink(path.join(user, 'ref.fa'), path.join(d, 'ref.fa'));
    await symlink(path.join(upstream, 'u.txt'), path.join(d, 'sub', 'u.txt'));
    const out = await relocateOutputs(await finished({ d: { class: 'Directory', location: locationFromPath(d), path: d } }), dest, work);
    await rm(work, { recursive: true }); // what the run does next
    expect(await linksUnder(dest)).toEqual([]);
    expect(await text(path.join(dest, 'd', 'ref.fa'))).toBe('>chr1\nACGT\n');
    expect(await text(path.join(dest, 'd', 'sub', 'u.txt'))).toBe('from an earlier step\n');
    expect(await text(path.join(dest, 'd', 'own.txt'))).toBe('written by the tool\n');
    expect(await text(path.join(user, 'ref.fa'))).toBe('>chr1\nACGT\n');
    const listing = (out.d as CwlObject).listing as FileValue[];
    expect(listing.map((f) => f.path).sort()).toEqual([path.join(dest, 'd', 'own.txt'), path.join(dest, 'd', 'ref.fa'), path.join(dest, 'd', 'sub')]);
  });

  it('lands a Strand-owned file reached twice (inside a Directory output and as a File output) in both places', async () => {
    const d = path.join(task, 'd');
    await mkdir(d);
    await writeFile(path.join(d, 'x.txt'), 'x\n');
    const out = await relocateOutputs(
      await finished({ d: { class: 'Directory', location: locationFromPath(d), path: d }, x: file(path.join(d, 'x.txt')) }),
      dest,
      work,
    );
    expect(await text(path.join(dest, 'd', 'x.txt'))).toBe('x\n');
    expect(await text((out.x as FileValue).path as string)).toBe('x\n');
  });
});

describe('relocateOutputs: the task cache', () => {
  it('copies cached results out, never moving them, even when the cache lies inside the work root', async () => {
    const cache = path.join(work, 'cache', 'k1');
    await mkdir(path.join(cache, 'd'), { recursive: true });
    await writeFile(path.join(cache, 'f.txt'), 'cached\n');
    await writeFile(path.join(cache, 'd', 'g.txt'), 'in dir\n');
    const out = await relocateOutputs(await finished({ f: file(path.join(cache, 'f.txt')), d: { class: 'Directory', location: locationFromPath(path.join(cache, 'd')), path: path.join(cache, 'd') } }), dest, work, {
      keep: [path.join(work, 'cache')],
    });
    expect(await text(path.join(cache, 'f.txt'))).toBe('cached\n');
    expect(await text(path.join(cache, 'd', 'g.txt'))).toBe('in dir\n');
    expect(await text((out.f as FileValue).path as string)).toBe('cached\n');
    expect(await text(path.join(dest, 'd', 'g.txt'))).toBe('in dir\n');
    // Without `keep`, Strand's own files in the work root are moved: the guard is what keeps them.
    await relocateOutputs(await finished({ f: file(path.join(cache, 'f.txt')) }), path.join(tmp, 'out2'), work);
    expect(existsSync(path.join(cache, 'f.txt'))).toBe(false);
  });
});

describe('relocateOutputs: one file reached by two paths', () => {
  it('lands once, both outputs naming it (an in-place update seen through an InitialWorkDir link)', async () => {
    const up = path.join(work, 'mkdir-1-xyz', 'step1dir');
    await mkdir(up, { recursive: true });
    await writeFile(path.join(up, 'blurb'), '');
    await symlink(up, path.join(task, 'inp'));
    const out = await relocateOutputs(await finished({ a: [file(path.join(up, 'blurb'))], b: [file(path.join(task, 'inp', 'blurb'))] }), dest, work);
    expect(((out.a as FileValue[])[0] as FileValue).path).toBe(path.join(dest, 'blurb'));
    expect(((out.b as FileValue[])[0] as FileValue).path).toBe(path.join(dest, 'blurb'));
    expect(await readdir(dest)).toEqual(['blurb']);
  });
});

describe('relocateOutputs: no dangling results (the index-tool idiom)', () => {
  it('lands the main file as a real file when the task outdir holds a link to an upstream output', async () => {
    // InitialWorkDir listing $(inputs.bam), glob $(inputs.bam.basename), secondaryFiles .bai.
    const upstream = path.join(work, 'sort-1-xyz');
    await mkdir(upstream);
    await writeFile(path.join(upstream, 'sorted.bam'), 'BAM\x01');
    await symlink(path.join(upstream, 'sorted.bam'), path.join(task, 'sorted.bam'));
    await writeFile(path.join(task, 'sorted.bam.bai'), 'BAI');
    const bam = file(path.join(task, 'sorted.bam'));
    bam.secondaryFiles = [file(path.join(task, 'sorted.bam.bai'))];
    const out = await relocateOutputs(await finished({ bam }), dest, work);
    await rm(work, { recursive: true });
    const landed = out.bam as FileValue;
    expect(await isLink(path.join(dest, 'sorted.bam'))).toBe(false);
    expect(await text(path.join(dest, 'sorted.bam'))).toBe('BAM\x01');
    expect(landed.size).toBe(4);
    expect(await text(path.join(dest, 'sorted.bam.bai'))).toBe('BAI');
  });

  it('fails naming the output when a reported size does not match, and leaves --outdir as it was', async () => {
    await mkdir(dest);
    await writeFile(path.join(dest, 'keep.txt'), 'earlier results\n');
    await writeFile(path.join(task, 'a.txt'), 'abc');
    const v = await finished({ a: file(path.join(task, 'a.txt')) });
    (v.a as FileValue).size = 99;
    await expect(relocateOutputs(v, dest, work)).rejects.toThrow(/output a: .*a\.txt has 3 bytes, 99 reported/);
    expect((await readdir(dest)).filter((n) => !n.startsWith('.strand-outputs-'))).toEqual(['keep.txt']);
  });

  it('fails naming the output whose file is a link to nothing', async () => {
    await symlink(path.join(work, 'gone', 'x.bam'), path.join(task, 'x.bam'));
    await expect(relocateOutputs({ bam: file(path.join(task, 'x.bam')) }, dest, work)).rejects.toThrow(/output bam: .*x\.bam does not exist/);
  });
});

describe('relocateOutputs: names in --outdir', () => {
  it('keeps two outputs of one run with the same basename distinct', async () => {
    await mkdir(path.join(task, 'a'));
    await mkdir(path.join(task, 'b'));
    await writeFile(path.join(task, 'a', 'x.txt'), '1');
    await writeFile(path.join(task, 'b', 'x.txt'), '2');
    const out = await relocateOutputs(await finished({ a: file(path.join(task, 'a', 'x.txt')), b: file(path.join(task, 'b', 'x.txt')) }), dest, work);
    expect([(out.a as FileValue).basename, (out.b as FileValue).basename]).toEqual(['x.txt', 'x_2.txt']);
    expect(await text(path.join(dest, 'x_2.txt'))).toBe('2');
  });

  it('replaces, on a re-run, what an earlier run wrote (no count_2.txt beside a stale count.txt)', async () => {
    await writeFile(path.join(task, 'count.txt'), '1\n');
    const first = await relocateOutputs(await finished({ c: file(path.join(task, 'count.txt')) }), dest, work);
    await writeFile(path.join(task, 'count.txt'), '22\n');
    const second = await relocateOutputs(await finished({ c: file(path.join(task, 'count.txt')) }), dest, work, {
      replaceable: replaceableFrom([first]),
    });
    expect((second.c as FileValue).path).toBe(path.join(dest, 'count.txt'));
    expect(await text(path.join(dest, 'count.txt'))).toBe('22\n');
    expect(await readdir(dest)).toEqual(['count.txt']);
  });

  it('replaces an earlier run\'s Directory output only while it holds nothing else', async () => {
    const d = path.join(task, 'd');
    await mkdir(d);
    await writeFile(path.join(d, 'x'), '1');
    const first = await relocateOutputs(await finished({ d: { class: 'Directory', location: locationFromPath(d), path: d } }), dest, work);
    await writeFile(path.join(dest, 'd', 'notes.txt'), 'the user wrote this\n');
    await mkdir(d);
    await writeFile(path.join(d, 'x'), '2');
    await expect(
      relocateOutputs(await finished({ d: { class: 'Directory', location: locationFromPath(d), path: d } }), dest, work, { replaceable: replaceableFrom([first]) }),
    ).rejects.toThrow(/d \(output d\) was not written by an earlier Strand run, or was changed since/);
    expect(await text(path.join(dest, 'd', 'notes.txt'))).toBe('the user wrote this\n');
  });

  it('never replaces a file Strand did not write: fails naming it, and keeps the results where it says', async () => {
    await mkdir(dest);
    await writeFile(path.join(dest, 'count.txt'), 'the user\'s own\n');
    await writeFile(path.join(task, 'count.txt'), 'new\n');
    const err = await relocateOutputs(await finished({ c: file(path.join(task, 'count.txt')) }), dest, work, { replaceable: replaceableFrom([]) }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toContain(path.join(dest, 'count.txt'));
    expect(await text(path.join(dest, 'count.txt'))).toBe('the user\'s own\n');
    const kept = /outputs are kept in (\S+)/.exec(message)?.[1] as string;
    expect(await text(path.join(kept, 'count.txt'))).toBe('new\n');
  });

  it('never replaces an input of this run (--outdir . in the data directory), even one an earlier run wrote', async () => {
    await writeFile(path.join(user, 'sample.tsv'), 'input\n');
    await writeFile(path.join(task, 'sample.tsv'), 'output\n');
    const earlier = [{ s: { class: 'File', path: path.join(user, 'sample.tsv'), size: 6 } }];
    await expect(
      relocateOutputs(await finished({ s: file(path.join(task, 'sample.tsv')) }), user, work, {
        inputs: { in: file(path.join(user, 'sample.tsv')) },
        replaceable: replaceableFrom(earlier),
      }),
    ).rejects.toThrow(/sample\.tsv \(output s\) is an input of this run/);
    expect(await text(path.join(user, 'sample.tsv'))).toBe('input\n');
  });

  it('leaves an input passed through where it is when --outdir is its own directory', async () => {
    await writeFile(path.join(user, 'sample.tsv'), 'input\n');
    const out = await relocateOutputs(await finished({ s: file(path.join(user, 'sample.tsv')) }), user, work, {
      inputs: { in: file(path.join(user, 'sample.tsv')) },
    });
    expect((out.s as FileValue).path).toBe(path.join(user, 'sample.tsv'));
    expect(await text(path.join(user, 'sample.tsv'))).toBe('input\n');
    expect(await readdir(user)).toEqual(['sample.tsv']);
  });

  it('moves nothing into place when one output cannot be had', async () => {
    await writeFile(path.join(task, 'a.txt'), 'a');
    await symlink(path.join(tmp, 'nowhere'), path.join(task, 'b.txt'));
    await expect(relocateOutputs({ a: file(path.join(task, 'a.txt')), b: file(path.join(task, 'b.txt')) }, dest, work)).rejects.toThrow(/output b/);
    expect(existsSync(path.join(dest, 'a.txt'))).toBe(false);
    expect(existsSync(path.join(task, 'a.txt'))).toBe(true);
  });

  it('leaves links it was given to read alone (the staged link itself is not moved either)', async () => {
    await writeFile(path.join(user, 'in.txt'), 'in');
    const staged = path.join(work, 'task-1-abc-inputs', 'stg1');
    await mkdir(staged, { recursive: true });
    await symlink(path.join(user, 'in.txt'), path.join(staged, 'in.txt'));
    await relocateOutputs(await finished({ f: file(path.join(staged, 'in.txt')) }), dest, work);
    expect(await readlink(path.join(staged, 'in.txt'))).toBe(path.join(user, 'in.txt'));
    expect(await text(path.join(dest, 'in.txt'))).toBe('in');
  });
});
