/**
 * The CLI's server commands end to end against the server's real WES routes (wesRoutes) served by
 * node:http on loopback over the local run service and a real run store: strand login (the token
 * checked, then stored privately), submit --server (what the server received: the attachments'
 * names and contents, the rewritten params), list, show, cancel and logs. The one stand-in is the
 * server's submit path, which would start a leader Job on a cluster: it records what it was given.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../api/principal.js';
import { newRunId } from '../../api/run-id.js';
import { localRunService, type RunService } from '../../api/run-service.js';
import type { RunEvent } from '../../engine/events.js';
import { NotPermitted, Unauthenticated } from '../../server/server-types.js';
import { RequestProblem, type RunRequest } from '../../server/wes/run-request.js';
import { wesRoutes } from '../../server/wes/wes-routes.js';
import { openRunStore } from '../../store/run-store.js';
import { loginCommand, logoutCommand } from '../login-command.js';
import { readCredentials, writeCredentials } from './credentials.js';
import { openServer, remoteCancel, remoteList, remoteLogs, remoteShow, remoteSubmit, type RemoteIo } from './remote-commands.js';

const ADA = 'tok-ada-5f1c9e0b';
const BOB = 'tok-bob-77a0d2c4';
const ada: Principal = { user: 'ada', groups: ['lab'] };
const bob: Principal = { user: 'bob', groups: ['lab'] };
const TOKENS: Record<string, Principal> = { [ADA]: ada, [BOB]: bob };
const LIMITS = { fileBytes: 64 * 1024, totalBytes: 256 * 1024, files: 50, fieldBytes: 1024 * 1024 };

let root = '';
let server: http.Server;
let origin = '';
let service: RunService;
let credentialsFile = '';
const submitted: Array<{ p: Principal; request: RunRequest; files: Record<string, string> }> = [];
const runs: Record<string, string> = {};

const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000);

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strand-server-client-'));
  credentialsFile = path.join(root, 'home', '.config', 'strand', 'servers.yaml');
  const storeDir = path.join(root, 'store');
  const logDir = path.join(root, 'logs');
  mkdirSync(logDir, { recursive: true });
  writeFileSync(path.join(logDir, 'stdout.log'), 'hello from the task\n');
  const store = openRunStore(storeDir);
  const record = (name: string, owner: string, startS: number, end: 'success' | 'failed', phase: 'succeeded' | 'failed', exit: number) => {
    const runId = newRunId(at(startS));
    runs[name] = runId;
    store.createRun({ runId, processId: `file:///srv/req/${name}/wf.cwl#main`, documentPath: `/srv/req/${name}/wf.cwl`, pid: process.pid, startedAt: at(startS), owner });
    const r = { runId, taskId: 'main/step/0', stepPath: 'main/step', attempt: 1 };
    const events: RunEvent[] = [
      { type: 'run_started', runId, processId: 'file:///srv/req/wf.cwl#main', at: at(startS) },
      { type: 'task_queued', at: at(startS + 1), ...r },
      { type: 'task_started', at: at(startS + 1), workDir: '/w/0', logDir, argv: ['tool', 'in.txt'], ...r },
      { type: 'task_finished', at: at(startS + 3), result: { reason: 'completed', exitCode: exit, message: `exit ${exit}`, startedAt: at(startS + 1), finishedAt: at(startS + 3) }, phase, ...r },
      { type: 'run_finished', runId, status: end, at: at(startS + 4), message: `the run ended ${end}`, outputs: { out: { class: 'File', location: `s3://lab/${name}/out.txt`, size: 3 } } },
    ];
    for (const e of events) store.record(e);
  };
  record('a1', 'ada', 0, 'success', 'succeeded', 0);
  record('a2', 'ada', 10, 'failed', 'failed', 3);
  record('b1', 'bob', 5, 'success', 'succeeded', 0);
  store.flush();
  store.close();

  service = localRunService({ storeDir, visibility: 'owner' });
  const routes = wesRoutes({
    service,
    authenticate: async (req) => {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (token === 'tok-not-a-member') throw new NotPermitted('not a member of this lab');
      const p = token === undefined ? undefined : TOKENS[token];
      if (!p) throw new Unauthenticated('no valid bearer token');
      return p;
    },
    submit: async (p, request, dir) => {
      if ('refuse' in request.workflowParams) throw new RequestProblem('workflow_params: input "reads" is missing');
      const files: Record<string, string> = {};
      for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
        if (f.isFile()) files[path.relative(dir, path.join(f.parentPath, f.name))] = readFileSync(path.join(f.parentPath, f.name), 'utf8');
      }
      submitted.push({ p, request, files });
      // A run that already ended (for --wait): the workflow's engine parameter names which.
      const ended = request.workflowEngineParameters['on_error'] === 'continue' ? runs.a2 : request.workflowEngineParameters['cache'] === 'off' ? runs.a1 : undefined;
      return { runId: ended ?? newRunId() };
    },
    requestDir: () => Promise.resolve(mkdtempSync(path.join(root, 'request-'))),
    serviceInfo: {
      id: 'org.example.lab.strand',
      name: 'Example Lab Strand',
      organization: { name: 'Example Lab', url: 'https://lab.example' },
      version: '0.1.0',
      authInstructionsUrl: 'https://lab.example/auth',
    },
    limits: LIMITS,
    log: () => {},
  });
  server = http.createServer((req, res) => {
    void routes(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  service.close();
  rmSync(root, { recursive: true, force: true });
});

/** What a command printed, and its io. */
function capture(): RemoteIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (t) => (out += t), err: (t) => (err += t), credentialsFile, utc: true, pollMs: 10, stdout: () => out, stderr: () => err };
}

