// `strand report` and `strand run --print-dot` through the CLI, on a real run of the slow-scatter
// fixture recorded in a temporary store.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'bin', 'strand.js');
const FIXTURE = path.join(ROOT, 'test', 'ui', 'fixtures', 'slow-scatter.cwl');

let dir = '';
const strand = (args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, STRAND_STORE: path.join(dir, 'store') }, cwd: dir });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-report-'));
  await writeFile(path.join(dir, 'job.json'), JSON.stringify({ seconds: [0.3, 0.3] }));
  await strand(['run', '--quiet', '--run-id', 'naps', '--outdir', path.join(dir, 'out'), FIXTURE, path.join(dir, 'job.json')]);
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('strand report', () => {
  it('writes the HTML report and the trace file of a recorded run', async () => {
    const { stderr } = await strand(['report', 'naps', '-o', 'r.html', '--trace', 't.tsv']);
    expect(stderr).toContain('wrote t.tsv');
    const html = readFileSync(path.join(dir, 'r.html'), 'utf8');
    expect(html).toContain('Run naps');
    expect(html).toContain('slow-scatter/nap');
    const [header, ...rows] = readFileSync(path.join(dir, 't.tsv'), 'utf8').trimEnd().split('\n');
    expect(header!.split('\t').slice(0, 6)).toEqual(['task_id', 'hash', 'native_id', 'name', 'process', 'status']);
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.split('\t')[5])).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect(rows.map((r) => r.split('\t')[3]).sort()).toEqual(['slow-scatter/count', 'slow-scatter/nap/0', 'slow-scatter/nap/1']);
  });

  it('writes strand-report-<run>.html by default, and says so when the run is unknown', async () => {
    await strand(['report', 'naps']);
    expect(readFileSync(path.join(dir, 'strand-report-naps.html'), 'utf8')).toMatch(/^<!doctype html>/);
    await expect(strand(['report', 'nope'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('no run "nope"') });
  });
});

describe('strand run --print-dot', () => {
  it('prints the workflow graph in dot and runs nothing', async () => {
    const { stdout } = await strand(['run', '--print-dot', FIXTURE]);
    expect(stdout).toMatch(/^digraph workflow \{/);
    expect(stdout).toContain('"slow-scatter/nap" [shape=box, style=rounded, label="nap [scatter]"];');
    expect(stdout).toContain('"slow-scatter/nap" -> "slow-scatter/count";');
    expect(stdout).toContain('"in:slow-scatter/seconds" -> "slow-scatter/nap";');
    const { stdout: list } = await strand(['list', '--json']);
    expect(JSON.parse(list)).toHaveLength(1);
  });
});

describe('strand ui', () => {
  it('prints its URL with a fresh token, serves the store read-only on 127.0.0.1 to that token only, and stops on SIGTERM', async () => {
    const p = spawn(process.execPath, [CLI, 'ui', '--port', '0'], { env: { ...process.env, STRAND_STORE: path.join(dir, 'store') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const url = await new Promise<string>((resolve) => p.stdout.on('data', (c: Buffer) => (out += c.toString()).includes('\n') && resolve(out.trim())));
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
    const token = new URL(url).searchParams.get('token') ?? '';
    expect((await fetch(new URL('/api/runs', url))).status).toBe(401);
    const runs = (await (await fetch(new URL('/api/runs', url), { headers: { authorization: `Bearer ${token}` } })).json()) as { runs: { id: string }[] };
    expect(runs.runs.map((r) => r.id)).toEqual(['naps']);
    expect(err).toContain('read-only');
    expect(err).not.toContain('no authentication');
    p.kill('SIGTERM');
    const [code] = await once(p, 'exit');
    expect(code).toBe(0);
  });
});
