/**
 * Object-store mode against the fake API server and a real S3 server, with faults injected
 * between the pods and the server (test/support/fault-proxy.ts): an upload that fails is a failed
 * task with the upload's message; a pod deleted while it uploads is retried; a stage-in that
 * cannot fetch fails before the tool runs; credentials appear only as Secret references.
 * Needs `npm run build` (the pods run the built CLI).
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../../src/executor/executor.js';
import { taskSpec } from '../contract/executor-contract.js';
import { startFakeObjectStoreCluster, SECRET, type FakeObjectStoreCluster } from '../support/fake-object-store-cluster.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import type { Pod } from '../support/fake-kube/types.js';

let c: FakeObjectStoreCluster;
let proxy: FaultProxy;

beforeAll(async () => {
  c = await startFakeObjectStoreCluster({ bucket: 'strand-faults' });
  proxy = await startFaultProxy({ host: c.s3.host, port: c.s3.port });
});
afterAll(async () => {
  await proxy?.close();
  await c?.close();
});

async function box() {
  const dir = await mkdtemp(path.join(c.localRoot, 'box-'));
  const b = { dir, workDir: path.join(dir, 'work'), tmpDir: path.join(dir, 'tmp'), logDir: path.join(dir, 'logs') };
  await mkdir(b.workDir);
  await mkdir(b.tmpDir);
  return b;
}

/** An executor whose pods reach the store through the fault proxy (Strand itself goes direct). */
const viaProxy = (hooks = {}) => c.executor({ objectStore: { ...(c.settings['objectStore'] as object), endpoint: proxy.endpoint } }, hooks);
const never = () => new AbortController().signal;
const isPut = (url: string) => url.includes('/jobs/');

describe('object-store mode: faults', () => {
  it('a task whose upload fails is a failed task with the upload\'s message, not a success without outputs', async () => {
    const ex = viaProxy();
    const b = await box();
    proxy.inject({ match: (m, u) => m === 'PUT' && isPut(u) && u.includes('/out/'), fault: 'internal', times: Infinity });
    try {
      const r = await ex.run(taskSpec(b, { argv: ['sh', '-c', 'echo made > made.txt'] }), never());
      expect(r.reason).toBe('failed');
      expect(r.message).toMatch(/uploading the outputs failed: .*strand: error: .*made\.txt/);
      await expect(readFile(path.join(b.workDir, 'made.txt'))).rejects.toThrow();
    } finally {
      proxy.clear();
      await ex.shutdown();
    }
  });

  it('a pod deleted while it uploads is retried, and the task succeeds', async () => {
    const notes: string[] = [];
    const ex = viaProxy({ note: (_: string, m: string) => notes.push(m) });
    const b = await box();
    // The first pod's result.json cannot be written (its upload keeps retrying): delete the pod then.
    proxy.inject({ match: (m, u) => m === 'PUT' && u.includes('-a1/result.json'), fault: 'internal', times: Infinity });
    let deleted = '';
    const watcher = setInterval(() => {
      if (deleted) return;
      for (const p of c.kube.listObjects('pods', c.kube.namespace) as Pod[]) {
        const st = p.status?.containerStatuses ?? [];
        if (st.find((s) => s.name === 'task')?.state.terminated && st.find((s) => s.name === 'upload')?.state.running && proxy.requests.some((q) => q.fault && q.url.includes('result.json'))) {
          deleted = p.metadata.name!;
          // The rule matches attempt 1 only: its upload cannot finish before the kill arrives.
          c.kube.deletePod(deleted);
        }
      }
    }, 50);
    try {
      const r = await ex.run(taskSpec(b, { argv: ['sh', '-c', 'echo kept > kept.txt'] }), never());
      expect(deleted).not.toBe('');
      expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(notes.join('\n')).toMatch(/ended before its outputs were uploaded.*retrying \(1\/3\)/);
      expect(await readFile(path.join(b.workDir, 'kept.txt'), 'utf8')).toBe('kept\n');
    } finally {
      clearInterval(watcher);
      proxy.clear();
      await ex.shutdown();
    }
  });

  it('a stage-in that cannot fetch fails the task before the tool runs, naming the location', async () => {
    const ex = viaProxy();
    const b = await box();
    const input = path.join(b.dir, 'input.txt');
    await writeFile(input, 'data\n');
    proxy.inject({ match: (m, u) => m === 'GET' && u.includes('/files/'), fault: 'reset', times: Infinity });
    try {
      const spec: TaskSpec = taskSpec(b, { argv: ['sh', '-c', `cat ${input} > copy.txt; touch ran`], mounts: [{ hostPath: input, taskPath: input, readOnly: true }] });
      const r = await ex.run(spec, never());
      expect(r.reason).toBe('failed');
      expect(r.message).toMatch(/init container stage-in exited with code 1: .*s3:\/\/strand-faults\/strand\/runs\/contract-run\/files\//);
      await expect(readFile(path.join(b.workDir, 'ran'))).rejects.toThrow();
    } finally {
      proxy.clear();
      await ex.shutdown();
    }
  });

  it('gives inputs at the paths the command line names, read-only to the tool, fetched once per run; credentials only by reference', async () => {
    const ex = c.executor();
    const b = await box();
    const input = path.join(b.dir, 'ref.txt');
    await writeFile(input, 'reference\n');
    try {
      const mounts = [{ hostPath: input, taskPath: input, readOnly: true }];
      const specs = [0, 1].map((i) => taskSpec(b, { argv: ['sh', '-c', `cat ${input} > out-${i}.txt`], mounts }));
      const rs = await Promise.all(specs.map((s) => ex.run(s, never())));
      for (const r of rs) expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
      expect(await readFile(path.join(b.workDir, 'out-1.txt'), 'utf8')).toBe('reference\n');
      const jobs = c.kube.listObjects('jobs', c.kube.namespace);
      const text = JSON.stringify(jobs);
      expect(text).toContain(`"secretRef":{"name":"${SECRET}"}`);
      expect(text).not.toContain(c.s3.credentials.secretAccessKey);
    } finally {
      await ex.shutdown();
    }
    // Strand put the input in the bucket once for both tasks.
    const t = ex.stats.transfers ?? [];
    expect(t.reduce((n, x) => n + x.leaderUploaded.files, 0)).toBe(1);
    expect(t.map((x) => x.podFetched.files)).toEqual([1, 1]);
  });
});
