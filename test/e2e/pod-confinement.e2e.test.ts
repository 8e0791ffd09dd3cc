/**
 * The pod-side cases of confinement (issue 16, docs/security.md "Confinement of files") on a
 * real cluster: what a tool in a task pod can do to make Strand, on the host, read or collect a
 * host file. In a pod the tool cannot read the host's files itself; it can only leave names
 * (links, paths in cwl.output.json, a swapped log file) that mean something else on the host.
 * Each case checks that the run fails naming the output (where there is one), that nothing of
 * the host's secret reached --outdir, Strand's own output or the run store, and the task pod
 * sees no service-account token and nothing of the workstation's environment.
 *
 *   eval "$(bash test/e2e/rig.sh env)" && npx vitest run --config vitest.e2e.config.ts test/e2e/pod-confinement.e2e.test.ts
 *   STRAND_E2E_FAKE=1 ...   # the same cases on the fake API server (a self-check: its pods are host processes)
 *
 * test/security/confinement.test.ts has the full set of cases on the fake; these are the ones
 * whose meaning changes when the tool runs in a container.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, lstatSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeKube, startFakeKube } from '../support/fake-kube/index.js';
import { type ResolvedE2e, fakeConfigYaml, resolveE2e } from './e2e-env.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STRAND = path.join(ROOT, 'bin', 'strand.js');
const SECRET = 'HOST-SECRET-7f3a9c1e';

const env: ResolvedE2e = await resolveE2e();
const skipReason = env.kind === 'skip' ? env.reason : undefined;
const describeE2e = skipReason ? describe.skip : describe;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  outdir: string;
}

describeE2e(`pod-side confinement e2e${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'strand-e2e-confine-'));
  /** A host file no pod can see: the secret Strand must never read on a pod's behalf. */
  const secret = path.join(scratch, 'host', 'secret.txt');
  const store = path.join(scratch, 'store');
  let configPath = '';
  let childEnv: NodeJS.ProcessEnv = {};
  let fake: FakeKube | undefined;
  let n = 0;

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist'))) throw new Error('dist/ is missing: run `npm run build` first');
    mkdirSync(path.dirname(secret), { recursive: true });
    writeFileSync(secret, `${SECRET}\n`);
    if (env.kind === 'fake') {
      const workspace = mkdtempSync(path.join(scratch, 'workspace-'));
      fake = await startFakeKube({ pvcHostPaths: { 'strand-workspace': workspace }, jobBackoffBaseMs: 200, kubeletBackoffMs: 200 });
      const kc = new KubeConfig();
      kc.loadFromFile(fake.kubeconfigPath);
      await kc.makeApiClient(CoreV1Api).createNamespacedPersistentVolumeClaim({
        namespace: fake.namespace,
        body: { metadata: { name: 'strand-workspace' }, spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } } },
      });
      configPath = path.join(scratch, 'strand.yaml');
      writeFileSync(configPath, fakeConfigYaml({ workspaceDir: workspace, claimName: 'strand-workspace', namespace: fake.namespace }));
      childEnv = { ...process.env, KUBECONFIG: fake.kubeconfigPath };
    } else if (env.kind === 'cluster') {
      configPath = env.configPath;
      childEnv = { ...process.env };
    }
    delete childEnv.STRAND_STORE;
  });

  afterAll(async () => {
    await fake?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  function strand(args: string[]): Promise<Omit<Ran, 'outdir'>> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [STRAND, ...args], { cwd: scratch, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGTERM'), 5 * 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Runs a one-tool workflow (`sh -c script`, with the host secret's path as $0) on the cluster. */
  async function run(script: string, outputs: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Ran> {
    const id = `case-${++n}`;
    const doc = { cwlVersion: 'v1.2', class: 'CommandLineTool', baseCommand: ['sh', '-c', script], arguments: [secret], inputs: {}, outputs, ...extra };
    const docPath = path.join(scratch, `${id}.cwl`);
    writeFileSync(docPath, JSON.stringify(doc));
    const outdir = path.join(scratch, `${id}-out`);
    const r = await strand(['run', '--executor', 'kubernetes', '--config', configPath, '--store', store, '--cache', 'off', '--outdir', outdir, docPath]);
    return { ...r, outdir };
  }

  /** Every regular file under `dir` holding the secret, and every link (none may reach --outdir). */
  function leaked(dir: string): string[] {
    if (!existsSync(dir)) return [];
    const found: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = path.join(d, name);
        const st = lstatSync(p);
        if (st.isSymbolicLink()) found.push(`${p} (a link)`);
        else if (st.isDirectory()) walk(p);
        else if (st.isFile() && readFileSync(p).includes(SECRET)) found.push(p);
      }
    };
    walk(dir);
    return found;
  }

  function expectNoLeak(r: Ran): void {
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(leaked(r.outdir)).toEqual([]);
    expect(leaked(store).filter((p) => !p.endsWith('(a link)'))).toEqual([]);
  }

  it('a task pod sees no service-account token', async () => {
    const script = 'ls /var/run/secrets/kubernetes.io/serviceaccount > seen.txt 2>&1; echo done >> seen.txt';
    const r = await run(script, { seen: { type: 'File', outputBinding: { glob: 'seen.txt', loadContents: true } } });
    expect(r.code, r.stderr).toBe(0);
    const seen = readFileSync(path.join(r.outdir, 'seen.txt'), 'utf8');
    expect(seen).toContain('done');
    expect(seen).not.toMatch(/\btoken\b/);
  });

  it("a task pod gets nothing of the workstation's environment: no variable of Strand's shell, the image's PATH (issue 18, point 2)", async () => {
    const saved = childEnv;
    childEnv = { ...saved, PATH: `/opt/strand-e2e-workstation/bin:${saved.PATH ?? '/usr/bin:/bin'}`, STRAND_E2E_WORKSTATION_ONLY: 'leaked' };
    try {
      const r = await run('env > env.txt', { env: { type: 'File', outputBinding: { glob: 'env.txt' } } });
      expect(r.code, r.stderr).toBe(0);
      const seen = readFileSync(path.join(r.outdir, 'env.txt'), 'utf8');
      expect(seen).not.toContain('STRAND_E2E_WORKSTATION_ONLY');
      expect(seen).not.toContain('/opt/strand-e2e-workstation');
      expect(seen).toMatch(/^PATH=/m);
      expect(seen).toMatch(/^HOME=/m);
    } finally {
      childEnv = saved;
    }
  });

  it('a link the tool makes to an absolute path (meaning a file in the container) is not resolved on the host', async () => {
    const r = await run('ln -s "$0" out.txt', { out: { type: 'File', outputBinding: { glob: 'out.txt' } } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('out');
    expectNoLeak(r);
  });

  it('cwl.output.json naming a host path is refused', async () => {
    const r = await run('printf \'{"out": {"class": "File", "path": "%s"}}\' "$0" > cwl.output.json', { out: 'File' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(secret);
    expectNoLeak(r);
  });

  it('a link inside an output Directory to a host directory is refused, not dereferenced', async () => {
    const r = await run('mkdir d && echo mine > d/own && ln -s "$(dirname "$0")" d/host', { d: { type: 'Directory', outputBinding: { glob: 'd' } } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('d');
    expectNoLeak(r);
  });

  it("a failed task's redirected stderr file swapped for a link to a host path gives no log tail from the host", async () => {
    const r = await run('echo noise >&2; rm -f err.txt; ln -s "$0" err.txt; exit 3', {}, { stderr: 'err.txt' });
    expect(r.code).not.toBe(0);
    expectNoLeak(r);
  });

  it('the log files a pod writes in the workspace, swapped for links to a host path, are not read, moved or copied', async () => {
    const script = 'echo noise >&2; for d in ../.strand-logs/*/; do rm -f "$d/stderr.log" "$d/stdout.log"; ln -s "$0" "$d/stderr.log"; ln -s "$0" "$d/stdout.log"; done; exit 3';
    const r = await run(script, {});
    expect(r.code).not.toBe(0);
    expectNoLeak(r);
    const runId = /run (\S+) started/.exec(r.stderr)?.[1];
    expect(runId, r.stderr).toBeDefined();
    const logs = await strand(['logs', '--store', store, runId!]);
    expect(logs.stdout + logs.stderr).not.toContain(SECRET);
  });
});
