import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../executor.js';
import {
  bindMount,
  containerArgv,
  containerCleanupArgv,
  containerName,
  detectContainerRuntime,
  findOnPath,
  noRuntimeMessage,
  toHostPath,
} from './container.js';

const spec: TaskSpec = {
  taskId: 'main/align/3',
  runId: 'r1',
  stepPath: 'main/align',
  attempt: 2,
  argv: ['bwa', 'mem', '/data/ref.fa'],
  // A container task's environment has no PATH of the workstation's (engine/tool/environment.ts).
  env: { HOME: '/work', TMPDIR: '/tmp/t' },
  workDir: '/work',
  tmpDir: '/tmp/t',
  mounts: [{ hostPath: '/host/data', taskPath: '/data', readOnly: true }],
  resources: { cores: 1, ramMiB: 100, tmpdirMiB: 1, outdirMiB: 1 },
  networkAccess: false,
  image: 'biocontainers/bwa:0.7',
  logDir: '/logs/x',
};

/** The values that follow each `flag` in argv. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag && argv[i + 1] !== undefined ? [argv[i + 1] as string] : []));
}

let bin = '';
beforeAll(async () => {
  bin = await mkdtemp(path.join(os.tmpdir(), 'strand-path-'));
});
afterAll(async () => {
  await rm(bin, { recursive: true, force: true });
});

/** A real executable script in its own directory, to put on a fake PATH. */
async function script(dir: string, name: string, body: string): Promise<string> {
  const d = path.join(bin, dir);
  await mkdir(d, { recursive: true });
  await writeFile(path.join(d, name), `#!/bin/sh\n${body}\n`);
  await chmod(path.join(d, name), 0o755);
  return d;
}

describe('container argv', () => {
  it('runs docker as the invoking user, with bind mounts, the task env, workdir and no network', () => {
    const argv = containerArgv(spec, { runtime: '/usr/bin/docker', interactive: false, user: { uid: 1000, gid: 100 } });
    expect(argv.slice(0, 5)).toEqual(['/usr/bin/docker', 'run', '--rm', '--name', 'strand-r1-main_align_3-2']);
    expect(argv).not.toContain('-i');
    expect(argv).not.toContain('--replace');
    expect(argv).not.toContain('-v');
    expect(values(argv, '--workdir')).toEqual(['/work']);
    expect(values(argv, '--mount')).toEqual([
      'type=bind,source=/work,target=/work',
      'type=bind,source=/tmp/t,target=/tmp/t',
      'type=bind,source=/host/data,target=/data,readonly',
    ]);
    expect(values(argv, '--env')).toEqual(['HOME=/work', 'TMPDIR=/tmp/t']);
    // A PATH the tool's EnvVarRequirement sets is the tool's: passed.
    const withPath = containerArgv({ ...spec, env: { ...spec.env, PATH: '/opt/bwa/bin:/usr/bin' } }, { runtime: '/usr/bin/docker', interactive: false });
    expect(values(withPath, '--env')).toContain('PATH=/opt/bwa/bin:/usr/bin');
    expect(values(argv, '--network')).toEqual(['none']);
    expect(values(argv, '--user')).toEqual(['1000:100']);
    expect(argv.slice(-4)).toEqual(['biocontainers/bwa:0.7', 'bwa', 'mem', '/data/ref.fa']);
  });

  it('runs podman as root in the container (the invoking user on the host), replacing a leftover of the same name', () => {
    const argv = containerArgv({ ...spec, networkAccess: true }, { runtime: 'podman', interactive: true, user: { uid: 1, gid: 1 } });
    expect(argv).toContain('-i');
    expect(argv).toContain('--replace');
    expect(argv).not.toContain('--network');
    expect(values(argv, '--user')).toEqual(['0:0']);
    expect(argv).not.toContain('--pidfile');
  });

  it("asks podman (only) for the container process's pid file when usage is measured", () => {
    const argv = containerArgv(spec, { runtime: 'podman', interactive: false, pidFile: '/logs/container.pid' });
    expect(values(argv, '--pidfile')).toEqual(['/logs/container.pid']);
    expect(argv.indexOf('--pidfile')).toBeLessThan(argv.indexOf(spec.image!));
    expect(argv).not.toContain('--conmon-pidfile');
    const docker = containerArgv(spec, { runtime: 'docker', interactive: false, pidFile: '/logs/container.pid' });
    expect(docker).not.toContain('--pidfile');
  });

  it('mounts paths with ":" and "," intact, inputs read-only unless the mount says writable', () => {
    const odd = {
      ...spec,
      workDir: '/w/run:1',
      tmpDir: '/t/a,b',
      mounts: [
        { hostPath: '/in/x:y.txt', taskPath: '/in/x:y.txt', readOnly: true },
        { hostPath: '/in/say "hi",now', taskPath: '/in/say "hi",now', readOnly: false },
      ],
    };
    const mounts = values(containerArgv(odd, { runtime: 'podman', interactive: false }), '--mount');
    expect(mounts).toEqual([
      'type=bind,source=/w/run:1,target=/w/run:1',
      'type=bind,"source=/t/a,b","target=/t/a,b"',
      'type=bind,source=/in/x:y.txt,target=/in/x:y.txt,readonly',
      'type=bind,"source=/in/say ""hi"",now","target=/in/say ""hi"",now"',
    ]);
  });

  it('mounts the work dir where the image expects its output directory (dockerOutputDirectory)', () => {
    const argv = containerArgv({ ...spec, containerWorkDir: '/other' }, { runtime: 'podman', interactive: false });
    expect(values(argv, '--workdir')).toEqual(['/other']);
    expect(values(argv, '--mount')).toContain('type=bind,source=/work,target=/other');
    expect(values(argv, '--mount')).not.toContain('type=bind,source=/work,target=/work');
  });

  it('does not mount the work dir twice when a mount provides it', () => {
    const argv = containerArgv({ ...spec, mounts: [{ hostPath: '/h/w', taskPath: '/work', readOnly: false }] }, { runtime: 'podman', interactive: false });
    expect(values(argv, '--mount').filter((m) => m.includes('target=/work'))).toEqual(['type=bind,source=/h/w,target=/work']);
  });

  it('quotes --mount fields CSV-style only when they need it', () => {
    expect(bindMount('/a', '/b', true)).toBe('type=bind,source=/a,target=/b,readonly');
    expect(bindMount('/a"b', '/c', false)).toBe('type=bind,"source=/a""b",target=/c');
  });

  it('removes a container at once: podman without its 10 s stop timeout', () => {
    expect(containerCleanupArgv('/usr/bin/podman', 'strand-x')).toEqual(['/usr/bin/podman', 'rm', '--force', '--time', '0', 'strand-x']);
    expect(containerCleanupArgv('docker', 'strand-x')).toEqual(['docker', 'rm', '--force', 'strand-x']);
  });

  it('maps task paths to host paths through the longest matching mount', () => {
    const mounts = [
      { hostPath: '/h/a', taskPath: '/a', readOnly: false },
      { hostPath: '/h/deep', taskPath: '/a/b', readOnly: false },
    ];
    expect(toHostPath('/a/x.txt', mounts)).toBe('/h/a/x.txt');
    expect(toHostPath('/a/b/y.txt', mounts)).toBe('/h/deep/y.txt');
    expect(toHostPath('/ab/z', mounts)).toBe('/ab/z');
    expect(toHostPath('/a', mounts)).toBe('/h/a');
  });

  it('names containers safely', () => {
    expect(containerName({ runId: 'r', taskId: 'a b/c', attempt: 1 })).toBe('strand-r-a_b_c-1');
  });
});

