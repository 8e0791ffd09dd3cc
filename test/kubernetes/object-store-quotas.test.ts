/**
 * Object-store mode in a namespace as labs set them up (issue 18, points 1 and 5): a ResourceQuota on
 * requests.cpu, requests.memory and limits.memory, and a LimitRange with a CPU minimum and
 * maximum per container. The stage-in and upload containers Strand adds must be admitted: they
 * once asked for no CPU, and every task pod was refused (`must specify requests.cpu`).
 * `strand doctor` checks what that mode needs (bucket, credentials Secret, helper image and
 * resources) instead of a workspace claim. Needs `npm run build` (the pods run the built CLI).
 */
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskSpec } from '../contract/executor-contract.js';
import { SECRET, startFakeObjectStoreCluster, type FakeObjectStoreCluster } from '../support/fake-object-store-cluster.js';
import { runStrand } from '../support/strand-cli.js';

let c: FakeObjectStoreCluster;
let core: CoreV1Api;

beforeAll(async () => {
  c = await startFakeObjectStoreCluster({ bucket: 'strand-quotas' });
  const kc = new KubeConfig();
  kc.loadFromFile(c.kube.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  const namespace = c.kube.namespace;
  await core.createNamespacedResourceQuota({
    namespace,
    body: { metadata: { name: 'lab' }, spec: { hard: { 'requests.cpu': '8', 'requests.memory': '16Gi', 'limits.memory': '32Gi' } } },
  });
});
afterAll(async () => {
  await c?.close();
});

/** Runs one task in object-store mode; returns its result and what the executor said. */
async function runTask(): Promise<{ reason: string; message: string; made: string | undefined; notes: string[] }> {
  const notes: string[] = [];
  const ex = c.executor({}, { info: (m: string) => notes.push(m) });
  const dir = await mkdtemp(path.join(c.localRoot, 'box-'));
  const b = { dir, workDir: path.join(dir, 'work'), tmpDir: path.join(dir, 'tmp'), logDir: path.join(dir, 'logs') };
  await mkdir(b.workDir);
  await mkdir(b.tmpDir);
  try {
    const r = await ex.run(taskSpec(b, { argv: ['sh', '-c', 'echo made > made.txt'], resources: { cores: 1, ramMiB: 64, tmpdirMiB: 1, outdirMiB: 1 } }), new AbortController().signal);
    const made = await readFile(path.join(b.workDir, 'made.txt'), 'utf8').catch(() => undefined);
    return { reason: r.reason, message: r.message, made, notes };
  } finally {
    await ex.shutdown();
  }
}

describe('object-store mode under a CPU and memory quota', () => {
  it('runs a task: the helper containers ask for CPU and memory (once refused: must specify requests.cpu)', async () => {
    const r = await runTask();
    expect(r.reason, r.message).toBe('completed');
    expect(r.made).toBe('made\n');
  });

  it("and a LimitRange with a CPU minimum and maximum: the helpers' requests are raised to the minimum, and the run says so", async () => {
    await core.createNamespacedLimitRange({
      namespace: c.kube.namespace,
      body: { metadata: { name: 'lab' }, spec: { limits: [{ type: 'Container', min: { cpu: '50m', memory: '32Mi' }, max: { cpu: '4', memory: '8Gi' } }] } },
    });
    const r = await runTask();
    expect(r.reason, r.message).toBe('completed');
    expect(r.made).toBe('made\n');
    expect(r.notes.join('\n')).toContain('cpu request 0 -> 50m (LimitRange lab min)');
  });
});

describe('strand doctor in object-store mode', () => {
  const doctor = () => runStrand(['doctor', '--executor', 'kubernetes'], { cwd: c.localRoot, env: { ...c.env, STRAND_STORE: path.join(c.localRoot, 'store') } });

  it('checks the bucket, the credentials Secret, the helper image and resources, not a workspace claim', async () => {
    const r = await doctor();
    expect(r.stdout + r.stderr).toContain('object-store mode');
    expect(r.stdout).toMatch(/bucket.*strand-quotas exists/);
    expect(r.stdout).toContain(`Secret ${SECRET}`);
    expect(r.stdout).toContain('helper resources');
    expect(r.stdout).not.toContain('kubernetes.workspace is not set');
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('fails naming a missing credentials Secret, with the command that makes it', async () => {
    await core.deleteNamespacedSecret({ name: SECRET, namespace: c.kube.namespace });
    const r = await doctor();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`Secret ${SECRET} does not exist`);
    expect(r.stdout).toContain('kubectl -n');
  });
});

