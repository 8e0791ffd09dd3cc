/**
 * The local executor with a real podman: skipped, with one line saying why, where podman or the
 * conformance images (test/conformance/podman-images.sh) are missing.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../executor.js';
import { waitUntil } from '../../../test/contract/executor-contract.js';
import { containerName, detectContainerRuntime } from './container.js';
import { LocalExecutor } from './local-executor.js';

const IMAGE = 'docker.io/library/debian:stable-slim';

async function whyNot(): Promise<string | undefined> {
  const d = await detectContainerRuntime({ preferred: 'podman' });
  if (!d.ok) return `podman does not work here (${d.reasons.join('; ')})`;
  try {
    execFileSync(d.runtime.path, ['image', 'exists', IMAGE], { stdio: 'ignore' });
  } catch {
    return `podman has no ${IMAGE} (run test/conformance/podman-images.sh)`;
  }
  return undefined;
}
const skip = await whyNot();
if (skip) console.log(`podman tests skipped: ${skip}`);

let root = '';
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-podman-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
async function spec(over: Partial<TaskSpec> & { argv: string[] }): Promise<TaskSpec> {
  n++;
  const workDir = path.join(root, `out:${n}`);
  const tmpDir = path.join(root, `tmp,${n}`);
  await mkdir(workDir, { recursive: true });
  await mkdir(tmpDir, { recursive: true });
  return {
    taskId: `podman/${n}`,
    runId: `test-${process.pid}`,
    stepPath: 'podman',
    attempt: 1,
    env: { HOME: workDir, TMPDIR: tmpDir },
    workDir,
    tmpDir,
    mounts: [],
    resources: { cores: 1, ramMiB: 1, tmpdirMiB: 1, outdirMiB: 1 },
    networkAccess: false,
    image: IMAGE,
    logDir: path.join(root, 'logs', String(n)),
    ...over,
  };
}
const never = new AbortController().signal;

function containerExists(name: string): boolean {
  return execFileSync('podman', ['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Names}}'], { encoding: 'utf8' }).trim() !== '';
}

const builtExecutor = path.resolve(fileURLToPath(import.meta.url), '../../../../dist/src/executor/local/local-executor.js');

describe.skipIf(skip !== undefined)('LocalExecutor with podman', () => {
  it('runs a tool in its image: inputs read-only at paths with ":" and ",", outputs owned by the invoking user', async () => {
    const inputDir = path.join(root, 'in:put,dir');
    await mkdir(inputDir);
    const input = path.join(inputDir, 'reads:1,2.txt');
    await writeFile(input, 'ACGT\n');
    const s = await spec({
      argv: ['sh', '-c', `cat "$1" > copy.txt; grep -q bookworm /etc/os-release && echo in-image > where.txt; echo x > "$1" 2>/dev/null || echo refused > ro.txt`, 'tool', input],
      mounts: [{ hostPath: input, taskPath: input, readOnly: true }],
    });
    const r = await new LocalExecutor({}).run(s, never);
    expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
    expect(readFileSync(path.join(s.workDir, 'copy.txt'), 'utf8')).toBe('ACGT\n');
    expect(readFileSync(path.join(s.workDir, 'where.txt'), 'utf8')).toBe('in-image\n');
    expect(readFileSync(path.join(s.workDir, 'ro.txt'), 'utf8')).toBe('refused\n');
    expect(readFileSync(input, 'utf8')).toBe('ACGT\n');
    expect(statSync(path.join(s.workDir, 'copy.txt')).uid).toBe(process.getuid?.());
    expect(containerExists(containerName(s))).toBe(false);
  });

  it("measures the container's own processes (CPU time and memory), not the podman client's", async () => {
    // A child of the container's shell busy on one core, holding ~64 MiB (dd's buffer); the podman
    // client itself uses a fraction of that. The script waits for the event, not the clock: until
    // dd holds its buffer and has used 0.5 s of CPU (a loaded machine once gave it too little in a
    // fixed 1.5 s: peak 12.4 MiB sampled), then 1.5 s more, three of the sampler's 500 ms periods.
    const hold = [
      'dd if=/dev/zero of=/dev/null bs=64M count=1000000 iflag=fullblock & pid=$!',
      'hz=$(getconf CLK_TCK); rss=0; cpu=0',
      // Shell builtins only while waiting (read, set, arithmetic): the wait adds next to no CPU of its own.
      'for i in $(seq 1 600); do',
      '  while read -r k v u; do [ "$k" = VmRSS: ] && rss=$v; done < /proc/$pid/status',
      '  read -r line < /proc/$pid/stat; set -- $line; cpu=$((${14} + ${15}))',
      '  [ "$rss" -ge 63000 ] && [ "$cpu" -ge $((hz / 2)) ] && break; sleep 0.1',
      'done',
      'sleep 1.5; kill $pid; wait $pid; echo "rss ${rss} kB, cpu ${cpu} ticks"',
    ].join('\n');
    const s = await spec({ argv: ['sh', '-c', hold] });
    const r = await new LocalExecutor({}).run(s, never);
    expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
    expect(r.usage, 'usage of the container').toBeDefined();
    const u = r.usage!;
    expect(u.source).toBe('proc');
    expect(u.samples).toBeGreaterThanOrEqual(2);
    // dd's time (the client's would be a few tenths at most, and not over the sampled span).
    expect(u.cpuSeconds).toBeGreaterThan(0.3);
    // One busy process: at most a core over the span it was sampled, which starts with the container.
    expect(u.cpuSeconds).toBeLessThan(u.sampledSeconds! + 0.05);
    expect(u.peakRssMiB).toBeGreaterThan(60);
  });

  it('mounts the output directory where dockerOutputDirectory says', async () => {
    const s = await spec({ argv: ['sh', '-c', 'touch /other/thing && pwd > /other/pwd'], containerWorkDir: '/other' });
    const r = await new LocalExecutor({}).run(s, never);
    expect(r).toMatchObject({ reason: 'completed', exitCode: 0 });
    expect(readFileSync(path.join(s.workDir, 'pwd'), 'utf8')).toBe('/other\n');
    expect(existsSync(path.join(s.workDir, 'thing'))).toBe(true);
  });

  it('removes the container when the task is cancelled', async () => {
    const s = await spec({ argv: ['sh', '-c', 'touch started; exec sleep 60'] });
    const ctl = new AbortController();
    const done = new LocalExecutor({}, { killGraceMs: 500 }).run(s, ctl.signal);
    await waitUntil(() => existsSync(path.join(s.workDir, 'started')), 'the container to start');
    ctl.abort();
    expect((await done).reason).toBe('cancelled');
    await waitUntil(() => !containerExists(containerName(s)), 'the container to be removed');
  });

  it.skipIf(!existsSync(builtExecutor))('removes the container of a Strand process killed with SIGKILL', async () => {
    const s = await spec({ argv: ['sh', '-c', 'touch started; exec sleep 60'] });
    const script = `
      const { LocalExecutor } = await import(${JSON.stringify(builtExecutor)});
      await new LocalExecutor({}, { launcher: 'always' }).run(${JSON.stringify(s)}, new AbortController().signal);`;
    const strand = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    const exited = new Promise((r) => strand.once('exit', r));
    await waitUntil(() => existsSync(path.join(s.workDir, 'started')), 'the container to start');
    expect(containerExists(containerName(s))).toBe(true);
    strand.kill('SIGKILL');
    await exited;
    await waitUntil(() => !containerExists(containerName(s)), 'the container to be removed');
  });
});