describe('container runtime detection', () => {
  it('finds executables on a PATH list', async () => {
    const dir = await script('find', 'podman', 'exit 0');
    await writeFile(path.join(dir, 'docker'), 'not executable');
    expect(findOnPath('podman', `/nonexistent${path.delimiter}${dir}`)).toBe(path.join(dir, 'podman'));
    expect(findOnPath('docker', dir)).toBeUndefined();
  });

  it('passes over a docker client whose daemon is not running, and says why', async () => {
    const dir = await script(
      'nodaemon',
      'docker',
      'echo "Client: 24.0"; echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1',
    );
    const d = await detectContainerRuntime({ searchPath: dir });
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.reasons).toEqual([
      'podman: not found on PATH',
      `${path.join(dir, 'docker')}: \`version --format {{.Server.Version}}\` failed (exit 1): Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?`,
    ]);
    expect(noRuntimeMessage('debian:stable-slim', d.reasons)).toMatch(
      /^no working container runtime to run image debian:stable-slim \(podman: not found on PATH; .*docker daemon running\?\); .*--container-runtime.*--no-container/,
    );
  });

  it('prefers a working podman, and reports whether it is rootless', async () => {
    const both = await script('both', 'podman', '[ "$1" = info ] && echo true');
    await script('both', 'docker', 'echo 24.0');
    const d = await detectContainerRuntime({ searchPath: both });
    expect(d).toMatchObject({ ok: true, runtime: { path: path.join(both, 'podman'), kind: 'podman', rootless: true } });
  });

  it('falls back to docker when podman fails, naming what podman said', async () => {
    const dir = await script('fallback', 'podman', 'echo "Error: cannot set up storage: permission denied" >&2; exit 125');
    await script('fallback', 'docker', '[ "$1" = version ] && echo 24.0');
    const d = await detectContainerRuntime({ searchPath: dir });
    expect(d).toMatchObject({ ok: true, runtime: { path: path.join(dir, 'docker'), kind: 'docker', rootless: false } });
    if (d.ok) expect(d.runtime.why).toContain('failed (exit 125): Error: cannot set up storage: permission denied');
  });

  it('tries only the runtime asked for, by name or path', async () => {
    const dir = await script('explicit', 'podman', 'echo false');
    await script('explicit', 'docker', 'exit 1');
    const byName = await detectContainerRuntime({ searchPath: dir, preferred: 'docker' });
    expect(byName.ok).toBe(false);
    const byPath = await detectContainerRuntime({ searchPath: '', preferred: path.join(dir, 'podman') });
    expect(byPath).toMatchObject({ ok: true, runtime: { kind: 'podman', rootless: false } });
  });

  it('gives up on a runtime that does not answer in time', async () => {
    const dir = await script('hang', 'podman', 'exec sleep 30');
    const d = await detectContainerRuntime({ searchPath: dir, preferred: 'podman', timeoutMs: 300 });
    expect(d).toEqual({ ok: false, reasons: [`${path.join(dir, 'podman')}: \`info --format {{.Host.Security.Rootless}}\` did not answer within 0.3 s`] });
  });
});
