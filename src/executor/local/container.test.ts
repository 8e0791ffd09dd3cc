import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../executor.js';
import { containerArgv, containerName, findOnPath, noRuntimeMessage, toHostPath } from './container.js';

const spec: TaskSpec = {
  taskId: 'main/align/3',
  runId: 'r1',
  stepPath: 'main/align',
  attempt: 2,
  argv: ['bwa', 'mem', '/data/ref.fa'],
  env: { PATH: '/host/bin', HOME: '/work', TMPDIR: '/tmp/t' },
  workDir: '/work',
  tmpDir: '/tmp/t',
  mounts: [{ hostPath: '/host/data', taskPath: '/data', readOnly: true }],
  resources: { cores: 1, ramMiB: 100, tmpdirMiB: 1, outdirMiB: 1 },
  networkAccess: false,
  image: 'biocontainers/bwa:0.7',
  logDir: '/logs/x',
};

describe('container support', () => {
  it('builds a runtime argv with mounts, env (minus PATH), workdir and no network', () => {
    const argv = containerArgv(spec, { runtime: '/usr/bin/docker', interactive: false, user: { uid: 1000, gid: 100 } });
    expect(argv.slice(0, 5)).toEqual(['/usr/bin/docker', 'run', '--rm', '--name', 'strand-r1-main_align_3-2']);
    expect(argv).not.toContain('-i');
    expect(argv.join(' ')).toContain('--workdir /work');
    expect(argv.join(' ')).toContain('-v /work:/work:rw');
    expect(argv.join(' ')).toContain('-v /tmp/t:/tmp/t:rw');
    expect(argv.join(' ')).toContain('-v /host/data:/data:ro');
    expect(argv.join(' ')).toContain('--env HOME=/work');
    expect(argv.join(' ')).not.toContain('PATH=');
    expect(argv.join(' ')).toContain('--network none');
    expect(argv.join(' ')).toContain('--user 1000:100');
    expect(argv.slice(-4)).toEqual(['biocontainers/bwa:0.7', 'bwa', 'mem', '/data/ref.fa']);
  });

  it('passes -i with stdin, keeps the network when allowed, and does not force --user on podman', () => {
    const argv = containerArgv({ ...spec, networkAccess: true }, { runtime: 'podman', interactive: true, user: { uid: 1, gid: 1 } });
    expect(argv).toContain('-i');
    expect(argv).not.toContain('--network');
    expect(argv).not.toContain('--user');
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

  it('finds executables on a PATH list', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'strand-path-'));
    try {
      await writeFile(path.join(dir, 'podman'), '#!/bin/sh\n');
      await chmod(path.join(dir, 'podman'), 0o755);
      await writeFile(path.join(dir, 'docker'), 'not executable');
      expect(findOnPath('podman', `/nonexistent${path.delimiter}${dir}`)).toBe(path.join(dir, 'podman'));
      expect(findOnPath('docker', dir)).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names containers safely and explains a missing runtime', () => {
    expect(containerName({ runId: 'r', taskId: 'a b/c', attempt: 1 })).toBe('strand-r-a_b_c-1');
    expect(noRuntimeMessage('img:1')).toMatch(/podman or docker.*img:1.*--no-container/);
  });
});
