import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDocument } from '../../loader/index.js';
import type { Process } from '../../model/types.js';
import {
  RECORDED_PARAMS_MAX,
  RECORDED_TAGS_MAX,
  readRecordedRequest,
  readTagsAnnotation,
  recordRequest,
  recordedRequestText,
  redactCredentials,
  tagsAnnotation,
  type RecordedRequest,
} from './recorded-request.js';

const TOOL = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  reads: File
  word: string?
outputs: []
`;

const SECRET_TOOL = `cwlVersion: v1.2
class: CommandLineTool
$namespaces: { cwltool: "http://commonwl.org/cwltool#" }
hints:
  cwltool:Secrets: { secrets: [pw] }
baseCommand: echo
inputs:
  pw: string
  user: string
outputs: []
`;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'strand-recorded-request-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let docs = 0;
async function processOf(text: string): Promise<Process> {
  const file = path.join(tmp, `doc-${docs++}.cwl`);
  writeFileSync(file, text);
  return loadDocument(file);
}

function given(over: Partial<RecordedRequest> = {}): RecordedRequest {
  return {
    workflowUrl: 'tools/echo.cwl',
    workflowType: 'CWL',
    workflowTypeVersion: 'v1.2',
    workflowParams: { reads: { class: 'File', location: 'data/in.bam' }, word: 'hello' },
    tags: { project: 'pilot', sample: 'S1' },
    workflowEngineParameters: { cache: 'off' },
    workflowEngine: 'Strand',
    workflowEngineVersion: '0.1.0',
    ...over,
  };
}

describe('redactCredentials', () => {
  it.each([
    ['s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/key.bam', 's3://***@bucket/key.bam'],
    ['https://alice:hunter2@example.org/data.bam', 'https://***@example.org/data.bam'],
    // What redactUrls alone leaves: a password holding @, a quote or a space.
    ['https://alice:p@ss@example.org/x', 'https://***@example.org/x'],
    ["https://alice:pa'ss@example.org/x", 'https://***@example.org/x'],
    ['https://alice:pa ss@example.org/x', 'https://***@example.org/x'],
    // Pre-signed: every credential-named parameter, its whole value to the next & (a : or ; too).
    [
      'https://b.s3.amazonaws.com/k.bam?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261120&X-Amz-Date=20261120T000000Z&X-Amz-Security-Token=tok:en;more&X-Amz-Signature=abc123',
      'https://b.s3.amazonaws.com/k.bam?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Date=20261120T000000Z&X-Amz-Security-Token=***&X-Amz-Signature=***',
    ],
    ['https://h/x?token=abc:def,ghi&page=2', 'https://h/x?token=***&page=2'],
    ['https://h/x?auth=SECRETAUTH', 'https://h/x?auth=***'],
    ['https://h/x?a=1;sig=SECRETSIG', 'https://h/x?a=1;sig=***'],
    ['https://h/x#access_token=SECRETFRAG&state=1', 'https://h/x#access_token=***&state=1'],
    ['https://h/x?X%2DAmz%2DSignature=SECRET', 'https://h/x?X%2DAmz%2DSignature=***'],
    // Inside text, redactUrls' rules.
    ['see https://bob:pw@h/x for the data', 'see https://***@h/x for the data'],
    // Nothing to redact: as it was.
    ['https://example.org/data.bam?version=2#part', 'https://example.org/data.bam?version=2#part'],
    ['data/in.bam', 'data/in.bam'],
    ['a=b&token', 'a=b&token'],
  ])('%s', (text, want) => {
    expect(redactCredentials(text)).toBe(want);
  });
});

describe('recordRequest', () => {
  it('keeps a request without credentials as it was sent, and says nothing', async () => {
    const g = given();
    const kept = recordRequest(g, { process: await processOf(TOOL), inputs: {} });
    expect(kept).toEqual(g);
  });

  it("redacts every URL's credentials in the params, tags and workflow_url, and says so", async () => {
    const g = given({
      workflowParams: {
        reads: { class: 'File', location: 's3://AKIA:wJalrSECRET@bucket/in.bam', secondaryFiles: [{ class: 'File', location: 'https://x.example/i.bai?X-Amz-Signature=SIGSECRET' }] },
        word: 'plain',
      },
      tags: { source: 'https://carl:TAGSECRET@h/x', project: 'pilot' },
    });
    const kept = recordRequest(g, { process: await processOf(TOOL), inputs: {} });
    const text = JSON.stringify(kept);
    for (const secret of ['wJalrSECRET', 'AKIA', 'SIGSECRET', 'TAGSECRET', 'carl']) expect(text).not.toContain(secret);
    expect(kept.workflowParams).toEqual({
      reads: { class: 'File', location: 's3://***@bucket/in.bam', secondaryFiles: [{ class: 'File', location: 'https://x.example/i.bai?X-Amz-Signature=***' }] },
      word: 'plain',
    });
    expect(kept.tags).toEqual({ source: 'https://***@h/x', project: 'pilot' });
    expect(kept.notes).toEqual([expect.stringMatching(/^workflow_params: kept with the credentials of URLs \(\*\*\*\)/)]);
    // The request itself is not changed.
    expect((g.workflowParams!.reads as { location: string }).location).toBe('s3://AKIA:wJalrSECRET@bucket/in.bam');
  });

  it("masks the values of the workflow's secret inputs (cwltool:Secrets) wherever they appear", async () => {
    const g = given({ workflowParams: { pw: 'open-sesame-42', user: 'ada' }, tags: { note: 'pw is open-sesame-42' } });
    const kept = recordRequest(g, { process: await processOf(SECRET_TOOL), inputs: { pw: 'open-sesame-42', user: 'ada' } });
    expect(JSON.stringify(kept)).not.toContain('open-sesame-42');
    expect(kept.workflowParams).toEqual({ pw: '(secret-pw)', user: 'ada' });
    expect(kept.tags.note).toBe('pw is (secret-pw)');
  });

  it('keeps no params when the secrets cannot be told (a secret input that is not a string)', async () => {
    const kept = recordRequest(given({ workflowParams: { pw: ['open-sesame-42'], user: 'ada' } }), { process: await processOf(SECRET_TOOL), inputs: { pw: ['open-sesame-42'], user: 'ada' } });
    expect(kept.workflowParams).toBeUndefined();
    expect(kept.notes).toEqual([expect.stringMatching(/^workflow_params: not kept \(the workflow's cwltool:Secrets cannot be read: .*secret input "pw" must be a string/)]);
    expect(JSON.stringify(kept)).not.toContain('open-sesame-42');
  });

  it('leaves out params over RECORDED_PARAMS_MAX bytes, with a note; those at the bound are kept', async () => {
    const process = await processOf(TOOL);
    // {"word":"..."} is 11 bytes around the word.
    const at = given({ workflowParams: { word: 'x'.repeat(RECORDED_PARAMS_MAX - 11) } });
    expect(recordRequest(at, { process, inputs: {} }).workflowParams).toEqual(at.workflowParams);
    const over = given({ workflowParams: { word: 'x'.repeat(RECORDED_PARAMS_MAX - 10) } });
    const kept = recordRequest(over, { process, inputs: {} });
    expect(kept.workflowParams).toBeUndefined();
    expect(kept.notes).toEqual([`workflow_params: not kept (${RECORDED_PARAMS_MAX + 1} bytes of JSON, more than the ${RECORDED_PARAMS_MAX} kept with a run); the run has them all`]);
    expect(kept.tags).toEqual(over.tags);
  });

  it('cuts tags to the entries that fit RECORDED_TAGS_MAX, in the order given, with a note', async () => {
    const tags: Record<string, string> = {};
    for (let i = 0; i < 40; i++) tags[`t${String(i).padStart(2, '0')}`] = 'v'.repeat(1000);
    const kept = recordRequest(given({ tags }), { process: await processOf(TOOL), inputs: {} });
    const n = Object.keys(kept.tags).length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(40);
    expect(Object.keys(kept.tags)).toEqual(Object.keys(tags).slice(0, n));
    expect(Buffer.byteLength(JSON.stringify(kept.tags))).toBeLessThanOrEqual(RECORDED_TAGS_MAX);
    // One more would not have fit.
    expect(Buffer.byteLength(JSON.stringify(Object.fromEntries(Object.entries(tags).slice(0, n + 1))))).toBeGreaterThan(RECORDED_TAGS_MAX);
    expect(kept.notes).toEqual([`tags: ${n} of its 40 entries kept (more than ${RECORDED_TAGS_MAX} bytes of JSON in all)`]);
  });

  it('keeps a key named __proto__ as an entry like any other', async () => {
    const params = JSON.parse('{"__proto__": {"x": "s3://k:SECRET@b/o"}, "word": "w"}') as Record<string, unknown>;
    const kept = recordRequest(given({ workflowParams: params }), { process: await processOf(TOOL), inputs: {} });
    expect(JSON.parse(JSON.stringify(kept.workflowParams))).toEqual(JSON.parse('{"__proto__": {"x": "s3://***@b/o"}, "word": "w"}'));
    expect(Object.getPrototypeOf(kept.workflowParams)).toBe(Object.prototype);
  });
});

describe('the kept text', () => {
  it('reads back what it wrote', async () => {
    const kept = recordRequest(given({ workflowParams: { word: 'x'.repeat(RECORDED_PARAMS_MAX) } }), { process: await processOf(TOOL), inputs: {} });
    expect(readRecordedRequest(recordedRequestText(kept))).toEqual(kept);
    expect(readRecordedRequest(recordedRequestText(given()))).toEqual(given());
  });

  it('reads nothing from text it did not write', () => {
    const ok = JSON.parse(recordedRequestText(given())) as { format: number; request: Record<string, unknown> };
    for (const bad of [
      undefined,
      '',
      'not json',
      '[]',
      JSON.stringify({ ...ok, format: 2 }),
      JSON.stringify({ format: 1 }),
      JSON.stringify({ ...ok, request: { ...ok.request, workflowUrl: 7 } }),
      JSON.stringify({ ...ok, request: { ...ok.request, tags: { a: 1 } } }),
      JSON.stringify({ ...ok, request: { ...ok.request, workflowEngineParameters: null } }),
    ]) {
      expect(readRecordedRequest(bad)).toBeUndefined();
    }
    // Fields of the wrong type that are optional are left out, the rest read.
    const odd = readRecordedRequest(JSON.stringify({ ...ok, request: { ...ok.request, workflowParams: [1], notes: [3] } }));
    expect(odd).toBeDefined();
    expect(odd!.workflowParams).toBeUndefined();
    expect(odd!.notes).toBeUndefined();
  });

  it('tags go through an annotation and back; anything else there reads as none', () => {
    expect(readTagsAnnotation(tagsAnnotation({ project: 'pilot', 'a b': 'c"d' }))).toEqual({ project: 'pilot', 'a b': 'c"d' });
    expect(readTagsAnnotation(tagsAnnotation({}))).toEqual({});
    for (const bad of [undefined, 'x', '[]', '{"a": 1}', 'null']) expect(readTagsAnnotation(bad)).toBeUndefined();
  });
});
