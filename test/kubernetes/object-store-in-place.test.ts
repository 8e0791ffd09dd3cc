/**
 * Object-store mode reads `s3://` inputs in the run's bucket where they are (issue 18, point 8):
 * `strand run` on the fake API server with a real S3 server, Strand's own S3 traffic going through
 * a counting proxy on loopback (the pods go to the server directly), so every byte Strand's
 * process reads from or writes to the store is counted. An input in the run's bucket: none of its
 * bytes pass through Strand, and the tool still reads its content. The same input returned as an
 * output: fetched once, for the output directory, with its real checksum. An input in another
 * bucket: fetched by Strand and put under the run's prefix, as before (the pods' credentials are
 * not for it). Needs `npm run build` (the pods run the built CLI).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/storage/index.js';
import { startFakeObjectStoreCluster, type FakeObjectStoreCluster } from '../support/fake-object-store-cluster.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { built, runStrand } from '../support/strand-cli.js';

const BUCKET = 'strand-inplace';
const OTHER = 'strand-elsewhere';
const SIZE = 3 * 1024 * 1024 + 17;

let c: FakeObjectStoreCluster;
let proxy: FaultProxy;
let dir: string;
let env: NodeJS.ProcessEnv;
let data: Buffer;
let sha1: string;

beforeAll(async () => {
  c = await startFakeObjectStoreCluster({ bucket: BUCKET, otherBuckets: [OTHER] });
  proxy = await startFaultProxy({ host: c.s3.host, port: c.s3.port });
  dir = await mkdtemp(path.join(c.localRoot, '..', 'case-'));
  data = randomBytes(SIZE);
  sha1 = createHash('sha1').update(data).digest('hex');
  const local = path.join(dir, 'reads.bin');
  await writeFile(local, data);
  const store = new S3Store(c.s3.settings, { credentials: c.s3.credentials });
  await store.upload(local, { scheme: 's3', bucket: BUCKET, key: 'data/reads.bin' });
  await store.upload(local, { scheme: 's3', bucket: OTHER, key: 'data/reads.bin' });
  store.close();
  // Strand reaches the store through the proxy; the pods keep the direct endpoint (objectStore.endpoint).
  const configPath = path.join(dir, 'strand.yaml');
  await writeFile(configPath, stringify({ executor: 'kubernetes', kubernetes: c.settings, storage: { s3: { ...c.s3.settings, endpoint: proxy.endpoint } } }));
  env = { ...c.env, STRAND_CONFIG: configPath, TMPDIR: dir };
  delete env.STRAND_STORE;
});
afterAll(async () => {
  await proxy?.close();
  await c?.close();
});

const tool = (passThrough: boolean, workDirCopy = false) => ({
  cwlVersion: 'v1.2',
  class: 'CommandLineTool',
  requirements: [
    ...(passThrough ? [{ class: 'InlineJavascriptRequirement' }] : []),
    // A writable copy in the working directory: another stand-in, fetched by the pod too.
    ...(workDirCopy ? [{ class: 'InitialWorkDirRequirement', listing: [{ entry: '$(inputs.reads)', writable: true }] }] : []),
  ],
  inputs: { reads: { type: 'File', inputBinding: { position: 1 } } },
  baseCommand: ['sh', '-c', 'sha1sum "$0" | cut -c1-40 > sum.txt && wc -c < "$0" > size.txt'],
  outputs: {
    sum: { type: 'File', outputBinding: { glob: 'sum.txt', loadContents: true } },
    size: { type: 'File', outputBinding: { glob: 'size.txt', loadContents: true } },
    ...(passThrough ? { same: { type: 'File', outputBinding: { outputEval: '$(inputs.reads)' } } } : {}),
  },
});

/** Step 1 passes the input through (as an index step passes its reference on); step 2 reads it. */
const passOn = () => ({
  cwlVersion: 'v1.2',
  class: 'Workflow',
  requirements: [{ class: 'InlineJavascriptRequirement' }],
  inputs: { reads: 'File' },
  outputs: { sum: { type: 'File', outputSource: 'read/sum' } },
  steps: {
    pass: {
      in: { reads: 'reads' },
      out: ['same'],
      run: { class: 'CommandLineTool', inputs: { reads: 'File' }, baseCommand: 'true', outputs: { same: { type: 'File', outputBinding: { outputEval: '$(inputs.reads)' } } } },
    },
    read: { in: { reads: 'pass/same' }, out: ['sum', 'size'], run: tool(false) },
  },
});

let n = 0;
async function run(input: string, passThrough = false, cache: string[] = ['--cache', 'off'], workDirCopy = false, document?: object) {
  const id = `run-${++n}`;
  const doc = path.join(dir, `${id}.cwl`);
  const job = path.join(dir, `${id}.json`);
  await writeFile(doc, JSON.stringify(document ?? tool(passThrough, workDirCopy)));
  await writeFile(job, JSON.stringify({ reads: { class: 'File', location: input } }));
  const before = proxy.requests.length;
  const r = await runStrand(['run', '--executor', 'kubernetes', ...cache, '--outdir', path.join(dir, `${id}-out`), doc, job], { cwd: dir, env });
  const traffic = proxy.requests.slice(before);
  const onInput = (bucket: string) => traffic.filter((q) => q.url.startsWith(`/${bucket}/data/reads.bin`));
  return { ...r, traffic, onInput, out: r.code === 0 ? (JSON.parse(r.stdout) as Record<string, { contents?: string; checksum?: string; size?: number; basename?: string }>) : {} };
}
const bytes = (qs: FaultProxy['requests']) => qs.reduce((s, q) => s + q.sentBytes + q.receivedBytes, 0);

