/**
 * The request a run was submitted with, end to end as the lab server wires it (lab-server.ts):
 * RunWorkflow over the real WES routes and submit path, into the run service over the cluster
 * (the fake API server), and back in GetRunLog's `request` and ListRuns' `tags`, for the run's
 * owner only, after a cancel too; its credentials nowhere but the run's job Secret.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../../../test/support/fake-cluster.js';
import { eventually } from '../../../test/support/fake-kube/test-helpers.js';
import { runLeaderInProcess } from '../../../test/support/in-process-leader.js';
import { loadWesSpec } from '../../../test/support/wes-spec.js';
import { clusterRunService } from '../../api/cluster-runs/cluster-run-service.js';
import type { MemberAccess } from '../../api/member-access.js';
import type { Principal } from '../../api/principal.js';
import { RunNotFoundError, type RunService } from '../../api/run-service.js';
import { RECORDED_PARAMS_MAX } from '../../api/submitted/recorded-request.js';
import { connect } from '../../cluster/connection.js';
import { KubeApi } from '../../cluster/kube-api.js';
import { REQUEST_KEY, bundleName, jobSecretName, leaderJobName, statusName } from '../../cluster/leader-manifests.js';
import { loadDocument } from '../../loader/index.js';
import { NotPermitted, Unauthenticated } from '../server-types.js';
import { submitFromRequest } from '../submit-from-request.js';
import { wesRoutes } from './wes-routes.js';

const IMAGE = 'registry.invalid/strand:test';
const BOB_NS = 'lab-bob-requests';
const BASE = '/ga4gh/wes/v1';
const spec = loadWesSpec();

// Alice and carol share the fake's namespace (a lab with members.namespace); bob has his own.
const alice: Principal = { user: 'alice@lab.example.org', groups: [] };
const carol: Principal = { user: 'carol', groups: [] };
const bob: Principal = { user: 'bob', groups: [] };
const TOKENS: Record<string, Principal> = { 'tok-alice': alice, 'tok-carol': carol, 'tok-bob': bob };

const WF = [
  'cwlVersion: v1.2',
  'class: ExpressionTool',
  '$namespaces: { cwltool: "http://commonwl.org/cwltool#" }',
  'requirements: {InlineJavascriptRequirement: {}}',
  'hints: { cwltool:Secrets: { secrets: [pw] } }',
  'inputs: { word: string, pw: string?, ref: File?, more: File? }',
  'outputs: { same: string }',
  'expression: "$({same: inputs.word})"',
].join('\n');

// What must never be in any object of the namespace but the run's job Secret.
const SECRETS = ['open-sesame-42', 'AKIAFAKEKEYID', 'wJalrXUtnSECRETKEY', 'AKIAFAKECRED2', 'deadbeefSIGNATURE'];
const PARAMS = {
  word: 'hello',
  pw: 'open-sesame-42',
  ref: { class: 'File', location: 's3://AKIAFAKEKEYID:wJalrXUtnSECRETKEY@lab-bucket/ref.fa' },
  more: { class: 'File', location: 'https://data.example/x.bam?X-Amz-Credential=AKIAFAKECRED2&X-Amz-Date=20261120T000000Z&X-Amz-Signature=deadbeefSIGNATURE' },
};
const KEPT_PARAMS = {
  word: 'hello',
  pw: '(secret-pw)',
  ref: { class: 'File', location: 's3://***@lab-bucket/ref.fa' },
  more: { class: 'File', location: 'https://data.example/x.bam?X-Amz-Credential=***&X-Amz-Date=20261120T000000Z&X-Amz-Signature=***' },
};
const TAGS = { project: 'pilot', sample: 'S-01' };

let cluster: FakeCluster;
let api: KubeApi;
let tmp = '';
let server: http.Server;
let origin = '';
let service: RunService;
const hookCalls: string[] = [];
const logged: string[] = [];
const savedKubeconfig = process.env.KUBECONFIG;

beforeAll(async () => {
  cluster = await startFakeCluster();
  cluster.kube.imagePullFails(IMAGE, 'ErrImagePull');
  process.env.KUBECONFIG = cluster.kube.kubeconfigPath;
  api = new KubeApi(connect({ kubeconfig: cluster.kube.kubeconfigPath }), { requestsPerSecond: 1000, baseBackoffMs: 10 });
  await api.core.createNamespace({ body: { metadata: { name: BOB_NS } } });
  await api.core.createNamespacedPersistentVolumeClaim({
    namespace: BOB_NS,
    body: { metadata: { name: 'strand-workspace' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } },
  });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'strand-wes-requests-'));
  const access: MemberAccess = {
    async forMember(p) {
      if (p.user === bob.user) return { namespace: BOB_NS, api };
      return { namespace: cluster.kube.namespace, api };
    },
  };
  const config = { path: '/etc/strand/server.yaml', kubernetes: cluster.settings };
  const leader = { image: IMAGE, serviceAccount: 'strand', cpu: '100m', memory: '128Mi', restarts: 0 };
  service = clusterRunService({ access, config, leader });
  const routes = wesRoutes({
    service,
    authenticate: async (req) => {
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (token === 'tok-nobody') throw new NotPermitted('not a member');
      const p = token === undefined ? undefined : TOKENS[token];
      if (!p) throw new Unauthenticated('no valid bearer token');
      return p;
    },
    submit: submitFromRequest({ service, config, leader, bundleLimit: 1 << 20, log: (l) => logged.push(l) }),
    requestDir: () => mkdtemp(path.join(tmp, 'req-')),
    serviceInfo: { id: 'test.strand', name: 'Strand', organization: { name: 'Lab', url: 'https://lab.example' }, version: '0.1.0', authInstructionsUrl: 'https://lab.example/auth' },
    log: (l) => logged.push(l),
    // As lab-server.ts wires it; the calls are counted.
    recordedRequest: async (p, run) => {
      hookCalls.push(run.id);
      return service.recordedRequest?.(p, run.id);
    },
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
  await new Promise((r) => server?.close(r));
  service?.close();
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await cluster?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: string, url: string, template: string, token: string, body?: FormData): Promise<{ status: number; body: any }> {
  const res = await fetch(`${origin}${BASE}${url}`, { method, headers: { authorization: `Bearer ${token}` }, ...(body ? { body } : {}) });
  const parsed = JSON.parse(await res.text()) as unknown;
  const v = spec.check(method, template, res.status, parsed);
  expect(v.errors, `${v.operation} ${res.status} against ${v.schema}`).toEqual([]);
  return { status: res.status, body: parsed };
}

function form(fields: Record<string, unknown>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.append(k, typeof v === 'string' ? v : JSON.stringify(v));
  f.append('workflow_attachment', new Blob([WF]), 'echo.cwl');
  return f;
}

const FIELDS = { workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_url: 'echo.cwl', workflow_engine_parameters: { cache: 'off' }, tags: TAGS };

async function runWorkflow(token: string, fields: Record<string, unknown>): Promise<string> {
  const a = await call('POST', '/runs', '/runs', token, form(fields));
  expect(a.status, JSON.stringify(a.body)).toBe(200);
  return a.body.run_id as string;
}

/** Every object of the namespace as text (Secrets and binary data decoded), by kind and name. */
function namespaceTexts(ns: string): Array<{ what: string; text: string }> {
  const out: Array<{ what: string; text: string }> = [];
  for (const plural of ['jobs', 'pods', 'events', 'configmaps', 'secrets', 'serviceaccounts', 'roles', 'rolebindings', 'persistentvolumeclaims']) {
    for (const o of cluster.kube.listObjects(plural, ns)) {
      const decoded = [o['data'], o['binaryData']]
        .filter((d): d is Record<string, string> => typeof d === 'object' && d !== null)
        .flatMap((d) => Object.values(d).map((v) => (plural === 'secrets' || d === o['binaryData'] ? Buffer.from(v, 'base64').toString('utf8') : v)));
      out.push({ what: `${plural}/${o.metadata.name}`, text: [JSON.stringify(o), ...decoded].join('\n') });
    }
  }
  return out;
}

