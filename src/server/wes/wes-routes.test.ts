import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHoldTool } from '../../../test/support/hold-tool.js';
import { loadWesSpec } from '../../../test/support/wes-spec.js';
import type { Principal } from '../../api/principal.js';
import { newRunId } from '../../api/run-id.js';
import { localRunService, type RunService } from '../../api/run-service.js';
import { resolveConfig } from '../../config/config.js';
import type { RunEvent } from '../../engine/events.js';
import { loadDocument } from '../../loader/index.js';
import { openRunStore, type RunStore } from '../../store/run-store.js';
import { AuthenticationUnavailable, NotPermitted, Unauthenticated } from '../server-types.js';
import { RequestProblem, type RunRequest } from './run-request.js';
import { wesRoutes } from './wes-routes.js';

// A real node:http server on loopback with the WES routes over the local run service, reading a
// real run store in which runs were recorded through the store's own API; two members, each
// known by a fixed token.
const spec = loadWesSpec();
const ada: Principal = { user: 'ada', groups: ['lab'] };
const bob: Principal = { user: 'bob', groups: ['lab'] };
const TOKENS: Record<string, Principal> = { 'tok-ada-5f1c9e': ada, 'tok-bob-77a0d2': bob };
const ADA = 'tok-ada-5f1c9e';
const BOB = 'tok-bob-77a0d2';
const CAROL = 'tok-carol-not-a-member';
/** A token the authenticator cannot check now (its identity provider unreachable). */
const UNCHECKABLE = 'tok-idp-unreachable';

let root = '';
let storeDir = '';
let server: http.Server;
let origin = '';
let service: RunService;
const logged: string[] = [];
const madeDirs: string[] = [];
const submitted: Array<{ p: Principal; request: RunRequest; files: Record<string, string> }> = [];

/** The runs recorded, by name, and what WES should say of each. */
const runs: Record<string, { id: string; owner: string; state: string }> = {};
const checked = new Set<string>();

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000);

function ref(runId: string, taskId: string, attempt = 1) {
  return { runId, taskId, stepPath: taskId.replace(/\/\d+$/, ''), attempt };
}

/** Records a run through the store's API: `tasks` attempts ending with `ends`, then the run's end. */
function record(store: RunStore, name: string, owner: string, startS: number, end: 'success' | 'failed' | 'cancelled' | 'running', state: string, tasks: Array<{ reason: 'completed' | 'evicted' | 'oom_killed'; exit: number | null; phase: 'succeeded' | 'failed'; logDir?: string }>): void {
  const runId = newRunId(at(startS));
  runs[name] = { id: runId, owner, state };
  store.createRun({ runId, processId: `file:///srv/wes/req/${name}/wf.cwl#main`, documentPath: `/srv/wes/req/${name}/wf.cwl`, pid: process.pid, startedAt: at(startS), owner });
  const events: RunEvent[] = [{ type: 'run_started', runId, processId: 'file:///srv/wes/req/wf.cwl#main', at: at(startS) }];
  tasks.forEach((t, i) => {
    const r = ref(runId, `main/step/${i}`);
    events.push({ type: 'task_queued', at: at(startS + 1 + i / 100), ...r });
    events.push({ type: 'task_started', at: at(startS + 2), workDir: `/w/${i}`, logDir: t.logDir ?? `/nonexistent/${i}`, argv: ['tool', String(i)], ...r });
    events.push({ type: 'task_finished', at: at(startS + 3), result: { reason: t.reason, exitCode: t.exit, message: `${t.reason} ${t.exit}`, startedAt: at(startS + 2), finishedAt: at(startS + 3) }, phase: t.phase, ...r });
  });
  if (end !== 'running') {
    events.push({ type: 'run_finished', runId, status: end, at: at(startS + 4), message: `the run ended ${end}`, outputs: { out: { class: 'File', location: `s3://lab/${name}/out.txt`, size: 3 } } });
  }
  for (const e of events) store.record(e);
}

