/**
 * A run with many outputs delivers them with a bounded number of files open at once. The 100,000-task
 * scatter of issue 21 ran every task and then failed at its very end with EMFILE: its outputs were
 * copied out of the task cache into --outdir and then checked, each check opening its file, all at
 * once. Here the same happens with 300 outputs under a limit of 128 open files.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { built, repo, runCommand, strandBin } from '../support/strand-cli.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-many-outputs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!built)('many outputs', () => {
  it('300 outputs reach --outdir, checked, under a limit of 128 open files (task cache on: each is copied out of it)', async () => {
    const items = Array.from({ length: 300 }, (_, i) => `item${i}`);
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ items }));
    const r = await runCommand(
      'sh',
      ['-c', 'ulimit -n 128 && exec "$0" "$@"', process.execPath, strandBin, 'run', '--quiet', '--store', path.join(dir, 'store'), '--outdir', path.join(dir, 'out'), path.join(repo, 'bench/scatter-echo.cwl'), path.join(dir, 'job.json')],
      { cwd: dir },
    );
    expect(r.stderr).not.toMatch(/EMFILE/);
    expect(r.code).toBe(0);
    const out = readdirSync(path.join(dir, 'out')).sort();
    expect(out).toEqual(items.map((i) => `${i}.txt`).sort());
    expect(readFileSync(path.join(dir, 'out', 'item123.txt'), 'utf8')).toBe('item123\n');
  });
});
