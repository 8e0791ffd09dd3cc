/**
 * Issue 16, classes 6 and 9 on the cluster paths: credentials in URLs (`user:pw@`, a pre-signed S3
 * signature) are never printed by `strand submit` or the Kubernetes --dry-run, nor put in a
 * ConfigMap, a Job, an annotation or the local run store: the job travels in a Secret the leader
 * pod alone mounts. And `strand submit` makes the namespace's cache key Secret when it is missing,
 * never replacing one, with no more than the rights `strand rbac --user` grants.
 *
 * Against the fake API server (test/support/fake-kube); the leader pod never starts here (its
 * image cannot be pulled): what is under test is what submit creates and prints.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rbacObjects } from '../../src/cluster/rbac.js';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster.js';
import { built, runStrand, type Ran } from '../support/strand-cli.js';

const PASSWORD = 'pw-Kq73vX';
const SIGNATURE = 'sig-5150beef';
const KEY_ID = 'AKIAEXAMPLE77';
const SECRETS = [PASSWORD, SIGNATURE, KEY_ID];
const IMAGE = 'registry.invalid/strand:test';
const fileUrl = `https://reader:${PASSWORD}@data.example.org/genome/chr1.fa?X-Amz-Credential=${KEY_ID}%2F20261206&X-Amz-Signature=${SIGNATURE}`;
const stringUrl = `https://other:${PASSWORD}@data.example.org/list.txt?X-Amz-Signature=${SIGNATURE}`;

let cluster: FakeCluster;
let tmp = '';
let n = 0;

beforeAll(async () => {
  cluster = await startFakeCluster();
  cluster.kube.imagePullFails(IMAGE, 'ErrImagePull');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'strand-sec-cluster-'));
  writeFileSync(
    path.join(tmp, 'fetch.cwl'),
    [
      'cwlVersion: v1.2',
      'class: CommandLineTool',
      'baseCommand: [echo]',
      'inputs:',
      '  genome: {type: File, inputBinding: {position: 1}}',
      '  url: {type: string, inputBinding: {position: 2}}',
      'outputs: {out: stdout}',
    ].join('\n') + '\n',
  );
  writeFileSync(path.join(tmp, 'job.yml'), `genome: {class: File, location: "${fileUrl}"}\nurl: "${stringUrl}"\n`);
  writeFileSync(path.join(tmp, 'string.cwl'), 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [echo]\ninputs:\n  url: {type: string, inputBinding: {position: 1}}\noutputs: {out: stdout}\n');
  writeFileSync(path.join(tmp, 'string-job.yml'), `url: "${stringUrl}"\n`);
});
afterAll(async () => {
  await cluster?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const ns = () => cluster.kube.namespace;
const store = () => path.join(tmp, 'store');

function strand(args: string[]): Promise<Ran> {
  return runStrand(args, { cwd: tmp, env: { ...cluster.env, STRAND_STORE: store() } });
}

function submit(extra: string[] = []): Promise<Ran> {
  return strand(['submit', '--image', IMAGE, '--run-id', `cred-${++n}`, ...extra, 'fetch.cwl', 'job.yml']);
}

/** Every object of `resource` in the namespace, as JSON text (Secrets decoded, to look inside them too). */
function objectsText(resource: string): string {
  return cluster.kube
    .listObjects(resource, ns())
    .map((o) => JSON.stringify(o))
    .join('\n');
}

/** The bytes of every file under `dir`, as one text. */
function allBytes(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(path.join(e.parentPath, e.name)).toString('latin1'))
    .join('\n');
}

/** The API as the administrator (the fake's RBAC allows everything unless a test sets rules). */
function adminCore(): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kube.kubeconfigPath);
  return kc.makeApiClient(CoreV1Api);
}

