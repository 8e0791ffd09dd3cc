import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeHoldTool } from '../../test/support/hold-tool.js';
import { resolveConfig } from '../config/config.js';
import { UsageError } from '../errors.js';
import { loadDocument } from '../loader/index.js';
import { openRunStore } from '../store/run-store.js';
import type { Principal } from './principal.js';
import { PassThrough } from 'node:stream';
import { RunNotFoundError, localRunService, type RunService } from './run-service.js';

let dir = '';
let services: RunService[] = [];
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'strand-run-service-'));
});
afterEach(async () => {
  for (const s of services) s.close();
  services = [];
  await rm(dir, { recursive: true, force: true });
});

const ada: Principal = { user: 'ada', groups: ['lab'] };
const bob: Principal = { user: 'bob', groups: ['lab'] };

function service(visibility: 'store' | 'owner' = 'owner'): RunService {
  const s = localRunService({ storeDir: path.join(dir, 'store'), visibility });
  services.push(s);
  return s;
}

const config = () => resolveConfig({ storeDir: path.join(dir, 'store'), outdir: path.join(dir, 'out'), tmpdirPrefix: path.join(dir, 'tmp-'), quiet: true, cache: 'off' });

async function echoTool(): Promise<string> {
  const file = path.join(dir, 'echo.cwl');
  await writeFile(file, ['cwlVersion: v1.2', 'class: CommandLineTool', 'baseCommand: [echo, hello]', 'stdout: hello.txt', 'inputs: []', 'outputs:', '  out: stdout'].join('\n'));
  return file;
}

