/**
 * Leftovers in the bucket (issue 18, point 9), object-store mode: the bucket is listed before and
 * after a run killed outright and `strand clean`. The killed run's objects (`<prefix>/runs/<run>/`,
 * marked by `strand-run.json`) and its local task directories go; the user's objects beside them
 * (in `runs/` too, a prefix there without Strand's marker, and elsewhere in the bucket) stay.
 * Against the fake API server and a real S3 server (s3rver on loopback); `npm run build` first.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/storage/index.js';
import { startFakeObjectStoreCluster, type FakeObjectStoreCluster } from '../support/fake-object-store-cluster.js';
import { built, runStrand } from '../support/strand-cli.js';
import { writeHoldTool } from '../support/hold-tool.js';

let c: FakeObjectStoreCluster;
let tmp = '';
let store: S3Store;

beforeAll(async () => {
  c = await startFakeObjectStoreCluster();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'strand-clean-bucket-'));
  mkdirSync(path.join(tmp, 'tmpdir'));
  store = new S3Store(c.s3.settings, { credentials: c.s3.credentials });
  writeFileSync(path.join(tmp, 'in.txt'), 'input\n');
  writeHoldTool(tmp);
});
afterAll(async () => {
  store?.close();
  await c?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// The local work root of object-store mode is under the temporary directory: this test's own.
const env = () => ({ ...c.env, STRAND_STORE: path.join(tmp, 'store'), TMPDIR: path.join(tmp, 'tmpdir') });
const strand = (args: string[], onSpawn?: (ch: ChildProcess) => void) => runStrand(args, { cwd: tmp, env: env(), ...(onSpawn ? { onSpawn } : {}) });

async function keys(): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list({ scheme: 's3', bucket: c.bucket, key: '' })) out.push(o.key);
  return out.sort();
}

async function put(key: string): Promise<void> {
  const f = path.join(tmp, 'obj');
  writeFileSync(f, key);
  await store.upload(f, { scheme: 's3', bucket: c.bucket, key });
}

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  expect(await cond(), what).toBe(true);
}

describe.skipIf(!built)('strand clean in the bucket (object-store mode, issue 18, point 9)', () => {
  it("removes a killed run's objects and local task directories, and no object of the user's", async () => {
    for (const k of ['strand/runs/notes.txt', 'strand/runs/user-run/x.txt', 'strand/mine/y.txt', 'elsewhere/z.txt']) await put(k);
    const before = await keys();

    const release = path.join(tmp, 'release');
    let child: ChildProcess | undefined;
    const run = strand(['run', '--executor', 'kubernetes', '--cache', 'off', '--run-id', 'kill-b', '--outdir', path.join(tmp, 'out'), 'hold.cwl', '--src', 'in.txt', '--release', release], (ch) => (child = ch));
    await waitFor(() => c.kube.runningPids().length > 0, 'the task runs');
    child!.kill('SIGKILL');
    await run;
    const left = await keys();
    expect(left.some((k) => k.startsWith('strand/runs/kill-b/'))).toBe(true);
    expect(left.filter((k) => k.startsWith('strand/runs/kill-b/files/')).length).toBeGreaterThan(0);
    const localRoot = readdirSync(path.join(tmp, 'tmpdir')).find((d) => d.startsWith('strand-objectstore-'))!;
    expect(readdirSync(path.join(tmp, 'tmpdir', localRoot))).toContain('strand-kill-b');
    writeFileSync(release, '');
    await waitFor(() => c.kube.runningPids().length === 0, 'the task ends');
    const withOutputs = await keys();

    const dry = await strand(['clean', '--run', 'kill-b', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would delete s3://${c.bucket}/strand/runs/kill-b/`);
    expect(await keys()).toEqual(withOutputs);

    const r = await strand(['clean', '--run', 'kill-b']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 run folder\(s\) and 1 run\(s\) in the bucket/);
    expect(await keys()).toEqual(before);
    expect(readdirSync(path.join(tmp, 'tmpdir', localRoot))).not.toContain('strand-kill-b');
  }, 90_000);
});