const ok = { reason: 'completed' as const, exit: 0, phase: 'succeeded' as const };

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-wes-routes-'));
  storeDir = path.join(root, 'store');
  const logDir = path.join(root, 'logs', 'a1');
  mkdirSync(logDir, { recursive: true });
  writeFileSync(path.join(logDir, 'stdout.log'), 'hello from the task\n');
  const store = openRunStore(storeDir);
  record(store, 'a1', 'ada', 0, 'success', 'COMPLETE', [{ ...ok, logDir }]);
  record(store, 'a2', 'ada', 10, 'failed', 'EXECUTOR_ERROR', [ok, { reason: 'completed', exit: 3, phase: 'failed' }]);
  record(store, 'a3', 'ada', 20, 'failed', 'PREEMPTED', [{ reason: 'evicted', exit: null, phase: 'failed' }]);
  record(store, 'a4', 'ada', 30, 'cancelled', 'CANCELED', []);
  record(store, 'a5', 'ada', 40, 'running', 'RUNNING', [ok]);
  // Two runs started in the same second: their ids order them.
  record(store, 'a6', 'ada', 50, 'success', 'COMPLETE', []);
  record(store, 'a7', 'ada', 50, 'success', 'COMPLETE', []);
  record(store, 'a8', 'ada', 60, 'success', 'COMPLETE', Array.from({ length: 25 }, () => ok));
  record(store, 'b1', 'bob', 5, 'success', 'COMPLETE', [ok]);
  record(store, 'b2', 'bob', 15, 'failed', 'EXECUTOR_ERROR', [{ reason: 'oom_killed', exit: 137, phase: 'failed' }]);
  record(store, 'b3', 'bob', 70, 'running', 'RUNNING', []);
  store.flush();
  store.close();

  service = localRunService({ storeDir, visibility: 'owner' });
  const routes = wesRoutes({
    service,
    authenticate: async (req) => {
      const h = req.headers.authorization ?? '';
      const token = /^Bearer (\S+)$/.exec(h)?.[1];
      if (token === CAROL) throw new NotPermitted('not a member of this lab');
      if (token === UNCHECKABLE) throw new AuthenticationUnavailable('the identity provider cannot be reached');
      const p = token === undefined ? undefined : TOKENS[token];
      if (!p) throw new Unauthenticated('no valid bearer token');
      return p;
    },
    submit: async (p, request, dir) => {
      if (request.workflowUrl === 'refuse.cwl') throw new RequestProblem('workflow_params: input "reads" is missing');
      if (request.workflowUrl === 'explode.cwl') throw new Error('cannot reach https://kube.internal:6443 with key /etc/strand/secret.key');
      const files: Record<string, string> = {};
      for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
        if (f.isFile()) files[path.relative(dir, path.join(f.parentPath, f.name))] = readFileSync(path.join(f.parentPath, f.name), 'utf8');
      }
      submitted.push({ p, request, files });
      return { runId: newRunId() };
    },
    requestDir: async () => {
      const d = await mkdtemp(path.join(root, 'request-'));
      madeDirs.push(d);
      return d;
    },
    serviceInfo: {
      id: 'org.example.lab.strand',
      name: 'Example Lab Strand',
      organization: { name: 'Example Lab', url: 'https://lab.example' },
      version: '0.1.0',
      authInstructionsUrl: 'https://lab.example/docs/lab-server.html#tokens',
    },
    log: (line) => logged.push(line),
  });
  server = http.createServer((req, res) => {
    void routes(req, res).then((handled) => {
      if (!handled) res.writeHead(404, { 'content-type': 'text/plain' }).end('not a WES path');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  service.close();
  await rm(root, { recursive: true, force: true });
});

const BASE = '/ga4gh/wes/v1';

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

/**
 * One request. A JSON answer is checked against the spec: against the schema of `template`'s
 * operation for its status (an error the spec does not list for that operation: against
 * ErrorResponse), or, for paths outside the spec (`template` null), against ErrorResponse.
 */
async function call(method: string, url: string, template: string | null, opts: { token?: string | null; body?: FormData | string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  const token = opts.token === undefined ? ADA : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${origin}${url}`, { method, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json');
  const answer: Answer = { status: res.status, headers: res.headers, body: json ? JSON.parse(text) : undefined, text };
  if (json) {
    if (res.status >= 400) expect(answer.body).toEqual({ msg: expect.any(String), status_code: res.status });
    if (template) {
      const v = spec.check(method, template, res.status, answer.body);
      expect(v.errors, `${v.operation} ${res.status} against ${v.schema}`).toEqual([]);
      checked.add(`${v.operation} ${res.status}${v.declared ? '' : ' (not listed by the spec: checked as ErrorResponse)'}`);
    } else {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(spec.checkSchema('ErrorResponse', answer.body)).toEqual([]);
      checked.add(`(no operation) ${res.status}`);
    }
  }
  return answer;
}

const adaRuns = () => Object.values(runs).filter((r) => r.owner === 'ada');
const NEVER = '20991231-235959-0123456789abcdef';

describe('WES authentication', () => {
  it('answers 401 with WWW-Authenticate: Bearer without a valid token, never repeating it; 403 for one not permitted', async () => {
    for (const token of [null, 'tok-forged-1234']) {
      for (const [method, url, template] of [
        ['GET', `${BASE}/service-info`, '/service-info'],
        ['GET', `${BASE}/runs`, '/runs'],
        ['GET', `${BASE}/runs/${runs.a1!.id}`, '/runs/{run_id}'],
        ['GET', `${BASE}/runs/${runs.a1!.id}/status`, '/runs/{run_id}/status'],
        ['GET', `${BASE}/runs/${runs.a1!.id}/tasks`, '/runs/{run_id}/tasks'],
        ['GET', `${BASE}/runs/${runs.a1!.id}/tasks/main.step.0.1`, '/runs/{run_id}/tasks/{task_id}'],
        ['POST', `${BASE}/runs`, '/runs'],
        ['POST', `${BASE}/runs/${runs.a5!.id}/cancel`, '/runs/{run_id}/cancel'],
      ] as const) {
        const a = await call(method, url, template, { token });
        expect(a.status).toBe(401);
        expect(a.headers.get('www-authenticate')).toBe('Bearer');
        expect(a.text).not.toContain('tok-');
      }
      const logs = await call('GET', `${BASE}/runs/${runs.a1!.id}/logs/stdout`, null, { token });
      expect(logs.status).toBe(401);
    }
    const refused = await call('GET', `${BASE}/runs`, '/runs', { token: CAROL });
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain(CAROL);
    // An unknown path under the base asks for a token too: nothing is told to a stranger.
    expect((await call('GET', `${BASE}/nothing-here`, null, { token: null })).status).toBe(401);
  });

  it('answers 503 with Retry-After a token that cannot be checked now, an ErrorResponse, never repeating it', async () => {
    const a = await call('GET', `${BASE}/runs`, '/runs', { token: UNCHECKABLE });
    expect(a.status).toBe(503);
    expect(a.headers.get('retry-after')).toBe('30');
    expect(a.headers.get('www-authenticate')).toBeNull();
    expect(a.body.msg).toContain('cannot check tokens right now');
    expect(a.text).not.toContain('tok-');
  });
});

describe('WES GetServiceInfo', () => {
  it("is complete and valid, and counts only the caller's runs", async () => {
    const a = await call('GET', `${BASE}/service-info`, '/service-info');
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({
      id: 'org.example.lab.strand',
      type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' },
      workflow_type_versions: { CWL: { workflow_type_version: ['v1.0', 'v1.1', 'v1.2'] } },
      supported_wes_versions: ['1.1.0'],
      workflow_engine_versions: { Strand: { workflow_engine_version: ['0.1.0'] } },
      auth_instructions_url: 'https://lab.example/docs/lab-server.html#tokens',
    });
    const expected = (owner: string) => {
      const counts: Record<string, number> = {};
      for (const r of Object.values(runs)) if (r.owner === owner) counts[r.state] = (counts[r.state] ?? 0) + 1;
      return counts;
    };
    expect(a.body.system_state_counts).toMatchObject(expected('ada'));
    expect(Object.values(a.body.system_state_counts as Record<string, number>).reduce((x, y) => x + y, 0)).toBe(adaRuns().length);
    const b = await call('GET', `${BASE}/service-info`, '/service-info', { token: BOB });
    expect(b.body.system_state_counts).toMatchObject(expected('bob'));
    expect(Object.values(b.body.system_state_counts as Record<string, number>).reduce((x, y) => x + y, 0)).toBe(3);
  });
});

describe('WES ListRuns', () => {
  it("lists the caller's runs only, newest first, each with its state; every page walked without repeats", async () => {
    const all = await call('GET', `${BASE}/runs?page_size=1000`, '/runs');
    expect(all.status).toBe(200);
    expect(all.body.next_page_token).toBe('');
    const ids: string[] = all.body.runs.map((r: { run_id: string }) => r.run_id);
    expect(new Set(ids)).toEqual(new Set(adaRuns().map((r) => r.id)));
    for (const item of all.body.runs) {
      expect(spec.checkSchema('RunSummary', item)).toEqual([]);
      const mine = Object.values(runs).find((r) => r.id === item.run_id)!;
      expect(item.state, item.run_id).toBe(mine.state);
    }
    // Newest first; a7 and a6 started in the same second: by id, descending.
    const starts = all.body.runs.map((r: { start_time: string }) => r.start_time);
    expect([...starts].sort().reverse()).toEqual(starts);
    expect(ids[0]).toBe(runs.a8!.id);
    expect(ids.slice(1, 3)).toEqual([runs.a6!.id, runs.a7!.id].sort().reverse());

    for (const size of [1, 3, 8]) {
      const walked: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = await call('GET', `${BASE}/runs?page_size=${size}${token ? `&page_token=${encodeURIComponent(token)}` : ''}`, '/runs');
        expect(page.status).toBe(200);
        expect(page.body.runs.length).toBeLessThanOrEqual(size);
        walked.push(...page.body.runs.map((r: { run_id: string }) => r.run_id));
        token = page.body.next_page_token;
        pages++;
      } while (token !== '' && pages < 50);
      expect(walked).toEqual(ids);
      expect(pages).toBe(Math.ceil(ids.length / size));
    }
    const bobs = await call('GET', `${BASE}/runs`, '/runs', { token: BOB });
    expect(bobs.body.runs.map((r: { run_id: string }) => r.run_id).sort()).toEqual([runs.b1!.id, runs.b2!.id, runs.b3!.id].sort());
  });

  it('answers 400 for a bad page_size or page_token', async () => {
    const tasksToken = (await call('GET', `${BASE}/runs/${runs.a8!.id}/tasks?page_size=2`, '/runs/{run_id}/tasks')).body.next_page_token as string;
    expect(tasksToken).not.toBe('');
    for (const q of ['page_size=0', 'page_size=-3', 'page_size=ten', 'page_size=2.5', 'page_size=1&page_size=2', 'page_token=%25%25%25', `page_token=${tasksToken}`, 'page_token=eyJhIjoxfQ']) {
      const a = await call('GET', `${BASE}/runs?${q}`, '/runs');
      expect(a.status, q).toBe(400);
    }
    // Over the maximum: a page of at most the maximum, not an error.
    expect((await call('GET', `${BASE}/runs?page_size=100000`, '/runs')).status).toBe(200);
  });
});

describe('WES GetRunLog and GetRunStatus', () => {
  it('give the state mapped from the record, outputs, log URLs on this server, times', async () => {
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) {
      const r = runs[name]!;
      const log = await call('GET', `${BASE}/runs/${r.id}`, '/runs/{run_id}');
      expect(log.status).toBe(200);
      expect(log.body.state, name).toBe(r.state);
      expect(log.body.run_id).toBe(r.id);
      expect(log.body.task_logs_url).toBe(`${origin}${BASE}/runs/${r.id}/tasks`);
      expect(log.body.run_log).toMatchObject({ name: 'wf.cwl#main', stdout: `${origin}${BASE}/runs/${r.id}/logs/stdout`, stderr: `${origin}${BASE}/runs/${r.id}/logs/stderr` });
      expect(log.body.run_log.start_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      if (name !== 'a5') expect(log.body.outputs).toEqual({ out: { class: 'File', location: `s3://lab/${name}/out.txt`, size: 3 } });
      else expect(log.body).not.toHaveProperty('outputs');
      expect(log.text).not.toContain('/srv/wes');
      const status = await call('GET', `${BASE}/runs/${r.id}/status`, '/runs/{run_id}/status');
      expect(status.body).toEqual({ run_id: r.id, state: r.state });
    }
  });

  it("answers another member's run exactly as a run that never was (404), and a prefix of an id as no run", async () => {
    const adaRun = runs.a2!.id;
    for (const [suffix, template] of [
      ['', '/runs/{run_id}'],
      ['/status', '/runs/{run_id}/status'],
      ['/tasks', '/runs/{run_id}/tasks'],
      ['/tasks/main.step.0.1', '/runs/{run_id}/tasks/{task_id}'],
    ] as const) {
      const hidden = await call('GET', `${BASE}/runs/${adaRun}${suffix}`, template, { token: BOB });
      const never = await call('GET', `${BASE}/runs/${NEVER}${suffix}`, template, { token: BOB });
      expect(hidden.status).toBe(404);
      expect(hidden.text.replace(adaRun, 'ID')).toBe(never.text.replace(NEVER, 'ID'));
    }
    const cancel = await call('POST', `${BASE}/runs/${adaRun}/cancel`, '/runs/{run_id}/cancel', { token: BOB });
    const cancelNever = await call('POST', `${BASE}/runs/${NEVER}/cancel`, '/runs/{run_id}/cancel', { token: BOB });
    expect(cancel.status).toBe(404);
    expect(cancel.text.replace(adaRun, 'ID')).toBe(cancelNever.text.replace(NEVER, 'ID'));
    const logs = await call('GET', `${BASE}/runs/${adaRun}/logs/stdout`, null, { token: BOB });
    expect(logs.status).toBe(404);
    // The run service takes a unique prefix; WES takes whole ids only.
    expect((await call('GET', `${BASE}/runs/${adaRun.slice(0, 20)}`, '/runs/{run_id}')).status).toBe(404);
  });

  it('answers 400 for a run id of a shape this service never gives', async () => {
    for (const bad of ['..%2F..%2Fetc', 'a%20b', '%E0%A4%A', '-leading-dash', 'x'.repeat(64)]) {
      const a = await call('GET', `${BASE}/runs/${bad}`, '/runs/{run_id}');
      expect(a.status, bad).toBe(400);
    }
  });
});

