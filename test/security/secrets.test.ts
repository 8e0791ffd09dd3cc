/**
 * Secrets at rest (issue 16, class 6): the run store and the logs Strand writes are private to the
 * user (0700 directories, 0600 files, whatever the umask), and the values of inputs a
 * `cwltool:Secrets` hint or requirement names are in nothing Strand shows or keeps (run store
 * bytes, `strand show --json`, `--dry-run`, the HTML report, stderr with --debug, the task cache's
 * key material), while the tool still gets them in its command line and environment.
 *
 * CLI-level tests use the built dist/ (`npx tsc -p tsconfig.build.json` first).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRunStore } from '../../src/store/run-store.js';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = path.join(repo, 'bin/strand.js');
const built = existsSync(path.join(repo, 'dist/src/cli/main.js'));

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-secrets-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => (lstatSync(p).mode & 0o777).toString(8);

/** Strand's CLI under `umask 000` (so only explicit modes can keep anything private), in `cwd`. */
function strand(cwd: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: path.join(cwd, 'tmp') };
    delete env.STRAND_STORE;
    delete env.STRAND_CACHE;
    mkdirSync(path.join(cwd, 'tmp'), { recursive: true });
    const child = spawn('/bin/sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, strandBin, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every file under `root`, recursively (links not followed). */
function filesUnder(root: string): string[] {
  return readdirSync(root, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(root, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

/**
 * A tool that must get the secret both as its argument and in $THE_PW (else exit 3), writes the
 * sha256 of what it got and says something on stderr (so Strand writes a log file). With the
 * label `fail` it prints the secret on stderr and exits 5.
 */
function secretTool(where: 'hints' | 'requirements'): string {
  return [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    '$namespaces: {cwltool: "http://commonwl.org/cwltool#"}',
    `${where}:`,
    '  cwltool:Secrets: {secrets: [pw]}',
    ...(where === 'hints' ? ['requirements:'] : []),
    '  EnvVarRequirement: {envDef: {THE_PW: $(inputs.pw)}}',
    'inputs: {pw: string, label: string}',
    `baseCommand: [sh, -c, 'test "$THE_PW" = "$0" || exit 3; test "$1" = fail && { echo "failing with $0" >&2; exit 5; }; printf %s "$0" | sha256sum | cut -c1-64 > digest.txt; echo "tool ran for $1" >&2']`,
    'arguments: [$(inputs.pw), $(inputs.label)]',
    'outputs: {digest: {type: File, outputBinding: {glob: digest.txt}}}',
  ].join('\n') + '\n';
}

describe('the run store is private', () => {
  it('a new store: directory 0700, strand.db and its -wal and -shm 0600', () => {
    const store = path.join(dir, 'new-store', '.strand');
    const s = openRunStore(store);
    try {
      s.createRun({ runId: 'r1', inputs: { x: 1 } });
      s.flush();
      expect(mode(store)).toBe('700');
      expect(mode(path.join(store, 'strand.db'))).toBe('600');
      // While the store is open (WAL mode), SQLite's side files exist.
      expect(existsSync(`${path.join(store, 'strand.db')}-wal`)).toBe(true);
      expect(mode(path.join(store, 'strand.db-wal'))).toBe('600');
      expect(mode(path.join(store, 'strand.db-shm'))).toBe('600');
    } finally {
      s.close();
    }
  });

  it("an older store: Strand's own files in it are tightened; the directory, links and what they point to are not", () => {
    const store = path.join(dir, 'old-store');
    openRunStore(store).close();
    // As an older Strand left it.
    chmodSync(store, 0o755);
    chmodSync(path.join(store, 'strand.db'), 0o644);
    const userDir = path.join(dir, 'users-logs');
    mkdirSync(userDir, { mode: 0o755 });
    chmodSync(userDir, 0o755);
    symlinkSync(userDir, path.join(store, 'logs'));
    openRunStore(store).close();
    expect(mode(path.join(store, 'strand.db'))).toBe('600');
    expect(mode(store)).toBe('755');
    expect(mode(userDir)).toBe('755');
    rmSync(path.join(store, 'logs'));
    mkdirSync(path.join(store, 'logs'), { mode: 0o755 });
    chmodSync(path.join(store, 'logs'), 0o755);
    openRunStore(store).close();
    expect(mode(path.join(store, 'logs'))).toBe('700');
  });
});

describe.skipIf(!built)('cwltool:Secrets (strand CLI)', () => {
  const secret = `S3cr3t-${randomBytes(8).toString('hex')}`;
  let work = '';
  let run: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    work = path.join(dir, 'run');
    mkdirSync(work);
    writeFileSync(path.join(work, 'tool.cwl'), secretTool('hints'));
    run = await strand(work, 'run', '--debug', '--leave-tmpdir', '--outdir', 'out', 'tool.cwl', '--pw', secret, '--label', 'public-label');
  });

  it('store, logs and task directories are 0700/0600 under umask 000', () => {
    expect(run.code, run.stderr).toBe(0);
    const store = path.join(work, '.strand');
    expect(mode(store)).toBe('700');
    expect(mode(path.join(store, 'strand.db'))).toBe('600');
    const logs = path.join(store, 'logs');
    expect(mode(logs)).toBe('700');
    const logFiles = filesUnder(logs);
    expect(logFiles.map((f) => path.basename(f))).toContain('stderr.log');
    for (const f of logFiles) expect(`${f} ${mode(f)}`).toBe(`${f} 600`);
    for (let d = path.dirname(logFiles[0] as string); d !== store; d = path.dirname(d)) expect(`${d} ${mode(d)}`).toBe(`${d} 700`);
    // The run's scratch (kept with --leave-tmpdir): the directories Strand made for the task that
    // are still there (its output directory moved into the task cache).
    const [root] = readdirSync(path.join(work, 'tmp')).filter((n) => n.startsWith('strand-'));
    const scratch = path.join(work, 'tmp', root as string);
    const taskDirs = readdirSync(scratch).map((n) => path.join(scratch, n));
    expect(taskDirs.some((d) => d.endsWith('-tmp'))).toBe(true);
    for (const d of [scratch, ...taskDirs]) if (statSync(d).isDirectory()) expect(`${d} ${mode(d)}`).toBe(`${d} 700`);
  });

  it('the secret is in no byte of the run store (database, logs, task cache) and not on stderr; the tool got it', () => {
    expect(run.code, run.stderr).toBe(0);
    // The tool checked that its argument and $THE_PW are equal, and wrote the sha256 of what it got.
    const digest = readFileSync(path.join(work, 'out', 'digest.txt'), 'utf8').trim();
    expect(digest).toBe(createHash('sha256').update(secret).digest('hex'));
    const store = path.join(work, '.strand');
    const files = filesUnder(store);
    expect(files.map((f) => path.basename(f))).toContain('strand.db');
    for (const f of files) expect(readFileSync(f).includes(secret), f).toBe(false);
    // What is not secret is still recorded (the check above is not vacuous).
    expect(readFileSync(path.join(store, 'strand.db')).includes('public-label')).toBe(true);
    expect(run.stderr).toContain('public-label'); // --debug prints the command line
    expect(run.stderr).not.toContain(secret);
  });

  it('strand show --json shows a placeholder instead', async () => {
    expect(run.code, run.stderr).toBe(0);
    const show = await strand(work, 'show', '--json', lastRunId(work));
    expect(show.code, show.stderr).toBe(0);
    const detail = JSON.parse(show.stdout) as { inputs: Record<string, unknown>; attempts: { argv: string[] }[] };
    expect(detail.inputs.pw).toBe('(secret-pw)');
    expect(detail.inputs.label).toBe('public-label');
    expect(detail.attempts[0]?.argv).toContain('(secret-pw)');
    expect(show.stdout).not.toContain(secret);
  });

  it('a failed task: its command line and stderr tail show a placeholder in the store, the report and the error', async () => {
    const w = path.join(dir, 'fail');
    mkdirSync(w);
    writeFileSync(path.join(w, 'tool.cwl'), secretTool('hints'));
    // With the label `fail`, the tool prints the secret on its stderr and fails.
    const r = await strand(w, 'run', '--outdir', 'out', 'tool.cwl', '--pw', secret, '--label', 'fail');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('failing with (secret-pw)');
    expect(r.stderr).not.toContain(secret);
    const db = readFileSync(path.join(w, '.strand', 'strand.db'));
    expect(db.includes('failing with (secret-pw)')).toBe(true);
    expect(db.includes(secret)).toBe(false);
    const report = await strand(w, 'report', '-o', '-', lastRunId(w));
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('(secret-pw) fail'); // the failure's command line
    expect(report.stdout).toContain('failing with (secret-pw)'); // its stderr tail
    expect(report.stdout + report.stderr).not.toContain(secret);
    // Resuming it: the placeholder is not taken for the value; the secret must be given again.
    const resumed = await strand(w, 'run', '--resume');
    expect(resumed.code).not.toBe(0);
    expect(resumed.stderr).toContain('secret inputs were not recorded');
    expect(resumed.stderr).toContain('missing required input: --pw');
  });

  it('a Secrets hint on a workflow masks its input in the steps that use it', async () => {
    const w = path.join(dir, 'wf');
    mkdirSync(w);
    writeFileSync(path.join(w, 'tool.cwl'), secretTool('hints').replace(/^hints:\n {2}cwltool:Secrets: \{secrets: \[pw\]\}\n/m, ''));
    writeFileSync(
      path.join(w, 'wf.cwl'),
      [
        'cwlVersion: v1.2',
        'class: Workflow',
        '$namespaces: {cwltool: "http://commonwl.org/cwltool#"}',
        'hints: {cwltool:Secrets: {secrets: [token]}}',
        'inputs: {token: string}',
        'outputs: {d: {type: File, outputSource: use/digest}}',
        'steps:',
        '  use: {run: tool.cwl, in: {pw: token, label: {default: public-label}}, out: [digest]}',
      ].join('\n') + '\n',
    );
    expect(readFileSync(path.join(w, 'tool.cwl'), 'utf8')).not.toContain('Secrets');
    const r = await strand(w, 'run', '--debug', '--outdir', 'out', 'wf.cwl', '--token', secret);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(w, 'out', 'digest.txt'), 'utf8').trim()).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(r.stderr).toContain('(secret-token) public-label');
    expect(r.stderr).not.toContain(secret);
    for (const f of filesUnder(path.join(w, '.strand'))) expect(readFileSync(f).includes(secret), f).toBe(false);
  });

  it('a Secrets entry naming an input that is not a string, or no input, is refused by --validate', async () => {
    const w = path.join(dir, 'invalid');
    mkdirSync(w);
    writeFileSync(
      path.join(w, 'tool.cwl'),
      secretTool('hints').replace('secrets: [pw]', 'secrets: [pw, label, count, nope]').replace('inputs: {pw: string, label: string}', 'inputs: {pw: string, label: string, count: int}'),
    );
    const r = await strand(w, 'run', '--validate', 'tool.cwl');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('input "count" must be of type string');
    expect(r.stderr).toContain('names "nope", which is not an input');
    expect(r.stderr).not.toContain('"label"');
  });

  it("a Secrets hint on a step's tool masks the workflow input that feeds it, from the start", async () => {
    const w = path.join(dir, 'wf-inner');
    mkdirSync(w);
    writeFileSync(path.join(w, 'tool.cwl'), secretTool('hints'));
    writeFileSync(
      path.join(w, 'wf.cwl'),
      [
        'cwlVersion: v1.2',
        'class: Workflow',
        'inputs: {token: string}',
        'outputs: {d: {type: File, outputSource: use/digest}}',
        'steps:',
        '  use: {run: tool.cwl, in: {pw: token, label: {default: public-label}}, out: [digest]}',
      ].join('\n') + '\n',
    );
    const r = await strand(w, 'run', '--debug', '--outdir', 'out', 'wf.cwl', '--token', secret);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(w, 'out', 'digest.txt'), 'utf8').trim()).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(r.stderr).not.toContain(secret);
    for (const f of filesUnder(path.join(w, '.strand'))) expect(readFileSync(f).includes(secret), f).toBe(false);
    const show = await strand(w, 'show', '--json', lastRunId(w));
    expect((JSON.parse(show.stdout) as { inputs: Record<string, unknown> }).inputs.token).toBe('(secret-token)');
  });

  it('--dry-run prints the command line with a placeholder (Secrets as a requirement)', async () => {
    const w = path.join(dir, 'dry');
    mkdirSync(w);
    writeFileSync(path.join(w, 'tool.cwl'), secretTool('requirements'));
    const r = await strand(w, 'run', '--dry-run', '--debug', 'tool.cwl', '--pw', secret, '--label', 'public-label');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/command: sh -c .* \(secret-pw\) public-label/);
    expect(r.stdout + r.stderr).not.toContain(secret);
  });
});

/** The id of the one run recorded in `<cwd>/.strand`. */
function lastRunId(cwd: string): string {
  const s = openRunStore(path.join(cwd, '.strand'), { readOnly: true });
  try {
    const [r] = s.listRuns({ limit: 1 });
    if (!r) throw new Error('no run recorded');
    return r.id;
  } finally {
    s.close();
  }
}
