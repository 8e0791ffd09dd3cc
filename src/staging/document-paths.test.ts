import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { DocumentPaths } from './document-paths.js';

let root = '';
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strand-docpaths-'));
  for (const d of ['home/u/.ssh', 'home/u/proj/workflows', 'home/u/proj/data', 'other']) mkdirSync(path.join(root, d), { recursive: true });
  writeFileSync(path.join(root, 'home/u/.ssh/id_rsa'), 'key');
  writeFileSync(path.join(root, 'home/u/proj/data/ref.fa'), 'ACGT');
  writeFileSync(path.join(root, 'other/x'), 'x');
  symlinkSync(path.join(root, 'home/u/.ssh/id_rsa'), path.join(root, 'home/u/proj/workflows/link'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const file = (p: string) => ({ class: 'File', location: `file://${path.join(root, p)}` });
const at = (doc: string) => ({ file: path.join(root, doc), line: 3, fieldPath: 'inputs.x.default' });
const home = () => path.join(root, 'home/u');

async function refused(rule: DocumentPaths, value: object, doc = 'home/u/proj/workflows/main.cwl', given: string[] = []): Promise<string> {
  const err = await rule.check(value as never, at(doc), given).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  return (err as ValidationError).message;
}

describe('DocumentPaths', () => {
  const doc = () => path.join(root, 'home/u/proj/workflows/main.cwl');

  it("run from the document's own directory: its tree is that directory", async () => {
    const rule = new DocumentPaths({ document: doc(), cwd: path.join(root, 'home/u/proj/workflows'), home: home() });
    await rule.check(file('home/u/proj/workflows/main.cwl') as never, at('home/u/proj/workflows/main.cwl'));
    expect(await refused(rule, file('home/u/proj/data/ref.fa'))).toContain('ref.fa is outside');
  });

  it('run from a repository root above the document: the repository is the tree', async () => {
    const rule = new DocumentPaths({ document: doc(), cwd: path.join(root, 'home/u/proj'), home: home() });
    await rule.check(file('home/u/proj/data/ref.fa') as never, at('home/u/proj/workflows/main.cwl'));
    expect(await refused(rule, file('home/u/.ssh/id_rsa'))).toMatch(/main\.cwl:3: inputs\.x\.default: .*id_rsa is outside .*proj; .*--allow-outside-document/);
  });

  it('run from the home directory (or above): the document has its own directory only', async () => {
    for (const cwd of [home(), path.join(root, 'home')]) {
      const rule = new DocumentPaths({ document: doc(), cwd, home: home() });
      expect(await refused(rule, file('home/u/.ssh/id_rsa'))).toContain('id_rsa is outside');
      expect(await refused(rule, file('home/u/proj/data/ref.fa'))).toContain('ref.fa is outside');
    }
  });

  it('a link inside the tree that leads out is refused by its real path', async () => {
    const rule = new DocumentPaths({ document: doc(), cwd: path.join(root, 'home/u/proj'), home: home() });
    expect(await refused(rule, file('home/u/proj/workflows/link'))).toMatch(/link is a link to .*id_rsa, outside/);
  });

  it('a Directory of the tree that holds a link leading out is refused; one whose links stay inside is not', async () => {
    mkdirSync(path.join(root, 'home/u/proj/bundle/sub'), { recursive: true });
    symlinkSync(path.join(root, 'home/u/proj/data/ref.fa'), path.join(root, 'home/u/proj/bundle/ok'));
    const rule = new DocumentPaths({ document: doc(), cwd: path.join(root, 'home/u/proj'), home: home() });
    await rule.check({ class: 'Directory', location: `file://${path.join(root, 'home/u/proj/bundle')}` } as never, at('home/u/proj/workflows/main.cwl'));
    symlinkSync(path.join(root, 'home/u/.ssh'), path.join(root, 'home/u/proj/bundle/sub/keys'));
    const again = new DocumentPaths({ document: doc(), cwd: path.join(root, 'home/u/proj'), home: home() });
    expect(await refused(again, { class: 'Directory', location: `file://${path.join(root, 'home/u/proj/bundle')}` })).toMatch(/bundle holds .*bundle\/sub\/keys, a link to .*\.ssh, which is outside/);
  });

  it('the directory of the document that writes the value counts too; a given path and what is under it are allowed', async () => {
    const rule = new DocumentPaths({ document: doc(), cwd: path.join(root, 'home/u/proj/workflows'), home: home() });
    await rule.check(file('other/x') as never, at('other/tool.cwl'));
    await rule.check({ class: 'Directory', location: `file://${path.join(root, 'other')}`, listing: [file('other/x')] } as never, at('home/u/proj/workflows/main.cwl'), [path.join(root, 'other')]);
    expect(await refused(rule, file('home/u/.ssh/id_rsa'), undefined, [path.join(root, 'other/x')])).toContain('id_rsa is outside');
  });

  it('path and location are both checked, secondaryFiles and listings too', async () => {
    const rule = new DocumentPaths({ document: doc(), cwd: path.join(root, 'home/u/proj'), home: home() });
    await refused(rule, { class: 'File', path: path.join(root, 'home/u/proj/data/ref.fa'), location: `file://${path.join(root, 'home/u/.ssh/id_rsa')}` });
    await refused(rule, { ...file('home/u/proj/data/ref.fa'), secondaryFiles: [file('home/u/.ssh/id_rsa')] });
    await refused(rule, { class: 'Directory', basename: 'lit', listing: [file('home/u/.ssh/id_rsa')] });
  });

  it('a remote document has no tree here; --allow-outside-document checks nothing', async () => {
    expect(await refused(new DocumentPaths({ document: 'https://example.org/wf.cwl', home: home() }), file('other/x'), 'home/u/proj/workflows/main.cwl')).toContain('outside');
    await DocumentPaths.anywhere().check(file('home/u/.ssh/id_rsa') as never, at('x.cwl'));
  });
});
