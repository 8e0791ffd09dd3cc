/**
 * Makes a task's inputs visible in its pod. Paths under the workspace (seen by Strand at
 * `workspace.localPath`, by pods at `workspace.mountPath`) and under a data volume (mounted where
 * the data already lives) are used in place; any other input is copied into the workspace once per
 * run, and the task's paths are rewritten to the copy.
 */
import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, readdir, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Mount } from '../executor.js';
import { markRunDir, type RunIdentity } from '../run-marker.js';
import { PathMap } from './path-map.js';
import type { VolumeClaimMount, WorkspaceSettings } from './settings.js';

function isInside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

export class InputStager {
  private readonly staged = new Map<string, Promise<string>>();
  /** Bytes copied so far (for the run's summary). */
  copiedFiles = 0;

  constructor(
    private readonly workspace: WorkspaceSettings,
    private readonly dataVolumes: VolumeClaimMount[],
    private readonly runId: string,
    /** Who the copies are for: written as the marker of the run's copies folder (run-marker.ts). */
    private readonly identity: RunIdentity = { runId },
  ) {}

  private marked: Promise<unknown> | undefined;

  /** True when a pod sees `hostPath` without copying (and can write it, when it must: data volumes are read-only). */
  visible(hostPath: string, writable = false): boolean {
    if (isInside(hostPath, this.workspace.localPath)) return true;
    return !writable && this.dataVolumes.some((v) => isInside(hostPath, v.mountPath));
  }

  /** The host -> pod path map for a task with these mounts, copying what pods cannot see. */
  async pathMapFor(mounts: readonly Mount[], opts: { copy?: boolean } = {}): Promise<PathMap> {
    const pairs: Array<{ from: string; to: string }> = [];
    const toPod = (p: string) => this.workspace.mountPath + p.slice(this.workspace.localPath.length);
    if (this.workspace.localPath !== this.workspace.mountPath) pairs.push({ from: this.workspace.localPath, to: this.workspace.mountPath });
    for (const m of mounts) {
      if (this.visible(m.hostPath, !m.readOnly)) continue;
      const local = opts.copy === false ? this.stagedPath(m.hostPath) : await this.stage(m.hostPath);
      pairs.push({ from: m.hostPath, to: toPod(local) });
    }
    return new PathMap(pairs);
  }

  /**
   * Inputs that are symbolic links (InitialWorkDir links an input into a task's directory): host
   * path -> the file the pod must be shown there (the link's target, or a copy of it when pods
   * cannot see the target). A kubelet refuses a subPath that is a link leading out of its volume.
   */
  async resolveLinks(mounts: readonly Mount[]): Promise<Map<string, string>> {
    const links = new Map<string, string>();
    for (const m of mounts) {
      const st = await lstat(m.hostPath).catch(() => undefined);
      if (!st) continue;
      const real = await realpath(m.hostPath).catch(() => undefined);
      if (real === undefined) continue;
      // Not a link itself, but reached through one (an output directory that a step's
      // InitialWorkDir link leads into): shown as its target too, unless only the workspace's or
      // a data volume's own directory is a link.
      // The target as a path under the workspace or a data volume, also when that volume's own
      // directory is reached through a link here (a data volume at /data -> /mnt/nfs/data).
      const inVolume = await this.volumePathOf(real);
      if (!st.isSymbolicLink() && (real === m.hostPath || inVolume === m.hostPath)) continue;
      links.set(m.hostPath, inVolume ?? (this.visible(real) ? real : await this.stage(real)));
    }
    return links;
  }

  /** A real path under the workspace's or a data volume's real directory, as a path under that root. */
  private async volumePathOf(real: string): Promise<string | undefined> {
    for (const { root, realRoot } of await this.realRoots()) {
      if (realRoot !== undefined && isInside(real, realRoot)) return root + real.slice(realRoot.length);
    }
    return undefined;
  }

  /** The workspace's and data volumes' directories with their real paths, read once. */
  private roots: Promise<Array<{ root: string; realRoot: string | undefined }>> | undefined;
  private realRoots(): Promise<Array<{ root: string; realRoot: string | undefined }>> {
    this.roots ??= Promise.all(
      [this.workspace.localPath, ...this.dataVolumes.map((v) => v.mountPath)].map(async (root) => ({ root, realRoot: await realpath(root).catch(() => undefined) })),
    );
    return this.roots;
  }

  /**
   * Where the links in a task's own directory point (InitialWorkDir links inputs there): those
   * inputs must also be shown at their own paths. Only links, a few levels deep.
   */
  async linkTargetsIn(dir: string, depth = 3): Promise<Set<string>> {
    const out = new Set<string>();
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isSymbolicLink()) {
        const t = await readlink(p).catch(() => undefined);
        if (t !== undefined) out.add(path.resolve(dir, t));
      } else if (e.isDirectory() && depth > 1) {
        for (const t of await this.linkTargetsIn(p, depth - 1)) out.add(t);
      }
    }
    return out;
  }

  private stage(hostPath: string): Promise<string> {
    let p = this.staged.get(hostPath);
    if (!p) {
      p = this.copy(hostPath);
      this.staged.set(hostPath, p);
    }
    return p;
  }

  /** Where a copy of `hostPath` goes in the workspace (Strand's view). */
  stagedPath(hostPath: string): string {
    // One staging directory per source directory, so files that must sit side by side (a BAM and
    // its .bai index, secondaryFiles in general) still do.
    const hash = createHash('sha1').update(path.dirname(hostPath)).digest('hex').slice(0, 16);
    return path.join(this.workspace.localPath, '.strand-staged', this.runId, hash, path.basename(hostPath));
  }

  private async copy(hostPath: string): Promise<string> {
    const dest = this.stagedPath(hostPath);
    await mkdir(path.dirname(dest), { recursive: true });
    // The run's folder of copies, marked once as its own: `strand clean` removes it if the run is killed.
    this.marked ??= markRunDir(path.dirname(path.dirname(dest)), 'input-copies', this.identity).catch(() => undefined);
    await this.marked;
    const st = await stat(hostPath);
    await cp(hostPath, dest, { recursive: st.isDirectory(), dereference: true, preserveTimestamps: true });
    this.copiedFiles++;
    return dest;
  }
}
