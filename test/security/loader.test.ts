/**
 * Someone else's workflow or job file cannot exhaust the loader or read host files through it
 * (issue 16, class 8): `$import`/`run` loops are named, nesting and size are bounded before
 * anything recursive or large runs (`--validate` too), and `$include` stays in the document's
 * directory unless --allow-outside-document (or its older name --allow-include-outside).
 *
 * The CLI runs in a child process with a 512 MB heap and is killed after 15 s, so code without
 * these limits fails the test (exit by signal or out of memory) instead of taking the machine down.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { loadDocument, loadJob } from '../../src/loader/index.js';
import { MAX_NESTING_DEPTH } from '../../src/loader/limits.js';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = path.join(repo, 'bin/strand.js');
const built = existsSync(path.join(repo, 'dist/src/cli/main.js'));
const KILL_AFTER_MS = 15_000;

let root = '';
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strand-sec-loader-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh directory under the test's root, with `files` written into it (paths relative to it). */
function project(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function strand(cwd: string, ...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=512', strandBin, ...args], {
      cwd,
      env: { ...process.env, STRAND_STORE: path.join(cwd, 'store'), TMPDIR: cwd },
    });
    // A guard for code without the limits, not a timing assertion: the fixed loader answers at once.
    const guard = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Every file under `dir` with its size (the run store, an outdir). */
function listing(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const p = path.join(e.parentPath, e.name);
      out[path.relative(dir, p)] = statSync(p).size;
    }
  }
  return out;
}

const TOOL = ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: echo', 'inputs:', '  x: Any', 'outputs: []', ''].join('\n');

const workflowRunning = (run: string) =>
  ['cwlVersion: v1.2', 'class: Workflow', 'inputs: []', 'outputs: []', 'steps:', '  s:', `    run: ${run}`, '    in: []', '    out: []', ''].join('\n');

