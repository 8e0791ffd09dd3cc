/**
 * A document cannot pull a host file into the run (issue 16): a File or Directory that a CWL
 * document names itself (an input's or a step's `default`, a step's `valueFrom`, an
 * InitialWorkDir entry, a `secondaryFiles` default or expression) must lie inside the document's
 * directory tree or already be part of the run; a host file elsewhere (`/home/u/.ssh/id_rsa`,
 * `file:///etc/shadow`, `../../.aws/credentials`, a link out of the tree) fails the run before it
 * reaches a task or --outdir, naming the document, line, field and path. Paths in the job file
 * are the user's own and stay allowed; --allow-outside-document (or the older
 * --allow-include-outside) lifts the rule.
 *
 * Each case runs the built CLI in a project directory (`wf/`) next to a "host" directory that
 * holds the secret, and looks at what reached stdout and --outdir.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { built, runStrand, type Ran } from '../support/strand-cli.js';

const SECRET = 'PRIVATE KEY 9f8e7d6c';
let root = '';
let secretFile = '';
let hostDir = '';

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strand-sec-docpaths-'));
  hostDir = path.join(root, 'host');
  mkdirSync(hostDir);
  secretFile = path.join(hostDir, 'id_rsa');
  writeFileSync(secretFile, `${SECRET}\n`);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh project directory `root/<name>/wf` holding `files`. */
function project(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name, 'wf');
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

/** Every file under `dir` with its text (empty when `dir` does not exist). */
function contents(dir: string): string {
  if (!existsSync(dir)) return '';
  let all = '';
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    if (e.isFile()) all += readFileSync(p, 'utf8');
  }
  return all;
}

function strand(cwd: string, ...args: string[]): Promise<Ran> {
  return runStrand(['run', '--no-container', '--no-record', ...args], { cwd });
}

/** The run was refused: exit 1, the message, and the secret nowhere in its output or --outdir. */
async function expectRefused(dir: string, doc: string, where: RegExp, job: string[] = []): Promise<void> {
  const r = await strand(dir, '--outdir', 'out', doc, ...job);
  // What reached --outdir first: on code without the rule, this is where each case fails.
  expect(contents(path.join(dir, 'out'))).not.toContain(SECRET);
  expect(r.stdout + r.stderr).not.toContain(SECRET);
  expect(r.stderr).toMatch(where);
  expect(r.stderr).toContain('--allow-outside-document');
  expect(r.code).toBe(1);
}

const CAT_TOOL = [
  'cwlVersion: v1.2',
  'class: CommandLineTool',
  'baseCommand: cat',
  'inputs:',
  '  f: {type: File, inputBinding: {position: 1}}',
  'outputs:',
  '  out: stdout',
  'stdout: out.txt',
  '',
].join('\n');

