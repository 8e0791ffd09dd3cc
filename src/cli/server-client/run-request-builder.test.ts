import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commonDirectory, documentCwlVersion, limitsFromTags, planRunRequest, runRequestForm } from './run-request-builder.js';

let root = '';
const file = (rel: string, text: string) => {
  const p = path.join(root, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
};
const url = (p: string) => pathToFileURL(p).href;
const WF = 'cwlVersion: v1.0\nclass: Workflow\ninputs: []\noutputs: []\nsteps: []\n';

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strand-request-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('planRunRequest', () => {
  it('names every file relative to the directory that holds them all, and rewrites the job to those names', () => {
    const main = file('project/wf/main.cwl', WF);
    const tool = file('project/wf/tools/cat.cwl', 'cwlVersion: v1.0\nclass: CommandLineTool\n');
    const reads = file('project/data/reads 1.fq', 'ACGT\n');
    const index = file('project/data/reads 1.fq.fai', 'idx\n');
    const refDir = path.join(root, 'project/ref');
    file('project/ref/a.fa', '>a\n');
    file('project/ref/sub/b.fa', '>b\n');
    const plan = planRunRequest({
      mainFile: main,
      fragment: 'main',
      documentFiles: [main, tool],
      inputs: {
        reads: { class: 'File', location: url(reads), secondaryFiles: [{ class: 'File', location: url(index) }] },
        ref: { class: 'Directory', location: url(refDir) },
        remote: { class: 'File', location: 's3://lab/x.bam' },
        text: { class: 'File', contents: 'inline' },
        n: 3,
        many: [{ class: 'File', location: url(reads), path: reads, dirname: path.dirname(reads), basename: 'reads 1.fq' }],
      },
      engine: { cache: 'off', retries: 2, onError: 'continue' },
    });
    expect(plan.root).toBe(path.join(root, 'project'));
    expect(plan.attachments.map((a) => a.name).sort()).toEqual(['data/reads 1.fq', 'data/reads 1.fq.fai', 'ref/a.fa', 'ref/sub/b.fa', 'wf/main.cwl', 'wf/tools/cat.cwl']);
    expect(plan.attachments.find((a) => a.name === 'data/reads 1.fq')).toEqual({ name: 'data/reads 1.fq', path: reads, size: 5 });
    expect(plan.workflowUrl).toBe('wf/main.cwl#main');
    expect(plan.workflowTypeVersion).toBe('v1.0');
    expect(plan.workflowParams).toEqual({
      reads: { class: 'File', location: 'data/reads%201.fq', secondaryFiles: [{ class: 'File', location: 'data/reads%201.fq.fai' }] },
      ref: { class: 'Directory', location: 'ref' },
      remote: { class: 'File', location: 's3://lab/x.bam' },
      text: { class: 'File', contents: 'inline' },
      n: 3,
      // This machine's path and dirname are not sent.
      many: [{ class: 'File', location: 'data/reads%201.fq', basename: 'reads 1.fq' }],
    });
    expect(plan.workflowEngineParameters).toEqual({ cache: 'off', retries: '2', on_error: 'continue' });
    // The server resolves the names against its copy: the same file as here.
    expect(new URL('data/reads%201.fq', pathToFileURL(plan.root + '/')).href).toBe(url(reads));
  });

  it('names a Directory input that is the common directory itself by its own name, never as "."', () => {
    const main = file('w/wf.cwl', WF);
    const plan = planRunRequest({ mainFile: main, documentFiles: [], inputs: { d: { class: 'Directory', location: url(path.join(root, 'w')) } } });
    expect(plan.root).toBe(root);
    expect(plan.workflowParams).toEqual({ d: { class: 'Directory', location: 'w' } });
    expect(plan.attachments.map((a) => a.name)).toEqual(['w/wf.cwl']);
  });

  it('refuses what the server could not be given: a missing file, a device, an empty directory, a scheme it does not read', () => {
    const main = file('wf.cwl', WF);
    const base = { mainFile: main, documentFiles: [] };
    expect(() => planRunRequest({ ...base, inputs: { a: { class: 'File', location: url(path.join(root, 'nope.txt')) } } })).toThrow(/input a: .*nope\.txt cannot be read: no such file/);
    expect(() => planRunRequest({ ...base, inputs: { a: { class: 'File', location: 'file:///dev/null' } } })).toThrow(/input a: \/dev\/null is not a regular file/);
    expect(() => planRunRequest({ ...base, inputs: { a: { class: 'File', location: url(root) } } })).toThrow(/a directory: give it as class: Directory/);
    mkdirSync(path.join(root, 'empty'));
    expect(() => planRunRequest({ ...base, inputs: { d: { class: 'Directory', location: url(path.join(root, 'empty')) } } })).toThrow(/input d: the directory .*empty has no files/);
    expect(() => planRunRequest({ ...base, inputs: { a: [{ class: 'File', location: 'gs://b/x' }] }, protocols: ['https', 'http', 's3'] })).toThrow('input a[0]: gs: locations cannot be read by the server (it reads https, http, s3)');
    expect(() => planRunRequest({ ...base, inputs: { a: { class: 'File', location: 'file://otherhost/x' } } })).toThrow(/on another host/);
    // A file name the server refuses (a backslash) is said before sending.
    const odd = file('odd\\name.txt', 'x');
    expect(() => planRunRequest({ ...base, inputs: { a: { class: 'File', location: url(odd) } } })).toThrow(/holds a backslash/);
  });

  it("refuses attachments over the server's limits, naming the largest files", () => {
    const main = file('wf.cwl', WF);
    const big = file('big.bin', 'x'.repeat(2000));
    const small = file('small.txt', 'y'.repeat(10));
    const inputs = { a: { class: 'File', location: url(big) }, b: { class: 'File', location: url(small) } };
    const limits = limitsFromTags({ 'strand.attachment.max_bytes': '1024', 'strand.attachments.max_total_bytes': '100000', 'strand.attachments.max_count': '10' });
    expect(limits).toEqual({ fileBytes: 1024, totalBytes: 100000, files: 10 });
    expect(() => planRunRequest({ mainFile: main, documentFiles: [], inputs, limits })).toThrow(/at most 1\.0 KiB, and this one is larger: .*big\.bin \(2\.0 KiB\); put large inputs where the server reads them/);
    expect(() => planRunRequest({ mainFile: main, documentFiles: [], inputs, limits: { totalBytes: 1500 } })).toThrow(/come to 2\.0 KiB, and the server takes at most 1\.5 KiB/);
    expect(() => planRunRequest({ mainFile: main, documentFiles: [], inputs, limits: { files: 2 } })).toThrow(/3 files would be attached, and the server takes at most 2/);
    expect(planRunRequest({ mainFile: main, documentFiles: [], inputs, limits: { fileBytes: 2000, totalBytes: 2100, files: 3 } }).attachments).toHaveLength(3);
    expect(limitsFromTags({ 'strand.attachment.max_bytes': 'lots' })).toEqual({});
  });

  it('follows links inside a Directory input once, and sends what they point to', () => {
    const main = file('wf.cwl', WF);
    const target = file('elsewhere/t.txt', 'target\n');
    file('d/real.txt', 'r');
    symlinkSync(target, path.join(root, 'd/link.txt'));
    symlinkSync(path.join(root, 'd'), path.join(root, 'd/loop'));
    const plan = planRunRequest({ mainFile: main, documentFiles: [], inputs: { d: { class: 'Directory', location: url(path.join(root, 'd')) } } });
    expect(plan.attachments.map((a) => [a.name, a.size])).toEqual([
      ['wf.cwl', WF.length],
      ['d/link.txt', 7],
      ['d/real.txt', 1],
    ]);
  });
});

describe('runRequestForm', () => {
  it('gives the fields as text and each file as a workflow_attachment part under its name', async () => {
    const main = file('wf/main.cwl', WF);
    const data = file('data/in.txt', 'hello\n');
    const plan = planRunRequest({ mainFile: main, documentFiles: [main], inputs: { f: { class: 'File', location: url(data) } }, engine: { retries: 1 } });
    const form = await runRequestForm(plan, { project: 'pilot' });
    expect(form.get('workflow_type')).toBe('CWL');
    expect(form.get('workflow_type_version')).toBe('v1.0');
    expect(form.get('workflow_url')).toBe('wf/main.cwl');
    expect(JSON.parse(form.get('workflow_params') as string)).toEqual({ f: { class: 'File', location: 'data/in.txt' } });
    expect(JSON.parse(form.get('workflow_engine_parameters') as string)).toEqual({ retries: '1' });
    expect(JSON.parse(form.get('tags') as string)).toEqual({ project: 'pilot' });
    const parts = form.getAll('workflow_attachment') as File[];
    expect(parts.map((p) => p.name)).toEqual(['wf/main.cwl', 'data/in.txt']);
    expect(await parts[1]!.text()).toBe('hello\n');
  });
});

describe('pieces', () => {
  it("reads the document's own cwlVersion (v1.2 when it names none of v1.0-v1.2)", () => {
    expect(documentCwlVersion(file('a.cwl', 'cwlVersion: v1.1\nclass: CommandLineTool\n'))).toBe('v1.1');
    expect(documentCwlVersion(file('b.cwl', '{"cwlVersion": "v1.0", "$graph": []}'))).toBe('v1.0');
    expect(documentCwlVersion(file('c.cwl', 'class: CommandLineTool\n'))).toBe('v1.2');
  });

  it('finds the deepest common directory', () => {
    expect(commonDirectory(['/a/b/c', '/a/b/d/e', '/a/b'])).toBe('/a/b');
    expect(commonDirectory(['/a/bc', '/a/b'])).toBe('/a');
    expect(commonDirectory(['/x', '/y'])).toBe('/');
  });
});
