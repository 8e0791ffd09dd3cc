import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3TestServer } from '../../test/support/s3-server.js';
import { StorageError } from '../errors.js';
import { loadDocument } from '../loader/index.js';
import type { CwlObject, FileValue } from '../model/types.js';
import { parseS3Location, S3Store } from '../storage/index.js';
import { findRemoteEntries, RemoteData } from './remote-data.js';

let server: S3TestServer;
let dir: string;

beforeAll(async () => {
  server = await startS3Server({ buckets: ['data'] });
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-remote-data-'));
  await writeFile(path.join(dir, 'ref.fa'), '>chr1\nACGT\n');
  const store = new S3Store(server.settings, { credentials: server.credentials });
  await store.upload(path.join(dir, 'ref.fa'), parseS3Location('s3://data/ref.fa'));
  store.close();
  await writeFile(
    path.join(dir, 'tool.cwl'),
    ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: cat', 'inputs:', '  ref: {type: File, default: {class: File, location: "s3://data/ref.fa"}, inputBinding: {position: 1}}', '  reads: File', 'outputs: []'].join('\n'),
  );
  await writeFile(
    path.join(dir, 'bam.cwl'),
    ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: cat', 'inputs:', '  reads: {type: File, secondaryFiles: [.bai, ^.crai?], inputBinding: {position: 1}}', 'outputs: []'].join('\n'),
  );
  const s2 = new S3Store(server.settings, { credentials: server.credentials });
  for (const k of ['s/r.bam', 's/r.bam.bai', 'x/lone.bam', 'e/a.vcf', 'e/a.vcf.tbi']) await s2.upload(path.join(dir, 'ref.fa'), parseS3Location(`s3://data/${k}`));
  s2.close();
  for (const [k, v] of Object.entries(server.env)) process.env[k] = v;
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('remote data at the edges of a run', () => {
  it('finds remote Files and Directories, not inside a remote Directory, in secondaryFiles and records', () => {
    const found = findRemoteEntries([
      {
        a: { class: 'File', location: 's3://data/a.bam', secondaryFiles: [{ class: 'File', location: 'https://h/a.bam.bai' }] },
        rec: { x: [{ class: 'File', location: 'file:///tmp/local.txt' }, { class: 'Directory', location: 's3://data/dir', listing: [{ class: 'File', location: 's3://data/dir/in' }] }] },
      },
    ]);
    expect(found.map((f) => f.text)).toEqual(['s3://data/a.bam', 'https://h/a.bam.bai', 's3://data/dir']);
  });

  it('is nothing to do for local runs; an http(s) outdir is refused', async () => {
    const p = await loadDocument(path.join(dir, 'tool.cwl'));
    expect(RemoteData.find({ reads: { class: 'File', location: 'file:///x' } }, { ...p, inputs: [] }, { storage: {}, outdir: '/tmp/out' })).toBeUndefined();
    expect(() => RemoteData.find({}, p, { storage: {}, outdir: 'https://h/out' })).toThrow(StorageError);
  });

  it('fetches into the cache, leaving the caller’s inputs and the loaded process as they were (the run has its own copy of a remote default)', async () => {
    const p = await loadDocument(path.join(dir, 'tool.cwl'));
    const inputs: CwlObject = { reads: { class: 'File', location: 's3://data/ref.fa' } };
    const remote = RemoteData.find(inputs, p, { storage: { s3: server.settings }, outdir: '/tmp/out' })!;
    await remote.preflight();
    const got = await remote.fetchInputs(path.join(dir, 'cache'));
    // One location used twice (input and default) is fetched once.
    expect(got).toEqual({ files: 1, bytes: 11, inPlace: { files: 0, bytes: 0 } });
    const local = remote.inputs.reads as FileValue;
    expect(local.path?.startsWith(path.join(dir, 'cache'))).toBe(true);
    expect(local.basename).toBe('ref.fa');
    expect(await readFile(local.path!, 'utf8')).toBe('>chr1\nACGT\n');
    // The run's copy of the default points at the fetched file; the process is not changed, even
    // while the run goes (another run of the same loaded process sees the document's default).
    expect(((remote.defaults.get(p.inputs[0]!) as FileValue).path ?? '').startsWith(path.join(dir, 'cache'))).toBe(true);
    expect(p.inputs[0]!.default).toEqual({ class: 'File', location: 's3://data/ref.fa' });
    remote.close();
    expect(inputs.reads).toEqual({ class: 'File', location: 's3://data/ref.fa' });
    expect(p.inputs[0]!.default).toEqual({ class: 'File', location: 's3://data/ref.fa' });
  });

  it('leaves objects the executor\'s tasks read in place where they are: stand-ins of their size, a Directory\'s too, secondary files beside; other buckets fetched', async () => {
    const { standInAt } = await import('../staging/stand-ins.js');
    const { stat } = await import('node:fs/promises');
    const p = await loadDocument(path.join(dir, 'bam.cwl'));
    const inPlace: string[] = [];
    const remote = RemoteData.find({ reads: { class: 'File', location: 's3://data/s/r.bam' }, dir: { class: 'Directory', location: 's3://data/e' } }, p, {
      storage: { s3: server.settings },
      outdir: '/tmp/out',
      readsInPlace: (loc) => (inPlace.push(loc.key), loc.bucket === 'data' && loc.key !== 's/r.bam.bai'),
    })!;
    await remote.preflight();
    const got = await remote.fetchInputs(path.join(dir, 'cache-in-place'));
    // r.bam and the Directory's two objects in place; r.bam.bai (the executor said no) fetched, beside r.bam.
    expect(got).toEqual({ files: 1, bytes: 11, inPlace: { files: 3, bytes: 33 } });
    const reads = remote.inputs.reads as FileValue;
    expect(reads.basename).toBe('r.bam');
    expect(standInAt(reads.path!)).toMatchObject({ bucket: 'data', key: 's/r.bam', size: 11 });
    expect((await stat(reads.path!)).size).toBe(11);
    expect(standInAt(path.join(path.dirname(reads.path!), 'r.bam.bai'))).toBeUndefined();
    expect(await readFile(path.join(path.dirname(reads.path!), 'r.bam.bai'), 'utf8')).toBe('>chr1\nACGT\n');
    const d = path.join(dir, 'cache-in-place');
    const { readdir } = await import('node:fs/promises');
    const all = await readdir(d, { recursive: true });
    const vcf = all.find((x) => x.endsWith('a.vcf'))!;
    const tbi = all.find((x) => x.endsWith('a.vcf.tbi'))!;
    expect(standInAt(path.join(d, vcf))).toMatchObject({ key: 'e/a.vcf' });
    expect(standInAt(path.join(d, tbi))).toMatchObject({ key: 'e/a.vcf.tbi' });
    expect(inPlace.sort()).toEqual(['e', 's/r.bam', 's/r.bam.bai']);
    remote.close();
    expect(standInAt(reads.path!)).toBeUndefined();
  });

  it('finds the secondary files an input pattern names beside a remote File and fetches them beside it', async () => {
    const p = await loadDocument(path.join(dir, 'bam.cwl'));
    const remote = RemoteData.find({ reads: { class: 'File', location: 's3://data/s/r.bam' } }, p, { storage: { s3: server.settings }, outdir: '/tmp/out' })!;
    await remote.preflight();
    await remote.fetchInputs(path.join(dir, 'cache2'));
    const reads = remote.inputs.reads as FileValue;
    // .bai is there; the optional ^.crai (r.crai) is not, and is no error.
    expect(reads.secondaryFiles?.map((f) => f.basename)).toEqual(['r.bam.bai']);
    expect(path.dirname(reads.secondaryFiles![0]!.path!)).toBe(path.dirname(reads.path!));
    remote.close();
  });

  it('a required secondary file missing beside a remote File is an error naming it and the input', async () => {
    const p = await loadDocument(path.join(dir, 'bam.cwl'));
    const remote = RemoteData.find({ reads: { class: 'File', location: 's3://data/x/lone.bam' } }, p, { storage: { s3: server.settings }, outdir: '/tmp/out' })!;
    await expect(remote.preflight()).rejects.toThrow('s3://data/x/lone.bam.bai: no such object, and input reads needs it beside s3://data/x/lone.bam (secondaryFiles: .bai)');
    remote.close();
  });

  it('secondary files listed in the job are fetched into their File\'s directory', async () => {
    const p = await loadDocument(path.join(dir, 'tool.cwl'));
    const inputs: CwlObject = { reads: { class: 'File', location: 's3://data/e/a.vcf', secondaryFiles: [{ class: 'File', location: 's3://data/e/a.vcf.tbi' }] } };
    const remote = RemoteData.find(inputs, p, { storage: { s3: server.settings }, outdir: '/tmp/out' })!;
    await remote.preflight();
    await remote.fetchInputs(path.join(dir, 'cache3'));
    const reads = remote.inputs.reads as FileValue;
    expect(reads.secondaryFiles![0]!.path).toBe(path.join(path.dirname(reads.path!), 'a.vcf.tbi'));
    remote.close();
  });
});
