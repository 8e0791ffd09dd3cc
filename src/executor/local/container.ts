/**
 * Minimal container support for the local executor: run a task's argv inside `image` with podman
 * or docker, mounting the work dir, tmp dir and the spec's mounts at the paths the task expects.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Mount, TaskSpec } from '../executor.js';

/** Find an executable named `name` on `searchPath` (a PATH-style list); undefined if absent. */
export function findOnPath(name: string, searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** podman if present, else docker, else undefined. */
export function findContainerRuntime(searchPath: string | undefined = process.env.PATH): string | undefined {
  return findOnPath('podman', searchPath) ?? findOnPath('docker', searchPath);
}

export function noRuntimeMessage(image: string): string {
  return (
    `no container runtime (podman or docker) found to run image ${image}; ` +
    'install one or run with --no-container to use host tools'
  );
}

/** A container name that is unique per task attempt and valid for docker/podman. */
export function containerName(spec: Pick<TaskSpec, 'runId' | 'taskId' | 'attempt'>): string {
  const clean = `${spec.runId}-${spec.taskId}-${spec.attempt}`.replace(/[^a-zA-Z0-9_.-]+/g, '_');
  return `strand-${clean}`.slice(0, 200);
}

/** Map a path as the task sees it to the host path, through the longest matching mount. */
export function toHostPath(taskPath: string, mounts: readonly Mount[]): string {
  let best: Mount | undefined;
  for (const m of mounts) {
    if (taskPath === m.taskPath || taskPath.startsWith(m.taskPath.endsWith('/') ? m.taskPath : m.taskPath + '/')) {
      if (!best || m.taskPath.length > best.taskPath.length) best = m;
    }
  }
  if (!best) return taskPath;
  return best.hostPath + taskPath.slice(best.taskPath.length);
}

export interface ContainerArgvOptions {
  /** Absolute path (or name) of the runtime binary. */
  runtime: string;
  /** Pass `-i` so the container reads the stdin we connect. */
  interactive: boolean;
  /** Host user to run as (docker only; rootless podman maps the user already). */
  user?: { uid: number; gid: number };
}

/**
 * The full argv that runs `spec` in its image. workDir and tmpDir are mounted read-write at the same
 * path unless a mount already provides them. PATH is not passed: the image's own PATH applies.
 */
export function containerArgv(spec: TaskSpec, o: ContainerArgvOptions): string[] {
  const isDocker = path.basename(o.runtime).startsWith('docker');
  const args: string[] = [o.runtime, 'run', '--rm', '--name', containerName(spec)];
  if (o.interactive) args.push('-i');
  args.push('--workdir', spec.workDir);
  const provided = new Set(spec.mounts.map((m) => m.taskPath));
  for (const dir of [spec.workDir, spec.tmpDir]) {
    if (!provided.has(dir)) args.push('-v', `${dir}:${dir}:rw`);
  }
  for (const m of spec.mounts) args.push('-v', `${m.hostPath}:${m.taskPath}:${m.readOnly ? 'ro' : 'rw'}`);
  for (const [k, v] of Object.entries(spec.env)) {
    if (k !== 'PATH') args.push('--env', `${k}=${v}`);
  }
  if (!spec.networkAccess) args.push('--network', 'none');
  if (isDocker && o.user) args.push('--user', `${o.user.uid}:${o.user.gid}`);
  args.push(spec.image ?? '', ...spec.argv);
  return args;
}
