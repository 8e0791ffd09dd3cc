/**
 * `strand show RUN --watch`: a line each time the run changes, until it ends, then the run as
 * `strand show` prints it (the run service's watch, as a server will use it).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRunStore } from '../../src/store/run-store.js';
import { writeHoldTool } from '../support/hold-tool.js';
import { built, runStrand } from '../support/strand-cli.js';

let tmp = '';
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strand-show-watch-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!built)('strand show --watch', () => {
  it('prints a line per change while the run goes, then the run; the last line says how it ended', async () => {
    const store = path.join(tmp, 'store');
    const src = path.join(tmp, 'in.txt');
    await writeFile(src, 'x\n');
    const release = path.join(tmp, 'release');
    const job = path.join(tmp, 'job.json');
    await writeFile(job, JSON.stringify({ src: { class: 'File', path: src }, release }));
    const running = runStrand(['run', '--store', store, '--cache', 'off', '--quiet', '--run-id', 'held', '--outdir', path.join(tmp, 'out'), writeHoldTool(tmp), job], { cwd: tmp });
    // Watch once the task runs (its copy is made first), then let it end.
    const s = openRunStore(store);
    try {
      for (let i = 0; i < 600 && s.getRun('held')?.attempts.some((a) => a.phase === 'running') !== true; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      s.close();
    }
    // The task is released once the watch has said its first line (the run running).
    const watched = runStrand(['show', '--store', store, '--watch', 'held'], {
      cwd: tmp,
      onSpawn: (child) => child.stdout?.once('data', () => void writeFile(release, '')),
    });
    const [ran, shown] = await Promise.all([running, watched]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.split('\n');
    const changes = lines.slice(0, lines.findIndex((l) => l.startsWith('run held:')));
    expect(changes.length).toBeGreaterThanOrEqual(1);
    for (const l of changes) expect(l).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}(running|success) /);
    expect(changes[0]).toMatch(/ {2}running {2}.* {2}tasks 0\/0 \(1 running\)$/);
    expect(changes.at(-1)).toMatch(/ {2}success {2}.* {2}tasks 1\/0$/);
    expect(shown.stdout).toContain('run held: success');
  });
});
