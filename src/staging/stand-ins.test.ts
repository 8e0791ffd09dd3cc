/**
 * Stand-ins for objects the tasks read in place: the right size with no bytes here, never read as
 * if they were the object (a checksum, loadContents, a copy fetch the object first, once), and a
 * copy for a working directory is another stand-in, not a download.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readContents, sha1File } from './paths.js';
import { copyStandIn, makeStandIn, materializeUnder, releaseStandIns, standInAt, standInBehind, type StandInObject } from './stand-ins.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-stand-ins-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CONTENT = 'the object, as the store has it\n';
const object = (key: string): StandInObject => ({ location: `s3://b/${key}`, bucket: 'b', key, etag: 'e1', size: Buffer.byteLength(CONTENT) });

/** A store of one object: counts the downloads. */
function fakeStore() {
  const calls: string[] = [];
  const materialize = async (o: StandInObject, dest: string) => {
    calls.push(o.key);
    await new Promise((r) => setTimeout(r, 20));
    await writeFile(dest, CONTENT);
  };
  return { calls, materialize };
}

describe('stand-ins', () => {
  it('have the object\'s size and no bytes of it; a checksum fetches the object once and is the object\'s', async () => {
    const owner = {};
    const s = fakeStore();
    const p = await makeStandIn(path.join(dir, 'a', 'reads.bam'), object('reads.bam'), s.materialize, owner);
    expect((await stat(p)).size).toBe(Buffer.byteLength(CONTENT));
    expect((await readFile(p)).every((b) => b === 0)).toBe(true);
    expect(standInAt(p)?.key).toBe('reads.bam');
    const [a, b] = await Promise.all([sha1File(p), sha1File(p)]);
    expect(a).toBe(`sha1$${createHash('sha1').update(CONTENT).digest('hex')}`);
    expect(b).toBe(a);
    expect(s.calls).toEqual(['reads.bam']);
    expect(standInAt(p)).toBeUndefined();
    releaseStandIns(owner);
  });

  it('loadContents reads the object, not zeros', async () => {
    const owner = {};
    const s = fakeStore();
    const p = await makeStandIn(path.join(dir, 'b', 'x.txt'), object('x.txt'), s.materialize, owner);
    expect(await readContents(p)).toBe(CONTENT);
    releaseStandIns(owner);
  });

  it('a copy is another stand-in of the same object (nothing fetched), found through a link too', async () => {
    const owner = {};
    const s = fakeStore();
    const p = await makeStandIn(path.join(dir, 'c', 'in.bam'), object('in.bam'), s.materialize, owner);
    const copy = path.join(dir, 'c', 'work', 'in.bam');
    expect(await copyStandIn(p, copy)).toBe(true);
    expect(standInAt(copy)?.key).toBe('in.bam');
    expect(s.calls).toEqual([]);
    expect(await copyStandIn(path.join(dir, 'nothing'), path.join(dir, 'c', 'other'))).toBe(false);
    const { symlink } = await import('node:fs/promises');
    await symlink(p, path.join(dir, 'c', 'link'));
    expect((await standInBehind(path.join(dir, 'c', 'link')))?.key).toBe('in.bam');
    releaseStandIns(owner);
    expect(standInAt(copy)).toBeUndefined();
  });

  it('a directory about to be copied has its stand-ins fetched first; other runs\' stand-ins are left alone', async () => {
    const owner = {};
    const s = fakeStore();
    await makeStandIn(path.join(dir, 'd', 'tree', 'one'), object('one'), s.materialize, owner);
    await makeStandIn(path.join(dir, 'd', 'tree', 'sub', 'two'), object('two'), s.materialize, owner);
    const outside = await makeStandIn(path.join(dir, 'd', 'elsewhere'), object('three'), s.materialize, owner);
    await materializeUnder(path.join(dir, 'd', 'tree'));
    expect(s.calls.sort()).toEqual(['one', 'two']);
    expect(await readFile(path.join(dir, 'd', 'tree', 'sub', 'two'), 'utf8')).toBe(CONTENT);
    expect(standInAt(outside)).toBeDefined();
    releaseStandIns(owner);
  });
});

describe('a restarted run', () => {
  it('makes its stand-in over the one a replaced leader left in the same directory', async () => {
    const owner = {};
    const s = fakeStore();
    const p = path.join(dir, 'restart', 'reads.bam');
    await makeStandIn(p, object('reads.bam'), s.materialize, owner);
    releaseStandIns(owner);
    await makeStandIn(p, { ...object('reads.bam'), size: 3 }, s.materialize, owner);
    expect((await stat(p)).size).toBe(3);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(path.dirname(p))).toEqual(['reads.bam']);
    releaseStandIns(owner);
  });
});
