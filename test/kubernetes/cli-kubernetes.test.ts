/**
 * `strand run --executor kubernetes` end to end through the CLI, against the fake API server:
 * a real example, --dry-run, a configuration mistake, and SIGTERM cleanup.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster.js';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = path.join(repo, 'bin/strand.js');
let cluster: FakeCluster;
let tmp: string;

beforeAll(async () => {
  cluster = await startFakeCluster();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'strand-cli-k8s-'));
});
afterAll(async () => {
  await cluster.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function strand(
  args: string[],
  env: NodeJS.ProcessEnv = cluster.env,
  onSpawn?: (kill: (sig: NodeJS.Signals) => void) => void,
  onStdout?: (soFar: string) => void,
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [strandBin, ...args], { env: { ...env, STRAND_STORE: path.join(tmp, 'store') }, cwd: repo });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    onSpawn?.((sig) => child.kill(sig));
  });
}

const runJobs = () => cluster.kube.listObjects('jobs', cluster.kube.namespace);

describe('strand run --executor kubernetes (fake API server)', () => {
  it('runs the hello example as Jobs and returns the same outputs as local mode', async () => {
    const outdir = path.join(tmp, 'hello');
    cluster.kube.resetRequestLog();
    const r = await strand(['run', '--executor', 'kubernetes', '--outdir', outdir, 'examples/hello/wordcount.cwl', 'examples/hello/job.yml']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { basename: string }>;
    const files = Object.values(out).filter((v) => v && typeof v === 'object' && 'basename' in v);
    expect(files.length).toBeGreaterThan(0);
    const local = path.join(tmp, 'hello-local');
    const l = await strand(['run', '--executor', 'local', '--outdir', local, 'examples/hello/wordcount.cwl', 'examples/hello/job.yml']);
    expect(l.code, l.stderr).toBe(0);
    for (const f of files) {
      expect(existsSync(path.join(outdir, f.basename))).toBe(true);
      expect(readFileSync(path.join(outdir, f.basename), 'utf8')).toBe(readFileSync(path.join(local, f.basename), 'utf8'));
    }
    const counts = cluster.kube.requestCounts();
    expect(counts['create jobs']).toBeGreaterThan(0);
    // The run cleaned up after itself: no Jobs, pods or anchors left.
    expect(runJobs()).toEqual([]);
    expect(cluster.kube.listObjects('pods', cluster.kube.namespace)).toEqual([]);
    expect(cluster.kube.listObjects('configmaps', cluster.kube.namespace).filter((c) => c.metadata.name?.startsWith('strand-run-'))).toEqual([]);
  });

  it('--dry-run prints the anchor and Job manifests and creates nothing', async () => {
    cluster.kube.resetRequestLog();
    const r = await strand(['run', '--executor', 'kubernetes', '--dry-run', '--outdir', path.join(tmp, 'dry'), 'examples/hello/wordcount.cwl', 'examples/hello/job.yml']);
    expect(r.code, r.stderr).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { labels: Record<string, string> }; spec?: { backoffLimit?: number } });
    expect(docs[0]?.kind).toBe('ConfigMap');
    const jobs = docs.filter((d) => d.kind === 'Job');
    expect(jobs.length).toBeGreaterThan(0);
    for (const j of jobs) {
      expect(j.metadata.labels['app.kubernetes.io/managed-by']).toBe('strand');
      expect(j.spec?.backoffLimit).toBe(0);
    }
    expect(r.stderr).toContain('dry run');
    expect(cluster.kube.requestCounts()['create jobs'] ?? 0).toBe(0);
  });

  it('says which setting is missing when the workspace is not configured', async () => {
    const config = path.join(tmp, 'no-workspace.yaml');
    writeFileSync(config, 'executor: kubernetes\nkubernetes:\n  namespace: default\n');
    const r = await strand(['run', '--config', config, 'examples/hello/wordcount.cwl', 'examples/hello/job.yml'], { ...cluster.env, STRAND_CONFIG: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${config}: kubernetes.workspace is not set`);
  });

  it('on SIGTERM deletes the run\'s Jobs and pods before exiting', async () => {
    const tool = path.join(tmp, 'sleep.cwl');
    writeFileSync(tool, 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [sleep, "300"]\ninputs: []\noutputs: []\n');
    let kill: (sig: NodeJS.Signals) => void = () => undefined;
    const done = strand(['run', '--executor', 'kubernetes', '--outdir', path.join(tmp, 'sleep'), tool], cluster.env, (k) => (kill = k));
    const deadline = Date.now() + 30_000;
    while (cluster.kube.runningPids().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(cluster.kube.runningPids().length).toBeGreaterThan(0);
    kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(130);
    expect(runJobs()).toEqual([]);
    expect(cluster.kube.listObjects('pods', cluster.kube.namespace)).toEqual([]);
    expect(cluster.kube.runningPids()).toEqual([]);
  });

  it('strand doctor passes on a ready namespace and names missing permissions and claims otherwise', async () => {
    const ok = await strand(['doctor', '--executor', 'kubernetes']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain('✓ permissions');
    expect(ok.stdout).toContain('claim strand-workspace Bound, ReadWriteMany');
    expect(ok.stdout).toContain('Ready to run');

    // Everything but Jobs: the review must name the missing Job verbs and suggest strand rbac.
    cluster.kube.setRbac([
      { verbs: ['*'], apiGroups: [''], resources: ['*'] },
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'] },
    ]);
    try {
      const bad = await strand(['doctor', '--executor', 'kubernetes']);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain('✗ permissions');
      expect(bad.stdout).toContain('create jobs.batch');
      expect(bad.stdout).toContain('strand rbac --namespace default');
      // Reading pod metrics is optional: named as missing, a warning only.
      expect(bad.stdout).toMatch(/optional permissions: missing in namespace default \(runs work without them\):\s+list pods.metrics.k8s.io/);
    } finally {
      cluster.kube.clearFaults();
    }

    const config = path.join(tmp, 'no-claim.yaml');
    writeFileSync(config, `executor: kubernetes\nkubernetes:\n  workspace: { claimName: nope, mountPath: ${cluster.workspace} }\n`);
    const noClaim = await strand(['doctor', '--config', config], { ...cluster.env, STRAND_CONFIG: '' });
    expect(noClaim.code).toBe(1);
    expect(noClaim.stdout).toContain('claim nope does not exist in namespace default');
  });

  it('strand doctor says that without the right to read nodes and without a quota, a task too big for every node waits for ever; strand rbac --nodes grants it', async () => {
    const ok = await strand(['doctor', '--executor', 'kubernetes']);
    expect(ok.stdout).toContain('may list nodes');
    // Everything in the namespace, nothing cluster-wide (as `strand rbac --user` gives a member).
    cluster.kube.setRbac([
      { verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: [cluster.kube.namespace] },
      { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews'] },
    ]);
    try {
      const r = await strand(['doctor', '--executor', 'kubernetes']);
      expect(r.stdout).toMatch(/may not list nodes, and the namespace has no ResourceQuota: a task asking for more than any node has waits for ever/);
      expect(r.stdout).toContain('--nodes | kubectl apply -f -');
    } finally {
      cluster.kube.clearFaults();
    }
    const rbac = await strand(['rbac', '--namespace', 'lab', '--user', 'alice', '--nodes']);
    expect(rbac.code).toBe(0);
    const docs = parseAllDocuments(rbac.stdout).map((d) => d.toJS() as { kind: string; rules?: unknown; subjects?: unknown });
    expect(docs.map((d) => d.kind)).toEqual(['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);
    expect(docs[2]?.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }]);
    expect(docs[3]?.subjects).toEqual([{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }]);
  });

  it('a run killed outright leaves Jobs that the same --run-id adopts, and strand clean removes leftovers', async () => {
    const tool = path.join(tmp, 'slow.cwl');
    writeFileSync(
      tool,
      'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [sh, -c, "sleep 2; echo done-$0", "x"]\nstdout: out.txt\ninputs: []\noutputs:\n  out: { type: File, outputBinding: { glob: out.txt } }\n',
    );
    const waitFor = async (cond: () => boolean) => {
      const end = Date.now() + 30_000;
      while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(cond()).toBe(true);
    };
    // 1. Killed with SIGKILL: nothing can clean up, the Job stays.
    let kill: (sig: NodeJS.Signals) => void = () => undefined;
    const first = strand(['run', '--executor', 'kubernetes', '--run-id', 'adopt-me', '--outdir', path.join(tmp, 'adopt1'), tool], cluster.env, (k) => (kill = k));
    await waitFor(() => runJobs().length === 1);
    kill('SIGKILL');
    await first;
    expect(runJobs()).toHaveLength(1);
    // 2. The same run id again: the Job is adopted, not created twice.
    cluster.kube.resetRequestLog();
    const again = await strand(['run', '--executor', 'kubernetes', '--run-id', 'adopt-me', '--outdir', path.join(tmp, 'adopt2'), tool]);
    expect(again.code, again.stderr).toBe(0);
    expect(cluster.kube.requestCounts()['create jobs'] ?? 0).toBe(0);
    expect(again.stderr).toContain('adopting');
    expect(readFileSync(path.join(tmp, 'adopt2', 'out.txt'), 'utf8')).toBe('done-x\n');
    expect(runJobs()).toEqual([]);

    // 3. Another killed run, removed by strand clean --run.
    // (--cache off: the task cache holds the result of the run above, which would be reused.)
    const third = strand(['run', '--executor', 'kubernetes', '--cache', 'off', '--run-id', 'clean-me', '--outdir', path.join(tmp, 'c'), tool], cluster.env, (k) => (kill = k));
    await waitFor(() => runJobs().length === 1);
    kill('SIGKILL');
    await third;
    const usage = await strand(['clean']);
    expect(usage.code).toBe(2);
    const cleaned = await strand(['clean', '--run', 'clean-me']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toMatch(/deleted 1 Job\(s\) and 1 run anchor\(s\)/);
    await waitFor(() => runJobs().length === 0 && cluster.kube.listObjects('pods', cluster.kube.namespace).length === 0);
  });

  it('strand logs streams the pods of a running run (-f) and prints saved logs afterwards', async () => {
    // The task runs until the test releases it, which it does only once `strand logs -f` has
    // printed the pod's first line: the pod is running for as long as the follower needs to attach
    // (a new process takes 1-3 s to start on a loaded machine), whatever the load. The fake kubelet
    // runs the container as a local process, so it sees the release file. (Bounded at 120 s.)
    const release = path.join(tmp, 'talk-release');
    const tool = path.join(tmp, 'talk.cwl');
    writeFileSync(
      tool,
      'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [sh, -c, ' +
        JSON.stringify(`echo hello-from-pod; echo oops >&2; i=0; while [ ! -e '${release}' ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done`) +
        ']\ninputs: []\noutputs: []\n',
    );
    const running = strand(['run', '--executor', 'kubernetes', '--run-id', 'talker', '--outdir', path.join(tmp, 'talk'), tool]);
    // Wait for this run's own pod: a container of an earlier test may still be stopping.
    const talking = () =>
      cluster.kube
        .listObjects('pods', cluster.kube.namespace)
        .some((p) => p.metadata?.labels?.['strand.dev/run'] === 'talker' && (p as { status?: { phase?: string } }).status?.phase === 'Running');
    const end = Date.now() + 30_000;
    while (!talking() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const live = await strand(['logs', 'talker', '-f'], cluster.env, undefined, (soFar) => {
      if (/\[talk\] hello-from-pod/.test(soFar)) writeFileSync(release, '');
    });
    writeFileSync(release, ''); // whatever happened, let the task end
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toMatch(/\[talk\] hello-from-pod/);
    expect((await running).code).toBe(0);
    const saved = await strand(['logs', 'talker']);
    expect(saved.stdout).toContain('==> talk (attempt 1) stdout.log <==\nhello-from-pod\n');
    expect(saved.stdout).toContain('oops');
  });
});
