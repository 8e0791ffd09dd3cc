/**
 * `strand show` of a large run (issue 21: it read every attempt of a 100,000-task run, 3.7 s and
 * 386 MB, to print 60 of them): the text lists a window (the first 50 that went well, the first 500
 * that did not) and says how many it left out; `--all` and `--json` give every attempt.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRunStore } from '../../src/store/run-store.js';
import { built, runStrand } from '../support/strand-cli.js';

const OK = 700;
const FAILED = 520;
let tmp = '';
let store = '';

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'strand-show-large-'));
  store = path.join(tmp, 'store');
  const s = openRunStore(store);
  const runId = 'large';
  const t0 = Date.UTC(2026, 0, 2);
  s.createRun({ runId, processId: 'file:///wf.cwl#main', startedAt: new Date(t0) });
  for (let i = 0; i < OK + FAILED; i++) {
    const ref = { runId, taskId: `main/echo/${i}`, stepPath: 'main/echo', attempt: 1 };
    const at = new Date(t0 + i * 1000);
    const failed = i % 2 === 1 && (i - 1) / 2 < FAILED;
    s.record({ type: 'task_queued', at, ...ref });
    s.record({ type: 'task_started', at, workDir: '/w', logDir: '/l', argv: ['echo', String(i)], ...ref });
    s.record({ type: 'task_finished', at, phase: failed ? 'failed' : 'succeeded', result: { reason: 'completed', exitCode: failed ? 1 : 0, message: failed ? `task ${i} exited with code 1` : 'ok' }, ...ref });
  }
  s.record({ type: 'run_finished', runId, status: 'failed', at: new Date(t0 + 3600_000), message: 'tasks failed' });
  s.flush();
  s.close();
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const attemptLines = (text: string) => text.split('\n').filter((l) => / \(attempt \d+\): /.test(l));

describe.skipIf(!built)('strand show of a large run', () => {
  it('lists the first 50 successful and the first 500 failed attempts in order, and says how many more there are', async () => {
    const r = await runStrand(['show', '--store', store, 'large'], { cwd: tmp });
    expect(r.code).toBe(0);
    const lines = attemptLines(r.stdout);
    expect(lines.filter((l) => l.includes(': succeeded'))).toHaveLength(50);
    expect(lines.filter((l) => l.includes(': failed'))).toHaveLength(500);
    expect(lines[0]).toMatch(/^ {2}main\/echo\/0 \(attempt 1\)/);
    expect(lines[1]).toMatch(/^ {2}main\/echo\/1 \(attempt 1\): failed/);
    expect(r.stdout).toContain(`... and ${FAILED - 500} more attempts that did not succeed`);
    expect(r.stdout).toContain(`... and ${OK - 50} more successful attempts`);
    expect(r.stdout).toContain(`${OK + FAILED} attempts: ${OK} ok, ${FAILED} failed`);
  });

  it('--all lists every attempt, --json carries every one', async () => {
    const all = await runStrand(['show', '--store', store, '--all', 'large'], { cwd: tmp });
    expect(attemptLines(all.stdout)).toHaveLength(OK + FAILED);
    expect(all.stdout).not.toContain('more successful attempts');
    const json = JSON.parse((await runStrand(['show', '--store', store, '--json', 'large'], { cwd: tmp })).stdout) as { attempts: unknown[]; attemptsLeftOut?: unknown };
    expect(json.attempts).toHaveLength(OK + FAILED);
    expect(json.attemptsLeftOut).toBeUndefined();
  });
});
