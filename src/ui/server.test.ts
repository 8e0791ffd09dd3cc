import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HEARTBEAT_STALE_MS, openRunStore, type RunStore } from '../store/run-store.js';
import { readEventsUntil } from '../../test/support/event-stream.js';
import { isLoopback, startDashboard, type Dashboard } from './server.js';

let dir = '';
let writer: RunStore;
let dash: Dashboard;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-ui-server-'));
  writer = openRunStore(dir);
  const logDir = path.join(dir, 'logs', 'r1', 'a', '1');
  mkdirSync(logDir, { recursive: true });
  writeFileSync(path.join(logDir, 'stderr.log'), Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n');
  writer.createRun({ runId: 'r1', processId: 'file:///wf.cwl#main', owner: 'alice', executor: 'local', graph: { root: 'main', nodes: [{ id: 'main/a', kind: 'step', label: 'a' }], edges: [] } });
  const ref = { runId: 'r1', taskId: 'main/a/0', stepPath: 'main/a/0', attempt: 1 };
  writer.record({ type: 'task_queued', at: new Date(), ...ref });
  writer.record({ type: 'task_started', at: new Date(), workDir: '/w', logDir, argv: ['echo', 'hi'], ...ref });
  writer.flush();
  dash = await startDashboard({ storeDir: dir, port: 0, pollMs: 50 });
});
afterEach(async () => {
  await dash.close();
  writer.close();
  await rm(dir, { recursive: true, force: true });
});

