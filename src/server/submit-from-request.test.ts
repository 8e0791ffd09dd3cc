import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../api/principal.js';
import type { RunService } from '../api/run-service.js';
import type { SubmitRequest } from '../api/submitted/submit-run.js';
import { submitFromRequest } from './submit-from-request.js';
import { RequestProblem, type RunRequest } from './wes/run-request.js';

const TOOL = `cwlVersion: v1.2
class: CommandLineTool
baseCommand: wc
inputs:
  text: { type: File, inputBinding: { position: 1 } }
  lines: { type: int?, default: 3 }
outputs: []
`;

let top: string;
let dir: string;
const submitted: Array<{ p: Principal; req: SubmitRequest }> = [];
const logged: string[] = [];
const alice: Principal = { user: 'alice', groups: [] };

/** Only submit is called by this module; the rest of the service is not reached. */
const service = {
  submit: async (p: Principal, req: SubmitRequest) => {
    submitted.push({ p, req });
    return { runId: 'r-1' } as Awaited<ReturnType<RunService['submit']>>;
  },
} as unknown as RunService;

const submit = () =>
  submitFromRequest({
    service,
    leader: { image: 'localhost/strand:test', serviceAccount: 'strand', cpu: '100m', memory: '128Mi', restarts: 1 },
    bundleLimit: 1024 * 1024,
    log: (l) => logged.push(l),
  });

function request(over: Partial<RunRequest> = {}): RunRequest {
  return {
    workflowUrl: 'tool.cwl',
    workflowFile: 'tool.cwl',
    workflowType: 'CWL',
    workflowTypeVersion: 'v1.2',
    workflowParams: { text: { class: 'File', location: 'data/in.txt' } },
    tags: {},
    workflowEngineParameters: {},
    attachments: ['tool.cwl', 'data/in.txt'],
    ...over,
  };
}

async function problem(req: RunRequest): Promise<string> {
  const err = await submit()(alice, req, dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RequestProblem);
  expect(submitted).toEqual([]);
  return (err as Error).message;
}

beforeEach(() => {
  submitted.length = 0;
  logged.length = 0;
  top = mkdtempSync(path.join(os.tmpdir(), 'strand-submit-req-'));
  dir = path.join(top, 'req-1');
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  writeFileSync(path.join(dir, 'tool.cwl'), TOOL);
  writeFileSync(path.join(dir, 'data', 'in.txt'), 'a\nb\n');
  writeFileSync(path.join(top, 'secret.txt'), 'not yours\n');
});
afterEach(() => rmSync(top, { recursive: true, force: true }));

describe('a WES request becomes a submission', () => {
  it('loads the attached workflow, resolves parameters against the attachments, and submits as the principal', async () => {
    const r = await submit()(alice, request({ workflowEngineParameters: { cache: 'off', retries: '2', on_error: 'continue' } }), dir);
    expect(r).toEqual({ runId: 'r-1' });
    expect(submitted).toHaveLength(1);
    const { p, req } = submitted[0]!;
    expect(p).toBe(alice);
    expect(req.document).toBe(path.join(dir, 'tool.cwl'));
    expect(req.documentFiles).toEqual([path.join(dir, 'tool.cwl')]);
    expect(req.process.class).toBe('CommandLineTool');
    expect(req.inputs.text).toMatchObject({ class: 'File', location: `file://${path.join(dir, 'data', 'in.txt')}` });
    expect(req.run).toEqual({ cache: 'off', retries: 2, onError: 'continue' });
    expect(req.cwd).toBe(dir);
  });

  it('hands on the request as the member sent it, for the run to keep (its attachments and resolved locations aside)', async () => {
    const sent = request({ tags: { project: 'pilot' }, workflowEngineParameters: { cache: 'off' }, workflowEngine: 'Strand', workflowEngineVersion: '0.1.0' });
    await submit()(alice, sent, dir);
    expect(submitted[0]!.req.request).toEqual({
      workflowUrl: 'tool.cwl',
      workflowType: 'CWL',
      workflowTypeVersion: 'v1.2',
      workflowParams: { text: { class: 'File', location: 'data/in.txt' } },
      tags: { project: 'pilot' },
      workflowEngineParameters: { cache: 'off' },
      workflowEngine: 'Strand',
      workflowEngineVersion: '0.1.0',
    });
  });

  it('refuses a parameter naming a file of the server (absolute, .., file: URL), never naming the server path', async () => {
    for (const location of ['/etc/passwd', '../secret.txt', `file://${path.join(top, 'secret.txt')}`]) {
      const m = await problem(request({ workflowParams: { text: { class: 'File', location } } }));
      expect(m).toMatch(/^workflow_params: .* is not one of the attached files/);
      expect(m).not.toContain(dir);
    }
    const m = await problem(request({ workflowParams: { text: { class: 'File', path: '/etc/hostname' } } }));
    expect(m).toContain('/etc/hostname');
  });

  it('refuses a workflow that reads outside its request, an absolute workflow_url, missing inputs and unknown engine parameters', async () => {
    writeFileSync(path.join(dir, 'wf.cwl'), `cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n  s: { run: ../other.cwl, in: [], out: [] }\n`);
    expect(await problem(request({ workflowUrl: 'wf.cwl', workflowFile: 'wf.cwl', workflowParams: {} }))).toContain('is outside');
    expect(await problem(request({ workflowUrl: 'https://example.org/wf.cwl', workflowFile: undefined as never }))).toContain('this server fetches no URL');
    expect(await problem(request({ workflowParams: {} }))).toBe('workflow_params: missing required input: text');
    expect(await problem(request({ workflowEngineParameters: { parallel: '4' } }))).toContain('"parallel" is not a parameter of this service');
    expect(await problem(request({ workflowEngineParameters: { retries: '1000' } }))).toContain('retries: a whole number from 0 to');
  });

  it('an invalid document is a 400 naming the line, relative to the request', async () => {
    writeFileSync(path.join(dir, 'tool.cwl'), TOOL.replace('baseCommand: wc', 'baseCommand: wc\nbogusField: 1'));
    const m = await problem(request());
    expect(m).toContain('bogusField');
    expect(m).toMatch(/^tool\.cwl:\d+:\d+/);
    expect(m).not.toContain(dir);
  });
});