describe('the local run service', () => {
  it('lists a member\'s own runs however many runs others have (owner visibility filters before the limit)', async () => {
    const store = openRunStore(path.join(dir, 'store'));
    const made = (owner: string, n: number) => {
      const runId = `r-${owner}-${n}`;
      store.createRun({ runId, processId: 'file:///wf.cwl', documentPath: '/wf.cwl', pid: process.pid, startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)), owner });
      store.record({ type: 'run_finished', runId, status: 'success', at: new Date(Date.UTC(2026, 0, 1, 0, 0, n + 1)) });
      return runId;
    };
    const adas = [made('ada', 1), made('ada', 2)];
    for (let i = 10; i < 15; i++) made('bob', i);
    store.close();
    expect((await service().list(ada, { limit: 2 })).map((r) => r.id)).toEqual([...adas].reverse());
    expect((await service().list(bob, { limit: 2 })).map((r) => r.id)).toEqual(['r-bob-14', 'r-bob-13']);
    expect((await service('store').list(ada, { limit: 2 })).map((r) => r.id)).toEqual(['r-bob-14', 'r-bob-13']);
  });

  it('starts a run owned by the principal; that principal sees it, another is told it does not exist, in the same words as for an id never used', async () => {
    const s = service('owner');
    const started = s.start(ada, { document: await echoTool(), inputs: {}, config: config() });
    const outcome = await started.done;
    expect(outcome).toMatchObject({ runId: started.runId, status: 'success', recorded: true });
    expect(existsSync(path.join(dir, 'out', 'hello.txt'))).toBe(true);

    expect((await s.list(ada)).map((r) => [r.id, r.owner])).toEqual([[started.runId, 'ada']]);
    expect((await s.get(ada, started.runId)).run).toMatchObject({ id: started.runId, status: 'success', owner: 'ada' });

    expect(await s.list(bob)).toEqual([]);
    const hidden = await s.get(bob, started.runId).catch((e: unknown) => e);
    const absent = await s.get(bob, '20990101-000000-0000000000000000').catch((e: unknown) => e);
    expect(hidden).toBeInstanceOf(RunNotFoundError);
    expect(absent).toBeInstanceOf(RunNotFoundError);
    expect((hidden as Error).message.replace(started.runId, 'ID')).toBe((absent as Error).message.replace('20990101-000000-0000000000000000', 'ID'));
    await expect(s.cancel(bob, started.runId)).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(s.logs(bob, started.runId, new PassThrough())).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(s.logs(ada, started.runId, new PassThrough())).resolves.toMatchObject({ written: 0 });

    // bob's own run shares the date prefix: for each of them the prefix names their own run, and
    // the ambiguity (with its list of ids) is never between one's runs and another's.
    const bobs = await s.start(bob, { document: await echoTool(), inputs: {}, config: config() }).done;
    let n = 0;
    while (started.runId[n] === bobs.runId[n]) n++;
    const prefix = started.runId.slice(0, n); // at least the century: both ids start with the date
    expect(prefix.length).toBeGreaterThanOrEqual(2);
    expect((await s.get(ada, prefix)).run.id).toBe(started.runId);
    expect((await s.get(bob, prefix)).run.id).toBe(bobs.runId);

    // The store's own policy (the CLI on one machine): whoever opens the store sees its runs.
    expect((await service('store').list(bob)).map((r) => r.id).sort()).toEqual([started.runId, bobs.runId].sort());
  });

  it('watches a run: its summary at once, each change, and the end; another principal is told it does not exist', async () => {
    const s = service();
    const src = path.join(dir, 'in.txt');
    await writeFile(src, 'x\n');
    const tool = writeHoldTool(dir);
    const release = path.join(dir, 'release');
    const started = s.start(ada, {
      document: tool,
      process: await loadDocument(tool),
      inputs: { src: { class: 'File', path: src, location: `file://${src}` }, release },
      config: config(),
    });
    // The run is recorded before its task is queued: wait for its record, not for a time.
    const store = openRunStore(path.join(dir, 'store'));
    try {
      for (let i = 0; i < 600 && !store.getRunHeader(started.runId); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      store.close();
    }
    // A watch ends when its signal aborts, while the run goes on (it holds until released).
    const ctl = new AbortController();
    const early = s.watch(ada, started.runId, { signal: ctl.signal, intervalMs: 50 })[Symbol.asyncIterator]();
    expect((await early.next()).value).toMatchObject({ id: started.runId, status: 'running' });
    ctl.abort();
    expect((await early.next()).done).toBe(true);

    const seen: { status: string; running: number; ok: number }[] = [];
    for await (const run of s.watch(ada, started.runId, { intervalMs: 50 })) {
      seen.push({ status: run.status, running: run.tasks.running, ok: run.tasks.ok });
      // The task is running: let it end.
      if (run.tasks.running === 1) await writeFile(release, '');
    }
    expect(seen[0]?.status).toBe('running');
    expect(seen).toContainEqual({ status: 'running', running: 1, ok: 0 });
    expect(seen.at(-1)).toEqual({ status: 'success', running: 0, ok: 1 });
    // Only changes: no two summaries alike in a row.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toEqual(seen[i - 1]);
    expect((await started.done).status).toBe('success');

    const hidden = s.watch(bob, started.runId)[Symbol.asyncIterator]();
    await expect(hidden.next()).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it('cancels a run it started: its task is stopped and the run is recorded cancelled', async () => {
    const s = service();
    const src = path.join(dir, 'in.txt');
    await writeFile(src, 'x\n');
    const tool = writeHoldTool(dir);
    const started = s.start(ada, {
      document: tool,
      process: await loadDocument(tool),
      inputs: { src: { class: 'File', path: src, location: `file://${src}` }, release: path.join(dir, 'never') },
      config: config(),
    });
    // Wait for the task to run (its copy appears), not for a time.
    const store = openRunStore(path.join(dir, 'store'));
    try {
      for (let i = 0; i < 600 && store.getRun(started.runId)?.attempts.some((a) => a.phase === 'running') !== true; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      store.close();
    }
    expect((await s.cancel(ada, started.runId)).said).toContain(`cancelling run ${started.runId}`);
    const outcome = await started.done;
    expect(outcome.status).toBe('cancelled');
    expect((await s.get(ada, started.runId)).run.status).toBe('cancelled');
  });

  it('a run that cannot start is an outcome, not a thrown error; a run of another process is not cancelled from here', async () => {
    const s = service();
    const outcome = await s.start(ada, { document: path.join(dir, 'missing.cwl'), inputs: {}, config: config() }).done;
    expect(outcome).toMatchObject({ status: 'failed', notStarted: true, recorded: false });
    expect(outcome.error).toBeInstanceOf(Error);

    const other = service();
    const done = await other.start(ada, { document: await echoTool(), inputs: {}, config: config() }).done;
    await expect(s.cancel(ada, done.runId)).rejects.toThrow(UsageError);
    await expect(s.cancel(ada, done.runId)).rejects.toThrow(/was not submitted with strand submit/);
  });
});