describe.skipIf(!built)('loader limits through the CLI (issue 16, class 8)', () => {
  it('a document that $imports itself is a loop named at the directive, not an endless expansion (run and --validate)', async () => {
    const dir = project('self-import', {
      'self.cwl': ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: echo', 'inputs: []', 'outputs: []', 'hints:', '  - $import: self.cwl', ''].join('\n'),
    });
    for (const args of [['--validate', 'self.cwl'], ['self.cwl']]) {
      const r = await strand(dir, 'run', ...args);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('strand: error: self.cwl:7:5: $import of self.cwl makes a loop: self.cwl imports self.cwl\n');
    }
  });

  it('a -> b -> a through `run: {$import: ...}` names the chain in order', async () => {
    const dir = project('run-import-loop', { 'a.cwl': workflowRunning('{$import: b.cwl}'), 'b.cwl': workflowRunning('{$import: a.cwl}') });
    const r = await strand(dir, 'run', '--validate', 'a.cwl');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('strand: error: b.cwl:7:10: $import of a.cwl makes a loop: a.cwl imports b.cwl imports a.cwl\n');
  });

  it('a -> b -> a through `run: file` names the chain in order', async () => {
    // Caught before this change too (loader/index.ts loadRef); kept as a guard next to the $import loops.
    const dir = project('run-loop', { 'a.cwl': workflowRunning('b.cwl'), 'b.cwl': workflowRunning('a.cwl') });
    const r = await strand(dir, 'run', '--validate', 'a.cwl');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run a.cwl makes a loop: a.cwl runs b.cwl runs a.cwl\n');
  });

  it('documents imported twice over through many levels stop at the budget instead of doubling without end', async () => {
    // l0 imports l1 twice, l1 imports l2 twice, ...: 2^40 copies without a budget.
    const files: Record<string, string> = { 'tool.cwl': TOOL.replace('outputs: []', 'outputs: []\nhints:\n  - $import: l0.yml') };
    for (let i = 0; i < 40; i++) files[`l${i}.yml`] = `- {class: Pad, a: [{$import: l${i + 1}.yml}, {$import: l${i + 1}.yml}]}\n`;
    files['l40.yml'] = '- {class: Leaf}\n';
    const dir = project('import-diamond', files);
    const r = await strand(dir, 'run', '--validate', 'tool.cwl');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\$import, \$include and run bring in more than 10000 documents/);
  });

  for (const [name, text] of [
    ['deep.yml', `x: ${'['.repeat(20_000)}1${']'.repeat(20_000)}\n`],
    ['deep.json', `{"x": ${'['.repeat(20_000)}1${']'.repeat(20_000)}}\n`],
    ['deep-block.yml', `x:\n  ${'- '.repeat(20_000)}1\n`],
  ] as const) {
    it(`a job nested 20,000 deep (${name}) is refused with its file and line, not a V8 abort`, async () => {
      const dir = project(`deep-${name}`, { 'tool.cwl': TOOL, [name]: text });
      const r = await strand(dir, 'run', '--no-container', 'tool.cwl', name);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^strand: error: ${name.replace('.', '\\.')}:\\d+:\\d+: nested more than ${MAX_NESTING_DEPTH} levels deep`, 'm'));
      expect(r.stderr).not.toMatch(/FATAL|out of memory|Maximum call stack/);
      expect(listing(path.join(dir, 'store'))).toEqual({});
    });
  }

  it('a document nested 20,000 deep is refused by --validate too', async () => {
    const dir = project('deep-doc', { 'tool.cwl': TOOL.replace('outputs: []', `outputs: []\nhints: [{class: X, y: ${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}}]`) });
    const r = await strand(dir, 'run', '--validate', 'tool.cwl');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^strand: error: tool\\.cwl:7:\\d+: nested more than ${MAX_NESTING_DEPTH} levels deep`, 'm'));
  });

  it('a job file holding a 100 MB string is refused before it is read, and nothing reaches the run store', async () => {
    const dir = project('big-job', { 'tool.cwl': TOOL });
    const job = path.join(dir, 'job.yml');
    const fd = openSync(job, 'w');
    writeSync(fd, 'x: "');
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    for (let i = 0; i < 100; i++) writeSync(fd, chunk);
    writeSync(fd, '"\n');
    closeSync(fd);
    const bytes = statSync(job).size;
    const r = await strand(dir, 'run', '--no-container', 'tool.cwl', 'job.yml');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`strand: error: job.yml: ${bytes} bytes is over the limit of 16 MiB for a job file (--max-document-size)\n`);
    // No run was recorded, so no copy of the job anywhere in the store.
    expect(Object.values(listing(path.join(dir, 'store'))).every((size) => size < 1024 * 1024)).toBe(true);
    expect(r.stderr).not.toContain('[strand] run');
  });

  it('--max-document-size lowers the limit (documents too) and names itself', async () => {
    const dir = project('small-limit', { 'tool.cwl': TOOL + '#'.repeat(2000) + '\n' });
    const r = await strand(dir, 'run', '--validate', '--max-document-size', '1KiB', 'tool.cwl');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^strand: error: tool\.cwl: \d+ bytes is over the limit of 1 KiB for a CWL document \(--max-document-size\)$/m);
  });

  describe('$include outside the document directory', () => {
    const SECRET = 'host-secret-4f1c9a';
    let outsideFile = '';
    let dir = '';
    beforeAll(() => {
      const outside = project('include-outside/elsewhere', { hostname: SECRET });
      outsideFile = path.join(outside, 'hostname');
      dir = project('include-outside/wf', {
        'tool.cwl': [
          'cwlVersion: v1.2',
          'class: CommandLineTool',
          'baseCommand: echo',
          'arguments:',
          `  - {$include: ${outsideFile}}`,
          'inputs: []',
          'outputs:',
          '  out: stdout',
          'stdout: out.txt',
          '',
        ].join('\n'),
      });
    });

    it('an absolute path outside is refused (run and --validate): nothing inlined, nothing in --outdir', async () => {
      for (const args of [['--validate'], ['--no-container', '--outdir', 'out-refused']]) {
        const r = await strand(dir, 'run', ...args, 'tool.cwl');
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`strand: error: tool.cwl:5:5: $include of ${outsideFile} is outside ${path.dirname(path.join(dir, 'tool.cwl'))}, the directory of the document that includes it; give --allow-outside-document`);
        expect(r.stdout + r.stderr).not.toContain(SECRET);
      }
      expect(listing(path.join(dir, 'out-refused'))).toEqual({});
    });

    it('--allow-include-outside reads it', async () => {
      const r = await strand(dir, 'run', '--no-container', '--allow-include-outside', '--outdir', 'out-allowed', 'tool.cwl');
      expect(r.stderr).not.toContain('error');
      expect(r.code).toBe(0);
      expect(readFileSync(path.join(dir, 'out-allowed/out.txt'), 'utf8')).toBe(`${SECRET}\n`);
    });

    it('a link inside the directory that points outside is refused too', async () => {
      const linked = project('include-link/wf', {
        'tool.cwl': ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: echo', 'arguments:', '  - {$include: notes.txt}', 'inputs: []', 'outputs: []', ''].join('\n'),
      });
      symlinkSync(outsideFile, path.join(linked, 'notes.txt'));
      const r = await strand(linked, 'run', '--validate', 'tool.cwl');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`$include of ${path.join(linked, 'notes.txt')} is outside ${linked}`);
    });

    it('a job file cannot $include a host file either', async () => {
      const jobDir = project('include-job', { 'tool.cwl': TOOL, 'job.yml': `x: {$include: ${outsideFile}}\n` });
      const r = await strand(jobDir, 'run', '--no-container', 'tool.cwl', 'job.yml');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`strand: error: job.yml:1:4: $include of ${outsideFile} is outside ${jobDir}`);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    });
  });

  it('$import and run of CWL outside the directory still work; $import of a host YAML file that is not CWL is refused', async () => {
    const dir = project('import-outside', {
      'tools/echo.cwl': TOOL.replace('outputs: []', 'outputs: []\nrequirements:\n  - $import: ../shared/env.yml'),
      'shared/env.yml': 'class: EnvVarRequirement\nenvDef: {A: b}\n',
      'home/.kube/config': 'apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: host-token-77ab}}]\n',
      'wf/main.cwl': workflowRunning('../tools/echo.cwl').replace('in: []', 'in: {x: {default: 1}}'),
      'wf/steal.cwl': TOOL.replace('  x: Any', '  x:\n    type: Any\n    default: {$import: ../home/.kube/config}'),
    });
    const ok = await strand(path.join(dir, 'wf'), 'run', '--validate', 'main.cwl');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const r = await strand(path.join(dir, 'wf'), 'run', '--validate', 'steal.cwl');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`strand: error: steal.cwl:7:14: $import of ${path.join(dir, 'home/.kube/config')}, outside ${path.join(dir, 'wf')} (the directory of the document that imports it), is not CWL`);
    expect(r.stdout + r.stderr).not.toContain('host-token-77ab');
  });
});

