/**
 * Bookkeeping never costs results (issue 16, class 7): a run store that cannot be written, a store
 * file that is not Strand's, and an --outdir that fills up. Real failures, not doubles: a full disk
 * is a small tmpfs mounted in a private mount namespace (`unshare -rm`: no root needed, invisible
 * to the rest of the machine, gone when the command ends). STRAND_TEST_BIN runs another build (an
 * older one, to see these tests fail on it).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand, runStrand, strandBin } from '../support/strand-cli.js';

/** Whether this machine lets a user mount a tmpfs in a private mount namespace. */
const canMount = (() => {
  const probe = mkdtempSync(path.join(os.tmpdir(), 'strand-mount-probe-'));
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs "${probe}"`], { encoding: 'utf8' });
  rmdirSync(probe);
  if (r.status !== 0) console.warn(`full-disk cases skipped: cannot mount a tmpfs in a private namespace (${(r.stderr || r.error?.message || '').trim()})`);
  return r.status === 0;
})();

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strand-bookkeeping-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCommand(cmd, args, { cwd: tmp, env: { ...process.env, ...env } });
const strand = (args: string[]) => runStrand(args, { cwd: tmp });

/** A scatter of six small tasks, each writing one file, then one that gathers them. */
async function sixTasks(): Promise<string> {
  const wf = path.join(tmp, 'six.cwl');
  await writeFile(
    wf,
    `cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs:
  names: {type: 'string[]', default: [a, b, c, d, e, f]}
outputs:
  parts: {type: 'File[]', outputSource: make/out}
  joined: {type: File, outputSource: join/out}
steps:
  make:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'echo "part $0" > "$0.txt"']
      inputs: {n: {type: string, inputBinding: {position: 1}}}
      outputs: {out: {type: File, outputBinding: {glob: '*.txt'}}}
    in: {n: names}
    scatter: n
    out: [out]
  join:
    run:
      class: CommandLineTool
      baseCommand: cat
      stdout: joined.txt
      inputs: {parts: {type: 'File[]', inputBinding: {position: 1}}}
      outputs: {out: {type: stdout}}
    in: {parts: make/out}
    out: [out]
`,
  );
  return wf;
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe('a run store that cannot be written', () => {
  it.skipIf(!canMount)('a run whose store disk fills up mid-run still delivers every output, and says its record is incomplete', async () => {
    const wf = await sixTasks();
    const disk = path.join(tmp, 'disk');
    const outdir = path.join(tmp, 'out');
    await mkdir(disk);
    // The store is made on a 2 MiB tmpfs, then the disk is filled up to 48 KiB: the run's first
    // writes fit, later ones fail with SQLITE_FULL / ENOSPC (the task cache is on the same disk).
    const script = [
      'set -e',
      `mount -t tmpfs -o size=2m tmpfs "$DISK"`,
      `"$NODE" "$STRAND" list --store "$DISK/store" > /dev/null`,
      `avail=$(df -k --output=avail "$DISK" | tail -1)`,
      `head -c $(( (avail - 48) * 1024 )) /dev/zero > "$DISK/filler" || true`,
      `"$NODE" "$STRAND" run --store "$DISK/store" --outdir "$OUT" "$WF"`,
    ].join('\n');
    const ran = await run('unshare', ['-rm', 'sh', '-c', script], { DISK: disk, NODE: process.execPath, STRAND: strandBin, OUT: outdir, WF: wf });
    expect(ran.stderr).toMatch(/disk is full|no space left/i);
    expect(ran.code, ran.stderr).toBe(0);
    const outputs = JSON.parse(ran.stdout) as { parts: { path: string; checksum: string }[]; joined: { path: string; checksum: string } };
    expect(outputs.parts).toHaveLength(6);
    for (const f of [...outputs.parts, outputs.joined]) {
      expect(path.dirname(f.path)).toBe(outdir);
      expect(`sha1$${sha1(await readFile(f.path))}`).toBe(f.checksum);
    }
    expect((await readFile(outputs.joined.path, 'utf8')).split('\n').filter(Boolean)).toHaveLength(6);
    expect(ran.stderr).toMatch(/could not record all of run .*outputs were delivered/);
  });
});

describe('a store file that is not a Strand run store', () => {
  it('a zero-length strand.db is refused with a message and left as it is; the run still runs, unrecorded', async () => {
    const store = path.join(tmp, 'store');
    await mkdir(store);
    await writeFile(path.join(store, 'strand.db'), '');
    const list = await strand(['list', '--store', store]);
    expect(list.code).not.toBe(0);
    expect(list.stderr).toMatch(/strand\.db is empty \(0 bytes\)/);
    const wf = await sixTasks();
    const ran = await strand(['run', '--store', store, '--outdir', path.join(tmp, 'out'), wf]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toMatch(/empty \(0 bytes\).*not recorded/);
    expect((await stat(path.join(store, 'strand.db'))).size).toBe(0);
    // Nothing made beside it either (the task cache's own directory aside).
    expect((await readdir(store)).filter((n) => n.startsWith('strand.db') || n.includes('.new-'))).toEqual(['strand.db']);
  });

  it("another program's SQLite database is refused and not changed", async () => {
    const store = path.join(tmp, 'store');
    await mkdir(store);
    const file = path.join(store, 'strand.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('mine');`);
    db.close();
    const before = sha1(await readFile(file));
    const list = await strand(['list', '--store', store]);
    expect(list.code).not.toBe(0);
    expect(list.stderr).toMatch(/is not a Strand run store \(it has tables notes\)/);
    const ran = await strand(['run', '--store', store, '--outdir', path.join(tmp, 'out'), await sixTasks()]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(sha1(await readFile(file))).toBe(before);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('a new store made by two runs at once is one store holding both runs', async () => {
    const store = path.join(tmp, 'store');
    const wf = await sixTasks();
    const [a, b] = await Promise.all([
      strand(['run', '--store', store, '--cache', 'off', '--outdir', path.join(tmp, 'out-a'), wf]),
      strand(['run', '--store', store, '--cache', 'off', '--outdir', path.join(tmp, 'out-b'), wf]),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const list = await strand(['list', '--store', store, '--json']);
    expect((JSON.parse(list.stdout) as { status: string }[]).map((r) => r.status)).toEqual(['success', 'success']);
    expect((await readdir(store)).filter((n) => n.includes('.new-'))).toEqual([]);
  });
});

describe('an --outdir that fills up', () => {
  it.skipIf(!canMount)('the message names where each output really is, and that place still holds it', async () => {
    const tool = path.join(tmp, 'big.cwl');
    await writeFile(
      tool,
      `cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'head -c 1000000 /dev/zero > big.bin; echo small > small.txt']
inputs: []
outputs:
  small: {type: File, outputBinding: {glob: small.txt}}
  big: {type: File, outputBinding: {glob: big.bin}}
`,
    );
    const disk = path.join(tmp, 'disk');
    await mkdir(disk);
    // The task runs in $TMPDIR (tmp, a real disk); --outdir is a 256 KiB tmpfs. After the run, the
    // script checks the places the message names while the namespace (and its tmpfs) still exists.
    const script = [
      `mount -t tmpfs -o size=256k tmpfs "$DISK"`,
      `"$NODE" "$STRAND" run --store "$STORE" --cache off --outdir "$DISK/out" "$TOOL" 2> "$ERR"`,
      `echo "exit=$?"`,
      `sed -n 's/.*kept where they are: big at \\([^ ,;]*\\).*/\\1/p' "$ERR" | while read -r p; do echo "big-at=$p size=$(stat -c %s "$p")"; done`,
      `ls -A "$DISK/out"`,
    ].join('\n');
    const err = path.join(tmp, 'stderr.txt');
    const ran = await run('unshare', ['-rm', 'sh', '-c', script], {
      DISK: disk,
      NODE: process.execPath,
      STRAND: strandBin,
      STORE: path.join(tmp, 'store'),
      TOOL: tool,
      ERR: err,
      TMPDIR: tmp,
    });
    const stderr = await readFile(err, 'utf8');
    expect(ran.stdout).toContain('exit=1');
    expect(stderr).toMatch(/could not put the outputs in .*: ENOSPC.*nothing there was replaced/);
    expect(ran.stdout).toMatch(/big-at=\S+\/big\.bin size=1000000/);
  });
});
