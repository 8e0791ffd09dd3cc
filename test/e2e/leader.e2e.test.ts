/**
 * The leader inside the cluster (issue 10, point 4) on a real cluster: `strand submit` runs Strand
 * itself as a Job from the Strand image (scripts/strand-image.sh), and this machine follows it with
 * `strand list/show/logs`.
 *
 *   - the hello example, submitted: it finishes, `show` and `logs` follow it from here, and its
 *     outputs on the workspace have the checksums of a local run of the same example;
 *   - the leader pod deleted mid-run: its Job starts another, which adopts the task Jobs: the run
 *     succeeds and every task ran once (one Job, one pod per task);
 *   - `strand cancel`: the leader Job goes and the garbage collector takes the task Jobs, pods and
 *     ConfigMaps with it.
 *
 * Only against a real cluster (STRAND_E2E_CONFIG: the k8s rig, `eval "$(bash test/e2e/rig.sh env)"`)
 * whose workspace this machine sees, as root (the image import); skipped with one line otherwise.
 * The leader runs as root here (--run-as-user 0): the rig's workspace directory belongs to root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolveE2e } from './e2e-env.js';
import { readEventsUntil } from '../support/event-stream.js';
import { until as untilWithin } from '../support/until.js';

/** Waits as long as this file's runs may take unless told otherwise. */
const until = <T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 300_000, everyMs = 500) => untilWithin(what, fn, timeoutMs, everyMs);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STRAND = path.join(ROOT, 'bin', 'strand.js');
const env = await resolveE2e();
const skip =
  env.kind === 'skip' ? env.reason
  : env.kind === 'fake' ? 'strand submit needs a real cluster (STRAND_E2E_FAKE=1 is set)'
  : process.getuid?.() !== 0 ? "importing the Strand image into the rig's containerd needs root"
  : undefined;
if (skip) console.warn(`strand submit e2e skipped: ${skip}`);
const cluster = env.kind === 'cluster' && !skip ? env : undefined;
const describeReal = cluster ? describe : describe.skip;

const scratch = mkdtempSync(path.join(tmpdir(), 'strand-leader-e2e-'));
const store = path.join(scratch, 'store');
const SA = 'strand-leader-e2e';
let image = '';

function strand(args: string[], opts: { allowFail?: boolean } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [STRAND, ...args], { cwd: scratch, encoding: 'utf8', env: { ...process.env, STRAND_STORE: store } });
  const out = { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  if (!opts.allowFail && out.code !== 0) throw new Error(`strand ${args.join(' ')} exited ${out.code}:\n${out.stderr}`);
  return out;
}

function submit(doc: string, job: string | undefined, extra: string[] = []): { runId: string; at: number } {
  const at = Date.now();
  const args = ['submit', '--config', cluster!.configPath, '--image', image, '--image-pull-policy', 'Never', '--service-account', SA, '--setup-rbac', '--run-as-user', '0', ...extra, doc, ...(job ? [job] : [])];
  return { runId: strand(args).stdout.trim(), at };
}

interface Shown {
  status: string;
  tasks?: { total: number; reused: number };
  outputs?: Record<string, { checksum?: string; path?: string; basename?: string }>;
  attempts: Array<{ taskId: string; attempt: number; status: string; startedAt?: string; queuedAt?: string }>;
}
const show = (runId: string): Shown => JSON.parse(strand(['show', '--json', runId]).stdout) as Shown;


const finished = (runId: string, timeoutMs = 300_000) =>
  until(`run ${runId} to finish`, () => {
    const s = show(runId);
    return s.status === 'running' ? undefined : s;
  }, timeoutMs, 1000);

const api = () => ({ core: cluster!.kc.makeApiClient(CoreV1Api), batch: cluster!.kc.makeApiClient(BatchV1Api), ns: cluster!.namespace });
const sha1 = (p: string) => `sha1$${createHash('sha1').update(readFileSync(p)).digest('hex')}`;