describe('loader limits in the library', () => {
  it(`nesting up to ${MAX_NESTING_DEPTH} levels loads (flow lists, flow maps, block lists), one more is refused`, async () => {
    const n = MAX_NESTING_DEPTH - 1; // the job's own mapping is the first level
    const forms = {
      flowList: (d: number) => `x: ${'['.repeat(d)}1${']'.repeat(d)}\n`,
      flowMap: (d: number) => `x: ${'{a: '.repeat(d)}1${'}'.repeat(d)}\n`,
      blockList: (d: number) => `x:\n  ${'- '.repeat(d)}1\n`,
    };
    for (const [form, text] of Object.entries(forms)) {
      const ok = project(`depth-${form}-ok`, { 'job.yml': text(n) });
      await expect(loadJob(path.join(ok, 'job.yml'))).resolves.toHaveProperty('x');
      const over = project(`depth-${form}-over`, { 'job.yml': text(n + 1) });
      await expect(loadJob(path.join(over, 'job.yml'))).rejects.toThrow(`nested more than ${MAX_NESTING_DEPTH} levels deep`);
    }
  });

  it('an $import that nests past the limit through another document is refused with the chain', async () => {
    const dir = project('depth-import', {
      'tool.cwl': TOOL.replace('outputs: []', `outputs: []\nhints: [{class: X, y: ${'['.repeat(100)}{$import: inner.yml}${']'.repeat(100)}}]`),
      'inner.yml': `${'['.repeat(100)}1${']'.repeat(100)}\n`,
    });
    const err = await loadDocument(path.join(dir, 'tool.cwl')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain(`inner.yml:1:`);
    expect((err as ValidationError).message).toContain(`nested more than ${MAX_NESTING_DEPTH} levels deep (through $import of inner.yml)`);
  });

  it('an $include of a device that never ends is refused (not read until memory runs out)', async () => {
    const dir = project('include-device', {
      'tool.cwl': ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: echo', 'arguments:', '  - {$include: /dev/zero}', 'inputs: []', 'outputs: []', ''].join('\n'),
    });
    const err = await loadDocument(path.join(dir, 'tool.cwl'), { allowIncludeOutside: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain('tool.cwl:5:5: cannot $include /dev/zero: not a regular file');
  });
});
