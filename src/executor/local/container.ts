/**
 * Container support for the local executor: choose a container runtime that actually works
 * (podman or docker), and build the argv that runs a task's command inside its image with the work
 * dir, tmp dir and the spec's mounts at the paths the task expects.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
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

export type RuntimeKind = 'podman' | 'docker';

/** A container runtime that answered its probe. */
export interface ContainerRuntime {
  /** Absolute path of the client binary. */
  path: string;
  kind: RuntimeKind;
  /** Rootless podman: root in the container is the invoking user on the host. */
  rootless: boolean;
  /** One line for logs: which runtime, and why the ones before it were passed over. */
  why: string;
}

/** podman-compatible unless the name says docker (e.g. `docker`, `docker.exe`). */
export function runtimeKind(file: string): RuntimeKind {
  return path.basename(file).startsWith('docker') ? 'docker' : 'podman';
}

/**
 * The command that tells whether a runtime can run containers now: podman's `info` checks its
 * storage and OCI runtime; `docker version` needs the daemon (the client alone answers
 * `docker --version` even when no daemon runs).
 */
export function probeArgv(file: string): string[] {
  return runtimeKind(file) === 'podman'
    ? [file, 'info', '--format', '{{.Host.Security.Rootless}}']
    : [file, 'version', '--format', '{{.Server.Version}}'];
}

export interface DetectOptions {
  /** `podman`, `docker`, or a path to a client: only this one is tried. Default: podman, then docker. */
  preferred?: string;
  /** PATH-style list to look the names up on. Default: process.env.PATH. */
  searchPath?: string;
  /** Time the probe of each runtime may take (default 15 s: a first `podman info` sets up its storage). */
  timeoutMs?: number;
}

export type Detection = { ok: true; runtime: ContainerRuntime } | { ok: false; reasons: string[] };

/** Probe the candidates in order and return the first one that works, or why none did. */
export async function detectContainerRuntime(o: DetectOptions = {}): Promise<Detection> {
  const searchPath = o.searchPath ?? process.env.PATH;
  const timeoutMs = o.timeoutMs ?? 15_000;
  const names = o.preferred ? [o.preferred] : ['podman', 'docker'];
  const reasons: string[] = [];
  for (const name of names) {
    const file = name.includes('/') ? path.resolve(name) : findOnPath(name, searchPath);
    if (!file) {
      reasons.push(`${name}: not found on PATH`);
      continue;
    }
    const argv = probeArgv(file);
    const r = await probe(argv, timeoutMs);
    if (r.ok) {
      const kind = runtimeKind(file);
      const rootless = kind === 'podman' && r.stdout.trim() === 'true';
      const passed = reasons.length ? ` (${reasons.join('; ')})` : '';
      const why = `container runtime: ${file} (${kind}${kind === 'podman' ? (rootless ? ', rootless' : ', rootful') : ''})${passed}`;
      return { ok: true, runtime: { path: file, kind, rootless, why } };
    }
    reasons.push(`${file}: \`${argv.slice(1).join(' ')}\` ${r.error}`);
  }
  return { ok: false, reasons };
}

function probe(argv: string[], timeoutMs: number): Promise<{ ok: true; stdout: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    execFile(argv[0] as string, argv.slice(1), { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (!err) return resolve({ ok: true, stdout });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      const last = lastLine(stderr) || lastLine(stdout);
      if (e.killed) resolve({ ok: false, error: `did not answer within ${timeoutMs / 1000} s` });
      else if (typeof e.code === 'string') resolve({ ok: false, error: `could not be run (${e.code})` });
      else resolve({ ok: false, error: `failed (exit ${String(e.code)})${last ? `: ${last}` : ''}` });
    });
  });
}

function lastLine(s: string): string {
  return (
    s
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? ''
  );
}

export function noRuntimeMessage(image: string, reasons: readonly string[] = []): string {
  const why = reasons.length ? ` (${reasons.join('; ')})` : '';
  return (
    `no working container runtime to run image ${image}${why}; ` +
    'start one, choose one with --container-runtime, or run with --no-container to use host tools'
  );
}

/** A container name that is unique per task attempt and valid for docker/podman. */
export function containerName(spec: Pick<TaskSpec, 'runId' | 'taskId' | 'attempt'>): string {
  const clean = `${spec.runId}-${spec.taskId}-${spec.attempt}`.replace(/[^a-zA-Z0-9_.-]+/g, '_');
  return `strand-${clean}`.slice(0, 200);
}