describe('strand login and logout', () => {
  it('store nothing when the server refuses the token, and say so without the token', async () => {
    const io = capture();
    const err = (await loginCommand({ server: origin, tokenStdin: true }, { ...io, stdin: streamOf('tok-forged-0001\n') }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(new RegExp(`^${origin} refused this token \\(401: a valid bearer token is required.*\\): nothing was stored`));
    expect(err.message).not.toContain('tok-forged-0001');
    expect(existsSync(credentialsFile)).toBe(false);
    const denied = (await loginCommand({ server: origin, tokenStdin: true }, { ...io, stdin: streamOf('tok-not-a-member') }).catch((e: unknown) => e)) as Error;
    expect(denied.message).toBe(`not a member of this lab (GET /ga4gh/wes/v1/service-info: HTTP 403): nothing was stored`);
    expect(existsSync(credentialsFile)).toBe(false);
  });

  it('check the token with the server, then store it privately; the first server is the default', async () => {
    const io = capture();
    const tokenFile = path.join(root, 'ada-token');
    writeFileSync(tokenFile, `${ADA}\n`);
    await loginCommand({ server: `${origin}/ga4gh/wes/v1/`, tokenFile, name: 'lab' }, io);
    expect(io.stderr()).toBe(`logged in to ${origin} (Example Lab Strand 0.1.0) as server lab, the default; the token is in ${credentialsFile}\n`);
    expect(io.stderr()).not.toContain(ADA);
    expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(credentialsFile)).mode & 0o777).toBe(0o700);
    expect(readCredentials(credentialsFile)).toEqual({ default: 'lab', servers: [{ name: 'lab', url: origin, token: ADA }] });

    // Another server (bob's sign-in here, by another name): added, the default stays.
    const io2 = capture();
    await loginCommand({ server: origin.replace('127.0.0.1', 'localhost'), tokenStdin: true, name: 'bobs' }, { ...io2, stdin: streamOf(BOB) });
    expect(io2.stderr()).toContain('as server bobs (use it with --server bobs)');
    expect(readCredentials(credentialsFile).servers.map((s) => s.name)).toEqual(['lab', 'bobs']);
    await logoutCommand('bobs', io2);
    expect(io2.stderr()).toContain('logged out of http://localhost:');
    expect(readCredentials(credentialsFile)).toEqual({ default: 'lab', servers: [{ name: 'lab', url: origin, token: ADA }] });
  });

  it('refuse plain http to another machine unless --allow-http, before asking for a token', async () => {
    const io = capture();
    await expect(loginCommand({ server: 'http://strand.lab.example' }, { ...io, askToken: () => Promise.reject(new Error('asked')) })).rejects.toThrow(/plain http to another machine/);
  });
});