describe('WES ListTasks and GetTask', () => {
  it('lists one task per attempt, paged in a stable order, each one found again by its id', async () => {
    const id = runs.a8!.id;
    const all = await call('GET', `${BASE}/runs/${id}/tasks?page_size=1000`, '/runs/{run_id}/tasks');
    expect(all.status).toBe(200);
    expect(all.body.next_page_token).toBe('');
    const ids: string[] = all.body.task_logs.map((t: { id: string }) => t.id);
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
    const walked: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await call('GET', `${BASE}/runs/${id}/tasks?page_size=7${token ? `&page_token=${token}` : ''}`, '/runs/{run_id}/tasks');
      expect(page.body.task_logs.length).toBeLessThanOrEqual(7);
      walked.push(...page.body.task_logs.map((t: { id: string }) => t.id));
      token = page.body.next_page_token;
      pages++;
    } while (token !== '' && pages < 20);
    expect(walked).toEqual(ids);
    expect(pages).toBe(4);
    // The default page holds them all here (100).
    expect((await call('GET', `${BASE}/runs/${id}/tasks`, '/runs/{run_id}/tasks')).body.task_logs).toHaveLength(25);

    for (const t of [all.body.task_logs[0], all.body.task_logs[24]]) {
      const one = await call('GET', `${BASE}/runs/${id}/tasks/${t.id}`, '/runs/{run_id}/tasks/{task_id}');
      expect(one.status).toBe(200);
      expect(one.body).toEqual(t);
    }
    const failed = await call('GET', `${BASE}/runs/${runs.a2!.id}/tasks/main.step.1.1`, '/runs/{run_id}/tasks/{task_id}');
    expect(failed.body).toMatchObject({ id: 'main.step.1.1', name: 'main/step/1', exit_code: 3, cmd: ['tool', '1'] });
    expect(failed.body.system_logs).toContain('reason: completed');
  });

  it('answers 404 for a task that is not there, 400 for a malformed task id or page', async () => {
    const id = runs.a8!.id;
    expect((await call('GET', `${BASE}/runs/${id}/tasks/main.step.99.1`, '/runs/{run_id}/tasks/{task_id}')).status).toBe(404);
    expect((await call('GET', `${BASE}/runs/${id}/tasks/main%20step`, '/runs/{run_id}/tasks/{task_id}')).status).toBe(400);
    for (const q of ['page_size=0', 'page_size=x', 'page_token=nope!']) {
      expect((await call('GET', `${BASE}/runs/${id}/tasks?${q}`, '/runs/{run_id}/tasks')).status, q).toBe(400);
    }
    // A token of the runs list is not one of the tasks list.
    const runsToken = (await call('GET', `${BASE}/runs?page_size=1`, '/runs')).body.next_page_token as string;
    expect((await call('GET', `${BASE}/runs/${id}/tasks?page_token=${runsToken}`, '/runs/{run_id}/tasks')).status).toBe(400);
  });
});