describeReal('strand submit: the leader inside the cluster', () => {
  beforeAll(() => {
    image = execFileSync('bash', [path.join(ROOT, 'scripts', 'strand-image.sh')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  });
  afterAll(async () => {
    const { core, batch, ns } = api();
    const leaders = await batch.listNamespacedJob({ namespace: ns, labelSelector: 'strand.dev/leader' });
    for (const j of leaders.items) {
      if (j.metadata?.name?.startsWith('strand-leader-') && readRunIds().includes(j.metadata.annotations?.['strand.dev/run-id'] ?? '')) {
        await batch.deleteNamespacedJob({ name: j.metadata.name, namespace: ns, propagationPolicy: 'Foreground' }).catch(() => undefined);
      }
    }
    const rbac = cluster!.kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.deleteNamespacedRoleBinding({ name: `strand-submit-${SA}`, namespace: ns }).catch(() => undefined);
    await rbac.deleteNamespacedRole({ name: `strand-submit-${SA}`, namespace: ns }).catch(() => undefined);
    await core.deleteNamespacedServiceAccount({ name: SA, namespace: ns }).catch(() => undefined);
    // The runs' directories on the workspace (bundle, leader store, outputs): made by these runs.
    const ws = (parse(readFileSync(cluster!.configPath, 'utf8')) as { kubernetes?: { workspace?: { localPath?: string; mountPath?: string } } }).kubernetes?.workspace;
    const wsLocal = ws?.localPath ?? ws?.mountPath;
    if (wsLocal) for (const id of runIds) rmSync(path.join(wsLocal, 'strand-submit', id), { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });
  const runIds: string[] = [];
  const readRunIds = () => runIds;

  it('runs the hello example in the cluster, followed from here, with the outputs of a local run', async () => {
    const local = JSON.parse(
      execFileSync(process.execPath, [STRAND, 'run', '--no-record', '--outdir', path.join(scratch, 'local'), path.join(ROOT, 'examples/hello/wordcount.cwl'), path.join(ROOT, 'examples/hello/job.yml')], {
        cwd: scratch,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as Record<string, { checksum: string; basename: string }>;

    const { runId, at } = submit(path.join(ROOT, 'examples/hello/wordcount.cwl'), path.join(ROOT, 'examples/hello/job.yml'));
    runIds.push(runId);
    expect(runId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{16}$/);
    // Followed from here while it runs: the list shows it, show gets the leader's state.
    expect(strand(['list']).stdout).toContain(runId);
    const first = await until('the first task', () => show(runId).attempts.find((a) => a.startedAt ?? a.queuedAt));
    console.log(`submit to first task (queued, as the leader recorded it): ${((Date.parse(first.queuedAt ?? first.startedAt!) - at) / 1000).toFixed(1)} s`);

    const done = await finished(runId);
    expect(done.status).toBe('success');
    expect(done.attempts.filter((a) => a.status === 'completed').length).toBe(8);
    // The outputs, on the workspace this machine sees, are those of the local run.
    for (const name of ['top_words', 'word_counts']) {
      const o = done.outputs![name]!;
      expect({ name, basename: o.basename, checksum: o.checksum }).toEqual({ name, basename: local[name]!.basename, checksum: local[name]!.checksum });
      expect(sha1(o.path!)).toBe(local[name]!.checksum);
    }
    expect(done.outputs!['line_counts']).toEqual(local['line_counts']);

    const shown = strand(['show', runId]).stdout;
    expect(shown).toMatch(/^run \S+: success/);
    expect(shown).toContain(`Submitted to namespace ${cluster!.namespace}`);
    const logs = strand(['logs', runId]).stdout;
    expect(logs).toMatch(/==> leader \(pod strand-leader-/);
    expect(logs).toContain(`run ${runId} finished: success`);
    // The leader reached the API server through its service account (the rig gives pods 127.16.0.1:443).
    expect(logs).toMatch(/\[strand\] cluster https:\/\/\S+ \(in-cluster service account\), namespace /);
    expect(strand(['list']).stdout).toMatch(new RegExp(`${runId}\\s+success`));
  });

  it('the dashboard follows a submitted run from its leader: its tasks while it runs, then its end, recorded in the store', async () => {
    const { startDashboard } = await import('../../src/ui/server.js');
    const { openRunStore } = await import('../../src/store/run-store.js');
    const http = await import('node:http');
    const { runId } = submit(path.join(ROOT, 'examples/hello/wordcount.cwl'), path.join(ROOT, 'examples/hello/job.yml'));
    runIds.push(runId);
    // Nothing else reads the cluster for this run (no strand show or list): the dashboard alone.
    const dash = await startDashboard({ storeDir: store, port: 0, pollMs: 200, submittedRefreshMs: 1000 });
    const get = (p: string) =>
      new Promise<{ run: { status: string; tasks: { ok: number; total: number } }; nodes: Array<{ node: string; ok: number; total: number }> }>((resolve, reject) => {
        http.get(new URL(p, dash.origin), { headers: { authorization: `Bearer ${dash.token}` } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(JSON.parse(body)));
        }).on('error', reject);
      });
    try {
      const events = await readEventsUntil(dash.origin, dash.token, `?run=${runId}`, (all) => all.includes('"status":"success"'), 300_000);
      expect(events).toContain('event: run');
      const state = await get(`/api/runs/${runId}`);
      expect(state.run.status).toBe('success');
      expect(state.run.tasks).toMatchObject({ ok: 8, total: 8 });
      expect(state.nodes.reduce((n, x) => n + x.ok, 0)).toBe(8);
      const s = openRunStore(store);
      try {
        expect(s.getRunHeader(runId)?.status).toBe('success');
      } finally {
        s.close();
      }
    } finally {
      await dash.close();
    }
  });

  it('survives the deletion of its leader pod: the next one adopts the task Jobs, none runs twice', async () => {
    const dir = mkdtempSync(path.join(scratch, 'slow-'));
    writeFileSync(
      path.join(dir, 'slow.cwl'),
      `cwlVersion: v1.2
class: Workflow
requirements: { ScatterFeatureRequirement: {} }
inputs: { items: { type: 'int[]' } }
outputs: { out: { type: 'File[]', outputSource: s/out } }
steps:
  s:
    run:
      class: CommandLineTool
      requirements: { ResourceRequirement: { coresMin: 0.1, ramMin: 32 } }
      inputs: { i: { type: int, inputBinding: { position: 1 } } }
      baseCommand: [sh, -c, 'sleep 6; echo "item $0" > out.txt']
      outputs: { out: { type: File, outputBinding: { glob: out.txt } } }
    scatter: i
    in: { i: items }
    out: [out]
`,
    );
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ items: [1, 2, 3, 4] }));
    // --cache off: every task must really run for the leader to be deleted mid-run. The rig's
    // workspace (and the task cache on it) outlives the rig, so with the default cache an earlier
    // run of this test made all four tasks reused: no task pod, and the test waited in vain (CI,
    // 2026-12-01: 'timed out waiting for a running task pod', show said 4 reused).
    const { runId } = submit(path.join(dir, 'slow.cwl'), path.join(dir, 'job.json'), ['--max-parallel', '2', '--cache', 'off']);
    runIds.push(runId);
    const { core, batch, ns } = api();
    // Every task Job seen while the run goes, by name -> uids (a Job made twice has two).
    const seen = new Map<string, Set<string>>();
    const podsSeen = new Map<string, Set<string>>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const [jobs, pods] = await Promise.all([
          batch.listNamespacedJob({ namespace: ns, labelSelector: `strand.dev/run=${runId}` }),
          core.listNamespacedPod({ namespace: ns, labelSelector: `strand.dev/run=${runId}` }),
        ]);
        for (const j of jobs.items) {
          const s = seen.get(j.metadata!.name!) ?? new Set<string>();
          s.add(j.metadata!.uid!);
          seen.set(j.metadata!.name!, s);
        }
        for (const p of pods.items) {
          const task = p.metadata?.labels?.['job-name'] ?? '?';
          const s = podsSeen.get(task) ?? new Set<string>();
          s.add(p.metadata!.uid!);
          podsSeen.set(task, s);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      const leaderSel = `strand.dev/leader=${runId}`;
      // Once tasks run, delete the leader pod (as a node drain or an eviction would).
      await until('a running task pod', async () => {
        const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `strand.dev/run=${runId}` });
        return pods.items.find((p) => p.status?.phase === 'Running') ? true : undefined;
      }, 180_000);
      const first = (await core.listNamespacedPod({ namespace: ns, labelSelector: leaderSel })).items;
      expect(first.length).toBe(1);
      await core.deleteNamespacedPod({ name: first[0]!.metadata!.name!, namespace: ns });
      const done = await finished(runId);
      expect(done.status).toBe('success');
      expect(done.tasks?.reused).toBe(0);
      const leaders = (await core.listNamespacedPod({ namespace: ns, labelSelector: leaderSel })).items.map((p) => p.metadata!.name!);
      // Another leader pod finished the run (the deleted one may still be Terminating on a 1.20 kubelet).
      expect(leaders.filter((n) => n !== first[0]!.metadata!.name!).length).toBe(1);
      const logs = strand(['logs', runId]).stdout;
      expect(logs).toContain('adopting its Jobs');
    } finally {
      watching = false;
      await watcher;
    }
    // Four tasks, each one Job (made once) with one pod; no second attempt.
    expect(seen.size).toBe(4);
    expect([...seen.entries()].filter(([, uids]) => uids.size !== 1)).toEqual([]);
    expect([...seen.keys()].every((n) => n.endsWith('-a1'))).toBe(true);
    expect([...podsSeen.entries()].filter(([, uids]) => uids.size !== 1)).toEqual([]);
  });

  it('a leader Job that cannot make its pod (no such ServiceAccount) is said so by submit and show', () => {
    const at = ['submit', '--config', cluster!.configPath, '--image', image, '--image-pull-policy', 'Never', '--service-account', 'no-such-account'];
    const r = strand([...at, path.join(ROOT, 'examples/hello/wordcount.cwl'), path.join(ROOT, 'examples/hello/job.yml')]);
    const runId = r.stdout.trim();
    runIds.push(runId);
    expect(r.stderr).toMatch(/cannot start the leader pod yet: FailedCreate: .*serviceaccount "no-such-account" not found/);
    expect(strand(['show', runId]).stdout).toMatch(/the Job cannot start its pod: FailedCreate: .*no-such-account/);
    expect(strand(['cancel', runId]).stderr).toContain(`cancelled run ${runId}`);
  });

  it('strand cancel deletes the leader Job, and with it every task Job, pod and ConfigMap of the run', async () => {
    const dir = mkdtempSync(path.join(scratch, 'long-'));
    writeFileSync(
      path.join(dir, 'long.cwl'),
      "cwlVersion: v1.2\nclass: CommandLineTool\nrequirements: { ResourceRequirement: { coresMin: 0.1, ramMin: 32 } }\ninputs: []\noutputs: []\nbaseCommand: [sleep, '600']\n",
    );
    const { runId } = submit(path.join(dir, 'long.cwl'), undefined);
    runIds.push(runId);
    const { core, batch, ns } = api();
    await until('the task Job', async () => ((await batch.listNamespacedJob({ namespace: ns, labelSelector: `strand.dev/run=${runId}` })).items.length ? true : undefined), 180_000);
    const r = strand(['cancel', runId]);
    expect(r.stderr).toContain(`cancelled run ${runId}`);
    await until('every object of the run to be gone', async () => {
      const [jobs, pods, cms] = await Promise.all([
        batch.listNamespacedJob({ namespace: ns }),
        core.listNamespacedPod({ namespace: ns }),
        core.listNamespacedConfigMap({ namespace: ns }),
      ]);
      const mine = (o: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }) =>
        o.metadata?.labels?.['strand.dev/run'] === runId || o.metadata?.labels?.['strand.dev/leader'] === runId;
      const left = [...jobs.items, ...pods.items, ...cms.items].filter(mine);
      return left.length === 0 ? true : undefined;
    }, 180_000);
    expect(show(runId).status).toBe('cancelled');
  });
});
