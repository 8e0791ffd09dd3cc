/**
 * The lab server assembled (startLabServer), in this process, against the fake API server: the
 * model is test/e2e/lab-server.e2e.test.ts, which does the same on a real cluster. The server
 * connects with its own ServiceAccount's token and exactly the rights `strand rbac --server`
 * prints (serverRbacObjects), read from a config file as a user writes one; members sign in with
 * ServiceAccount tokens of the fake (TokenReview) and act through short-lived `strand-member`
 * tokens in namespaces of their own (TokenRequest):
 *
 *   - no token, a forged token: 401 with WWW-Authenticate: Bearer; a member's first request makes
 *     their namespace; a namespace of that name an administrator made is a 403, left untouched;
 *   - alice's multipart RunWorkflow (the hello example, attached): its leader Job in her namespace
 *     with the server's leader settings, QUEUED or INITIALIZING until its leader runs (in this
 *     process: the fake cannot run the leader pod), then COMPLETE with the expected outputs and
 *     eight tasks that exited 0; bob's list lacks it, and every route answers him as for an id
 *     never used;
 *   - a second server on the same cluster (a restart) answers the same;
 *   - a cancel before the leader ran: CANCELED, its leader Job gone;
 *   - `--auth token`: the token it made works, another is a 401, a non-loopback host is refused;
 *   - from the fake's request log: the server's own token made only the calls its rights are for,
 *     and everything in members' namespaces was made with their own tokens.
 *
 * Every JSON answer is checked against the vendored WES 1.1 spec.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { leaderJobName } from '../../src/cluster/leader-manifests.js';
import { LABELS, MANAGED_BY } from '../../src/cluster/names.js';
import { UsageError } from '../../src/errors.js';
import { startLabServer, type LabServer, type ServerAuth } from '../../src/server/lab-server.js';
import { MEMBER_ANNOTATION, MEMBER_SERVICE_ACCOUNT } from '../../src/server/members/member-role.js';
import { memberNamespaceName } from '../../src/server/members/namespace-name.js';
import { DEFAULT_SERVER_SERVICE_ACCOUNT, serverRbacObjects, serverRules } from '../../src/server/members/server-rbac.js';
import { loadServerConfig } from '../../src/server/server-config.js';
import { startFakeKube, type FakeKube, type KubeObject } from '../support/fake-kube/index.js';
import { eventually } from '../support/fake-kube/test-helpers.js';
import { runLeaderInProcess } from '../support/in-process-leader.js';
import { applyAsAdmin, kubeApiFor, serviceAccountToken } from '../support/lab-cluster.js';
import { loadWesSpec } from '../support/wes-spec.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HELLO = path.join(ROOT, 'examples/hello');
const SERVER_NS = 'strand-lab-system';
const PEOPLE_NS = 'strand-lab-people';
const LEADER_IMAGE = 'registry.invalid/strand:lab-test';
const LEADER_SA = 'lab-leader';
const WES = '/ga4gh/wes/v1';
const PEOPLE = ['alice', 'bob', 'carol'] as const;
type Person = (typeof PEOPLE)[number];

const spec = loadWesSpec();
const user = (sa: string) => `system:serviceaccount:${PEOPLE_NS}:${sa}`;
const serverUser = `system:serviceaccount:${SERVER_NS}:${DEFAULT_SERVER_SERVICE_ACCOUNT}`;

let fake: FakeKube;
let work = '';
let workspace = '';
let serverToken = '';
const tokens = {} as Record<Person, string>;
const ns = {} as Record<Person, string>;
const logLines: string[] = [];
const servers: LabServer[] = [];
let server: LabServer;
const savedKubeconfig = process.env.KUBECONFIG;

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
}

/**
 * One WES request to `on` (default: the server of the moment) as `token`. A JSON answer is checked
 * against the spec's schema for `template` and its status (an error status the spec does not list
 * for the operation: against ErrorResponse).
 */