describe("WES log URLs", () => {
  it("stream the run's logs (stdout) and what Strand says of it (stderr), to its owner only", async () => {
    const log = await call('GET', `${BASE}/runs/${runs.a1!.id}`, '/runs/{run_id}');
    const stdoutPath = new URL(log.body.run_log.stdout as string).pathname;
    const out = await call('GET', stdoutPath, null);
    expect(out.status).toBe(200);
    expect(out.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(out.text).toContain('hello from the task');
    const err = await call('GET', new URL(log.body.run_log.stderr as string).pathname, null);
    expect(err.status).toBe(200);
    expect(err.text).toBe('the run ended success\n');
    expect((await call('GET', stdoutPath, null, { token: BOB })).status).toBe(404);
  });
});

describe('WES RunWorkflow', () => {
  const WF = 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\ninputs: {f: {type: File, inputBinding: {position: 1}}}\noutputs: {o: stdout}\n';
  const form = (fields: Record<string, string>, files: Array<[string, string]>) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    for (const [name, text] of files) f.append('workflow_attachment', new Blob([text]), name);
    return f;
  };
  const fields = { workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_url: 'tools/cat.cwl', workflow_params: '{"f": {"class": "File", "location": "data/in.txt"}}', tags: '{"project": "pilot"}' };

  it('hands a multipart request to submit as the caller, with its attachments in a directory of its own, removed after', async () => {
    const before = submitted.length;
    const a = await call('POST', `${BASE}/runs`, '/runs', { body: form(fields, [['tools/cat.cwl', WF], ['data/in.txt', 'hello\n']]) });
    expect(a.status).toBe(200);
    expect(a.body.run_id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{16}$/);
    const s = submitted[before]!;
    expect(s.p).toEqual(ada);
    expect(s.request).toMatchObject({ workflowUrl: 'tools/cat.cwl', workflowFile: 'tools/cat.cwl', workflowTypeVersion: 'v1.2', tags: { project: 'pilot' }, attachments: ['tools/cat.cwl', 'data/in.txt'] });
    expect(s.files).toEqual({ 'tools/cat.cwl': WF, 'data/in.txt': 'hello\n' });
    expect(existsSync(madeDirs.at(-1)!)).toBe(false);

    // A JSON body (the documented extension).
    const j = await call('POST', `${BASE}/runs`, '/runs', { body: JSON.stringify({ ...fields, workflow_url: 'https://example.org/cat.cwl', workflow_params: {}, tags: { project: 'pilot' } }), headers: { 'content-type': 'application/json' } });
    expect(j.status, j.text).toBe(200);
    expect(submitted.at(-1)!.request.workflowUrl).toBe('https://example.org/cat.cwl');
  });

  it('refuses a bad request with 400 before submit, and never reads an upload without a valid token', async () => {
    const before = submitted.length;
    const dirsBefore = madeDirs.length;
    const climb = await call('POST', `${BASE}/runs`, '/runs', { body: form(fields, [['../cat.cwl', WF]]) });
    expect(climb.status).toBe(400);
    expect(climb.body.msg).toContain('..');
    expect(existsSync(madeDirs.at(-1)!)).toBe(false);
    const missing = await call('POST', `${BASE}/runs`, '/runs', { body: form({ workflow_type: 'CWL', workflow_url: 'x.cwl' }, []) });
    expect(missing.status).toBe(400);
    expect(missing.body.msg).toContain('workflow_type_version');
    // submit's own refusal (a workflow that cannot run) is a 400 with its words.
    const refused = await call('POST', `${BASE}/runs`, '/runs', { body: form({ ...fields, workflow_url: 'refuse.cwl' }, [['refuse.cwl', WF]]) });
    expect(refused.status).toBe(400);
    expect(refused.body.msg).toBe('workflow_params: input "reads" is missing');
    expect(submitted.length).toBe(before);

    const dirs = madeDirs.length;
    const anon = await call('POST', `${BASE}/runs`, '/runs', { token: null, body: form(fields, [['tools/cat.cwl', WF]]) });
    expect(anon.status).toBe(401);
    expect(madeDirs.length).toBe(dirs);
    expect(madeDirs.length - dirsBefore).toBe(3);
  });

  it('answers 500 without the internal detail, which goes to the log with a reference', async () => {
    const a = await call('POST', `${BASE}/runs`, '/runs', { body: form({ ...fields, workflow_url: 'explode.cwl' }, [['explode.cwl', WF]]) });
    expect(a.status).toBe(500);
    expect(a.text).not.toContain('kube.internal');
    expect(a.text).not.toContain('secret.key');
    const reference = /reference ([0-9a-f]+)/.exec(a.body.msg as string)?.[1];
    expect(reference).toBeDefined();
    const line = logged.find((l) => l.includes(reference!));
    expect(line).toContain('secret.key');
    expect(line).not.toContain(ADA);
  });
});

