/**
 * What of the shared storage a task pod sees (pure, no I/O).
 *
 * The workspace claim holds every run's task directories, so a pod must not mount it whole: it
 * gets one `subPath` mount per directory or file it needs, at the path it expects —
 *   read-write: its working directory (runtime.outdir), its tmpdir (unless `scratch` gives an
 *               emptyDir) and the directory where its unredirected stdout/stderr are copied;
 *   read-only:  each input under the workspace (and stdin), unless the tool may update it in
 *               place (CWL InitialWorkDir `writable` / InplaceUpdateRequirement: Mount.readOnly false).
 * Inputs inside the working directory or tmpdir need no mount of their own; an input copied into
 * the workspace that a link in the task's directory points to is also mounted at its original
 * path, and an
 * input that is a link is shown as its target (a kubelet refuses links as subPaths). Data volumes
 * (reference data, ReadOnlyMany) are mounted whole and read-only where the data lives.
 */
import path from 'node:path';
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { TaskSpec } from '../executor.js';
import type { PathMap } from './path-map.js';
import type { KubernetesSettings } from './settings.js';

export const WORKSPACE_VOLUME = 'workspace';
export const SCRATCH_VOLUME = 'scratch';
const dataVolumeName = (i: number) => `data-${i}`;

/** `p` is `dir` or inside it. */
export function isUnder(p: string, dir: string): boolean {
  if (dir === '/') return p.startsWith('/');
  return p === dir || p.startsWith(`${dir}/`);
}

interface Wanted {
  /** Path in the pod. */
  podPath: string;
  readOnly: boolean;
}

/** Fewest mounts that show every wanted path: duplicates merged (read-write wins), paths inside a mount of at least their rights dropped. */
export function coalesce(wanted: readonly Wanted[]): Wanted[] {
  const byPath = new Map<string, boolean>();
  for (const w of wanted) byPath.set(w.podPath, (byPath.get(w.podPath) ?? true) && w.readOnly);
  const sorted = [...byPath].map(([podPath, readOnly]) => ({ podPath, readOnly })).sort((a, b) => (a.podPath < b.podPath ? -1 : 1));
  const out: Wanted[] = [];
  for (const w of sorted) {
    // The innermost enclosing mount decides what the path already is.
    const enclosing = out.filter((o) => isUnder(w.podPath, o.podPath)).pop();
    if (enclosing && (w.readOnly || !enclosing.readOnly)) continue;
    out.push(w);
  }
  return out;
}

export interface TaskMounts {
  volumes: V1Volume[];
  volumeMounts: V1VolumeMount[];
}

/**
 * The pod's volumes and mounts. `paths` maps Strand's paths to the pod's; `logDir` is the pod's
 * log copy directory (Strand's view). Every path given must already be known to be visible
 * (job-builder checks that first).
 */
export function taskMounts(
  spec: TaskSpec,
  settings: KubernetesSettings,
  paths: PathMap,
  logDir?: string,
  links: ReadonlyMap<string, string> = new Map(),
  linkedFromWorkDir: ReadonlySet<string> = new Set(),
): TaskMounts {
  const ws = settings.workspace!;
  const workDir = paths.map(spec.workDir);
  const tmpDir = paths.map(spec.tmpDir);
  const own = [workDir, ...(settings.scratch ? [] : [tmpDir])];
  const dataRoots = settings.dataVolumes.map((v) => v.mountPath);

  const wanted: Wanted[] = own.map((p) => ({ podPath: p, readOnly: false }));
  if (logDir !== undefined) wanted.push({ podPath: paths.map(logDir), readOnly: false });
  // Links: the target is mounted where the link is (on the workspace or a data volume, by subPath).
  const linked: V1VolumeMount[] = [];
  for (const m of spec.mounts) {
    const target = links.get(m.hostPath);
    if (target === undefined) continue;
    const podTarget = paths.map(target);
    const mountPath = paths.map(m.hostPath);
    const dv = settings.dataVolumes.findIndex((v) => isUnder(podTarget, v.mountPath));
    const [name, root] = isUnder(podTarget, ws.mountPath) ? [WORKSPACE_VOLUME, ws.mountPath] : dv >= 0 ? [dataVolumeName(dv), settings.dataVolumes[dv]!.mountPath] : [];
    if (name === undefined || root === undefined) continue;
    linked.push({ name, mountPath, subPath: path.posix.relative(root, podTarget), readOnly: true });
  }
  const inputs = spec.mounts.filter((m) => !links.has(m.hostPath)).map((m) => ({ podPath: paths.map(m.hostPath), readOnly: m.readOnly }));
  // A copied (or differently mounted) input that a link in the task's directory points to (InitialWorkDir)
  // is also shown at Strand's path for it.
  const aliases = spec.mounts.flatMap((m) => {
    const podPath = paths.map(m.hostPath);
    if (!linkedFromWorkDir.has(m.hostPath)) return [];
    if (podPath === m.hostPath || !isUnder(podPath, ws.mountPath) || own.some((d) => isUnder(podPath, d))) return [];
    return [{ podPath: m.hostPath, subPath: path.posix.relative(ws.mountPath, podPath) }];
  });
  if (spec.stdin !== undefined) inputs.push({ podPath: paths.map(spec.stdin), readOnly: true });
  for (const i of inputs) {
    if (!isUnder(i.podPath, ws.mountPath)) continue; // on a data volume (mounted whole) or invisible (caught earlier)
    if (i.readOnly && dataRoots.some((r) => isUnder(i.podPath, r))) continue;
    if (own.some((d) => isUnder(i.podPath, d))) continue;
    wanted.push(i);
  }

  const volumes: V1Volume[] = [{ name: WORKSPACE_VOLUME, persistentVolumeClaim: { claimName: ws.claimName } }];
  const volumeMounts: V1VolumeMount[] = coalesce(wanted).map((w) => {
    const subPath = path.posix.relative(ws.mountPath, w.podPath);
    return {
      name: WORKSPACE_VOLUME,
      mountPath: w.podPath,
      ...(subPath !== '' ? { subPath } : {}),
      ...(w.readOnly ? { readOnly: true } : {}),
    };
  });
  const taken = new Set(volumeMounts.map((m) => m.mountPath));
  for (const l of linked) {
    if (taken.has(l.mountPath)) continue;
    taken.add(l.mountPath);
    volumeMounts.push(l);
  }
  for (const a of aliases) {
    if (taken.has(a.podPath) || isUnder(a.podPath, ws.mountPath)) continue;
    taken.add(a.podPath);
    volumeMounts.push({ name: WORKSPACE_VOLUME, mountPath: a.podPath, subPath: a.subPath, readOnly: true });
  }
  settings.dataVolumes.forEach((v, i) => {
    volumes.push({ name: dataVolumeName(i), persistentVolumeClaim: { claimName: v.claimName, readOnly: true } });
    volumeMounts.push({ name: dataVolumeName(i), mountPath: v.mountPath, readOnly: true });
  });
  if (settings.scratch) {
    const { medium, sizeLimit } = settings.scratch;
    volumes.push({ name: SCRATCH_VOLUME, emptyDir: { ...(medium ? { medium } : {}), ...(sizeLimit ? { sizeLimit } : {}) } });
    volumeMounts.push({ name: SCRATCH_VOLUME, mountPath: tmpDir });
  }
  return { volumes, volumeMounts };
}