/**
 * The command that stops and removes a task's container at once. Killing the `run` client does
 * not stop the container (podman's conmon and docker's daemon keep it), so every path that kills
 * a containerised task must run this too.
 */
export function containerCleanupArgv(runtime: string, name: string): string[] {
  return runtimeKind(runtime) === 'podman' ? [runtime, 'rm', '--force', '--time', '0', name] : [runtime, 'rm', '--force', name];
}

/** The pid in a pid file (podman's --pidfile), or undefined while it is absent or incomplete. */
export function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return /^\d+\s*$/.test(text) && pid > 0 ? pid : undefined;
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

/**
 * One `--mount` value. Unlike `-v src:dst:ro`, it takes paths with `:`. Its fields are read as one
 * CSV record, so a field with `,` or `"` is quoted CSV-style.
 */
export function bindMount(source: string, target: string, readOnly: boolean): string {
  const field = (k: string, v: string) => {
    const kv = `${k}=${v}`;
    return /[",\n]/.test(kv) ? `"${kv.replace(/"/g, '""')}"` : kv;
  };
  return ['type=bind', field('source', source), field('target', target), ...(readOnly ? ['readonly'] : [])].join(',');
}

export interface ContainerArgvOptions {
  /** Absolute path (or name) of the runtime binary. */
  runtime: string;
  /** Pass `-i` so the container reads the stdin we connect. */
  interactive: boolean;
  /** Host user to run as (docker only: podman's root already is the invoking user). */
  user?: { uid: number; gid: number };
  /**
   * podman only: where podman writes the pid of the container's first process (`--pidfile`), for
   * measuring usage. Not conmon's pid file: conmon's first child is for a while the OCI runtime
   * (runc, in conmon's own session), so the session of "conmon's first child" was sometimes
   * conmon's, and a container's usage came out as conmon's (0.04 s and 12 MiB for a task that
   * used 0.55 s and 67 MiB).
   */
  pidFile?: string;
}

/**
 * The full argv that runs `spec` in its image. workDir and tmpDir are mounted read-write (workDir
 * at `containerWorkDir` when set, else at the same path) unless a mount already provides them;
 * the spec's mounts are read-only unless marked otherwise. The environment is the task's own
 * (the workstation's PATH is never in it: the image's PATH applies unless EnvVarRequirement sets one).
 *
 * Users: docker runs as the invoking user (`--user uid:gid`), so the outputs on the host are
 * theirs. podman runs as root in the container, which is the invoking user on the host: root for
 * rootful podman, the user through the user namespace for rootless podman; `--user 0:0` also
 * overrides an image's own USER, which could not write the output directory.
 */
export function containerArgv(spec: TaskSpec, o: ContainerArgvOptions): string[] {
  const kind = runtimeKind(o.runtime);
  const name = containerName(spec);
  const args: string[] = [o.runtime, 'run', '--rm', '--name', name];
  // A leftover container of the same name (a Strand killed before it could remove it) is ours.
  if (kind === 'podman') args.push('--replace');
  if (kind === 'podman' && o.pidFile) args.push('--pidfile', o.pidFile);
  // No `--init`: podman needs catatonit for it, only recommended by its packages. A stopped task's
  // container is removed with `rm --force --time 0` (SIGKILL), which needs no init to forward it.
  if (o.interactive) args.push('-i');
  const workDir = spec.containerWorkDir ?? spec.workDir;
  args.push('--workdir', workDir);
  const provided = new Set(spec.mounts.map((m) => m.taskPath));
  if (!provided.has(workDir)) args.push('--mount', bindMount(spec.workDir, workDir, false));
  if (!provided.has(spec.tmpDir)) args.push('--mount', bindMount(spec.tmpDir, spec.tmpDir, false));
  for (const m of spec.mounts) args.push('--mount', bindMount(m.hostPath, m.taskPath, m.readOnly));
  for (const [k, v] of Object.entries(spec.env)) args.push('--env', `${k}=${v}`);
  if (!spec.networkAccess) args.push('--network', 'none');
  if (kind === 'docker' && o.user) args.push('--user', `${o.user.uid}:${o.user.gid}`);
  if (kind === 'podman') args.push('--user', '0:0');
  args.push(spec.image ?? '', ...spec.argv);
  return args;
}