describe('WES paths and methods', () => {
  it('answers 405 with Allow for a method a path does not take, 404 for a path it does not have', async () => {
    const del = await call('DELETE', `${BASE}/runs/${runs.a1!.id}`, null);
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET');
    const getCancel = await call('GET', `${BASE}/runs/${runs.a1!.id}/cancel`, null);
    expect(getCancel.status).toBe(405);
    expect(getCancel.headers.get('allow')).toBe('POST');
    expect((await call('PUT', `${BASE}/service-info`, null)).status).toBe(405);
    expect((await call('PATCH', `${BASE}/runs`, null)).headers.get('allow')).toBe('GET, POST');
    for (const p of [`${BASE}`, `${BASE}/`, `${BASE}/workflows`, `${BASE}/runs/${runs.a1!.id}/logs`, `${BASE}/runs/${runs.a1!.id}/tasks/a.1/more`, `${BASE}/service-info/x`, `${BASE}/runs/`]) {
      expect((await call('GET', p, null)).status, p).toBe(404);
    }
    // Outside the base path: not WES's (the server's own 404 here).
    const other = await call('GET', '/ga4gh/wes/v10/runs', null);
    expect(other.text).toBe('not a WES path');
  });
});

describe('WES CancelRun', () => {
  it("cancels the caller's running run (never another's), and answers an ended run's cancel as done", async () => {
    const src = path.join(root, 'in.txt');
    writeFileSync(src, 'x\n');
    const tool = writeHoldTool(root);
    const config = resolveConfig({ storeDir, outdir: path.join(root, 'out'), tmpdirPrefix: path.join(root, 'tmp-'), quiet: true, cache: 'off' });
    const started = service.start(ada, {
      document: tool,
      process: await loadDocument(tool),
      inputs: { src: { class: 'File', path: src, location: `file://${src}` }, release: path.join(root, 'never') },
      config,
    });
    let state = '';
    for (let i = 0; i < 600 && state !== 'RUNNING'; i++) {
      const s = await call('GET', `${BASE}/runs/${started.runId}/status`, '/runs/{run_id}/status');
      state = s.status === 200 ? (s.body.state as string) : '';
      if (state !== 'RUNNING') await new Promise((r) => setTimeout(r, 50));
    }
    expect(state).toBe('RUNNING');
    expect((await call('POST', `${BASE}/runs/${started.runId}/cancel`, '/runs/{run_id}/cancel', { token: BOB })).status).toBe(404);
    const c = await call('POST', `${BASE}/runs/${started.runId}/cancel`, '/runs/{run_id}/cancel');
    expect(c.status).toBe(200);
    expect(c.body).toEqual({ run_id: started.runId });
    expect((await started.done).status).toBe('cancelled');
    expect((await call('GET', `${BASE}/runs/${started.runId}/status`, '/runs/{run_id}/status')).body.state).toBe('CANCELED');
    const again = await call('POST', `${BASE}/runs/${runs.a1!.id}/cancel`, '/runs/{run_id}/cancel');
    expect(again.body).toEqual({ run_id: runs.a1!.id });
    expect((await call('GET', `${BASE}/runs/${runs.a1!.id}/status`, '/runs/{run_id}/status')).body.state).toBe('COMPLETE');
  });
});

describe('WES answers against the spec', () => {
  it('checked a 200 of every operation, and the errors each gave', () => {
    for (const op of spec.operations().values()) expect([...checked], op).toContain(`${op} 200`);
    // What was checked, for the record (the test run prints it).
    console.log(`WES answers checked against the spec:\n  ${[...checked].sort().join('\n  ')}`);
  });
});
