/**
 * The lab server (issue 19) on a real cluster: `strand server` with the rights `strand rbac
 * --server` prints and nothing more (its own ServiceAccount token, not the admin's), two members
 * who sign in with Kubernetes ServiceAccount tokens (TokenReview), a namespace each made on first
 * sign-in, and GA4GH WES 1.1 over HTTP:
 *
 *   - no token, a forged token: 401; a member whose namespace name is taken by a namespace Strand
 *     did not make: 403, and that namespace is left as it was;
 *   - alice runs the hello example (multipart RunWorkflow with attachments): its leader Job runs in
 *     her namespace; the server is killed (SIGKILL) mid-run and started again; the run reaches
 *     COMPLETE with the outputs of a local run; bob's list does not have it and every route
 *     answers him 404, as for an id never used;
 *   - the server restarted: the run is found again from the cluster, unchanged;
 *   - each member has a quota of two pods: alice's long run fills hers, bob's run still completes;
 *     then her run is cancelled over WES: CANCELED, its leader Job gone; bob cannot cancel it;
 *   - a request naming a file of the server, an attachment with .., a namespace in its engine
 *     parameters is a 400 ErrorResponse; impersonation-like headers are not obeyed.
 *
 * Only against a real cluster (the k8s rig: `eval "$(bash test/e2e/rig.sh env)"`), as root (the
 * Strand image import, the rig's volumes.sh for the members' workspace claims). The leader runs as
 * root (the rig's workspace directory belongs to root).
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { memberNamespaceName } from '../../src/server/members/namespace-name.js';
import { resolveE2e } from './e2e-env.js';
import { until as untilWithin } from '../support/until.js';

const until = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 1000) => untilWithin(what, fn, timeoutMs, everyMs);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STRAND = path.join(ROOT, 'bin', 'strand.js');
const RIG = process.env.STRAND_RIG ?? path.resolve(ROOT, '..', 'shared', 'k8s-rig');
const KUBECTL = process.env.STRAND_E2E_KUBECTL ?? 'kubectl';
const SERVER_NS = 'strand-lab-system';
const PEOPLE_NS = 'strand-lab-people';
const WES = '/ga4gh/wes/v1';
const run = promisify(execFile);

const env = await resolveE2e();
const skip =
  env.kind === 'skip' ? env.reason
  : env.kind === 'fake' ? 'the lab server needs a real cluster (TokenReview, TokenRequest, RBAC; STRAND_E2E_FAKE=1 is set)'
  : process.getuid?.() !== 0 ? "the Strand image import and the rig's volumes.sh need root"
  : !existsSync(path.join(RIG, 'volumes.sh')) ? `no k8s rig at ${RIG} (its volumes.sh makes the members' workspace claims)`
  : undefined;
if (skip) console.warn(`lab server e2e skipped: ${skip}`);
const cluster = env.kind === 'cluster' && !skip ? env : undefined;
const describeReal = cluster ? describe : describe.skip;

const user = (sa: string) => `system:serviceaccount:${PEOPLE_NS}:${sa}`;
const sha1 = (p: string) => createHash('sha1').update(readFileSync(p)).digest('hex');


describeReal('strand server: two members over GA4GH WES on the real cluster', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'strand-lab-e2e-'));
  const base = (cluster ? parse(readFileSync(cluster.configPath, 'utf8')) : null) as { kubernetes: { kubeconfig?: string; workspace: { claimName: string; localPath?: string; mountPath: string } } } | null;
  const adminKubeconfig = base?.kubernetes.kubeconfig ?? process.env.KUBECONFIG ?? '';
  const wsLocal = base?.kubernetes.workspace.localPath ?? base?.kubernetes.workspace.mountPath ?? '';
  const tokens: Record<string, string> = {};
  const memberNs: Record<string, string> = {};
  const runIds: string[] = [];
  let server: ChildProcess | undefined;
  let serverLog = '';
  let origin = '';
  let configFile = '';

  const kubectl = (args: string[], input?: string, allowFail = false): string => {
    const r = spawnSync(KUBECTL, args, { env: { ...process.env, KUBECONFIG: adminKubeconfig }, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
    if (r.status !== 0 && !allowFail) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // Not spawnSync: a event loop blocked for seconds leaves fetch's pooled connection to the server
  // looking alive after the server closed it (its 5 s keep-alive), and the next request fails.
  const volumes = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      execFile('bash', [path.join(RIG, 'volumes.sh'), ...args], { env: { ...process.env, KUBECONFIG: adminKubeconfig } }, (err, _out, stderr) => {
        if (err && args[0] === 'claim') reject(new Error(`volumes.sh ${args.join(' ')}: ${stderr}`));
        else resolve();
      });
    });

  /** A ServiceAccount's token, from the Secret the 1.20 token controller makes for it. */
  const saToken = async (ns: string, sa: string): Promise<string> => {
    const secret = await until(`the token Secret of ${ns}/${sa}`, async () => kubectl(['-n', ns, 'get', 'sa', sa, '-o', 'jsonpath={.secrets[0].name}'], undefined, true).trim() || undefined, 60_000);
    return Buffer.from(kubectl(['-n', ns, 'get', 'secret', secret, '-o', 'jsonpath={.data.token}']), 'base64').toString('utf8');
  };

  const startServer = async (): Promise<void> => {
    const child = spawn(process.execPath, [STRAND, 'server', '--config', configFile], { cwd: work, env: { ...process.env, KUBECONFIG: '/nonexistent' }, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    child.stderr!.on('data', (d: Buffer) => (serverLog += d.toString()));
    origin = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) resolve(line.trim());
      });
      child.once('exit', (code) => reject(new Error(`strand server exited ${code}:\n${serverLog}`)));
    });
  };
  const stopServer = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  };

  const call = async (who: string | undefined, method: string, route: string, body?: FormData | string): Promise<{ status: number; json: Record<string, unknown>; text: string }> => {
    const headers: Record<string, string> = {};
    if (who !== undefined) headers.authorization = `Bearer ${tokens[who] ?? who}`;
    if (typeof body === 'string') headers['content-type'] = 'application/json';
    const res = await fetch(`${origin}${WES}${route}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* a log route: text */
    }
    return { status: res.status, json, text };
  };

  const helloRequest = (extra: Record<string, string> = {}): FormData => {
    const f = new FormData();
    f.append('workflow_url', 'wordcount.cwl');
    f.append('workflow_type', 'CWL');
    f.append('workflow_type_version', 'v1.2');
    const texts = ['river', 'lighthouse', 'orchard'];
    f.append('workflow_params', JSON.stringify({ texts: texts.map((t) => ({ class: 'File', location: `texts/${t}.txt` })), top: 10 }));
    for (const [k, v] of Object.entries(extra)) f.append(k, v);
    const attach = (name: string, file: string) => f.append('workflow_attachment', new Blob([readFileSync(file)]), name);
    attach('wordcount.cwl', path.join(ROOT, 'examples/hello/wordcount.cwl'));
    for (const t of texts) attach(`texts/${t}.txt`, path.join(ROOT, `examples/hello/texts/${t}.txt`));
    return f;
  };

  const stateOf = async (who: string, runId: string) => (await call(who, 'GET', `/runs/${runId}/status`)).json.state as string;

  const cleanUp = async () => {
    for (const sa of ['alice', 'bob', 'carol']) {
      const ns = memberNamespaceName(user(sa));
      await volumes(['release', 'strand-workspace', ns]);
      kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=true', '--timeout=180s'], undefined, true);
      // The rig's volumes.sh makes a second claim of the workspace a PV of its own, named after the
      // namespace and claim; left behind (its release timed out while a pod still used the claim), it
      // stays bound to the old claim's uid and the next claim of that name never binds (seen: the
      // leader pod Pending on "unbound immediate PersistentVolumeClaims", the run QUEUED for ever).
      kubectl(['delete', 'pv', `rig-workspace-${ns}-strand-workspace`, '--ignore-not-found'], undefined, true);
    }
    kubectl(['delete', 'namespace', PEOPLE_NS, SERVER_NS, '--ignore-not-found', '--wait=true', '--timeout=180s'], undefined, true);
    kubectl(['delete', 'clusterrolebinding,clusterrole', 'strand-server', '--ignore-not-found'], undefined, true);
    kubectl(['delete', 'clusterrole', 'strand-member', '--ignore-not-found'], undefined, true);
  };

  beforeAll(async () => {
    const image = process.env.STRAND_E2E_OS_IMAGE || execFileSync('bash', [path.join(ROOT, 'scripts', 'strand-image.sh')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    await cleanUp();
    kubectl(['create', 'namespace', SERVER_NS]);
    kubectl(['create', 'namespace', PEOPLE_NS]);
    for (const sa of ['alice', 'bob', 'carol']) kubectl(['-n', PEOPLE_NS, 'create', 'serviceaccount', sa]);
    // The server's rights, exactly as strand rbac --server prints them.
    const rbac = execFileSync(process.execPath, [STRAND, 'rbac', '--server', '--namespace', SERVER_NS], { encoding: 'utf8' });
    kubectl(['apply', '-f', '-'], rbac);
    for (const sa of ['alice', 'bob', 'carol']) tokens[sa] = await saToken(PEOPLE_NS, sa);
    for (const sa of ['alice', 'bob', 'carol']) memberNs[sa] = memberNamespaceName(user(sa));
    // carol's namespace name is taken by one an administrator made: Strand must not adopt it.
    kubectl(['create', 'namespace', memberNs.carol!]);

    // The server connects with its own ServiceAccount's token: the rights above and nothing more.
    const admin = parse(readFileSync(adminKubeconfig, 'utf8')) as { clusters: Array<{ name: string; cluster: Record<string, string> }> };
    const c = admin.clusters[0]!.cluster;
    const ca = c['certificate-authority-data'] ?? readFileSync(c['certificate-authority']!).toString('base64');
    const serverKubeconfig = path.join(work, 'server.kubeconfig');
    writeFileSync(
      serverKubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'rig', cluster: { server: c.server, 'certificate-authority-data': ca } }],
        users: [{ name: 'strand-server', user: { token: await saToken(SERVER_NS, 'strand-server') } }],
        contexts: [{ name: 'rig', context: { cluster: 'rig', user: 'strand-server', namespace: SERVER_NS } }],
        'current-context': 'rig',
      }),
      { mode: 0o600 },
    );
    configFile = path.join(work, 'lab.yaml');
    writeFileSync(
      configFile,
      stringify({
        listen: { host: '127.0.0.1', port: 0 },
        kubeconfig: serverKubeconfig,
        leader: { image, imagePullPolicy: 'Never', runAsUser: 0 },
        // Two pods per member: a leader and one task at a time. Alice's long run fills hers.
        members: { resourceQuota: { pods: '2' } },
        runs: { kubernetes: { workspace: { claimName: 'strand-workspace', mountPath: wsLocal, localPath: wsLocal }, defaultImage: 'localhost/bio:bookworm' } },
      }),
    );
    await startServer();
  });

  afterAll(async () => {
    await stopServer();
    if (serverLog) console.log(`strand server's log:\n${serverLog.split('\n').slice(-40).join('\n')}`);
    for (const id of runIds) rmSync(path.join(wsLocal, 'strand-submit', id), { recursive: true, force: true });
    await cleanUp();
    rmSync(work, { recursive: true, force: true });
  });

  it('signs members in with their Kubernetes tokens, each in a namespace of their own; no token or a forged one is a 401; a namespace Strand did not make is never adopted', async () => {
    for (const who of [undefined, 'not-a-token']) {
      const r = await call(who, 'GET', '/runs');
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ status_code: 401 });
    }
    for (const sa of ['alice', 'bob']) {
      const r = await call(sa, 'GET', '/runs');
      expect(r.status, r.text).toBe(200);
      expect(r.json.runs).toEqual([]);
      const ns = JSON.parse(kubectl(['get', 'namespace', memberNs[sa]!, '-o', 'json'])) as { metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
      expect(ns.metadata.labels['app.kubernetes.io/managed-by']).toBe('strand');
      expect(Object.values(ns.metadata.annotations)).toContain(user(sa));
      // The lab's storage: the administrator gives each member's namespace its workspace claim.
      await volumes(['claim', 'strand-workspace', memberNs[sa]!, 'workspace']);
    }
    const carol = await call('carol', 'GET', '/runs');
    expect(carol.status, carol.text).toBe(403);
    expect(String(carol.json.msg)).toContain(memberNs.carol);
    expect(kubectl(['-n', memberNs.carol!, 'get', 'serviceaccounts,rolebindings', '-o', 'name'])).not.toContain('strand');
  }, 120_000);

  let helloRun = '';
  it('runs the hello example for alice: her namespace, COMPLETE, the outputs of a local run; bob sees nothing of it', async () => {
    const local = JSON.parse(
      (
        await run(process.execPath, [STRAND, 'run', '--no-record', '--outdir', path.join(work, 'local'), path.join(ROOT, 'examples/hello/wordcount.cwl'), path.join(ROOT, 'examples/hello/job.yml')], {
          cwd: work,
          encoding: 'utf8',
        })
      ).stdout,
    ) as Record<string, { checksum: string }>;
    const posted = await call('alice', 'POST', '/runs', helloRequest({ tags: JSON.stringify({ project: 'e2e' }) }));
    expect(posted.status, posted.text).toBe(200);
    helloRun = String(posted.json.run_id);
    runIds.push(helloRun);
    expect(kubectl(['-n', memberNs.alice!, 'get', 'jobs', '-o', 'name'])).toContain(`strand-leader-${helloRun}`);
    const seen = new Set<string>();
    // The server killed (SIGKILL) while the run goes: the run goes on without it, and a new server reports it.
    await until('the run to be running', async () => ((await stateOf('alice', helloRun)) === 'RUNNING' ? true : undefined), 180_000).catch((err: unknown) => {
      console.log(`alice's namespace:\n${kubectl(['-n', memberNs.alice!, 'get', 'jobs,pods,quota', '-o', 'wide'], undefined, true)}${kubectl(['-n', memberNs.alice!, 'get', 'events', '--sort-by=.lastTimestamp'], undefined, true)}`);
      throw err;
    });
    await stopServer('SIGKILL');
    await startServer();
    const state = await until(
      'the run to end',
      async () => {
        const s = await stateOf('alice', helloRun);
        seen.add(s);
        return ['QUEUED', 'INITIALIZING', 'RUNNING', 'UNKNOWN'].includes(s) ? undefined : s;
      },
      300_000,
    );
    console.log(`states seen after the server was killed mid-run and started again: ${[...seen].join(' -> ')}`);
    expect(state).toBe('COMPLETE');
    const log = await call('alice', 'GET', `/runs/${helloRun}`);
    expect(log.status).toBe(200);
    const outputs = log.json.outputs as Record<string, { path?: string; location?: string; checksum?: string }>;
    for (const name of ['top_words', 'word_counts']) {
      const file = outputs[name]!.path ?? fileURLToPath(outputs[name]!.location!);
      expect(`sha1$${sha1(file)}`).toBe(local[name]!.checksum);
    }
    const tasks = await call('alice', 'GET', `/runs/${helloRun}/tasks`);
    expect((tasks.json.task_logs as Array<{ exit_code: number }>).map((t) => t.exit_code)).toEqual(Array(8).fill(0));

    // bob: not in his list, and every route answers as for an id never used.
    expect(((await call('bob', 'GET', '/runs')).json.runs as Array<{ run_id: string }>).map((r) => r.run_id)).not.toContain(helloRun);
    const ghost = `${helloRun.slice(0, -4)}0000` === helloRun ? `${helloRun.slice(0, -4)}1111` : `${helloRun.slice(0, -4)}0000`;
    for (const route of ['', '/status', '/tasks']) {
      const his = await call('bob', 'GET', `/runs/${helloRun}${route}`);
      const never = await call('bob', 'GET', `/runs/${ghost}${route}`);
      expect(his.status).toBe(404);
      expect(his.text.split(helloRun).join('ID')).toBe(never.text.split(ghost).join('ID'));
    }
    expect((await call('bob', 'POST', `/runs/${helloRun}/cancel`)).status).toBe(404);
    expect(kubectl(['-n', memberNs.bob!, 'get', 'jobs', '-o', 'name'])).toBe('');
  }, 420_000);

  it('a server restarted finds the run again from the cluster, unchanged', async () => {
    // The same answer but for the server's address in its URLs (a new port).
    const read = async () => (await call('alice', 'GET', `/runs/${helloRun}`)).text.split(origin).join('ORIGIN');
    const before = await read();
    await stopServer();
    await startServer();
    const after = await read();
    expect(JSON.parse(after)).toMatchObject({ run_id: helloRun, state: 'COMPLETE' });
    expect(after).toBe(before);
  }, 120_000);

  it('cancels a long run over WES: CANCELED, its leader Job gone', async () => {
    const f = new FormData();
    f.append('workflow_url', 'sleep.cwl');
    f.append('workflow_type', 'CWL');
    f.append('workflow_type_version', 'v1.2');
    f.append('workflow_params', '{}');
    f.append('workflow_engine_parameters', JSON.stringify({ cache: 'off' }));
    f.append('workflow_attachment', new Blob(['cwlVersion: v1.2\nclass: CommandLineTool\nrequirements:\n  ResourceRequirement: { coresMin: 0.25, ramMin: 64 }\nbaseCommand: [sleep, "600"]\ninputs: []\noutputs: []\n']), 'sleep.cwl');
    const posted = await call('alice', 'POST', '/runs', f);
    expect(posted.status, posted.text).toBe(200);
    const runId = String(posted.json.run_id);
    runIds.push(runId);
    await until('the run to be running', async () => ((await stateOf('alice', runId)) === 'RUNNING' ? true : undefined), 180_000);
    await until("alice's quota to be full", async () => (kubectl(['-n', memberNs.alice!, 'get', 'pods', '--field-selector=status.phase=Running', '-o', 'name']).trim().split('\n').length >= 2 ? true : undefined), 120_000);
    // Her full quota does not hold up bob's run. (Her task asks for a quarter of a core: the rig's
    // one node has two, and what is tested here is the quota, not the node's size.)
    const bobs = await call('bob', 'POST', '/runs', helloRequest());
    expect(bobs.status, bobs.text).toBe(200);
    runIds.push(String(bobs.json.run_id));
    const bobState = await until("bob's run to end", async () => {
      const st = await stateOf('bob', String(bobs.json.run_id));
      return ['QUEUED', 'INITIALIZING', 'RUNNING'].includes(st) ? undefined : st;
    }, 300_000);
    expect(bobState).toBe('COMPLETE');
    expect(await stateOf('alice', runId)).toBe('RUNNING');
    const cancel = await call('alice', 'POST', `/runs/${runId}/cancel`);
    expect(cancel.status, cancel.text).toBe(200);
    expect(cancel.json.run_id).toBe(runId);
    const state = await until('the run to be cancelled', async () => {
      const s = await stateOf('alice', runId);
      return s === 'CANCELING' || s === 'RUNNING' ? undefined : s;
    }, 120_000);
    expect(state).toBe('CANCELED');
    await until('the leader Job to go', async () => (kubectl(['-n', memberNs.alice!, 'get', 'jobs', '-o', 'name']).includes(`strand-leader-${runId}`) ? undefined : true), 120_000);
  }, 420_000);

  it('a request naming a file of the server, or an attachment with .., is a 400 ErrorResponse', async () => {
    const bad = helloRequest();
    bad.set('workflow_params', JSON.stringify({ texts: [{ class: 'File', location: '/etc/passwd' }] }));
    const r1 = await call('alice', 'POST', '/runs', bad);
    expect(r1.status).toBe(400);
    expect(r1.json).toMatchObject({ status_code: 400 });
    expect(String(r1.json.msg)).toContain('is not one of the attached files');
    const dots = helloRequest();
    dots.append('workflow_attachment', new Blob(['x']), '../escape.txt');
    const r2 = await call('alice', 'POST', '/runs', dots);
    expect(r2.status).toBe(400);
    expect(String(r2.json.msg)).toContain('../escape.txt');
    // A namespace (or any setting of the server's) in the request is refused, not obeyed.
    const ns = helloRequest();
    ns.append('workflow_engine_parameters', JSON.stringify({ namespace: memberNs.bob }));
    const r3 = await call('alice', 'POST', '/runs', ns);
    expect(r3.status).toBe(400);
    expect(String(r3.json.msg)).toContain('"namespace" is not a parameter of this service');
    // Headers that would make the server act as someone else are not obeyed: alice stays alice.
    const forged = await fetch(`${origin}${WES}/runs`, { headers: { authorization: `Bearer ${tokens.alice}`, 'impersonate-user': user('bob'), 'x-forwarded-user': user('bob'), 'x-remote-user': user('bob') } });
    const theirs = ((await forged.json()) as { runs: Array<{ run_id: string }> }).runs.map((r) => r.run_id);
    expect(theirs).toEqual(((await call('alice', 'GET', '/runs')).json.runs as Array<{ run_id: string }>).map((r) => r.run_id));
    expect(theirs).not.toContain(runIds[2]);
    // None of these became a run: alice has her two.
    expect(((await call('alice', 'GET', '/runs')).json.runs as unknown[]).length).toBe(2);
  }, 60_000);
});
