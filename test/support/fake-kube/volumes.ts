/**
 * How the fake kubelet makes a pod's volumes visible to a process that runs directly on this
 * host. It cannot remap paths (no mount namespace), so:
 *  - hostPath: the volumeMount's mountPath must equal the hostPath path (joined with subPath);
 *  - persistentVolumeClaim: backed by the host directory `pvcHostPaths[claimName]`; the
 *    mountPath must equal that directory (joined with subPath), or lead on the host to the very
 *    same file (a link to it), which the process then sees as the pod would;
 *  - emptyDir: created fresh AT the mountPath, which must lie under one of `emptyDirRoots`
 *    (default: the OS temp dir) and must not exist yet; removed when the pod goes away.
 * A subPath that leads out of its volume through a link is refused as a real kubelet does
 * (CreateContainerConfigError). Anything else fails the pod with a message starting `fake-kube:`.
 */
import { mkdirSync, existsSync, realpathSync, statSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Pod } from './types.js';

export interface VolumeSetup {
  /** Directories to remove when the pod is gone (emptyDirs). */
  cleanup: string[];
}

export class VolumeError extends Error {
  constructor(
    message: string,
    /** 'limitation': the fake cannot do it (pod fails); 'mount': a real FailedMount (pod waits). */
    readonly kind: 'limitation' | 'mount' | 'config',
  ) {
    super(message);
  }
}

const under = (p: string, root: string): boolean => {
  const a = resolve(p);
  const b = resolve(root);
  return a === b || a.startsWith(b.endsWith(sep) ? b : b + sep);
};

export function setUpVolumes(pod: Pod, pvcHostPaths: Record<string, string>, emptyDirRoots: string[]): VolumeSetup {
  const cleanup: string[] = [];
  // An emptyDir is created once per pod, where its first mount without a subPath puts it; every
  // other mount of it (in any container) must be that path, or that path joined with its subPath.
  const emptyDirs = new Map<string, string>();
  const mounts = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].flatMap((c) => (c.volumeMounts ?? []).map((m) => ({ c, m })));
  mounts.sort((a, b) => Number(a.m.subPath !== undefined && a.m.subPath !== '') - Number(b.m.subPath !== undefined && b.m.subPath !== ''));
  for (const { c, m } of mounts) {
    const v = (pod.spec.volumes ?? []).find((x) => x.name === m.name)!;
    const mountPath = resolve(m.mountPath);
    let hostDir: string | undefined;
    const made = v.emptyDir ? emptyDirs.get(v.name) : undefined;
    if (made !== undefined) {
      const expected = resolve(m.subPath ? join(made, m.subPath) : made);
      if (mountPath !== expected)
        throw new VolumeError(
          `fake-kube: emptyDir volume "${v.name}" is mounted at ${mountPath} in container "${c.name}" but was created at ${made}: the fake kubelet cannot remap paths`,
          'limitation',
        );
      // A real kubelet prepares a subPath when its container starts (after the init containers
      // that may have made it); nothing to make here.
      continue;
    }
    if (v.hostPath) {
      hostDir = v.hostPath.path;
      const type = v.hostPath.type ?? '';
      const exists = existsSync(hostDir);
      if (type === 'DirectoryOrCreate' && !exists) mkdirSync(hostDir, { recursive: true });
      if (type === 'Directory' && !(exists && statSync(hostDir).isDirectory()))
        throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : hostPath type check failed: ${hostDir} is not a directory`, 'mount');
      if (type === 'File' && !(exists && statSync(hostDir).isFile()))
        throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : hostPath type check failed: ${hostDir} is not a file`, 'mount');
    } else if (v.persistentVolumeClaim) {
      hostDir = pvcHostPaths[v.persistentVolumeClaim.claimName];
      if (!hostDir)
        throw new VolumeError(`fake-kube: no host directory backs persistentVolumeClaim "${v.persistentVolumeClaim.claimName}" (set pvcHostPaths)`, 'limitation');
    } else if (v.emptyDir) {
      if (!emptyDirRoots.some((r) => under(mountPath, r)))
        throw new VolumeError(
          `fake-kube: emptyDir volume "${v.name}" is mounted at ${mountPath}; the fake kubelet creates emptyDirs at their mountPath and only under ${emptyDirRoots.join(', ')}`,
          'limitation',
        );
      if (m.subPath) throw new VolumeError(`fake-kube: emptyDir volume "${v.name}" has only subPath mounts; the fake kubelet needs one without a subPath`, 'limitation');
      if (existsSync(mountPath)) throw new VolumeError(`fake-kube: emptyDir volume "${v.name}": ${mountPath} already exists on the host`, 'limitation');
      mkdirSync(mountPath, { recursive: true });
      cleanup.push(mountPath);
      emptyDirs.set(v.name, mountPath);
      continue;
    } else {
      throw new VolumeError(`fake-kube: volume "${v.name}" has a source the fake kubelet does not support (hostPath, persistentVolumeClaim and emptyDir only)`, 'limitation');
    }
    const expected = resolve(m.subPath ? join(hostDir, m.subPath) : hostDir);
    // A host process sees at mountPath what the pod would see there when the host path already
    // leads to the same file (e.g. a link in a task directory to data on a read-only claim).
    const sameOnHost = (): boolean => {
      try {
        return realpathSync(mountPath) === realpathSync(expected);
      } catch {
        return false;
      }
    };
    if (mountPath !== expected && !sameOnHost())
      throw new VolumeError(
        `fake-kube: volumeMount ${m.mountPath} of volume "${v.name}" must equal its host path ${expected}: the fake kubelet runs containers as host processes and cannot remap paths`,
        'limitation',
      );
    if (m.subPath && !existsSync(expected)) mkdirSync(expected, { recursive: true });
    // A real kubelet refuses a subPath that resolves (through links) outside its volume; the
    // container then waits in CreateContainerConfigError. Host processes would just follow the link.
    if (m.subPath && !under(realpathSync(expected), realpathSync(hostDir)))
      throw new VolumeError(`failed to prepare subPath for volumeMount "${m.name}" of container "${c.name}"`, 'config');
  }
  return { cleanup };
}

export function tearDownVolumes(s: VolumeSetup): void {
  for (const d of s.cleanup) rmSync(d, { recursive: true, force: true });
}