function decodedSecret(name: string): Record<string, string> | undefined {
  const s = cluster.kube.getObject('secrets', ns(), name) as { data?: Record<string, string> } | undefined;
  if (!s) return undefined;
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

describe.skipIf(!built)('strand submit keeps credentials in URLs out of what it prints and of every object but a Secret', () => {
  beforeEach(() => cluster.kube.clearFaults());

  it('the job (with user:pw@ and a pre-signed signature) travels in a Secret; ConfigMaps, Jobs, pods, output and the run store show none of it', async () => {
    const r = await submit();
    expect(r.code, r.stderr).toBe(0);
    const runId = r.stdout.trim();
    expect(runId).toBe(`cred-${n}`);
    for (const secret of SECRETS) {
      expect(r.stdout + r.stderr).not.toContain(secret);
      for (const resource of ['configmaps', 'jobs', 'pods', 'events']) expect(objectsText(resource), resource).not.toContain(secret);
      expect(allBytes(store()), 'the local run store').not.toContain(secret);
    }
    // The leader still gets the real job: in the run's Secret, which its pod mounts, owned by the bundle ConfigMap.
    const job = decodedSecret(`strand-job-${runId}`);
    expect(JSON.parse(job?.['job.json'] ?? '{}')).toMatchObject({ genome: { class: 'File', location: fileUrl }, url: stringUrl });
    const secret = cluster.kube.getObject('secrets', ns(), `strand-job-${runId}`);
    const bundle = cluster.kube.getObject('configmaps', ns(), `strand-bundle-${runId}`);
    expect(secret?.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'ConfigMap', name: bundle?.metadata.name, uid: bundle?.metadata.uid }]);
    const pod = (cluster.kube.getObject('jobs', ns(), `strand-leader-${runId}`) as unknown as { spec: { template: { spec: { volumes: Array<{ name: string; secret?: { secretName: string } }> } } } })
      .spec.template.spec;
    expect(pod.volumes.find((v) => v.name === 'job')?.secret?.secretName).toBe(`strand-job-${runId}`);
    await strand(['cancel', runId]);
  });

  it('makes the cache key Secret once (32 random bytes), never replaces it, and needs only the rights of strand rbac --user', async () => {
    const admin = cluster.kube;
    await adminCore().deleteNamespacedSecret({ name: 'strand-cache-key', namespace: ns() }).catch(() => undefined);
    // Strict RBAC: exactly the Role `strand rbac --user` prints.
    const { role } = rbacObjects({ namespace: ns(), users: ['alice'] });
    admin.setRbac(role.rules!.map((rule) => ({ verbs: rule.verbs, apiGroups: rule.apiGroups ?? [''], resources: rule.resources ?? [], namespaces: [ns()] })));
    const first = await submit();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`made Secret strand-cache-key in namespace ${ns()}`);
    const key = decodedSecret('strand-cache-key')?.['key'] ?? '';
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    // A second submit (as a concurrent one would: 409 AlreadyExists) leaves it as it is, and says nothing.
    const second = await submit();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('made Secret strand-cache-key');
    expect(decodedSecret('strand-cache-key')?.['key']).toBe(key);
    // Without the right to create Secrets, submit stops before creating anything, naming what it needs.
    admin.setRbac(role.rules!.filter((rule) => !(rule.resources ?? []).includes('secrets')).map((rule) => ({ verbs: rule.verbs, apiGroups: rule.apiGroups ?? [''], resources: rule.resources ?? [], namespaces: [ns()] })));
    const jobsBefore = admin.listObjects('jobs', ns()).length;
    const denied = await submit();
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('may not create Secret strand-cache-key');
    expect(denied.stderr).toContain('strand rbac');
    expect(admin.listObjects('jobs', ns()).length).toBe(jobsBefore);
    admin.clearFaults();
    for (const id of [first.stdout.trim(), second.stdout.trim()]) await strand(['cancel', id]);
  });

  it('an existing cache key Secret (made by an administrator) is kept as it is', async () => {
    // Replace the key with the administrator's own, through the API as kubectl would.
    const core = adminCore();
    await core.deleteNamespacedSecret({ name: 'strand-cache-key', namespace: ns() }).catch(() => undefined);
    const mine = 'ab'.repeat(32);
    await core.createNamespacedSecret({ namespace: ns(), body: { metadata: { name: 'strand-cache-key' }, data: { key: Buffer.from(mine).toString('base64') } } });
    const r = await submit();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('made Secret strand-cache-key');
    expect(decodedSecret('strand-cache-key')).toEqual({ key: mine });
    await strand(['cancel', r.stdout.trim()]);
  });
});

describe.skipIf(!built)('strand run --executor kubernetes --dry-run', () => {
  it('prints the Job of a task whose argument is a URL with credentials without them', async () => {
    mkdirSync(path.join(tmp, 'dry'), { recursive: true });
    const r = await strand(['run', '--executor', 'kubernetes', '--dry-run', '--outdir', path.join(tmp, 'dry'), 'string.cwl', 'string-job.yml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kind: Job');
    expect(r.stdout).toContain('https://***@data.example.org/list.txt?X-Amz-Signature=***');
    for (const secret of SECRETS) expect(r.stdout + r.stderr).not.toContain(secret);
  });
});
