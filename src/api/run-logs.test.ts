// writeRunLogs of a local run: the task logs the store kept, one header each, a step's only, the
// last lines only, a log without a final newline ended with one; nothing there is said, not thrown.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptRecord, RunDetail } from '../store/run-store.js';
import { writeRunLogs, type LogsOptions } from './run-logs.js';

let dir = '';
let run: RunDetail;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-run-logs-'));
  const attempt = async (taskId: string, stepPath: string, files: Record<string, string>): Promise<AttemptRecord> => {
    const logDir = path.join(dir, taskId.replace(/\//g, '_'));
    await mkdir(logDir);
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(logDir, name), text);
    return { taskId, stepPath, attempt: 1, status: 'completed', phase: 'succeeded', exitCode: 0, logDir };
  };
  run = {
    id: 'r1',
    status: 'success',
    startedAt: '2026-01-02T03:04:05.000Z',
    tasks: { total: 2, ok: 2, failed: 0, running: 0, reused: 0, queued: 0, cancelled: 0 },
    steps: [],
    attempts: [
      await attempt('main/a', 'main/a', { 'stdout.log': 'one\ntwo\nthree\n', 'stderr.log': 'no newline at the end' }),
      await attempt('main/sub/b', 'main/sub/b', { 'stderr.log': 'from b\n' }),
    ],
  } as RunDetail;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function logs(opts: LogsOptions = {}) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  const r = await writeRunLogs(run, out, opts);
  return { ...r, text };
}

describe('writeRunLogs of a local run', () => {
  it('writes every saved log under a header, ending each with a newline', async () => {
    const r = await logs();
    expect(r.text).toBe(
      '==> main/a (attempt 1) stdout.log <==\none\ntwo\nthree\n' +
        '==> main/a (attempt 1) stderr.log <==\nno newline at the end\n' +
        '==> main/sub/b (attempt 1) stderr.log <==\nfrom b\n',
    );
    expect(r).toMatchObject({ written: 3, said: [] });
  });

  it("a step's logs (its sub-steps too), and the last lines only", async () => {
    expect((await logs({ step: 'main/sub' })).text).toBe('==> main/sub/b (attempt 1) stderr.log <==\nfrom b\n');
    expect((await logs({ step: 'main/a', tail: 1 })).text).toBe('==> main/a (attempt 1) stdout.log <==\nthree\n==> main/a (attempt 1) stderr.log <==\nno newline at the end\n');
  });

  it('says so when there is nothing for the step', async () => {
    const r = await logs({ step: 'main/none' });
    expect(r.text).toBe('');
    expect(r.said).toEqual(['run r1: no task logs for step main/none (tasks that redirect their output keep it in their outputs)']);
  });
});