describe('strand submit --server', () => {
  const project = () => path.join(root, 'project');
  const write = (rel: string, text: string) => {
    const p = path.join(project(), rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  };
  const TOOL = 'cwlVersion: v1.1\nclass: CommandLineTool\nbaseCommand: cat\ninputs:\n  f: {type: File, inputBinding: {position: 1}}\n  ref: Directory\noutputs:\n  o: stdout\n';
  const WF = 'cwlVersion: v1.1\nclass: Workflow\ninputs:\n  f: File\n  ref: Directory\n  remote: File?\noutputs:\n  o: {type: File, outputSource: s/o}\nsteps:\n  s:\n    run: ../tools/cat.cwl\n    in: {f: f, ref: ref}\n    out: [o]\n';

  it('--wait, as a cwl-runner, prints the output object of a run that completed, the run id on stderr; a failed run exits 1 saying how it ended', async () => {
    const main = write('wait/tool.cwl', 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\ninputs:\n  f: {type: File, inputBinding: {position: 1}}\noutputs:\n  o: stdout\n');
    const job = write('wait/job.yml', 'f: {class: File, location: in.txt}\n');
    write('wait/in.txt', 'x\n');
    const ok = capture();
    expect(await remoteSubmit(undefined, { document: main, jobFile: job, cache: 'off', wait: true }, ok)).toEqual({ runId: runs.a1, exitCode: 0 });
    expect(JSON.parse(ok.stdout())).toEqual({ out: { class: 'File', location: 's3://lab/a1/out.txt', size: 3 } });
    expect(ok.stderr()).toContain(`run ${runs.a1}: COMPLETE`);
    const failed = capture();
    expect(await remoteSubmit(undefined, { document: main, jobFile: job, onError: 'continue', wait: true }, failed)).toEqual({ runId: runs.a2, exitCode: 1 });
    expect(failed.stdout()).toBe('');
    expect(failed.stderr()).toMatch(new RegExp(`run ${runs.a2} ended EXECUTOR_ERROR`));
  });


  it('sends the workflow, its files and the local inputs under their layout, with the job rewritten to their names', async () => {
    const main = write('wf/main.cwl', WF);
    write('tools/cat.cwl', TOOL);
    write('data/in put.txt', 'hello\n');
    write('data/ref/a.txt', 'A\n');
    write('data/ref/deep/b.txt', 'B\n');
    const job = write('jobs/job.yml', 'f: {class: File, location: "../data/in put.txt"}\nref: {class: Directory, path: ../data/ref}\nremote: {class: File, location: "s3://lab/big.bam"}\n');
    const io = capture();
    const before = submitted.length;
    const { runId } = await remoteSubmit(undefined, { document: main, jobFile: job, retries: 2, cache: 'read' }, io);
    expect(submitted.length).toBe(before + 1);
    const s = submitted.at(-1)!;
    expect(io.stdout()).toBe(`${runId}\n`);
    expect(s.p).toEqual(ada);
    expect(s.files).toEqual({
      'wf/main.cwl': WF,
      'tools/cat.cwl': TOOL,
      'data/in put.txt': 'hello\n',
      'data/ref/a.txt': 'A\n',
      'data/ref/deep/b.txt': 'B\n',
    });
    expect(s.request).toMatchObject({
      workflowUrl: 'wf/main.cwl',
      workflowFile: 'wf/main.cwl',
      workflowType: 'CWL',
      workflowTypeVersion: 'v1.1',
      workflowEngineParameters: { cache: 'read', retries: '2' },
      workflowParams: {
        f: { class: 'File', location: 'data/in%20put.txt' },
        ref: { class: 'Directory', location: 'data/ref' },
        remote: { class: 'File', location: 's3://lab/big.bam' },
      },
    });
    expect(io.stderr()).toContain(`[strand] submitted run ${runId} to ${origin} (lab)`);
    expect(io.stderr()).toContain(`[strand]   follow:  strand show --server lab ${runId}   |   strand logs --server lab ${runId} -f`);
    // Nothing of this machine's paths is in what the server got.
    expect(JSON.stringify(s.request)).not.toContain(root);
  });

  it("refuses inputs over the server's limits before sending anything, and shows the server's refusals as they are", async () => {
    const main = write('wf/main.cwl', WF);
    write('data/huge.bin', 'x'.repeat(LIMITS.fileBytes + 1));
    const job = write('jobs/huge.yml', 'f: {class: File, location: ../data/huge.bin}\nref: {class: Directory, location: ../data/ref}\n');
    const before = submitted.length;
    await expect(remoteSubmit(undefined, { document: main, jobFile: job }, capture())).rejects.toThrow(/the server takes files of at most 64\.0 KiB, and this one is larger: .*huge\.bin \(64\.0 KiB\)/);
    const refused = write('jobs/refused.yml', 'f: {class: File, location: "../data/in put.txt"}\nref: {class: Directory, location: ../data/ref}\nrefuse: yes\n');
    await expect(remoteSubmit(undefined, { document: main, jobFile: refused }, capture())).rejects.toThrow('workflow_params: input "reads" is missing (POST /ga4gh/wes/v1/runs: HTTP 400)');
    expect(submitted.length).toBe(before);
    // A document that does not validate is said here; nothing is sent.
    const broken = write('wf/broken.cwl', 'cwlVersion: v1.1\nclass: Workflow\ninputs: {}\noutputs: {}\nsteps:\n  s: {run: nope.cwl, in: {}, out: []}\n');
    await expect(remoteSubmit(undefined, { document: broken }, capture())).rejects.toThrow(/nope\.cwl/);
    expect(submitted.length).toBe(before);
  });
});

describe('strand list, show, cancel and logs --server', () => {
  it("list the caller's runs only, newest first", async () => {
    const io = capture();
    await remoteList('lab', { limit: 20 }, io);
    const lines = io.stdout().trimEnd().split('\n');
    expect(lines[0]).toBe(`${'RUN'.padEnd(runs.a1!.length + 2)}STATE           STARTED              DURATION  TAGS`);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      [runs.a2, 'EXECUTOR_ERROR'],
      [runs.a1, 'COMPLETE'],
    ]);
    expect(io.stdout()).not.toContain(runs.b1!);
    const json = capture();
    await remoteList(undefined, { limit: 1, json: true }, json);
    expect(JSON.parse(json.stdout())).toEqual([{ run_id: runs.a2, state: 'EXECUTOR_ERROR', start_time: '2026-11-20T09:00:10Z', end_time: '2026-11-20T09:00:14Z', tags: {} }]);
  });

  it('show a run: its state, times, tasks counted, outputs, the failed attempt', async () => {
    const io = capture();
    await remoteShow(undefined, runs.a2!, {}, io);
    const text = io.stdout();
    expect(text).toContain(`run ${runs.a2}: EXECUTOR_ERROR\n  process   wf.cwl#main\n  started   2026-11-20 09:00:10\n  finished  2026-11-20 09:00:14 (took 4s)\n  tasks     1 attempts: 0 ok, 1 failed\n  message   the run ended failed\n`);
    expect(text).toContain('"location": "s3://lab/a2/out.txt"');
    expect(text).toContain('failed task attempts:\n  main/step/0 (attempt 1): failed, exit 3, 2s\n      exit 3\n      command: tool in.txt');
    const watched = capture();
    await remoteShow(undefined, runs.a1!, { watch: true }, watched);
    expect(watched.stdout()).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d  ${runs.a1}  COMPLETE\\nrun ${runs.a1}: COMPLETE\\n`));
    // Another member's run: the server's 404, as it said it.
    await expect(remoteShow(undefined, runs.b1!, {}, capture())).rejects.toThrow(`no run ${runs.b1} (GET /ga4gh/wes/v1/runs/${runs.b1}: HTTP 404)`);
  });

  it('cancel: an ended run stays as it ended; another member\'s is not found', async () => {
    const io = capture();
    await remoteCancel(undefined, runs.a1!, io);
    expect(io.stderr()).toContain(`asked ${origin} to cancel run ${runs.a1}`);
    await expect(remoteCancel(undefined, runs.b1!, capture())).rejects.toThrow(`no run ${runs.b1}`);
  });

  it("logs: the run's log from its stdout URL, once or followed until the run has ended", async () => {
    for (const follow of [false, true]) {
      const chunks: Buffer[] = [];
      await remoteLogs(undefined, runs.a1!, { follow, write: (c) => void chunks.push(Buffer.from(c)) }, capture());
      expect(Buffer.concat(chunks).toString(), String(follow)).toContain('hello from the task');
    }
  });

  it('refuse a plain-http server of another machine found in the file, and say when not logged in', () => {
    const elsewhere = path.join(root, 'other', 'servers.yaml');
    writeCredentials(elsewhere, { default: 'far', servers: [{ name: 'far', url: 'http://strand.lab.example', token: 'abc' }] });
    expect(() => openServer(undefined, { credentialsFile: elsewhere })).toThrow(/plain http to another machine/);
    expect(() => openServer('nope', { credentialsFile })).toThrow('not logged in to nope (logged in: lab): strand login --server URL');
  });
});

function streamOf(text: string): NodeJS.ReadableStream {
  return Readable.from([Buffer.from(text)]);
}
