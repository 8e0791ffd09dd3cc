/**
 * Where a task's files are in its pod, and under which keys in the bucket (pure, no I/O).
 *
 * Every container of the pod mounts one emptyDir at `root`, which stands for Strand's work root
 * on this machine (`localRoot`): a path below the work root is the same path below `root` (by
 * default `root` is `localRoot` itself, so tools see exactly the paths Strand gave them). Inputs
 * from elsewhere (the user's files) are put at `root/.strand-in/<hash of their directory>/<name>`,
 * so files that sit side by side (a BAM and its index) still do. Strand's own files for the pod
 * (the tool's exit status, its unredirected stdout/stderr) live in `root/.strand-task/<job>/`.
 *
 * Keys: `<prefix>/runs/<run>/files/...` for the files Strand puts in the bucket for pods (once
 * per run and local file), `<prefix>/runs/<run>/jobs/<job>/` for one pod: its stage-in manifest,
 * its outputs (`out/<path in the working directory>`), logs, and `result.json`, written last.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { TaskSpec } from '../../executor.js';
import { PathMap } from '../path-map.js';
import { isUnder } from '../storage-mounts.js';
import type { ObjectStoreSettings } from './settings.js';

export const INPUTS_DIR = '.strand-in';
export const TASK_DIR = '.strand-task';

export interface PodLayout {
  /** Mount path of the pod's emptyDir in every container. */
  root: string;
  /** Strand's work root on this machine, which `root` stands for. */
  localRoot: string;
  /** Strand's paths -> the pod's. */
  paths: PathMap;
  /** Strand's (local) directory for the pod's own files; `paths` maps it. */
  localTaskDir: string;
  /** The pod's paths of the tool's exit status file and its log directory. */
  doneFile: string;
  logDir: string;
  /** Pod paths of the task's inputs, mounted read-only in the tool's container. */
  inputs: string[];
}

export function hash16(s: string): string {
  return createHash('sha1').update(s).digest('hex').slice(0, 16);
}

/** Where an input outside the work root goes, relative to the pod's root. */
export function outsideInputPath(hostPath: string): string {
  return path.posix.join(INPUTS_DIR, hash16(path.dirname(hostPath)), path.basename(hostPath));
}

export function podRootFor(settings: ObjectStoreSettings, localRoot: string, job: string): string {
  return settings.podRoot !== undefined ? path.posix.join(settings.podRoot, job) : localRoot;
}

export function podLayout(spec: TaskSpec, settings: ObjectStoreSettings, localRoot: string, job: string): PodLayout {
  const root = podRootFor(settings, localRoot, job);
  const pairs: Array<{ from: string; to: string }> = [];
  const inputs: string[] = [];
  const extra = spec.stdin !== undefined && !spec.mounts.some((m) => isUnder(spec.stdin!, m.hostPath)) && !isUnder(spec.stdin, spec.workDir) ? [spec.stdin] : [];
  for (const hostPath of [...spec.mounts.map((m) => m.hostPath), ...extra]) {
    if (isUnder(hostPath, localRoot)) {
      inputs.push(path.posix.join(root, path.posix.relative(localRoot, hostPath)));
      continue;
    }
    const to = path.posix.join(root, outsideInputPath(hostPath));
    pairs.push({ from: hostPath, to });
    inputs.push(to);
  }
  pairs.push({ from: localRoot, to: root });
  const localTaskDir = path.posix.join(localRoot, TASK_DIR, job);
  const podTaskDir = path.posix.join(root, TASK_DIR, job);
  return {
    root,
    localRoot,
    paths: new PathMap(pairs),
    localTaskDir,
    doneFile: path.posix.join(podTaskDir, 'exit-status'),
    logDir: path.posix.join(podTaskDir, 'logs'),
    inputs,
  };
}

export function runPrefix(settings: ObjectStoreSettings, runId: string): string {
  return [settings.prefix, 'runs', runId].filter((p) => p !== '').join('/');
}

export function jobPrefix(settings: ObjectStoreSettings, runId: string, job: string): string {
  return `${runPrefix(settings, runId)}/jobs/${job}`;
}

/** The key under which Strand puts one of its local files for the run's pods. */
export function fileKey(settings: ObjectStoreSettings, runId: string, localPath: string, localRoot: string): string {
  const rel = isUnder(localPath, localRoot) ? `w/${path.posix.relative(localRoot, localPath)}` : `in/${hash16(path.dirname(localPath))}/${path.basename(localPath)}`;
  return `${runPrefix(settings, runId)}/files/${rel}`;
}
