import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../../../test/support/fake-cluster.js';
import { jobFileOf, readPlan, runLeader } from './leader-run.js';
import { openRunStore } from '../../store/run-store.js';
import { storeDirOf, type LeaderPlan } from './plan.js';

const PASSWORD = 'pw-Lz55qT';
const SIGNATURE = 'sig-4242cafe';
const url = `https://reader:${PASSWORD}@data.example.org/x.txt?X-Amz-Signature=${SIGNATURE}`;

let cluster: FakeCluster;
const savedKubeconfig = process.env.KUBECONFIG;
beforeAll(async () => {
  cluster = await startFakeCluster();
  process.env.KUBECONFIG = cluster.kube.kubeconfigPath;
});
afterAll(async () => {
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
  await cluster?.close();
});

/** A bundle mount and a job Secret mount, as the leader pod sees them, for `doc` and `job`. */
function mounts(runId: string, doc: string, job: object, extra: Partial<LeaderPlan> = {}): { plan: LeaderPlan; bundleMount: string; jobMount: string } {
  const base = path.join(cluster.workspace, 'mounts', runId);
  const bundleMount = path.join(base, 'bundle');
  const jobMount = path.join(base, 'job');
  mkdirSync(bundleMount, { recursive: true });
  mkdirSync(jobMount, { recursive: true });
  writeFileSync(path.join(bundleMount, 'f0-wf.cwl'), doc);
  writeFileSync(path.join(jobMount, 'job.json'), JSON.stringify(job));
  const plan: LeaderPlan = {
    version: 2,
    runId,
    document: 'workflow/wf.cwl',
    files: [{ key: 'f0-wf.cwl', path: 'workflow/wf.cwl' }],
    dirs: [],
    outdir: path.join(cluster.workspace, 'strand-submit', runId, 'out'),
    runRoot: path.join(cluster.workspace, 'strand-submit', runId),
    kubernetes: { ...cluster.settings, namespace: cluster.kube.namespace },
    publishIntervalMs: 50,
    cache: 'off',
    submittedAt: new Date().toISOString(),
    submittedBy: 'tester',
    ...extra,
  };
  writeFileSync(path.join(bundleMount, 'submit.json'), JSON.stringify(plan));
  return { plan, bundleMount, jobMount };
}

/** Runs the leader in-process on `mounts`' plan, as its pod would; what it printed and published. */
async function lead(m: { bundleMount: string; jobMount: string }): Promise<{ status: Awaited<ReturnType<typeof runLeader>>; out: string[]; published: string[] }> {
  const read = readPlan(m.bundleMount, 'submit.json');
  const out: string[] = [];
  const published: string[] = [];
  const status = await runLeader(
    read,
    m.bundleMount,
    { namespace: cluster.kube.namespace },
    { publish: (j) => published.push(j), flush: async () => undefined },
    (bundleDir) => jobFileOf(read, bundleDir, m.jobMount, 'job.json'),
    { stdout: (t) => out.push(t), stderr: (t) => out.push(t) },
  );
  return { status, out, published };
}

const ECHO_URL = [
  'cwlVersion: v1.2',
  'class: ExpressionTool',
  'requirements: {InlineJavascriptRequirement: {}}',
  'inputs: {url: string}',
  'outputs: {same: string}',
  'expression: "$({same: inputs.url})"',
].join('\n');

describe('strand leader (in the leader pod)', () => {
  it('reads the job from the job Secret, never writes it on the workspace, and prints its outputs, errors and status without URL credentials', async () => {
    const { plan, bundleMount, jobMount } = mounts('lead-1', ECHO_URL, { url });
    const { status, out, published } = await lead({ bundleMount, jobMount });
    expect(status, out.join('')).toBe('success');
    // The output is the URL itself: the pod's log shows it redacted.
    expect(out.join('')).toContain('"same": "https://***@data.example.org/x.txt?X-Amz-Signature=***"');
    // The run's own files on the workspace (bundle copy, store, outputs) do not hold the credentials.
    const files = readdirSync(plan.runRoot, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.map((e) => e.name)).not.toContain('job.json');
    for (const secret of [PASSWORD, SIGNATURE]) {
      expect(out.join('') + published.join('')).not.toContain(secret);
      for (const e of files) expect(readFileSync(path.join(e.parentPath, e.name)).toString('latin1'), e.name).not.toContain(secret);
    }
  });

  it('a run that fails names the URL without its credentials, in the pod log and the published status', async () => {
    // An input of the wrong type: the error quotes the value given.
    const doc = ECHO_URL.replace('inputs: {url: string}', 'inputs: {url: int}');
    const { bundleMount, jobMount } = mounts('lead-2', doc, { url });
    const { status, out, published } = await lead({ bundleMount, jobMount });
    expect(status).toBe('failed');
    expect(out.join('')).toContain('strand: error:');
    expect(out.join('')).toContain('https://***@data.example.org');
    for (const secret of [PASSWORD, SIGNATURE]) expect(out.join('') + published.join('')).not.toContain(secret);
  });

  it("runs with the submitter's --no-container: a tool's DockerRequirement is ignored and its task runs in kubernetes.defaultImage (issue 18, point 4)", async () => {
    const doc = [
      'cwlVersion: v1.2',
      'class: CommandLineTool',
      'requirements: {DockerRequirement: {dockerPull: "registry.invalid/lab/tool:1"}}',
      'inputs: []',
      'baseCommand: [echo, hi]',
      'stdout: out.txt',
      'outputs: {out: stdout}',
    ].join('\n');
    const { plan, bundleMount, jobMount } = mounts('lead-3', doc, {}, { noContainer: true });
    const { status, out } = await lead({ bundleMount, jobMount });
    expect(status, out.join('')).toBe('success');
    // The task's recorded attempt: no image of its own (it ran in the executor's default).
    const store = openRunStore(storeDirOf(plan.runRoot));
    const attempts = store.getRun('lead-3')?.attempts ?? [];
    store.close();
    expect(attempts.length).toBe(1);
    expect(attempts[0]?.image).toBeUndefined();
  });
});
