/**
 * `strand submit` carries the options that shape a run to its leader (issue 18, point 4):
 * `--no-container` (or `noContainer: true` in strand.yaml) in the run plan. Against the fake API
 * server; the leader pod never starts here (its image cannot be pulled): what is under test is
 * the plan submit writes. src/api/submitted/leader-run.test.ts has the leader's side.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster.js';
import { built, runStrand } from '../support/strand-cli.js';

const IMAGE = 'registry.invalid/strand:test';
let cluster: FakeCluster;
let tmp = '';

beforeAll(async () => {
  cluster = await startFakeCluster();
  cluster.kube.imagePullFails(IMAGE, 'ErrImagePull');
  tmp = mkdtempSync(path.join(os.tmpdir(), 'strand-submit-options-'));
  writeFileSync(
    path.join(tmp, 'tool.cwl'),
    'cwlVersion: v1.2\nclass: CommandLineTool\nrequirements: {DockerRequirement: {dockerPull: "registry.invalid/lab/tool:1"}}\ninputs: []\nbaseCommand: [echo, hi]\noutputs: {out: stdout}\n',
  );
});
afterAll(async () => {
  await cluster?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function planOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const runId = `opt-${Math.random().toString(36).slice(2, 8)}`;
  const r = await runStrand(['submit', '--image', IMAGE, '--run-id', runId, ...args, 'tool.cwl'], { cwd: tmp, env: { ...cluster.env, STRAND_STORE: path.join(tmp, 'store'), ...env } });
  expect(r.code, r.stderr).toBe(0);
  const cm = cluster.kube.getObject('configmaps', cluster.kube.namespace, `strand-bundle-${runId}`) as unknown as { data: Record<string, string> } | undefined;
  await runStrand(['cancel', runId], { cwd: tmp, env: { ...cluster.env, STRAND_STORE: path.join(tmp, 'store') } });
  return JSON.parse(cm?.data['submit.json'] ?? '{}') as Record<string, unknown>;
}

describe.skipIf(!built)('strand submit: the options that shape the run reach its leader', () => {
  it('--no-container is in the run plan; without it, nothing is', async () => {
    expect((await planOf(['--no-container'])).noContainer).toBe(true);
    expect((await planOf([])).noContainer).toBeUndefined();
  });

  it('names a job file key that is not an input, as strand run does, and submits', async () => {
    const runId = `keys-${Math.random().toString(36).slice(2, 8)}`;
    writeFileSync(path.join(tmp, 'job.yml'), 'greetng: hello\n');
    const env = { ...cluster.env, STRAND_STORE: path.join(tmp, 'store') };
    const r = await runStrand(['submit', '--image', IMAGE, '--run-id', runId, 'tool.cwl', 'job.yml'], { cwd: tmp, env });
    await runStrand(['cancel', runId], { cwd: tmp, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('[strand] warning: job.yml:1:1: "greetng" is not an input of tool.cwl');
  });

  it('noContainer: true in strand.yaml does the same', async () => {
    const cfg = path.join(tmp, 'no-container.yaml');
    writeFileSync(cfg, `noContainer: true\nexecutor: kubernetes\nkubernetes: ${JSON.stringify(cluster.settings)}\n`);
    expect((await planOf(['--config', cfg])).noContainer).toBe(true);
  });
});
