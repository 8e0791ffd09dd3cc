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

  it('fetches into the cache, leaving the caller’s inputs and the loaded defaults as they were', async () => {
    const p = await loadDocument(path.join(dir, 'tool.cwl'));
    const inputs: CwlObject = { reads: { class: 'File', location: 's3://data/ref.fa' } };
    const remote = RemoteData.find(inputs, p, { storage: { s3: server.settings }, outdir: '/tmp/out' })!;
    await remote.preflight();
    const got = await remote.fetchInputs(path.join(dir, 'cache'));
    // One location used twice (input and default) is fetched once.
    expect(got).toEqual({ files: 1, bytes: 11 });
    const local = remote.inputs.reads as FileValue;
    expect(local.path?.startsWith(path.join(dir, 'cache'))).toBe(true);
    expect(local.basename).toBe('ref.fa');
    expect(await readFile(local.path!, 'utf8')).toBe('>chr1\nACGT\n');
    expect(((p.inputs[0]!.default as FileValue).path ?? '').startsWith(path.join(dir, 'cache'))).toBe(true);
    remote.close();
    expect(inputs.reads).toEqual({ class: 'File', location: 's3://data/ref.fa' });
    expect((p.inputs[0]!.default as FileValue).location).toBe('s3://data/ref.fa');
    expect((p.inputs[0]!.default as FileValue).path).toBeUndefined();
  });
});
