/**
 * Commands that only read the run store (and --help, --version) import none of the engine, the
 * CWL loader, the executors or the cluster and S3 clients: those cost ~300 ms of start-up here
 * (bench:store prints `strand list` and `strand --version` times). Checked by logging every module
 * the process resolves; the control case (`run --validate`) shows that the log sees them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { built, repo, strandBin } from '../support/strand-cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'strand-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The modules `strand <args>` resolves, as paths relative to the repository. */
function importsOf(args: string[], name: string): string[] {
  const log = path.join(dir, `${name}.log`);
  const r = spawnSync(process.execPath, ['--import', path.join(repo, 'test/support/import-log/register.mjs'), strandBin, ...args], {
    cwd: dir,
    env: { ...process.env, STRAND_TEST_IMPORT_LOG: log, STRAND_STORE: path.join(dir, 'store') },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file:'))
    .map((u) => path.relative(repo, new URL(u).pathname));
}

const HEAVY = [
  /^node_modules\/@kubernetes\//,
  /^node_modules\/@aws-sdk\//,
  /^node_modules\/yaml\//,
  /^node_modules\/n3\//,
  /^node_modules\/rdfxml-streaming-parser\//,
  /^node_modules\/fast-glob\//,
  /^dist\/src\/(engine|loader|executor|expressions|storage)\//,
  /^dist\/src\/api\/run\.js$/,
];
/**
 * Leaf modules of those layers that the CLI needs at start-up: each imports nothing at all (checked
 * below), so it costs only its own few lines: the loader's size limits (for --help), URL redaction
 * (the logger) and the attempt phases.
 */
const LEAVES = ['dist/src/loader/limits.js', 'dist/src/storage/redact-url.js', 'dist/src/engine/events.js'];
const heavyIn = (mods: string[]) => mods.filter((m) => HEAVY.some((h) => h.test(m)) && !LEAVES.includes(m));

describe.skipIf(!built)('start-up: what a command loads', () => {
  it.each([
    ['list', ['list']],
    ['list-json', ['list', '--json']],
    ['version', ['--version']],
    ['help', ['--help']],
    ['run-help', ['run', '--help']],
    ['cache-list', ['cache', 'list']],
  ])('strand %s loads no engine, loader, executor, cluster or S3 module', (name, args) => {
    const mods = importsOf(args, name);
    expect(mods).toContain('dist/src/cli/main.js');
    expect(heavyIn(mods)).toEqual([]);
  });

  it.each(LEAVES)('%s imports no module (so it stays light at start-up)', (leaf) => {
    const text = readFileSync(path.join(repo, leaf), 'utf8');
    expect(text).not.toMatch(/^\s*import\s[^'"]*['"]|^\s*export\s[^'"]*\sfrom\s['"]|\bimport\(/m);
  });

  it('the log sees them where a command needs them (strand run --validate)', () => {
    const mods = importsOf(['run', '--validate', path.join(repo, 'examples/hello/wordcount.cwl')], 'validate');
    const heavy = heavyIn(mods);
    expect(heavy).toContain('dist/src/api/run.js');
    expect(heavy.some((m) => m.startsWith('dist/src/loader/'))).toBe(true);
    expect(heavy.some((m) => m.startsWith('node_modules/yaml/'))).toBe(true);
  });
});