describe.skipIf(!built)('a File a document names must lie in its directory tree', () => {
  it("an input's default (absolute path) that a workflow passes to its output: refused before anything runs", async () => {
    const dir = project('default-abs', {
      'wf.cwl': [
        'cwlVersion: v1.2',
        'class: Workflow',
        'inputs:',
        `  key: {type: File, default: {class: File, location: ${secretFile}}}`,
        'outputs:',
        '  out: {type: File, outputSource: key}',
        'steps: []',
        '',
      ].join('\n'),
    });
    await expectRefused(dir, 'wf.cwl', new RegExp(`wf\\.cwl:4:\\d+: inputs\\.key\\.default: ${secretFile} is outside ${dir}`));
  });

  it("a tool's default as a file: URI, read by the task", async () => {
    const dir = project('default-uri', {
      'tool.cwl': CAT_TOOL.replace('  f: {type: File, inputBinding: {position: 1}}', `  f: {type: File, inputBinding: {position: 1}, default: {class: File, location: 'file://${secretFile}'}}`),
    });
    await expectRefused(dir, 'tool.cwl', /tool\.cwl:5:\d+: inputs\.f\.default: .*id_rsa is outside/);
  });

  it('a relative default that climbs out with ../', async () => {
    const dir = project('default-rel', {
      'tool.cwl': CAT_TOOL.replace('  f: {type: File, inputBinding: {position: 1}}', '  f: {type: File, inputBinding: {position: 1}, default: {class: File, location: ../../host/id_rsa}}'),
    });
    await expectRefused(dir, 'tool.cwl', /tool\.cwl:5:\d+: inputs\.f\.default: .*host\/id_rsa is outside/);
  });

  it("a link inside the document's directory that leads out of it (resolved before the check)", async () => {
    const dir = project('default-link', {
      'tool.cwl': CAT_TOOL.replace('  f: {type: File, inputBinding: {position: 1}}', '  f: {type: File, inputBinding: {position: 1}, default: {class: File, location: data/ref.fa}}'),
    });
    mkdirSync(path.join(dir, 'data'));
    symlinkSync(secretFile, path.join(dir, 'data/ref.fa'));
    await expectRefused(dir, 'tool.cwl', /inputs\.f\.default: .*data\/ref\.fa is a link to .*host\/id_rsa, outside/);
  });

  it("a Directory default inside the document's directory that holds a link leading out", async () => {
    const dir = project('default-dir-link', {
      'data/readme': 'data\n',
      'tool.cwl': [
        'cwlVersion: v1.2',
        'class: CommandLineTool',
        'baseCommand: cat',
        'arguments: [$(inputs.d.path)/key]',
        'inputs:',
        '  d: {type: Directory, default: {class: Directory, location: data}}',
        'outputs:',
        '  out: stdout',
        'stdout: out.txt',
        '',
      ].join('\n'),
    });
    symlinkSync(secretFile, path.join(dir, 'data/key'));
    await expectRefused(dir, 'tool.cwl', /tool\.cwl:6:\d+: inputs\.d\.default: .*data holds .*data\/key, a link to .*id_rsa, which is outside/);
  });

  it("a step input's default", async () => {
    const dir = project('step-default', {
      'cat.cwl': CAT_TOOL,
      'wf.cwl': [
        'cwlVersion: v1.2',
        'class: Workflow',
        'inputs: []',
        'outputs:',
        '  out: {type: File, outputSource: s/out}',
        'steps:',
        '  s:',
        '    run: cat.cwl',
        '    in:',
        `      f: {default: {class: File, location: ${secretFile}}}`,
        '    out: [out]',
        '',
      ].join('\n'),
    });
    await expectRefused(dir, 'wf.cwl', /wf\.cwl:10:\d+: steps\.s\.in\.f\.default: .*id_rsa is outside/);
  });

  it('a literal of a later step fails the run before the first step runs', async () => {
    const marker = path.join(root, 'preflight-marker');
    const dir = project('preflight', {
      'cat.cwl': CAT_TOOL,
      'touch.cwl': ['cwlVersion: v1.2', 'class: CommandLineTool', `baseCommand: [touch, ${marker}]`, 'inputs: []', 'outputs:', '  out: stdout', ''].join('\n'),
      'wf.cwl': [
        'cwlVersion: v1.2',
        'class: Workflow',
        'inputs: []',
        'outputs:',
        '  out: {type: File, outputSource: second/out}',
        'steps:',
        '  first: {run: touch.cwl, in: {}, out: [out]}',
        '  second:',
        '    run: cat.cwl',
        '    in:',
        '      dep: first/out',
        `      f: {default: {class: File, location: ${secretFile}}}`,
        '    out: [out]',
        '',
      ].join('\n'),
    });
    await expectRefused(dir, 'wf.cwl', /wf\.cwl:12:\d+: steps\.second\.in\.f\.default: .*id_rsa is outside/);
    expect(existsSync(marker)).toBe(false);
  });

  it("a step input's valueFrom expression that makes a File", async () => {
    const dir = project('value-from', {
      'cat.cwl': CAT_TOOL,
      'wf.cwl': [
        'cwlVersion: v1.2',
        'class: Workflow',
        'requirements: {StepInputExpressionRequirement: {}, InlineJavascriptRequirement: {}}',
        'inputs: []',
        'outputs:',
        '  out: {type: File, outputSource: s/out}',
        'steps:',
        '  s:',
        '    run: cat.cwl',
        '    in:',
        `      f: {valueFrom: "\${ return {class: 'File', location: '${secretFile}'}; }"}`,
        '    out: [out]',
        '',
      ].join('\n'),
    });
    await expectRefused(dir, 'wf.cwl', /wf\.cwl:11:\d+: steps\.s\.in\.f\.valueFrom: .*id_rsa is outside/);
  });

  it('an InitialWorkDir entry named by location', async () => {
    const dir = project('iwd-literal', {
      'tool.cwl': [
        'cwlVersion: v1.2',
        'class: CommandLineTool',
        'requirements:',
        '  InitialWorkDirRequirement:',
        '    listing:',
        `      - {class: File, location: ${secretFile}}`,
        'baseCommand: [cat, id_rsa]',
        'inputs: []',
        'outputs:',
        '  out: stdout',
        '  copy: {type: File, outputBinding: {glob: id_rsa}}',
        'stdout: out.txt',
        '',
      ].join('\n'),
    });
    await expectRefused(dir, 'tool.cwl', /tool\.cwl:5:\d+: requirements\.InitialWorkDirRequirement\.listing: .*id_rsa is outside/);
  });

  it('an InitialWorkDir expression that makes a File', async () => {
    const dir = project('iwd-expr', {
      'tool.cwl': [
        'cwlVersion: v1.2',
        'class: CommandLineTool',
        'requirements:',
        '  InlineJavascriptRequirement: {}',
        '  InitialWorkDirRequirement:',
        '    listing:',
        `      - "\${ return {class: 'File', location: '${secretFile}'}; }"`,
        'baseCommand: [cat, id_rsa]',
        'inputs: []',
        'outputs:',
        '  out: stdout',
        'stdout: out.txt',
        '',
      ].join('\n'),
    });
    await expectRefused(dir, 'tool.cwl', /tool\.cwl:6:\d+: requirements\.InitialWorkDirRequirement\.listing: .*id_rsa is outside/);
  });

  it("a default File's secondaryFiles", async () => {
    const dir = project('secondary-default', {
      'main.txt': 'main\n',
      'tool.cwl': [
        'cwlVersion: v1.2',
        'class: CommandLineTool',
        'baseCommand: cat',
        'inputs:',
        '  f:',
        '    type: File',
        '    secondaryFiles: [.idx?]',
        '    inputBinding: {position: 1, valueFrom: "$(self.secondaryFiles[0].path)"}',
        `    default: {class: File, location: main.txt, secondaryFiles: [{class: File, location: ${secretFile}}]}`,
        'outputs:',
        '  out: stdout',
        'stdout: out.txt',
        '',
      ].join('\n'),
    });
    await expectRefused(dir, 'tool.cwl', /tool\.cwl:9:\d+: inputs\.f\.default: .*id_rsa is outside/);
  });

  it('a secondaryFiles expression that makes a File away from its primary', async () => {
    const dir = project('secondary-expr', {
      'main.txt': 'main\n',
      'tool.cwl': [
        'cwlVersion: v1.2',
        'class: CommandLineTool',
        'requirements: {InlineJavascriptRequirement: {}}',
        'baseCommand: cat',
        'inputs:',
        '  f:',
        '    type: File',
        `    secondaryFiles: ["\${ return {class: 'File', location: '${secretFile}'}; }"]`,
        '    inputBinding: {position: 1, valueFrom: "$(self.secondaryFiles[0].path)"}',
        'outputs:',
        '  out: stdout',
        'stdout: out.txt',
        '',
      ].join('\n'),
      'job.yml': 'f: {class: File, location: main.txt}\n',
    });
    await expectRefused(dir, 'tool.cwl', /tool\.cwl:8:\d+: inputs\.f\.secondaryFiles: .*id_rsa is outside/, ['job.yml']);
  });
});

