/**
 * The leader rebuilds a task's working directory from the manifest its pod uploaded. That manifest
 * is shaped by what the tool left (its upload container scans the directory), so its names are
 * untrusted: a link to a directory of the user's followed by a file "through" it must not write
 * into the user's directory, and a name that climbs out must not be written at all. Real S3 on
 * loopback (s3rver), real files.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../../storage/s3-store.js';
import { startS3Server, type S3TestServer } from '../../../../test/support/s3-server.js';
import type { TaskSpec } from '../../executor.js';
import { PathMap } from '../path-map.js';
import { jobPrefix, type PodLayout } from './layout.js';
import { putJson } from './json-objects.js';
import { RESULT, type ResultManifest } from './manifest.js';
import { ObjectStoreRun } from './run-files.js';
import type { ObjectStoreSettings } from './settings.js';

const BUCKET = 'strand-run-files';
let server: S3TestServer;
let store: S3Store;
let dir: string;
beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  store = new S3Store(server.settings, { credentials: server.credentials });
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-run-files-'));
});
afterAll(async () => {
  store?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const settings = { bucket: BUCKET, prefix: 'strand', keepIntermediate: false } as unknown as ObjectStoreSettings;

async function collectForged(name: string, manifest: Omit<ResultManifest, 'version' | 'exitCode' | 'logs' | 'fetched' | 'uploaded'>): Promise<{ error: unknown; workDir: string; user: string }> {
  const runId = `r-${name}`;
  const job = 'job-1';
  const workDir = path.join(dir, name, 'work');
  const user = path.join(dir, name, 'user-home');
  await mkdir(workDir, { recursive: true });
  await mkdir(user, { recursive: true });
  await writeFile(path.join(user, 'x'), 'the user file\n');
  const key = `${jobPrefix(settings, runId, job)}/out/payload`;
  await putJson(store, { scheme: 's3', bucket: BUCKET, key }, 'FORGED');
  const result: ResultManifest = {
    version: 1,
    exitCode: 0,
    logs: {},
    fetched: { files: 0, bytes: 0 },
    uploaded: { files: 1, bytes: 8, reused: 0 },
    dirs: manifest.dirs,
    links: manifest.links.map((l) => ({ ...l, target: l.target === '__USER__' ? user : l.target })),
    files: manifest.files.map((f) => ({ ...f, key })),
  };
  await putJson(store, { scheme: 's3', bucket: BUCKET, key: `${jobPrefix(settings, runId, job)}/${RESULT}` }, result);
  const run = new ObjectStoreRun(store, settings, runId, dir);
  const spec = { workDir, logDir: path.join(dir, name, 'logs'), mounts: [] } as unknown as TaskSpec;
  const layout = { paths: new PathMap([]), root: '/pod', localRoot: dir } as unknown as PodLayout;
  const error = await run.collect(spec, layout, job).then(
    () => undefined,
    (err: unknown) => err,
  );
  return { error, workDir, user };
}

describe("rebuilding a pod's working directory from its manifest", () => {
  it('refuses a file written through a link the tool made to a directory outside, and leaves that directory as it was', async () => {
    const r = await collectForged('through-link', {
      dirs: [],
      links: [{ path: 'data', target: '__USER__' }],
      files: [{ path: 'data/x', key: 'payload', size: 7, mode: 0o644 } as ResultManifest['files'][number]],
    });
    expect(String(r.error)).toMatch(/through|link/);
    expect(await readFile(path.join(r.user, 'x'), 'utf8')).toBe('the user file\n');
  });

  it('refuses names that climb out of the working directory', async () => {
    const r = await collectForged('climb', {
      dirs: ['../escaped-dir'],
      links: [],
      files: [],
    });
    expect(String(r.error)).toMatch(/climbs out/);
    expect(await readdir(path.dirname(r.workDir))).not.toContain('escaped-dir');
  });
});

describe('inputs the pods read in place (stand-ins of objects in the run\'s bucket)', () => {
  it('are named in the stage-in manifest by their own key and ETag, and nothing is sent; the pod refuses another version', async () => {
    const { makeStandIn, releaseStandIns } = await import('../../../staging/stand-ins.js');
    const { getJson } = await import('./json-objects.js');
    const { stageIn } = await import('./pod-io.js');
    const local = path.join(dir, 'in-place', 'reads.bin');
    await mkdir(path.dirname(local), { recursive: true });
    await writeFile(path.join(dir, 'in-place', 'v1'), 'version one\n');
    const info = await store.upload(path.join(dir, 'in-place', 'v1'), { scheme: 's3', bucket: BUCKET, key: 'data/reads.bin' });
    const owner = {};
    const fetched: string[] = [];
    const object = { location: `s3://${BUCKET}/data/reads.bin`, bucket: BUCKET, key: 'data/reads.bin', etag: info.etag, size: info.size };
    await makeStandIn(local, object, async (o) => void fetched.push(o.key), owner);
    try {
      const workDir = path.join(dir, 'in-place', 'work');
      await mkdir(workDir, { recursive: true });
      const spec = { stepPath: 'step', workDir, tmpDir: path.join(dir, 'in-place', 'tmp'), logDir: path.join(dir, 'in-place', 'logs'), mounts: [{ hostPath: local }] } as unknown as TaskSpec;
      const root = path.join(dir, 'in-place', 'pod');
      const layout = { paths: new PathMap([{ from: dir, to: root }]), root, localRoot: dir } as unknown as PodLayout;
      const run = new ObjectStoreRun(store, settings, 'r-in-place', dir);
      const t = await run.prepare(spec, layout, 'job-1');
      expect(t.leaderUploaded).toEqual({ files: 0, bytes: 0 });
      expect(t.inPlace).toEqual({ files: 1, bytes: info.size });
      expect(fetched).toEqual([]);
      // A second task with the same input: again read in place, and counted for it.
      const t2 = await run.prepare(spec, layout, 'job-2');
      expect(t2.leaderUploaded).toEqual({ files: 0, bytes: 0 });
      expect(t2.inPlace).toEqual({ files: 1, bytes: info.size });
      const manifest = `s3://${BUCKET}/${jobPrefix(settings, 'r-in-place', 'job-1')}/stage-in.json`;
      const m = (await getJson(store, { scheme: 's3', bucket: BUCKET, key: `${jobPrefix(settings, 'r-in-place', 'job-1')}/stage-in.json` })) as { files: Array<{ key: string; etag?: string }> };
      expect(m.files).toEqual([expect.objectContaining({ key: 'data/reads.bin', etag: info.etag, size: info.size })]);
      // The pod fetches it from where it is...
      await stageIn(store, { manifest, root, taskDir: path.join(root, '.task') });
      expect(await readFile(path.join(root, 'in-place', 'reads.bin'), 'utf8')).toBe('version one\n');
      // ...and only the version Strand checked: replaced since, the pod fails rather than read other bytes.
      await writeFile(path.join(dir, 'in-place', 'v2'), 'version two\n');
      await store.upload(path.join(dir, 'in-place', 'v2'), { scheme: 's3', bucket: BUCKET, key: 'data/reads.bin' });
      await rm(root, { recursive: true, force: true });
      await expect(stageIn(store, { manifest, root, taskDir: path.join(root, '.task') })).rejects.toThrow(/data\/reads\.bin/);
    } finally {
      releaseStandIns(owner);
    }
  });
});
