/**
 * The loader's `root` (LoaderLimitOptions): a document loaded for someone else (the lab server)
 * reads only files inside its directory; anything it names outside is refused before it is read.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { loadDocument } from './index.js';

const tool = (extra = '') => `cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs: []
outputs: []
${extra}`;

let top: string;
let root: string;
let outside: string;
beforeEach(() => {
  top = mkdtempSync(path.join(os.tmpdir(), 'strand-load-root-'));
  root = path.join(top, 'request');
  outside = path.join(top, 'elsewhere');
  mkdirSync(path.join(root, 'tools'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'tool.cwl'), tool());
  writeFileSync(path.join(outside, 'reqs.yml'), '- class: InlineJavascriptRequirement\n');
});
afterEach(() => rmSync(top, { recursive: true, force: true }));

const wf = (run: string) => `cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  s:
    run: ${run}
    in: []
    out: []
`;

async function refusal(file: string): Promise<string> {
  const err = await loadDocument(file, { root }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return (err as Error).message;
}

describe('a load confined to a directory (root)', () => {
  it('loads a workflow whose steps and imports are inside it, and names those files', async () => {
    writeFileSync(path.join(root, 'tools', 'echo.cwl'), tool());
    writeFileSync(path.join(root, 'wf.cwl'), wf('tools/echo.cwl'));
    const files = new Set<string>();
    const p = await loadDocument(path.join(root, 'wf.cwl'), { root, files });
    expect(p.class).toBe('Workflow');
    expect([...files].map((f) => path.relative(root, f)).sort()).toEqual(['tools/echo.cwl', 'wf.cwl']);
  });

  it('refuses a step whose run is outside, by .. or by an absolute path, naming the file', async () => {
    writeFileSync(path.join(root, 'a.cwl'), wf('../elsewhere/tool.cwl'));
    expect(await refusal(path.join(root, 'a.cwl'))).toContain(`${path.join(outside, 'tool.cwl')} is outside ${root}`);
    writeFileSync(path.join(root, 'b.cwl'), wf(path.join(outside, 'tool.cwl')));
    expect(await refusal(path.join(root, 'b.cwl'))).toContain('is outside');
    writeFileSync(path.join(root, 'c.cwl'), wf('/etc/passwd'));
    expect(await refusal(path.join(root, 'c.cwl'))).toContain('/etc/passwd is outside');
  });

  it('refuses $import and $include of a file outside', async () => {
    writeFileSync(path.join(root, 'imp.cwl'), tool(`requirements:\n  $import: ../elsewhere/reqs.yml\n`));
    expect(await refusal(path.join(root, 'imp.cwl'))).toContain('is outside');
    writeFileSync(path.join(root, 'inc.cwl'), tool(`doc:\n  $include: ../elsewhere/reqs.yml\n`));
    expect(await refusal(path.join(root, 'inc.cwl'))).toMatch(/outside/);
  });

  it('refuses a link inside that leads outside', async () => {
    symlinkSync(path.join(outside, 'tool.cwl'), path.join(root, 'tools', 'link.cwl'));
    writeFileSync(path.join(root, 'wf.cwl'), wf('tools/link.cwl'));
    expect(await refusal(path.join(root, 'wf.cwl'))).toContain('link.cwl is outside');
  });

  it('without a root, the same workflow loads (the CLI reads what its user names)', async () => {
    writeFileSync(path.join(root, 'a.cwl'), wf('../elsewhere/tool.cwl'));
    expect((await loadDocument(path.join(root, 'a.cwl'))).class).toBe('Workflow');
  });
});
