/**
 * Failure messages through the CLI: each says what is wrong once, in the user's words, and sends
 * the user the right way (issue 8, point 5).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = path.join(repo, 'bin/strand.js');
const built = existsSync(path.join(repo, 'dist/src/cli/main.js'));
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-messages-'));
  const write = (name: string, lines: string[]) => writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  write('needs-reads.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'baseCommand: cat',
    'inputs:',
    '  reads: {type: File, inputBinding: {position: 1}}',
    '  label: {type: "string?"}',
    'outputs:',
    '  sorted: {type: File, outputBinding: {glob: "*.bam"}}',
    'stdout: copy.txt',
  ]);
  write('fails.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'baseCommand: [sh, -c, \'echo "reading index" >&2; echo "oops: index missing" >&2; exit 3\']',
    'inputs: []',
    'outputs: []',
  ]);
  write('not-found.cwl', ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: no-such-tool-xyz', 'inputs: []', 'outputs: []']);
  write('reads.txt', ['some reads']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function strand(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [strandBin, ...args], {
      cwd: dir,
      env: { ...process.env, STRAND_STORE: path.join(dir, 'store'), TMPDIR: dir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const count = (text: string, part: string) => text.split(part).length - 1;

describe.skipIf(!built)('CLI failure messages', () => {
  it('a missing required input is named, with the two ways to give it, before the run starts', async () => {
    const r = await strand('run', 'needs-reads.cwl');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing required input: --reads (File)');
    expect(r.stderr).toContain('in a job file (reads: ...) or as flags after the document (--reads <value>)');
    expect(r.stderr).not.toContain('got null');
    expect(r.stderr).not.toContain('--label'); // optional
    expect(r.stderr).not.toContain('[strand] run'); // nothing was started
  });

  it('a glob that matched nothing names the output, the pattern, the directory and what is in it', async () => {
    const r = await strand('run', 'needs-reads.cwl', '--reads', 'reads.txt');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/output sorted \(File\) is required, but the glob "\*\.bam" matched nothing in \/\S+, which holds: copy\.txt\n/);
    expect(r.stderr).not.toContain('got null');
  });

  it('a failing tool: the reason said once, its stderr printed once', async () => {
    const r = await strand('run', 'fails.cwl');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('strand: error: step fails failed: exit code 3 (a permanent failure); its stderr ends with:\n  reading index\n  oops: index missing\n');
    expect(count(r.stderr, 'oops: index missing')).toBe(1);
    expect(r.stderr).not.toMatch(/failed: failed|\(failed\)|completed exit/);
  });

  it('a command that is not found: no "failed: failed"', async () => {
    const r = await strand('run', 'not-found.cwl');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[strand] task not-found failed: command not found: no-such-tool-xyz\n');
    expect(r.stderr).toContain('strand: error: step not-found failed: command not found: no-such-tool-xyz\n');
    expect(r.stderr).not.toMatch(/failed: failed|\(failed\)/);
  });

  it('a run that is not recorded does not point to strand show', async () => {
    const r = await strand('run', '--no-record', 'fails.cwl');
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('strand show');
    expect(r.stderr).toMatch(/\[strand\] run \S+ failed\n/);
  });

  it('strand show prints only the task paths that still exist, and says which were removed', async () => {
    const r = await strand('run', 'fails.cwl');
    const runId = /run (\S+) failed; see: strand show \1/.exec(r.stderr)?.[1];
    expect(runId, r.stderr).toBeDefined();
    const show = await strand('show', runId as string);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('workdir: removed after the run');
    expect(show.stdout).toMatch(/workdir +\S+ \(removed after the run; --leave-tmpdir keeps it\)/);
    const paths = [...show.stdout.matchAll(/(?:^|[\s,])(\/[^\s,]+)/gm)].map((m) => m[1] as string);
    expect(paths.length).toBeGreaterThan(0); // the stderr log, at least
    for (const p of paths) if (!show.stdout.includes(`${p} (removed`)) expect(existsSync(p), `${p} is listed`).toBe(true);
  });
});
