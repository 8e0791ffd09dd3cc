import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunRequest, RequestProblem, type RunRequestLimits } from './run-request.js';

// A server on loopback that reads each request into a fresh directory under `root`, as the lab
// server will, and answers what it read, or the problem (400).
let root: string;
let server: http.Server;
let origin: string;
let limits: RunRequestLimits | undefined;
let seq = 0;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strand-wes-req-'));
  server = http.createServer((req, res) => {
    const dir = path.join(root, `req-${++seq}`, 'attachments');
    void (async () => {
      mkdirSync(dir, { recursive: true });
      try {
        const r = await readRunRequest(req, dir, { engineVersion: '0.1.0', limits });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ dir, request: r }));
      } catch (err) {
        const status = err instanceof RequestProblem ? 400 : 500;
        res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ msg: (err as Error).message, status_code: status, dir }));
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(root, { recursive: true, force: true });
});

interface Answer {
  status: number;
  body: { dir: string; msg?: string; request?: Record<string, unknown> };
}

async function post(body: FormData | string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${origin}/runs`, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

const WF = 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\ninputs: {f: {type: File, inputBinding: {position: 1}}}\noutputs: {o: stdout}\n';

function form(fields: Record<string, string>, files: Array<[string, string]> = []): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  for (const [name, text] of files) f.append('workflow_attachment', new Blob([text]), name);
  return f;
}
const base = { workflow_type: 'CWL', workflow_type_version: 'v1.2' };

/** Every file under `dir`, relative. */
function filesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('a WES RunWorkflow request (multipart/form-data, as the spec defines it)', () => {
  it('reads the fields and writes each attachment under its name, sub-directories included', async () => {
    const r = await post(
      form(
        { ...base, workflow_url: 'tools/cat.cwl#main', workflow_params: JSON.stringify({ f: { class: 'File', location: 'data/in.txt' } }), tags: '{"project":"pilot"}', workflow_engine: 'strand', workflow_engine_version: '0.1.0' },
        [
          ['tools/cat.cwl', WF],
          ['data/in.txt', 'hello\n'],
        ],
      ),
    );
    expect(r.status, r.body.msg).toBe(200);
    expect(r.body.request).toEqual({
      workflowUrl: 'tools/cat.cwl#main',
      workflowFile: 'tools/cat.cwl',
      workflowType: 'CWL',
      workflowTypeVersion: 'v1.2',
      workflowParams: { f: { class: 'File', location: 'data/in.txt' } },
      tags: { project: 'pilot' },
      workflowEngineParameters: {},
      workflowEngine: 'strand',
      workflowEngineVersion: '0.1.0',
      attachments: ['tools/cat.cwl', 'data/in.txt'],
    });
    expect(filesIn(r.body.dir)).toEqual(['data/in.txt', 'tools/cat.cwl']);
    expect(readFileSync(path.join(r.body.dir, 'tools', 'cat.cwl'), 'utf8')).toBe(WF);
  });

  it('takes an absolute https or s3 workflow_url, with no attachment', async () => {
    const r = await post(form({ ...base, workflow_url: 'https://example.org/wf.cwl' }));
    expect(r.status, r.body.msg).toBe(200);
    expect(r.body.request).toMatchObject({ workflowUrl: 'https://example.org/wf.cwl', attachments: [] });
    expect(r.body.request).not.toHaveProperty('workflowFile');
  });

  it.each([
    ['../escape.cwl', 'climbs out with ..'],
    ['a/../../escape.cwl', 'climbs out with ..'],
    ['/tmp/escape.cwl', 'is an absolute path'],
    ['a\\..\\escape.cwl', 'holds a backslash'],
    ['a//b.cwl', 'has an empty or . segment'],
    ['./b.cwl', 'has an empty or . segment'],
  ])('refuses the attachment name %j (%s), writing nothing anywhere', async (name, why) => {
    const before = filesIn(root);
    const r = await post(form({ ...base, workflow_url: 'x.cwl' }, [['x.cwl', WF], [name, 'planted\n']]));
    expect(r.status).toBe(400);
    expect(r.body.msg).toContain(why);
    expect(r.body.msg).toContain('workflow_attachment');
    // Only the attachment before it, inside this request's own directory.
    expect(filesIn(root).filter((f) => !before.includes(f))).toEqual([path.relative(root, path.join(r.body.dir, 'x.cwl'))]);
  });

  it('refuses two attachments of one name, or a file where another is a directory', async () => {
    let r = await post(form({ ...base, workflow_url: 'x.cwl' }, [['x.cwl', WF], ['x.cwl', 'again']]));
    expect(r.status).toBe(400);
    expect(r.body.msg).toMatch(/"x.cwl" clashes with "x.cwl"/);
    r = await post(form({ ...base, workflow_url: 'x.cwl' }, [['x.cwl', WF], ['d/f', '1'], ['d', '2']]));
    expect(r.status).toBe(400);
    expect(r.body.msg).toMatch(/"d" clashes with "d\/f"/);
  });

  it.each([
    [{ workflow_url: 'x.cwl' }, 'workflow_type: required'],
    [{ ...base, workflow_type: 'WDL', workflow_url: 'x.cwl' }, 'workflow_type: this service runs "CWL", not "WDL"'],
    [{ ...base, workflow_type_version: 'draft-3', workflow_url: 'x.cwl' }, 'workflow_type_version: one of v1.0, v1.1, v1.2'],
    [{ ...base }, 'workflow_url: required'],
    [{ ...base, workflow_url: 'file:///etc/passwd' }, 'workflow_url: file: URLs are not taken'],
    [{ ...base, workflow_url: '/etc/passwd' }, 'is an absolute path'],
    [{ ...base, workflow_url: '../x.cwl' }, 'climbs out with ..'],
    [{ ...base, workflow_url: 'other.cwl' }, 'names no attached file (the attachments are "x.cwl")'],
    [{ ...base, workflow_url: 'x.cwl', workflow_params: '{"f": ' }, 'workflow_params: not JSON text'],
    [{ ...base, workflow_url: 'x.cwl', workflow_params: '[1]' }, 'workflow_params: must be a JSON object'],
    [{ ...base, workflow_url: 'x.cwl', tags: '{"n": 1}' }, 'tags: the value of "n" must be a string'],
    [{ ...base, workflow_url: 'x.cwl', workflow_engine: 'toil' }, "workflow_engine: this service's engine is Strand"],
    [{ ...base, workflow_url: 'x.cwl', workflow_engine_version: '0.1.0' }, 'workflow_engine_version: given without workflow_engine'],
    [{ ...base, workflow_url: 'x.cwl', workflow_engine: 'Strand', workflow_engine_version: '9' }, 'this service runs Strand 0.1.0, not "9"'],
    [{ ...base, workflow_url: 'x.cwl', workflow_inputs: '{}' }, 'workflow_inputs: not a field of a WES RunRequest'],
    [{ ...base, workflow_url: 'x.cwl', workflow_attachment: 'text' }, 'workflow_attachment: must be a file part'],
  ])('answers 400 for %j, naming the field', async (fields, msg) => {
    const r = await post(form(fields as Record<string, string>, [['x.cwl', WF]]));
    expect(r.status).toBe(400);
    expect(r.body.msg).toContain(msg);
  });

  it('refuses a field given twice', async () => {
    const f = form({ ...base, workflow_url: 'x.cwl' }, [['x.cwl', WF]]);
    f.append('workflow_type', 'CWL');
    const r = await post(f);
    expect(r.status).toBe(400);
    expect(r.body.msg).toBe('workflow_type: given more than once');
  });

  it('stops reading at each limit: one file, all files, their number, a field', async () => {
    limits = { fileBytes: 1000, totalBytes: 2500, files: 3, fieldBytes: 200 };
    try {
      let r = await post(form({ ...base, workflow_url: 'x.cwl' }, [['x.cwl', WF], ['big', 'x'.repeat(5000)]]));
      expect(r.status).toBe(400);
      expect(r.body.msg).toBe('workflow_attachment "big" is larger than 1000 bytes');
      r = await post(form({ ...base, workflow_url: 'x.cwl' }, [['x.cwl', WF], ['a', 'x'.repeat(900)], ['b', 'x'.repeat(900)]]));
      expect(r.status).toBe(200);
      r = await post(form({ ...base, workflow_url: 'x.cwl' }, [['x.cwl', 'x'.repeat(900)], ['a', 'x'.repeat(900)], ['b', 'x'.repeat(900)]]));
      expect(r.status).toBe(400);
      expect(r.body.msg).toBe('the attachments are larger than 2500 bytes together');
      r = await post(form({ ...base, workflow_url: 'x.cwl' }, [['x.cwl', WF], ['a', '1'], ['b', '2'], ['c', '3']]));
      expect(r.status).toBe(400);
      expect(r.body.msg).toBe('more than 3 attachments');
      r = await post(form({ ...base, workflow_url: 'x.cwl', workflow_params: JSON.stringify({ s: 'y'.repeat(300) }) }, [['x.cwl', WF]]));
      expect(r.status).toBe(400);
      expect(r.body.msg).toBe('workflow_params: longer than 200 bytes');
    } finally {
      limits = undefined;
    }
  });

  it('answers 400, without waiting for ever, to a body that is not multipart or breaks off', async () => {
    let r = await post('--x\r\nContent-Disposition: form-data; name="workflow_type"\r\n\r\nCWL\r\n', { 'content-type': 'multipart/form-data' });
    expect(r.status).toBe(400);
    expect(r.body.msg).toMatch(/malformed multipart\/form-data/);
    r = await post('--x\r\nContent-Disposition: form-data; name="workflow_type"\r\n\r\nCWL', { 'content-type': 'multipart/form-data; boundary=x' });
    expect(r.status).toBe(400);
    r = await post('workflow_type=CWL', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(400);
    expect(r.body.msg).toMatch(/multipart\/form-data \(or application\/json\)/);
  });
});

describe('a RunRequest as a JSON body (the documented extension)', () => {
  it('reads the RunRequest object, with workflow_params as an object', async () => {
    const r = await post(JSON.stringify({ ...base, workflow_url: 's3://bucket/wf.cwl', workflow_params: { n: 1 }, tags: { a: 'b' } }), { 'content-type': 'application/json' });
    expect(r.status, r.body.msg).toBe(200);
    expect(r.body.request).toMatchObject({ workflowUrl: 's3://bucket/wf.cwl', workflowParams: { n: 1 }, tags: { a: 'b' }, attachments: [] });
  });

  it('refuses attachments, unknown fields, a relative workflow_url (nothing is attached), and a body that is not an object', async () => {
    const json = (b: unknown) => post(JSON.stringify(b), { 'content-type': 'application/json' });
    expect((await json({ ...base, workflow_url: 'x.cwl', workflow_attachment: ['x'] })).body.msg).toMatch(/attachments come as multipart/);
    expect((await json({ ...base, workflow_url: 'x.cwl', extra: 1 })).body.msg).toBe('extra: not a field of a WES RunRequest');
    expect((await json({ ...base, workflow_url: 'x.cwl' })).body.msg).toMatch(/names no attached file \(no file was attached\)/);
    expect((await json([1, 2])).status).toBe(400);
    expect((await post('{', { 'content-type': 'application/json' })).body.msg).toMatch(/the body is not JSON/);
  });
});