describe.skipIf(!built)('object-store mode: s3:// inputs in the run\'s bucket are read by the pods in place', () => {
  it('none of the input\'s bytes pass through Strand, and the tool reads its content', async () => {
    const r = await run(`s3://${BUCKET}/data/reads.bin`);
    expect(r.code, r.stderr).toBe(0);
    // Strand looked at the object (HEAD) and never read it.
    expect(r.onInput(BUCKET).map((q) => q.method)).toEqual(['HEAD']);
    expect(bytes(r.onInput(BUCKET))).toBe(0);
    // All of Strand's traffic with the store: manifests, results, the tool's small outputs.
    expect(bytes(r.traffic)).toBeLessThan(64 * 1024);
    expect(r.out.sum?.contents?.trim()).toBe(sha1);
    expect(r.out.size?.contents?.trim()).toBe(String(SIZE));
    expect(r.stderr).toMatch(/1 s3:\/\/ input file\(s\), 3145745 bytes, are read by the tasks in place/);
  }, 120_000);

  it('a writable copy in the working directory (InitialWorkDir) is fetched by the pod as well, and not brought back', async () => {
    const r = await run(`s3://${BUCKET}/data/reads.bin`, false, ['--cache', 'off'], true);
    expect(r.code, r.stderr).toBe(0);
    expect(bytes(r.onInput(BUCKET))).toBe(0);
    expect(bytes(r.traffic)).toBeLessThan(64 * 1024);
    expect(r.out.sum?.contents?.trim()).toBe(sha1);
  }, 120_000);

  it('an input a step passes on to the next is not fetched for its checksum: the next pod reads it in place too', async () => {
    const r = await run(`s3://${BUCKET}/data/reads.bin`, false, ['--cache', 'off'], false, passOn());
    expect(r.code, r.stderr).toBe(0);
    expect(bytes(r.onInput(BUCKET))).toBe(0);
    expect(bytes(r.traffic)).toBeLessThan(64 * 1024);
    expect(r.out.sum?.contents?.trim()).toBe(sha1);
  }, 120_000);

  it('an input returned as an output is fetched once, for the output directory, with its real checksum and size', async () => {
    const r = await run(`s3://${BUCKET}/data/reads.bin`, true);
    expect(r.code, r.stderr).toBe(0);
    expect(r.out.sum?.contents?.trim()).toBe(sha1);
    expect(r.out.same).toMatchObject({ basename: 'reads.bin', size: SIZE, checksum: `sha1$${sha1}` });
    const got = r.onInput(BUCKET).filter((q) => q.method === 'GET');
    expect(got.reduce((s, q) => s + q.receivedBytes, 0)).toBe(SIZE);
    // By digest: a deep equality of two 3 MiB buffers took 19 s (one element at a time).
    expect(createHash('sha1').update(await readFile(path.join(dir, `run-${n}-out`, 'reads.bin'))).digest('hex')).toBe(sha1);
    // Not sent back to the bucket either.
    expect(bytes(r.traffic.filter((q) => q.method === 'PUT'))).toBeLessThan(64 * 1024);
  }, 120_000);

  it('the task cache keys such an input by its identity in the store: the same object is a hit, a replaced one runs again', async () => {
    const cache = ['--cache', 'readwrite', '--cachedir', path.join(dir, 'task-cache')];
    const first = await run(`s3://${BUCKET}/data/reads.bin`, false, cache);
    expect(first.code, first.stderr).toBe(0);
    const again = await run(`s3://${BUCKET}/data/reads.bin`, false, cache);
    expect(again.code, again.stderr).toBe(0);
    expect(again.out.sum?.contents?.trim()).toBe(sha1);
    expect(again.stderr).toMatch(/cache hit|from the cache|reused/i);
    expect(again.traffic.some((q) => q.url.includes('/stage-in.json'))).toBe(false);
    // New bytes under the same key: a new ETag, so the task runs again and sees them.
    const other = randomBytes(SIZE);
    const local = path.join(dir, 'replaced.bin');
    await writeFile(local, other);
    const store = new S3Store(c.s3.settings, { credentials: c.s3.credentials });
    await store.upload(local, { scheme: 's3', bucket: BUCKET, key: 'data/reads.bin' });
    store.close();
    try {
      const changed = await run(`s3://${BUCKET}/data/reads.bin`, false, cache);
      expect(changed.code, changed.stderr).toBe(0);
      expect(changed.out.sum?.contents?.trim()).toBe(createHash('sha1').update(other).digest('hex'));
      expect(changed.traffic.some((q) => q.url.includes('/stage-in.json'))).toBe(true);
    } finally {
      const back = new S3Store(c.s3.settings, { credentials: c.s3.credentials });
      await back.upload(path.join(dir, 'reads.bin'), { scheme: 's3', bucket: BUCKET, key: 'data/reads.bin' });
      back.close();
    }
  }, 180_000);

  it('an input in another bucket is not given to the pods: Strand fetches it and puts it under the run\'s prefix', async () => {
    const r = await run(`s3://${OTHER}/data/reads.bin`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.out.sum?.contents?.trim()).toBe(sha1);
    expect(r.stderr).not.toMatch(/read by the tasks in place/);
    expect(r.onInput(OTHER).filter((q) => q.method === 'GET').reduce((s, q) => s + q.receivedBytes, 0)).toBe(SIZE);
    const put = r.traffic.filter((q) => q.method === 'PUT' && q.url.startsWith(`/${BUCKET}/strand/runs/`));
    expect(put.reduce((s, q) => s + q.sentBytes, 0)).toBeGreaterThanOrEqual(SIZE);
  }, 120_000);
});