describe('the request a run was submitted with, kept with the run on the cluster', () => {
  let runId = '';

  it('comes back in GetRunLog as it was sent, its credentials and secret inputs redacted, and is nowhere unredacted but the job Secret', async () => {
    runId = await runWorkflow('tok-alice', { ...FIELDS, workflow_params: PARAMS });
    const log = await call('GET', `/runs/${runId}`, '/runs/{run_id}', 'tok-alice');
    expect(log.status).toBe(200);
    expect(log.body.request).toEqual({
      workflow_url: 'echo.cwl',
      workflow_type: 'CWL',
      workflow_type_version: 'v1.2',
      workflow_params: KEPT_PARAMS,
      tags: TAGS,
      workflow_engine_parameters: { cache: 'off' },
    });
    expect(log.body.run_log.system_logs).toContainEqual(expect.stringMatching(/^request: workflow_params: kept with the credentials of URLs \(\*\*\*\) and the values of secret inputs/));

    const ns = cluster.kube.namespace;
    const texts = namespaceTexts(ns);
    // The test can see them where they are: the job Secret holds every one.
    const secret = texts.find((t) => t.what === `secrets/${jobSecretName(runId)}`)!;
    for (const s of SECRETS) expect(secret.text).toContain(s);
    for (const t of texts.filter((x) => x !== secret)) for (const s of SECRETS) expect(t.text, `${s} in ${t.what}`).not.toContain(s);
    // The kept request is in the status ConfigMap, and its tags on the Job.
    expect(texts.find((t) => t.what === `configmaps/${statusName(runId)}`)!.text).toContain('(secret-pw)');
    expect(cluster.kube.getObject('jobs', ns, leaderJobName(runId))?.metadata.annotations?.['strand.dev/tags']).toBe(JSON.stringify(TAGS));
  });

  it("gives the tags in ListRuns from what the list read (no further read), and asks for a run's request only where its summary has none", async () => {
    // A run submitted without a request (as strand submit does): no tags, asked for once.
    const doc = path.join(tmp, 'echo.cwl');
    writeFileSync(doc, WF);
    const bare = await service.submit(
      alice,
      { document: doc, documentPath: 'echo.cwl', process: await loadDocument(doc), documentFiles: [doc], inputs: { word: 'plain' }, overrides: {}, leader: { image: IMAGE, serviceAccount: 'strand', cpu: '100m', memory: '128Mi', restarts: 0 }, bundleLimit: 1 << 20, run: { cache: 'off' }, cwd: tmp },
      { info: () => undefined, warn: () => undefined },
    );
    hookCalls.length = 0;
    const list = await call('GET', '/runs', '/runs', 'tok-alice');
    const byId = new Map((list.body.runs as Array<{ run_id: string; tags: Record<string, string> }>).map((r) => [r.run_id, r.tags]));
    expect(byId.get(runId)).toEqual(TAGS);
    expect(byId.get(bare.runId)).toEqual({});
    expect(hookCalls).toEqual([bare.runId]);
    expect((await call('GET', `/runs/${bare.runId}`, '/runs/{run_id}', 'tok-alice')).body.request).toBeUndefined();
  });

  it("is another member's as no run at all: 404, in the same namespace or another", async () => {
    for (const token of ['tok-carol', 'tok-bob']) {
      const a = await call('GET', `/runs/${runId}`, '/runs/{run_id}', token);
      expect(a.status).toBe(404);
      expect(JSON.stringify(a.body)).not.toContain('pilot');
      const list = await call('GET', '/runs', '/runs', token);
      expect(JSON.stringify(list.body)).not.toContain(runId);
    }
    // The run service itself: the same answer as for a run never submitted, for the id or a prefix.
    for (const [p, ref] of [
      [carol, runId],
      [carol, runId.slice(0, 12)],
      [bob, runId],
      [alice, 'never-submitted'],
    ] as const) {
      await expect(service.recordedRequest!(p, ref)).rejects.toThrow(new RunNotFoundError(ref).message);
    }
    // Its owner reads it with one call (its status ConfigMap), or by a unique prefix, as with get.
    cluster.kube.resetRequestLog();
    expect((await service.recordedRequest!(alice, runId))?.tags).toEqual(TAGS);
    expect(cluster.kube.requestCounts()).toEqual({ 'get configmaps': 1 });
    expect((await service.recordedRequest!(alice, runId.slice(0, runId.length - 2)))?.tags).toEqual(TAGS);
  });

  it('survives the leader publishing its state to its end', async () => {
    const id = await runWorkflow('tok-alice', { ...FIELDS, workflow_params: { word: 'to the end' }, tags: { step: 'end' } });
    expect(await runLeaderInProcess(cluster.kube, { api, namespace: cluster.kube.namespace, runId: id, mountsDir: path.join(tmp, 'mounts') })).toBe('success');
    const log = await call('GET', `/runs/${id}`, '/runs/{run_id}', 'tok-alice');
    expect(log.body.state).toBe('COMPLETE');
    expect(log.body.outputs).toEqual({ same: 'to the end' });
    expect(log.body.request).toMatchObject({ workflow_params: { word: 'to the end' }, tags: { step: 'end' } });
  });

  it('is still there once the run is cancelled (its Job, bundle and job Secret gone), for its owner only', async () => {
    const ns = cluster.kube.namespace;
    expect((await call('POST', `/runs/${runId}/cancel`, '/runs/{run_id}/cancel', 'tok-alice')).status).toBe(200);
    await eventually(
      () => (cluster.kube.getObject('jobs', ns, leaderJobName(runId)) || cluster.kube.getObject('configmaps', ns, bundleName(runId)) || cluster.kube.getObject('secrets', ns, jobSecretName(runId)) ? undefined : true),
      'the Job, its bundle and job Secret to go',
    );
    expect(cluster.kube.getObject('configmaps', ns, statusName(runId))?.['data']).toHaveProperty([REQUEST_KEY]);
    const log = await call('GET', `/runs/${runId}`, '/runs/{run_id}', 'tok-alice');
    expect(log.body.state).toBe('CANCELED');
    expect(log.body.request).toMatchObject({ workflow_params: KEPT_PARAMS, tags: TAGS });
    const list = await call('GET', '/runs', '/runs', 'tok-alice');
    expect((list.body.runs as Array<{ run_id: string; tags: unknown }>).find((r) => r.run_id === runId)?.tags).toEqual(TAGS);
    expect((await call('GET', `/runs/${runId}`, '/runs/{run_id}', 'tok-carol')).status).toBe(404);
    // Nothing unredacted is left in the namespace at all now.
    for (const t of namespaceTexts(ns)) for (const s of SECRETS) expect(t.text, `${s} in ${t.what}`).not.toContain(s);
  });

  it('leaves out params too large to keep, saying so, and keeps the rest', async () => {
    const word = 'w'.repeat(RECORDED_PARAMS_MAX + 1024);
    const id = await runWorkflow('tok-bob', { ...FIELDS, workflow_params: { word } });
    const log = await call('GET', `/runs/${id}`, '/runs/{run_id}', 'tok-bob');
    expect(log.body.request).toEqual({ workflow_url: 'echo.cwl', workflow_type: 'CWL', workflow_type_version: 'v1.2', tags: TAGS, workflow_engine_parameters: { cache: 'off' } });
    expect(log.body.run_log.system_logs).toContainEqual(`request: workflow_params: not kept (${Buffer.byteLength(JSON.stringify({ word }))} bytes of JSON, more than the ${RECORDED_PARAMS_MAX} kept with a run); the run has them all`);
    // The run itself has them all: its job Secret.
    const secret = cluster.kube.getObject('secrets', BOB_NS, jobSecretName(id)) as unknown as { data: Record<string, string> };
    expect((JSON.parse(Buffer.from(secret.data['job.json']!, 'base64').toString('utf8')) as { word: string }).word).toBe(word);
  });
});
