import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDigester } from '../../cache/digests.js';
import type { TaskSpec } from '../../executor/executor.js';
import type { CwlObject } from '../../model/types.js';
import { SecretMask } from '../../model/secrets.js';
import { taskCacheKey, type KeyRequest } from './task-cache-key.js';
import type { TaskDirs } from './task-dirs.js';

let tmp = '';
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strand-task-key-'));
  await mkdir(path.join(tmp, 'data'));
  await writeFile(path.join(tmp, 'data', 'reads.txt'), 'ACGT\n');
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A task of run `run` reading data/reads.txt through a staged link, as the host stager makes it. */
async function task(run: string, opts: { iwd?: string; isolated?: boolean; env?: Record<string, string> } = {}): Promise<KeyRequest> {
  const workRoot = path.join(tmp, run);
  const outdir = path.join(workRoot, `main_count-1-${run}x`);
  const dirs: TaskDirs = { base: outdir, outdir, tmpdir: `${outdir}-tmp`, scratch: `${outdir}-inputs` };
  await mkdir(outdir, { recursive: true });
  const original = path.join(tmp, 'data', 'reads.txt');
  let seen = original;
  if (!opts.isolated) {
    seen = path.join(dirs.scratch, 'stg1', 'reads.txt');
    await mkdir(path.dirname(seen), { recursive: true });
    await symlink(original, seen);
  }
  if (opts.iwd !== undefined) await writeFile(path.join(outdir, 'script.sh'), opts.iwd.replace('INPUT', seen));
  const file = (p: string): CwlObject => ({ class: 'File', location: `file://${p}`, path: p });
  const spec: TaskSpec = {
    taskId: 'main/count',
    runId: run,
    stepPath: 'main/count',
    attempt: 1,
    argv: ['wc', '-l', seen, `--out=${outdir}/n.txt`],
    env: { PATH: '/usr/bin', HOME: outdir, TMPDIR: dirs.tmpdir, ...opts.env },
    workDir: outdir,
    tmpDir: dirs.tmpdir,
    mounts: [],
    resources: { cores: 1, ramMiB: 256, tmpdirMiB: 1024, outdirMiB: 1024 },
    networkAccess: false,
    logDir: path.join(workRoot, 'logs'),
  };
  return {
    spec,
    dirs,
    workRoot,
    inputs: [{ reads: file(original) }, { reads: file(seen) }],
    stdout: 'n.txt',
    eff: { requirements: [], hints: [] },
    digester: new FileDigester(),
  };
}

const keyOf = async (req: KeyRequest) => {
  const k = await taskCacheKey(req);
  if (!('key' in k)) throw new Error(k.uncacheable);
  return k;
};

describe('taskCacheKey', () => {
  it('is the same for the same task in two runs (other work roots, other staging), and on an isolated executor', async () => {
    const a = await keyOf(await task('r1'));
    const b = await keyOf(await task('r2'));
    const c = await keyOf(await task('r3', { isolated: true }));
    expect(b.key).toBe(a.key);
    expect(c.key).toBe(a.key);
    expect(a.text).toContain('$IN{sha1$');
    expect(a.text).toContain('--out=$OUTDIR/n.txt');
    expect(a.text).not.toContain(tmp);
  });

  it('changes with the input contents, the environment and what InitialWorkDir wrote', async () => {
    const a = await keyOf(await task('r1', { iwd: 'cat INPUT\n' }));
    expect((await keyOf(await task('r2', { iwd: 'cat INPUT\n' }))).key).toBe(a.key);
    expect((await keyOf(await task('r3', { iwd: 'head INPUT\n' }))).key).not.toBe(a.key);
    expect((await keyOf(await task('r4', { iwd: 'cat INPUT\n', env: { LC_ALL: 'C' } }))).key).not.toBe(a.key);
    await writeFile(path.join(tmp, 'data', 'reads.txt'), 'ACGA\n');
    expect((await keyOf(await task('r5', { iwd: 'cat INPUT\n' }))).key).not.toBe(a.key);
  });

  it("an InitialWorkDir link to the user's real file (host staging) takes the input's stable name: same key wherever the file is", async () => {
    // As run-command-line-tool gives it: the inputs at their staged paths, the originals behind them.
    const at = async (run: string, dir: string) => {
      await mkdir(path.join(tmp, dir), { recursive: true });
      await writeFile(path.join(tmp, dir, 'reads.txt'), 'ACGT\n');
      await symlink('reads.txt', path.join(tmp, dir, 'latest.txt'));
      const req = await task(run);
      const outdir = req.dirs.outdir;
      const seen = path.join(req.dirs.scratch, 'stg2', 'latest.txt');
      const user = path.join(tmp, dir, 'latest.txt');
      await mkdir(path.dirname(seen), { recursive: true });
      await symlink(path.join(tmp, dir, 'reads.txt'), seen);
      await symlink(path.join(tmp, dir, 'reads.txt'), path.join(outdir, 'latest.txt'));
      const file = (p: string): CwlObject => ({ class: 'File', location: `file://${p}`, path: p });
      return keyOf({ ...req, inputs: [{ f: file(seen) }, { f: file(path.join(outdir, 'latest.txt')) }], originalOf: (p) => (p === seen ? user : p) });
    };
    const a = await at('r1', 'home-a');
    const b = await at('r2', 'home-b');
    expect(a.text).not.toContain(tmp);
    expect(b.key).toBe(a.key);
  });

  it("changes with the image the task runs in: its own, or the executor's default (kubernetes.defaultImage)", async () => {
    const host = await keyOf(await task('r1'));
    const a = await keyOf({ ...(await task('r2')), defaultImage: 'debian:stable-slim' });
    const b = await keyOf({ ...(await task('r3')), defaultImage: 'localhost/bio:bookworm' });
    expect(a.key).not.toBe(host.key);
    expect(b.key).not.toBe(a.key);
    const own = await task('r4');
    own.spec.image = 'debian:stable-slim';
    expect((await keyOf({ ...own, defaultImage: 'localhost/bio:bookworm' })).key).toBe(a.key);
  });

  it('gives no key for a remote input it cannot identify', async () => {
    const req = await task('r1');
    const k = await taskCacheKey({ ...req, inputs: [{ reads: { class: 'File', location: 's3://bucket/reads.txt' } }] });
    expect(k).toEqual({ uncacheable: expect.stringContaining('s3://bucket/reads.txt') });
  });
});

describe('secrets in the key material (cwltool:Secrets)', () => {
  const withSecret = async (run: string, value: string) => {
    const req = await task(run, { env: { TOKEN: value } });
    req.spec.argv.push(`--password=${value}`);
    const secrets = new SecretMask();
    secrets.add('pw', value);
    return (await taskCacheKey({ ...req, secrets })) as { key: string; text: string };
  };

  it('holds a digest instead of the value: the same secret gives the same key, another secret another key', async () => {
    const a = await withSecret('run1', 'hunter2-secret');
    const b = await withSecret('run2', 'hunter2-secret');
    const c = await withSecret('run3', 'other-secret');
    expect(a.text).not.toContain('hunter2-secret');
    expect(a.text).toMatch(/--password=\(secret-sha256:[0-9a-f]{64}\)/);
    expect(a.key).toBe(b.key);
    expect(c.key).not.toBe(a.key);
  });
});