async function call(token: string | undefined, method: string, route: string, template: string, body?: FormData, on: LabServer = server): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${on.origin}${WES}${route}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  const json = isJson ? JSON.parse(text) : undefined;
  if (isJson) {
    const v = spec.check(method, template, res.status, json);
    expect(v.errors, `${v.operation} ${res.status} against ${v.schema}: ${text}`).toEqual([]);
    if (res.status >= 400) expect(json).toEqual({ msg: expect.any(String), status_code: res.status });
  }
  return { status: res.status, headers: res.headers, json, text };
}

const stateOf = async (who: Person, runId: string): Promise<string> => {
  const r = await call(tokens[who], 'GET', `/runs/${runId}/status`, '/runs/{run_id}/status');
  expect(r.status, r.text).toBe(200);
  return r.json.state as string;
};

/** The hello example as a multipart RunWorkflow request, its files attached. */
function helloRequest(): FormData {
  const f = new FormData();
  const texts = ['river', 'lighthouse', 'orchard'];
  f.append('workflow_url', 'wordcount.cwl');
  f.append('workflow_type', 'CWL');
  f.append('workflow_type_version', 'v1.2');
  f.append('workflow_params', JSON.stringify({ texts: texts.map((t) => ({ class: 'File', location: `texts/${t}.txt` })), top: 10 }));
  f.append('tags', JSON.stringify({ project: 'lab-server-test' }));
  f.append('workflow_attachment', new Blob([readFileSync(path.join(HELLO, 'wordcount.cwl'))]), 'wordcount.cwl');
  for (const t of texts) f.append('workflow_attachment', new Blob([readFileSync(path.join(HELLO, 'texts', `${t}.txt`))]), `texts/${t}.txt`);
  return f;
}

/** A one-step run that never gets to run here (its leader is not started): for cancelling. */
function sleepRequest(): FormData {
  const f = new FormData();
  f.append('workflow_url', 'sleep.cwl');
  f.append('workflow_type', 'CWL');
  f.append('workflow_type_version', 'v1.2');
  f.append('workflow_params', '{}');
  f.append('workflow_attachment', new Blob(['cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [sleep, "600"]\ninputs: []\noutputs: []\n']), 'sleep.cwl');
  return f;
}

async function start(configFile: string, auth: ServerAuth = 'kubernetes'): Promise<LabServer> {
  const s = await startLabServer({ config: loadServerConfig(configFile, 'registry.invalid/strand:default'), auth, version: '0.0.0-test', log: (l) => logLines.push(l) });
  servers.push(s);
  return s;
}

/** Every object in `namespace` of the kinds a member's namespace holds, and the Namespace: what "untouched" compares. */
function namespaceContents(namespace: string): unknown {
  const kinds = ['serviceaccounts', 'rolebindings', 'roles', 'resourcequotas', 'limitranges', 'jobs', 'configmaps', 'secrets', 'persistentvolumeclaims'];
  return {
    namespace: fake.getObject('namespaces', '', namespace),
    ...Object.fromEntries(kinds.map((k) => [k, fake.listObjects(k, namespace)])),
  };
}

let labConfig = '';

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'strand-lab-server-'));
  workspace = path.join(work, 'workspace');
  mkdirSync(workspace);
  fake = await startFakeKube({
    namespaces: [SERVER_NS, PEOPLE_NS],
    pvcHostPaths: { 'strand-workspace': workspace },
    node: { cpu: '64', memory: '256Gi', pods: 500 },
    jobBackoffBaseMs: 50,
    kubeletBackoffMs: 100,
  });
  // The leader pod cannot run on the fake: its image is not pulled, and the leader is run in this process when a test needs it.
  fake.imagePullFails(LEADER_IMAGE, 'ErrImagePull');
  // The administrator: the server's rights as `strand rbac --server` prints them, and the people's accounts.
  await applyAsAdmin(fake, [
    ...serverRbacObjects({ namespace: SERVER_NS }),
    ...PEOPLE.map((sa) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: PEOPLE_NS } })),
  ]);
  for (const sa of PEOPLE) {
    tokens[sa] = await serviceAccountToken(fake, PEOPLE_NS, sa);
    ns[sa] = memberNamespaceName(user(sa));
  }
  // carol's namespace name is taken by one the administrator made: Strand must not adopt it.
  await applyAsAdmin(fake, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.carol } }]);

  // The server's own connection: its ServiceAccount's token, nothing of the administrator's.
  serverToken = await serviceAccountToken(fake, SERVER_NS, DEFAULT_SERVER_SERVICE_ACCOUNT);
  copyFileSync(fake.kubeconfigFor(serverToken, SERVER_NS), path.join(work, 'server.kubeconfig'));
  labConfig = path.join(work, 'lab.yaml');
  writeFileSync(
    labConfig,
    stringify({
      listen: { host: '127.0.0.1', port: 0 },
      kubeconfig: 'server.kubeconfig',
      leader: { image: LEADER_IMAGE, imagePullPolicy: 'IfNotPresent', serviceAccount: LEADER_SA, cpu: '150m', memory: '300Mi', restarts: 1 },
      runs: { kubernetes: { workspace: { claimName: 'strand-workspace', mountPath: workspace, localPath: workspace }, defaultImage: 'registry.invalid/bio:1', requestsPerSecond: 1000 } },
    }),
  );
  // The server finds its cluster from its config file alone, never from the environment.
  process.env.KUBECONFIG = path.join(work, 'no-such-kubeconfig');
  server = await start(labConfig);
});