function request(p: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(p, dash.origin), { method, headers: { authorization: `Bearer ${dash.token}`, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the dashboard server', () => {
  it('under the owner policy shows a viewer their own runs only: another\'s is absent from the list and answers 404 as an unknown id does', async () => {
    writer.createRun({ runId: 'b1', processId: 'file:///wf.cwl#main', owner: 'bob', executor: 'local' });
    writer.record({ type: 'task_queued', at: new Date(), runId: 'b1', taskId: 'main/x/0', stepPath: 'main/x/0', attempt: 1 });
    writer.flush();
    await dash.close();
    dash = await startDashboard({ storeDir: dir, port: 0, pollMs: 50, viewer: { user: 'alice', groups: [] }, visibility: 'owner' });
    const list = JSON.parse((await request('/api/runs')).body);
    expect(list).toMatchObject({ total: 1, runs: [{ id: 'r1', owner: 'alice' }] });
    expect(JSON.parse((await request('/api/runs?q=bob')).body)).toMatchObject({ total: 0, runs: [] });
    for (const suffix of ['', '/attempts', '/failed', '/task?task=main/x/0', '/log?task=main/x/0&stream=stderr']) {
      const hidden = await request(`/api/runs/b1${suffix}`);
      const unknown = await request(`/api/runs/zz${suffix}`);
      expect([hidden.status, hidden.body.replace('b1', 'ID')]).toEqual([404, unknown.body.replace('zz', 'ID')]);
    }
    expect((await request('/api/runs/r1/attempts')).status).toBe(200);
  });

  it('binds 127.0.0.1 and answers the run list, a run, a task and its log', async () => {
    expect(dash.host).toBe('127.0.0.1');
    const list = JSON.parse((await request('/api/runs?q=ALICE')).body);
    expect(list.total).toBe(1);
    expect(list.runs[0]).toMatchObject({ id: 'r1', owner: 'alice', executor: 'local', tasks: { total: 1, running: 1 } });
    const run = JSON.parse((await request('/api/runs/r1')).body);
    expect(run.nodes).toEqual([expect.objectContaining({ node: 'main/a', running: 1 })]);
    expect(run.run.graph.nodes[0].id).toBe('main/a');
    const task = JSON.parse((await request('/api/runs/r1/task?task=main/a/0')).body);
    expect(task.attempt.argv).toEqual(['echo', 'hi']);
    expect(task.stderrTail.split('\n')).toHaveLength(60);
    expect(task.stderrTail).toMatch(/line 99$/);
    const log = await request('/api/runs/r1/log?task=main/a/0&stream=stderr');
    expect(log.type).toMatch(/^text\/plain/);
    expect(log.body.split('\n')).toHaveLength(101);
    expect((await request('/api/runs/r1/log?task=main/a/0&stream=stdout')).status).toBe(404);
    expect((await request('/api/runs/r1/log?task=main/a/0&stream=../../etc/passwd')).status).toBe(400);
    expect((await request('/api/runs/nope')).status).toBe(404);
  });

  it('is read-only: anything but GET is refused, and the store is opened read-only', async () => {
    expect((await request('/api/runs', 'POST')).status).toBe(405);
    expect((await request('/api/runs/r1', 'DELETE')).status).toBe(405);
  });

  it('answers only requests addressed to loopback (no DNS rebinding from a web page)', async () => {
    expect((await request('/api/runs', 'GET', { host: 'evil.example:7878' })).status).toBe(403);
    expect((await request('/api/runs', 'GET', { host: `localhost:${dash.port}` })).status).toBe(200);
    expect((await request('/api/runs', 'GET', { host: `[::1]:${dash.port}` })).status).toBe(200);
  });

  it("pushes a run's new state over server-sent events when another process writes it", async () => {
    const events: string[] = [];
    let written = false;
    const got = new Promise<void>((resolve, reject) => {
      const req = http.get(new URL('/api/events?run=r1', dash.origin), { headers: { authorization: `Bearer ${dash.token}` } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          events.push(chunk);
          const all = events.join('');
          if (all.includes('"ok":1')) {
            req.destroy();
            resolve();
          } else if (!written && all.includes('event: run')) {
            // The first state (the task running) came on connect: now the task ends, in the writer.
            written = true;
            writer.record({
              type: 'task_finished',
              at: new Date(),
              result: { reason: 'completed', exitCode: 0, message: 'ok' },
              phase: 'succeeded',
              runId: 'r1',
              taskId: 'main/a/0',
              stepPath: 'main/a/0',
              attempt: 1,
            });
            writer.flush();
          }
        });
      });
      req.on('error', reject);
    });
    await got;
    // The whole state once, on connect; then only what changed, without the graph again.
    const all = events.join('').split('\n\n');
    const runEvents = all.filter((e) => e.startsWith('event: run'));
    const deltas = all.filter((e) => e.startsWith('event: delta'));
    expect(runEvents).toHaveLength(1);
    expect(runEvents[0]).toContain('"running":1');
    expect(deltas.length).toBeGreaterThanOrEqual(1);
    expect(deltas.at(-1)).toContain('"ok":1');
    for (const d of deltas) expect(d).not.toContain('"graph"');
  });

  it('tells a page watching a run that its process died (no heartbeat, no write), and the run list too', async () => {
    // r1's last heartbeat is 1.5 s short of stale: nothing writes again, as after a kill -9.
    writer.heartbeat('r1', new Date(Date.now() - HEARTBEAT_STALE_MS + 1500));
    writer.flush();
    const opened = Date.now();
    const watch = (query: string, until: (all: string) => boolean) => readEventsUntil(dash.origin, dash.token, query, until);
    const [run, list] = await Promise.all([
      watch('?run=r1', (all) => all.includes('event: delta') && all.includes('"status":"interrupted"')),
      watch('', (all) => all.includes('event: change')),
    ]);
    expect(run.split('\n\n').find((e) => e.startsWith('event: run'))).toContain('"status":"running"');
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1000);
    expect(list).toContain('event: change');
    expect(JSON.parse((await request('/api/runs/r1')).body).run.status).toBe('interrupted');
  });

  it('says which hosts are loopback (anything else gets a warning from strand ui)', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('192.168.1.5')).toBe(false);
    expect(isLoopback('127.4.5.6')).toBe(true);
    expect(isLoopback('127.0.0.1.evil.example')).toBe(false);
    expect(isLoopback('127.example')).toBe(false);
  });
});
