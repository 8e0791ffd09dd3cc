/**
 * Confinement of files (docs/security.md): someone else's workflow cannot make Strand write
 * outside the task's directory (InitialWorkDir, input staging, literals), nor collect a host file
 * that is neither the task's own output nor one of its inputs (cwl.output.json, outputEval, an
 * ExpressionTool, secondaryFiles, links inside a Directory, links a container would make).
 *
 * Each case runs the built CLI on a small tool written here against a temp "home" outside the run
 * (a secret file and a user directory), on the local executor and on the Kubernetes executor
 * through the fake API server (the home is a read-only data volume there), and checks that the
 * run fails naming the output and the path, that the home is byte for byte as it was, and that
 * nothing of it reached --outdir. STRAND_TEST_BIN runs another build (e.g. an older one, to see
 * these tests fail on it).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster.js';
import { startFakeObjectStoreCluster, type FakeObjectStoreCluster } from '../support/fake-object-store-cluster.js';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = process.env.STRAND_TEST_BIN ?? path.join(repo, 'bin/strand.js');
const built = process.env.STRAND_TEST_BIN !== undefined || existsSync(path.join(repo, 'dist/src/cli/main.js'));

const SECRET = 'SECRET-d41d8cd98f00b204';

let root = '';
/** The user's home, outside the run: `secret.txt` and a directory `data/x`. */
let home = '';
let secret = '';
let cluster: FakeCluster | undefined;
let osCluster: FakeObjectStoreCluster | undefined;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-confine-'));
  home = path.join(root, 'home');
  secret = path.join(home, 'secret.txt');
  await mkdir(path.join(home, 'data'), { recursive: true });
  await writeFile(secret, `${SECRET}\n`);
  await writeFile(path.join(home, 'data', 'x'), 'the user file\n');
  await writeFile(path.join(home, 'a.txt'), 'a\n');
  await writeFile(path.join(home, 'a.txt.idx'), 'index of a\n');
  await mkdir(path.join(root, 'tmp'));
});
afterAll(async () => {
  await cluster?.close();
  await osCluster?.close();
  await rm(root, { recursive: true, force: true });
});

/** A name that climbs from anywhere under `root` up to / and down to `target`. */
const climb = (target: string) => '../'.repeat(40) + target.slice(1);

/** Every entry under `dir` with its kind and content (sha1) or link target. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = path.join(d, name);
      const st = await lstat(p);
      const rel = path.relative(dir, p);
      if (st.isSymbolicLink()) out[rel] = `link -> ${await readlink(p)}`;
      else if (st.isDirectory()) {
        out[rel] = 'dir';
        await walk(p);
      } else out[rel] = `file ${createHash('sha1').update(await readFile(p)).digest('hex')}`;
    }
  };
  await walk(dir);
  return out;
}

/** Files under `dir` (links counted too), and whether any holds the secret. */
async function leaked(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of await readdir(d)) {
      const p = path.join(d, name);
      const st = await lstat(p);
      if (st.isSymbolicLink()) found.push(`${p} (a link)`);
      else if (st.isDirectory()) await walk(p);
      else if ((await readFile(p, 'utf8')).includes(SECRET)) found.push(p);
    }
  };
  await walk(dir);
  return found;
}