afterAll(async () => {
  for (const s of servers) await s.close().catch(() => undefined);
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await fake?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('strand server in-process on the fake API server, with only its printed rights', () => {
  it('signs members in with their Kubernetes tokens, each in a namespace made on first sign-in; no token or a forged one is a 401; a namespace Strand did not make is a 403, left as it was', async () => {
    const forged = `${tokens.alice.slice(0, -6)}${tokens.alice.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
    for (const token of [undefined, 'not-a-token', forged]) {
      const r = await call(token, 'GET', '/runs', '/runs');
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(fake.listObjects('namespaces').map((n) => n.metadata.name)).not.toContain(ns.alice);

    for (const sa of ['alice', 'bob'] as const) {
      const r = await call(tokens[sa], 'GET', '/runs', '/runs');
      expect(r.status, r.text).toBe(200);
      expect(r.json.runs).toEqual([]);
      const made = fake.getObject('namespaces', '', ns[sa])!;
      expect(made.metadata.labels?.[LABELS.managedBy]).toBe(MANAGED_BY);
      expect(made.metadata.annotations?.[MEMBER_ANNOTATION]).toBe(user(sa));
      // The leader's ServiceAccount of the server's config, bound in the member's namespace.
      expect(fake.getObject('serviceaccounts', ns[sa], LEADER_SA)).toBeDefined();
      expect(fake.getObject('serviceaccounts', ns[sa], MEMBER_SERVICE_ACCOUNT)).toBeDefined();
      // The lab's storage: the administrator gives each member's namespace its workspace claim.
      await kubeApiFor(fake).core.createNamespacedPersistentVolumeClaim({
        namespace: ns[sa],
        body: { metadata: { name: 'strand-workspace' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } },
      });
    }

    const before = JSON.stringify(namespaceContents(ns.carol));
    const carol = await call(tokens.carol, 'GET', '/runs', '/runs');
    expect(carol.status, carol.text).toBe(403);
    expect(carol.json.msg).toContain(ns.carol);
    expect(JSON.stringify(namespaceContents(ns.carol))).toBe(before);
    expect(fake.getObject('namespaces', '', ns.carol)?.metadata.labels?.[LABELS.managedBy]).toBeUndefined();
  });

  let helloRun = '';
  it("runs the hello example for alice: a leader Job in her namespace with the server's settings, then COMPLETE with its outputs; bob sees nothing of it", async () => {
    const posted = await call(tokens.alice, 'POST', '/runs', '/runs', helloRequest());
    expect(posted.status, posted.text).toBe(200);
    helloRun = posted.json.run_id as string;

    // Its leader Job: in alice's namespace, with the leader of the server's config file.
    const job = fake.getObject('jobs', ns.alice, leaderJobName(helloRun)) as (KubeObject & { spec: { backoffLimit: number; template: { spec: { serviceAccountName: string; containers: Array<{ image: string; imagePullPolicy: string; resources: unknown }> } } } }) | undefined;
    expect(job).toBeDefined();
    const pod = job!.spec.template.spec;
    expect(pod.serviceAccountName).toBe(LEADER_SA);
    expect(pod.containers[0]).toMatchObject({ image: LEADER_IMAGE, imagePullPolicy: 'IfNotPresent', resources: { requests: { cpu: '150m', memory: '300Mi' }, limits: { memory: '300Mi' } } });
    expect(job!.spec.backoffLimit).toBe(1);
    expect(fake.listObjects('jobs', ns.bob)).toEqual([]);

    // Until its leader runs: queued, or its pod starting.
    expect(['QUEUED', 'INITIALIZING']).toContain(await stateOf('alice', helloRun));
    const listed = await call(tokens.alice, 'GET', '/runs', '/runs');
    expect(listed.json.runs).toEqual([{ run_id: helloRun, state: expect.stringMatching(/^(QUEUED|INITIALIZING)$/), start_time: expect.any(String), tags: expect.any(Object) }]);

    // The leader, as its pod would run it: with the leader ServiceAccount's token, in her namespace.
    const leaderToken = await serviceAccountToken(fake, ns.alice, LEADER_SA);
    const ended = await runLeaderInProcess(fake, {
      api: kubeApiFor(fake, leaderToken, ns.alice),
      namespace: ns.alice,
      runId: helloRun,
      mountsDir: path.join(work, 'mounts'),
      kubeconfig: fake.kubeconfigFor(leaderToken, ns.alice),
    });
    expect(ended).toBe('success');

    expect(await stateOf('alice', helloRun)).toBe('COMPLETE');
    const log = await call(tokens.alice, 'GET', `/runs/${helloRun}`, '/runs/{run_id}');
    expect(log.status, log.text).toBe(200);
    expect(log.json).toMatchObject({ run_id: helloRun, state: 'COMPLETE' });
    const outputs = log.json.outputs as Record<string, { path?: string; location?: string } | number[]>;
    const top = outputs.top_words as { path?: string; location?: string };
    expect(readFileSync(top.path ?? fileURLToPath(top.location!), 'utf8')).toBe(readFileSync(path.join(HELLO, 'expected/top-words.txt'), 'utf8'));
    // wc -l of each text, in input order.
    expect(outputs.line_counts).toEqual(['river', 'lighthouse', 'orchard'].map((t) => readFileSync(path.join(HELLO, 'texts', `${t}.txt`), 'utf8').split('\n').length - 1));
    const tasks = await call(tokens.alice, 'GET', `/runs/${helloRun}/tasks`, '/runs/{run_id}/tasks');
    expect(tasks.status, tasks.text).toBe(200);
    expect((tasks.json.task_logs as Array<{ exit_code: number }>).map((t) => t.exit_code)).toEqual(Array(8).fill(0));
    expect((await call(tokens.alice, 'GET', '/runs', '/runs')).json.runs).toMatchObject([{ run_id: helloRun, state: 'COMPLETE' }]);

    // bob: not in his list, and every route answers him as for an id never used.
    expect((await call(tokens.bob, 'GET', '/runs', '/runs')).json.runs).toEqual([]);
    const ghost = `${helloRun.slice(0, -4)}${helloRun.endsWith('0000') ? '1111' : '0000'}`;
    for (const [method, route, template] of [
      ['GET', '', '/runs/{run_id}'],
      ['GET', '/status', '/runs/{run_id}/status'],
      ['GET', '/tasks', '/runs/{run_id}/tasks'],
      ['POST', '/cancel', '/runs/{run_id}/cancel'],
    ] as const) {
      const his = await call(tokens.bob, method, `/runs/${helloRun}${route}`, template);
      const never = await call(tokens.bob, method, `/runs/${ghost}${route}`, template);
      expect(his.status, `${method} ${route}`).toBe(404);
      expect(his.text.split(helloRun).join('ID')).toBe(never.text.split(ghost).join('ID'));
    }
    // bob's cancel touched nothing.
    expect(fake.getObject('jobs', ns.alice, leaderJobName(helloRun))?.metadata.deletionTimestamp).toBeUndefined();
    expect(await stateOf('alice', helloRun)).toBe('COMPLETE');
  });

  it('a server restarted on the same cluster answers the same for the run', async () => {
    const read = async (route: string, template: string) => {
      const r = await call(tokens.alice, 'GET', `/runs/${helloRun}${route}`, template);
      expect(r.status, r.text).toBe(200);
      return r.text.split(server.origin).join('ORIGIN');
    };
    const routes = [
      ['', '/runs/{run_id}'],
      ['/status', '/runs/{run_id}/status'],
      ['/tasks', '/runs/{run_id}/tasks'],
    ] as const;
    const before = await Promise.all(routes.map(([r, t]) => read(r, t)));
    const old = server;
    await old.close();
    server = await start(labConfig);
    expect(server.origin).not.toBe(old.origin);
    const after = await Promise.all(routes.map(([r, t]) => read(r, t)));
    expect(after).toEqual(before);
    expect(JSON.parse(after[0]!)).toMatchObject({ run_id: helloRun, state: 'COMPLETE' });
    expect((await call(tokens.bob, 'GET', `/runs/${helloRun}`, '/runs/{run_id}')).status).toBe(404);
  });

  it('cancels a run whose leader has not run: CANCELED, its leader Job gone; bob cannot cancel it', async () => {
    const posted = await call(tokens.alice, 'POST', '/runs', '/runs', sleepRequest());
    expect(posted.status, posted.text).toBe(200);
    const runId = posted.json.run_id as string;
    expect(fake.getObject('jobs', ns.alice, leaderJobName(runId))).toBeDefined();
    expect(['QUEUED', 'INITIALIZING']).toContain(await stateOf('alice', runId));

    expect((await call(tokens.bob, 'POST', `/runs/${runId}/cancel`, '/runs/{run_id}/cancel')).status).toBe(404);
    expect(fake.getObject('jobs', ns.alice, leaderJobName(runId))?.metadata.deletionTimestamp).toBeUndefined();

    const cancel = await call(tokens.alice, 'POST', `/runs/${runId}/cancel`, '/runs/{run_id}/cancel');
    expect(cancel.status, cancel.text).toBe(200);
    expect(cancel.json).toEqual({ run_id: runId });
    await eventually(() => (fake.getObject('jobs', ns.alice, leaderJobName(runId)) ? undefined : true), 'the leader Job to go');
    expect(await stateOf('alice', runId)).toBe('CANCELED');
    const listed = await call(tokens.alice, 'GET', '/runs', '/runs');
    expect((listed.json.runs as Array<{ run_id: string; state: string }>).map((r) => [r.run_id, r.state])).toEqual([
      [runId, 'CANCELED'],
      [helloRun, 'COMPLETE'],
    ]);
    // service-info counts the caller's own runs only.
    const counts = async (who: Person) => (await call(tokens[who], 'GET', '/service-info', '/service-info')).json.system_state_counts as Record<string, number>;
    expect(Object.entries(await counts('alice')).filter(([, n]) => n > 0)).toEqual(expect.arrayContaining([['CANCELED', 1], ['COMPLETE', 1]]));
    expect(Object.values(await counts('alice')).reduce((a, b) => a + b, 0)).toBe(2);
    expect(Object.values(await counts('bob')).reduce((a, b) => a + b, 0)).toBe(0);
    // Cancelling it again is no error, and changes nothing.
    expect((await call(tokens.alice, 'POST', `/runs/${runId}/cancel`, '/runs/{run_id}/cancel')).json).toEqual({ run_id: runId });
    expect(await stateOf('alice', runId)).toBe('CANCELED');
  });

  it("--auth token: the token made at start works, another is a 401; a host other than loopback is refused at start", async () => {
    // One user on their machine, with their own kubeconfig (here the fake's administrator).
    const own = path.join(work, 'own.yaml');
    writeFileSync(own, stringify({ listen: { host: '127.0.0.1', port: 0 }, kubeconfig: fake.kubeconfigPath, leader: { image: LEADER_IMAGE } }));
    const local = await start(own, 'token');
    expect(local.token).toMatch(/\S{20,}/);
    const ok = await call(local.token, 'GET', '/runs', '/runs', undefined, local);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.runs).toEqual([]);
    expect((await call(local.token, 'GET', '/service-info', '/service-info', undefined, local)).status).toBe(200);
    for (const other of [undefined, tokens.alice, serverToken, `${local.token!.slice(0, -1)}${local.token!.endsWith('x') ? 'y' : 'x'}`]) {
      const r = await call(other, 'GET', '/runs', '/runs', undefined, local);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    // The lab server does not take the loopback token, nor the loopback server a member's.
    expect((await call(local.token, 'GET', '/runs', '/runs')).status).toBe(401);

    const open = path.join(work, 'open.yaml');
    writeFileSync(open, stringify({ listen: { host: '0.0.0.0', port: 0 }, kubeconfig: fake.kubeconfigPath }));
    const refused = await start(open, 'token').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(UsageError);
    expect((refused as Error).message).toMatch(/loopback only.*not 0\.0\.0\.0/);
  });

  it("made every call in members' namespaces with the members' own tokens; the server's token only for what its rights are for", () => {
    const memberNs = [ns.alice, ns.bob];
    const inMembers = fake.requests.filter((r) => r.namespace !== undefined && memberNs.includes(r.namespace));
    const by = (namespace: string, sa: string) => `system:serviceaccount:${namespace}:${sa}`;
    // Jobs, ConfigMaps, Secrets, pods in a member's namespace: only ever with that namespace's strand-member
    // token (the server, for the member) or its leader's (the leader's task Jobs), never the server's own.
    const writes = inMembers.filter((r) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(r.verb) && ['jobs', 'configmaps', 'secrets', 'pods'].includes(r.resource));
    expect(writes.length).toBeGreaterThan(0);
    for (const r of writes) expect([by(r.namespace!, MEMBER_SERVICE_ACCOUNT), by(r.namespace!, LEADER_SA)], `${r.verb} ${r.path}`).toContain(r.user);
    // Each of alice's two runs: its leader Job made with her strand-member token; her leader made the eight task Jobs.
    const jobsMade = (u: string) => inMembers.filter((r) => r.verb === 'create' && r.resource === 'jobs' && r.status === 201 && r.user === u).length;
    expect(jobsMade(by(ns.alice, MEMBER_SERVICE_ACCOUNT))).toBe(2);
    expect(jobsMade(by(ns.alice, LEADER_SA))).toBe(8);
    // Nobody else acted in a member's namespace: its own strand-member and leader accounts, the server
    // (provisioning it, minting strand-member tokens) and the administrator's own setup.
    for (const r of inMembers) {
      const own = [by(r.namespace!, MEMBER_SERVICE_ACCOUNT), by(r.namespace!, LEADER_SA)];
      if (r.user === serverUser) expect(['create serviceaccounts', 'create rolebindings', 'create serviceaccounts/token'], r.path).toContain(`${r.verb} ${r.resource}`);
      else if (r.user === 'fake-kube-user') expect(['create persistentvolumeclaims', 'create serviceaccounts/token'], r.path).toContain(`${r.verb} ${r.resource}`);
      else expect(own, `${r.verb} ${r.path}`).toContain(r.user);
    }
    // The members' rights sufficed: nothing done for them was refused.
    expect(inMembers.filter((r) => r.status === 403).map((r) => `${r.user} ${r.verb} ${r.path}`)).toEqual([]);

    // The server's own token: only what serverRules grants, and it was never refused.
    const own = fake.requests.filter((r) => r.user === serverUser);
    const granted = new Set(serverRules().flatMap((rule) => rule.resources.flatMap((res) => rule.verbs.map((v) => `${v} ${res}`))));
    const used = new Set(own.map((r) => `${r.verb} ${r.resource}`));
    for (const u of used) expect(granted, u).toContain(u);
    expect(own.filter((r) => r.status === 403)).toEqual([]);
    for (const needed of ['create tokenreviews', 'create namespaces', 'create serviceaccounts/token', 'create rolebindings']) expect(used).toContain(needed);

    // Tokens are never in what the servers said.
    const said = logLines.join('\n');
    for (const t of [...Object.values(tokens), serverToken, ...servers.flatMap((s) => (s.token ? [s.token] : []))]) expect(said).not.toContain(t);
  });
});