describe.skipIf(!built)('what stays allowed', () => {
  it('a default inside the document directory, and secondary files next to their primary', async () => {
    const dir = project('allowed-inside', {
      'data/ref.fa': 'ACGT\n',
      'data/ref.fa.fai': 'INDEX\n',
      'tool.cwl': [
        'cwlVersion: v1.2',
        'class: CommandLineTool',
        'baseCommand: cat',
        'inputs:',
        '  f:',
        '    type: File',
        '    secondaryFiles: [.fai]',
        '    inputBinding: {position: 1}',
        '    default: {class: File, location: data/ref.fa}',
        'outputs:',
        '  out: stdout',
        'stdout: out.txt',
        '',
      ].join('\n'),
    });
    const r = await strand(dir, '--outdir', 'out', 'tool.cwl');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dir, 'out/out.txt'), 'utf8')).toBe('ACGT\n');
  });

  it('a host file given in the job file is the user\'s own input', async () => {
    const dir = project('allowed-job', { 'tool.cwl': CAT_TOOL, 'job.yml': `f: {class: File, location: ${secretFile}}\n` });
    const r = await strand(dir, '--outdir', 'out', 'tool.cwl', 'job.yml');
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dir, 'out/out.txt'), 'utf8')).toBe(`${SECRET}\n`);
  });

  it('a valueFrom that passes an input on (a job input outside the tree) is allowed', async () => {
    const dir = project('allowed-passthrough', {
      'cat.cwl': CAT_TOOL,
      'wf.cwl': [
        'cwlVersion: v1.2',
        'class: Workflow',
        'requirements: {StepInputExpressionRequirement: {}}',
        'inputs: {g: File}',
        'outputs:',
        '  out: {type: File, outputSource: s/out}',
        'steps:',
        '  s:',
        '    run: cat.cwl',
        '    in:',
        '      f: {source: g, valueFrom: $(self)}',
        '    out: [out]',
        '',
      ].join('\n'),
      'job.yml': `g: {class: File, location: ${secretFile}}\n`,
    });
    const r = await strand(dir, '--outdir', 'out', 'wf.cwl', 'job.yml');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
  });

  it("an InitialWorkDir listing the job file gives (cwl:requirements) is the user's", async () => {
    const dir = project('allowed-job-iwd', {
      'tool.cwl': ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: [cat, id_rsa]', 'inputs: []', 'outputs:', '  out: stdout', 'stdout: out.txt', ''].join('\n'),
      'job.yml': ['cwl:requirements:', '  - class: InitialWorkDirRequirement', `    listing: [{class: File, location: ${secretFile}}]`, ''].join('\n'),
    });
    const r = await strand(dir, '--outdir', 'out', 'tool.cwl', 'job.yml');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dir, 'out/out.txt'), 'utf8')).toBe(`${SECRET}\n`);
  });

  it('--allow-outside-document and the older --allow-include-outside lift the rule', async () => {
    const dir = project('allowed-flag', {
      'tool.cwl': CAT_TOOL.replace('  f: {type: File, inputBinding: {position: 1}}', `  f: {type: File, inputBinding: {position: 1}, default: {class: File, location: ${secretFile}}}`),
    });
    for (const flag of ['--allow-outside-document', '--allow-include-outside']) {
      const r = await strand(dir, '--outdir', `out${flag}`, flag, 'tool.cwl');
      expect(r.code).toBe(0);
      expect(readFileSync(path.join(dir, `out${flag}/out.txt`), 'utf8')).toBe(`${SECRET}\n`);
    }
  });
});