/** Whether any file of the run store (the database, its WAL, the logs) holds `text`. */
async function storeHolds(text: string): Promise<boolean> {
  const store = path.join(root, 'store');
  if (!existsSync(store)) return false;
  const walk = async (d: string): Promise<boolean> => {
    for (const name of await readdir(d)) {
      const p = path.join(d, name);
      const st = await lstat(p);
      if (st.isDirectory() && (await walk(p))) return true;
      if (st.isFile() && (await readFile(p)).includes(text)) return true;
    }
    return false;
  };
  return walk(store);
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `kubernetes-os`: the Kubernetes executor in object-store mode (no shared volume; a bucket on loopback). */
type ExecutorName = 'local' | 'kubernetes' | 'kubernetes-os';

function strand(executor: ExecutorName, args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const base = executor === 'kubernetes' ? cluster?.env : executor === 'kubernetes-os' ? osCluster?.env : process.env;
    const env: NodeJS.ProcessEnv = { ...base, TMPDIR: path.join(root, 'tmp') };
    delete env.STRAND_STORE;
    const child = spawn(process.execPath, [strandBin, 'run', '--executor', executor === 'local' ? 'local' : 'kubernetes', '--store', path.join(root, 'store'), ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let n = 0;
/** Write a CWL document (JSON is YAML) and a job; run it; return the result and the outdir. */
async function run(executor: ExecutorName, doc: Record<string, unknown>, job: Record<string, unknown> = {}, dryRun = false): Promise<Ran & { outdir: string }> {
  const id = `case-${++n}`;
  const docPath = path.join(root, `${id}.cwl`);
  const jobPath = path.join(root, `${id}.json`);
  await writeFile(docPath, JSON.stringify({ cwlVersion: 'v1.2', ...doc }));
  await writeFile(jobPath, JSON.stringify(job));
  const outdir = path.join(root, `${id}-out`);
  const r = await strand(executor, [...(dryRun ? ['--dry-run'] : []), '--outdir', outdir, docPath, jobPath]);
  return { ...r, outdir };
}

/** Run, and check: the run fails naming every one of `named`; home unchanged; nothing reached --outdir. */
async function refused(executor: ExecutorName, named: string[], doc: Record<string, unknown>, job: Record<string, unknown> = {}, dryRun = false): Promise<void> {
  const before = await snapshot(home);
  const r = await run(executor, doc, job, dryRun);
  if (dryRun && executor === 'kubernetes') {
    // `--dry-run --executor kubernetes` exits 0 and does not print why a task was not reached
    // (cli/run-command.ts): the task must not have been reached, so no Job was printed.
    expect(r.stdout, r.stderr).not.toContain('kind: Job');
  } else {
    expect(r.code, r.stderr).not.toBe(0);
    for (const s of named) expect(r.stderr).toContain(s);
  }
  expect(await snapshot(home)).toEqual(before);
  expect(await leaked(r.outdir)).toEqual([]);
}

const tool = (extra: Record<string, unknown>) => ({ class: 'CommandLineTool', inputs: {}, outputs: {}, baseCommand: 'true', ...extra });
const iwd = (listing: unknown[], extra: Record<string, unknown> = {}) => tool({ requirements: { InitialWorkDirRequirement: { listing } }, ...extra });
const sh = (script: string, outputs: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  tool({ baseCommand: ['sh', '-c', script], arguments: [secret], outputs, ...extra });

/** What a run must not do to the user's files (InitialWorkDir and staging); also under --dry-run. */
const writeCases = (executor: ExecutorName, dryRun: boolean) => {
  it('an InitialWorkDir Directory literal whose child basename climbs out (`../../x`) fails naming it, and writes nothing outside', async () => {
    const name = climb(path.join(home, 'escaped.txt'));
    await refused(executor, ['escaped.txt', '..'], iwd([{ class: 'Directory', basename: 'd', listing: [{ class: 'File', basename: name, contents: 'pwned\n' }] }]), {}, dryRun);
  });

  it('a secondary file whose basename climbs out fails naming it, and plants nothing outside', async () => {
    // A job file's basenames are replaced by the files' own names; a listing expression's are not.
    const entry = `\${ var f = inputs.f; return [{class: "File", location: f.location, basename: "a.txt", secondaryFiles: [{class: "File", location: f.location, basename: ${JSON.stringify(climb(path.join(home, 'planted')))}}]}]; }`;
    const doc = tool({ requirements: { InlineJavascriptRequirement: {}, InitialWorkDirRequirement: { listing: [entry] } }, inputs: { f: 'File' } });
    await refused(executor, ['planted'], doc, { f: { class: 'File', location: path.join(home, 'a.txt') } }, dryRun);
  });

  it("`data/x` is not written through an earlier entry `data` that is a link to the user's directory", async () => {
    const listing = [
      { entryname: 'data', entry: '$(inputs.d)' },
      { entryname: 'data/x', entry: 'overwritten\n' },
    ];
    await refused(executor, ['data/x', 'data'], iwd(listing, { inputs: { d: 'Directory' } }), { d: { class: 'Directory', location: path.join(home, 'data') } }, dryRun);
  });

  it("stdout is not written through an InitialWorkDir entry that is a link to the user's directory", async () => {
    const doc = iwd([{ entryname: 'data', entry: '$(inputs.d)' }], { inputs: { d: 'Directory' }, baseCommand: ['echo', 'overwritten'], stdout: 'data/x' });
    await refused(executor, ['stdout', 'data/x'], doc, { d: { class: 'Directory', location: path.join(home, 'data') } }, dryRun);
  });
};

/** What a run must not collect as an output. */
const readCases = (executor: ExecutorName) => {
  it('cwl.output.json naming a host file outside the run fails naming the output and the path', async () => {
    const script = 'printf \'{"out": {"class": "File", "path": "%s"}}\' "$0" > cwl.output.json';
    await refused(executor, ['out', secret], sh(script, { out: 'File' }));
  });

  it('outputEval returning a host file outside the run fails naming the output and the path', async () => {
    const outputs = { out: { type: 'File', outputBinding: { outputEval: `\${return {class: "File", path: ${JSON.stringify(secret)}};}` } } };
    await refused(executor, ['out', secret], tool({ requirements: { InlineJavascriptRequirement: {} }, outputs }));
  });

  it('an ExpressionTool returning a host file that is not one of its inputs fails naming the output and the path', async () => {
    const doc = {
      class: 'ExpressionTool',
      requirements: { InlineJavascriptRequirement: {} },
      inputs: { f: 'File' },
      outputs: { out: 'File', mine: 'File' },
      expression: `\${return {out: {class: "File", path: ${JSON.stringify(secret)}}, mine: inputs.f};}`,
    };
    await refused(executor, ['out', secret], doc, { f: { class: 'File', location: path.join(home, 'a.txt') } });
  });

  it('a secondaryFiles pattern that climbs out (`^../../x`) fails naming the output and the path', async () => {
    const outputs = { out: { type: 'File', outputBinding: { glob: 'out.txt' }, secondaryFiles: [`^/${climb(secret)}`] } };
    await refused(executor, ['out', secret], sh('echo mine > out.txt', outputs));
  });

  it("an input's secondaryFiles pattern that climbs out does not make a host file an input (then passed through as an output)", async () => {
    const doc = tool({
      requirements: { InlineJavascriptRequirement: {} },
      inputs: { f: { type: 'File', secondaryFiles: [`^/${climb(secret)}`] } },
      outputs: { out: { type: 'File', outputBinding: { outputEval: '$(inputs.f.secondaryFiles[0])' } } },
    });
    await refused(executor, ['secondaryFiles pattern', secret], doc, { f: { class: 'File', location: path.join(home, 'a.txt') } });
  });

  it('a link inside a globbed output Directory pointing outside is refused, not dereferenced', async () => {
    const outputs = { d: { type: 'Directory', outputBinding: { glob: 'd' } } };
    await refused(executor, ['d', secret], sh('mkdir d && echo mine > d/own && ln -s "$0" d/s', outputs));
  });

  it('a link inside a globbed output Directory to another directory of the task that holds a link outside is refused', async () => {
    const outputs = { d: { type: 'Directory', outputBinding: { glob: 'd' } } };
    await refused(executor, ['d', secret], sh('mkdir d other && ln -s ../other d/hop && ln -s "$0" other/leak', outputs));
  });

  it('a link a tool in a container would leave dangling (an absolute target) is not resolved on the host', async () => {
    const script = 'ln -s "$0" out.txt && printf \'{"out": {"class": "File", "location": "out.txt"}}\' > cwl.output.json';
    await refused(executor, ['out', 'out.txt', secret], sh(script, { out: 'File' }));
  });

  it("a failed task's stderr file swapped for a link to a host file is not read for its log tail (redirected stderr)", async () => {
    // The shell keeps writing to the file it opened; Strand reads the tail by name when the task fails.
    const doc = sh('echo noise >&2; rm -f err.txt; ln -s "$0" err.txt; exit 3', {}, { stderr: 'err.txt' });
    const r = await run(executor, doc);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(await storeHolds(SECRET)).toBe(false);
  });

  it("a failed task's own log file swapped for a link to a host file is not read or copied (unredirected stderr)", async () => {
    // On Kubernetes the pod writes stdout.log/stderr.log in the workspace, beside its work dir.
    const script = 'echo noise >&2; for d in ../.strand-logs/*/; do rm -f "$d/stderr.log" "$d/stdout.log"; ln -s "$0" "$d/stderr.log"; ln -s "$0" "$d/stdout.log"; done; exit 3';
    const r = await run(executor, sh(script, {}));
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(await storeHolds(SECRET)).toBe(false);
    expect(await leaked(path.join(root, 'store'))).toEqual([]);
  });

  it('still collects what is really the task\'s: its own files, and an input passed through (control)', async () => {
    const outputs = { own: { type: 'File', outputBinding: { glob: 'own.txt' } }, same: { type: 'File', outputBinding: { outputEval: '$(inputs.f)' } } };
    const r = await run(executor, tool({ baseCommand: ['sh', '-c', 'echo mine > own.txt'], inputs: { f: 'File' }, outputs }), {
      f: { class: 'File', location: path.join(home, 'a.txt') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(path.join(r.outdir, 'own.txt'), 'utf8')).toBe('mine\n');
    expect(await readFile(path.join(r.outdir, 'a.txt'), 'utf8')).toBe('a\n');
  });

  it('collects an input the tool names back by the path it saw it at (cwl.output.json), also when the executor showed it a copy (control)', async () => {
    // Outside every data volume: on a cluster the executor copies it into the workspace
    // (.strand-staged), and the pod sees (and names) the copy. Seen failing on the rig (record_with_default).
    const elsewhere = path.join(root, 'elsewhere');
    await mkdir(elsewhere, { recursive: true });
    await writeFile(path.join(elsewhere, 'b.txt'), 'b\n');
    const doc = tool({
      baseCommand: ['sh', '-c', `printf '{"same": {"class": "File", "path": "%s"}}' "$0" > cwl.output.json`],
      inputs: { f: { type: 'File', inputBinding: { position: 1 } } },
      outputs: { same: 'File' },
    });
    const r = await run(executor, doc, { f: { class: 'File', location: path.join(elsewhere, 'b.txt') } });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(path.join(r.outdir, 'b.txt'), 'utf8')).toBe('b\n');
  });
};

describe.skipIf(!built)('confinement of files: local executor', () => {
  writeCases('local', false);
  readCases('local');
});

describe.skipIf(!built)('confinement of files: local executor, --dry-run', () => {
  writeCases('local', true);
});

describe.skipIf(!built)('confinement of files: Kubernetes executor (fake API server)', () => {
  beforeAll(async () => {
    cluster ??= await startFakeCluster({ dataVolumes: { 'user-home': home } });
  });
  writeCases('kubernetes', false);
  readCases('kubernetes');
});

describe.skipIf(!built)('confinement of files: Kubernetes executor, --dry-run', () => {
  beforeAll(async () => {
    cluster ??= await startFakeCluster({ dataVolumes: { 'user-home': home } });
  });
  writeCases('kubernetes', true);
});

describe.skipIf(!built)('confinement of files: Kubernetes executor in object-store mode (fake API server, S3 on loopback)', () => {
  beforeAll(async () => {
    osCluster ??= await startFakeObjectStoreCluster({ bucket: 'strand-confine' });
  });
  readCases('kubernetes-os');
});
