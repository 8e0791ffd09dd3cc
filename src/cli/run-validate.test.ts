/** `strand run --validate` through the built CLI: exit codes and what it prints. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from './exit-codes.js';

const repo = path.resolve(import.meta.dirname, '../..');
const bin = path.join(repo, 'bin/strand.js');
const built = existsSync(path.join(repo, 'dist/src/cli/main.js'));
const dir = mkdtempSync(path.join(os.tmpdir(), 'strand-cli-validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  writeFileSync(path.join(dir, name), text);
  return name;
}

function strand(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, STRAND_STORE: 'off' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

write('tool.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs:\n  msg: {type: string, inputBinding: {}}\noutputs:\n  out: stdout\n');

describe.skipIf(!built)(`strand run --validate${built ? '' : ' (skipped: run `npm run build` first)'}`, () => {
  it('exits 0 and says so for a valid workflow, with warnings on stderr', () => {
    const wf = write(
      'good.cwl',
      'cwlVersion: v1.2\nclass: Workflow\ninputs: {m: string}\noutputs: {o: {type: File, outputSource: s/out}}\nsteps:\n  s:\n    run: tool.cwl\n    in: {msg: m, extra: m}\n    out: [out]\n',
    );
    const r = strand('run', '--validate', wf);
    expect(r.code).toBe(EXIT.ok);
    expect(r.stdout).toMatch(/^good\.cwl is valid CWL \(Workflow file:\/\/.*good\.cwl\)\n$/);
    expect(r.stderr).toBe('[strand] warning: good.cwl:8:18: steps.s.in.extra: "extra" is not an input of tool.cwl (its inputs: msg); it is not passed to the tool\n');
  });

  it('exits 1 for an invalid workflow, printing each error once with file:line:col and field path, before running anything', () => {
    const wf = write(
      'bad.cwl',
      `cwlVersion: v1.2
class: Workflow
inputs: {m: string}
outputs: {}
steps:
  a:
    run: tool.cwl
    in: {msg: b/out}
    out: [out, nope]
  b:
    run: tool.cwl
    in: {msg: a/out}
    out: [out]
    hints: [DockerRequirement]
`,
    );
    for (const args of [['run', '--validate', wf], ['run', wf, '--m', 'x']]) {
      const r = strand(...args);
      expect(r.code).toBe(EXIT.failed);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n').filter((l) => l.includes('bad.cwl:'))).toEqual([
        'strand: error: bad.cwl:8:15: steps.a.in.msg.source: step a input msg: source "b/out" at line 13 of type File is incompatible with string',
        'bad.cwl:9:16: steps.a.out.nope: step a lists output "nope", which tool.cwl does not have (its outputs: out)',
        'bad.cwl:12:15: steps.b.in.msg.source: step b input msg: source "a/out" at line 9 of type File is incompatible with string',
        'bad.cwl:12:15: steps.b.in.msg.source: steps a -> b -> a form a cycle: each waits for the other\'s outputs',
        'bad.cwl:14:13: steps.b.hints[0]: hints must be a list of objects with a `class`, but item 1 is the string "DockerRequirement"',
      ]);
    }
  });
});
