/**
 * Strand's side of a run whose pods share no volume (I/O at the edges; the pod spec is pure in
 * pod-builder.ts).
 *
 * Before a pod: every local file the task needs (its inputs, the initial working directory made
 * by InitialWorkDir) is put in the bucket once per run, unless it is already there (an earlier
 * task's output that Strand fetched, unchanged since), and the pod's stage-in manifest is written.
 * After a pod: its result.json is read, and the task's working directory here is made what the
 * pod's was (files fetched unless Strand already has that very object), so the engine collects
 * outputs (globs, cwl.output.json) as it always does; files fetched are remembered, so a later
 * task that reads them gets the same object and nothing is sent twice.
 */
import { chmod, mkdir, readlink, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { placeInside } from '../../../staging/confine.js';
import { StorageError } from '../../../errors.js';
import type { S3Store } from '../../../storage/index.js';
import type { TaskSpec } from '../../executor.js';
import { standInBehind } from '../../../staging/stand-ins.js';
import { isUnder } from '../storage-mounts.js';
import type { RunIdentity } from '../../run-marker.js';
import { BUCKET_MARKER, markBucketRun } from './bucket-runs.js';
import { readsInPlace } from './in-place.js';
import { getJson, putJson } from './json-objects.js';
import { fileKey, jobPrefix, runPrefix, type PodLayout } from './layout.js';
import { RESULT, STAGE_IN, isResultManifest, type ResultManifest, type StageInManifest } from './manifest.js';
import type { ObjectStoreSettings } from './settings.js';
import { eachLimited, walkTree } from './tree.js';

const PARALLEL = 8;

interface Known {
  key: string;
  size: number;
  mtimeMs: number;
  /** An input the pod reads in place: the version Strand checked before the run (If-Match in the pod). */
  etag?: string;
}

export interface JobTraffic {
  job: string;
  /** Sent by Strand for this pod (files not yet in the bucket) and fetched back after it. */
  leaderUploaded: { files: number; bytes: number };
  leaderDownloaded: { files: number; bytes: number };
  /** Inputs the pod reads from where they are in the bucket (never through Strand). */
  inPlace: { files: number; bytes: number };
  /** Moved by the pod itself. */
  podFetched: { files: number; bytes: number };
  podUploaded: { files: number; bytes: number; reused: number };
}

/** A task whose files could not be moved: its message names the location. */
export class TaskFilesError extends StorageError {}

export class ObjectStoreRun {
  private readonly known = new Map<string, Known>();
  private readonly pending = new Map<string, Promise<Known>>();
  /** Per job: what of the working directory was sent to its pod (relative path -> kind). */
  private readonly sent = new Map<string, Map<string, 'dir' | 'file' | 'link'>>();
  readonly traffic: JobTraffic[] = [];

  constructor(
    readonly store: S3Store,
    readonly settings: ObjectStoreSettings,
    readonly runId: string,
    readonly localRoot: string,
  ) {}

  private loc(key: string) {
    return { scheme: 's3' as const, bucket: this.settings.bucket, key };
  }

  /** The object holding this local file for the run's pods: put there once, unless Strand already has it there unchanged. */
  private async objectFor(localPath: string, t: JobTraffic, signal?: AbortSignal): Promise<Known> {
    const st = await stat(localPath);
    const k = this.known.get(localPath);
    const readInPlace = (rec: Known): Known => {
      t.inPlace.files++;
      t.inPlace.bytes += rec.size;
      return rec;
    };
    if (k && k.size === st.size && k.mtimeMs === st.mtimeMs) return k.etag !== undefined ? readInPlace(k) : k;
    // An input in the run's bucket, read by the pod where it is: nothing to send (stand-ins.ts).
    const inPlace = await standInBehind(localPath);
    if (inPlace && readsInPlace(this.settings, inPlace)) {
      const rec = { key: inPlace.key, size: inPlace.size, mtimeMs: st.mtimeMs, etag: inPlace.etag };
      this.known.set(localPath, rec);
      return readInPlace(rec);
    }
    let p = this.pending.get(localPath);
    if (!p) {
      p = (async () => {
        const key = fileKey(this.settings, this.runId, localPath, this.localRoot);
        const sent = await this.store.upload(localPath, this.loc(key), signal ? { signal } : {});
        t.leaderUploaded.files++;
        t.leaderUploaded.bytes += sent.size;
        const rec = { key, size: sent.size, mtimeMs: st.mtimeMs };
        this.known.set(localPath, rec);
        return rec;
      })();
      this.pending.set(localPath, p);
      void p.finally(() => this.pending.delete(localPath)).catch(() => undefined);
    }
    return p;
  }

  /** Put what the pod needs in the bucket and write its stage-in manifest. */
  async prepare(spec: TaskSpec, layout: PodLayout, job: string, signal?: AbortSignal): Promise<JobTraffic> {
    const t: JobTraffic = {
      job,
      leaderUploaded: { files: 0, bytes: 0 },
      leaderDownloaded: { files: 0, bytes: 0 },
      inPlace: { files: 0, bytes: 0 },
      podFetched: { files: 0, bytes: 0 },
      podUploaded: { files: 0, bytes: 0, reused: 0 },
    };
    const { paths, root } = layout;
    const rel = (podPath: string) => path.posix.relative(root, podPath);
    const workDir = paths.map(spec.workDir);
    const m: StageInManifest = { version: 1, bucket: this.settings.bucket, workDir: rel(workDir), dirs: [rel(workDir), rel(paths.map(spec.tmpDir))], files: [], links: [] };
    const files: Array<{ local: string; podPath: string; writable: boolean }> = [];

    // Inputs, with links inside input directories followed (the pod gets the files).
    const addTree = async (local: string, podPath: string, writable: boolean): Promise<void> => {
      const st = await stat(local).catch(() => undefined);
      if (!st) throw new TaskFilesError(`${spec.stepPath}: input ${local} does not exist`, local, 'not_found');
      if (st.isDirectory()) {
        m.dirs.push(rel(podPath));
        for (const e of await walkTree(local)) {
          if (e.kind === 'dir') m.dirs.push(rel(path.posix.join(podPath, e.rel)));
          else await addTree(path.join(local, e.rel), path.posix.join(podPath, e.rel), writable);
        }
        return;
      }
      files.push({ local, podPath, writable });
    };
    const extra = spec.stdin !== undefined && !spec.mounts.some((x) => isUnder(spec.stdin!, x.hostPath)) && !isUnder(spec.stdin, spec.workDir) ? [spec.stdin] : [];
    for (const hostPath of [...spec.mounts.map((x) => x.hostPath), ...extra]) await addTree(hostPath, paths.map(hostPath), false);

    // The working directory as the engine made it (InitialWorkDir): links to inputs stay links.
    const sent = new Map<string, 'dir' | 'file' | 'link'>();
    this.sent.set(job, sent);
    for (const e of await walkTree(spec.workDir)) {
      sent.set(e.rel, e.kind);
      const local = path.join(spec.workDir, e.rel);
      const podPath = path.posix.join(workDir, e.rel);
      if (e.kind === 'dir') m.dirs.push(rel(podPath));
      else if (e.kind === 'file') files.push({ local, podPath, writable: true });
      else {
        const target = path.resolve(path.dirname(local), e.target);
        if (spec.mounts.some((x) => isUnder(target, x.hostPath)) || isUnder(target, spec.workDir)) m.links.push({ path: rel(podPath), target: paths.map(target) });
        else await addTree(target, podPath, true);
      }
    }
    await eachLimited(files, PARALLEL, async (f) => {
      const o = await this.objectFor(f.local, t, signal).catch((err: NodeJS.ErrnoException) => {
        // A file of the working directory removed meanwhile is not sent; an input must exist.
        if (err.code === 'ENOENT' && f.writable) return undefined;
        throw err;
      });
      if (!o) return;
      m.files.push({ path: rel(f.podPath), key: o.key, size: o.size, ...(o.etag ? { etag: o.etag } : {}), ...(f.writable ? { writable: true } : {}) });
    });
    m.files.sort((a, b) => (a.path < b.path ? -1 : 1));
    await putJson(this.store, this.loc(`${jobPrefix(this.settings, this.runId, job)}/${STAGE_IN}`), m, signal);
    this.traffic.push(t);
    return t;
  }

  /** A pod path (a link's target) as Strand's path. */
  private toLocal(layout: PodLayout, spec: TaskSpec, podPath: string): string {
    for (const m of spec.mounts) {
      const p = layout.paths.map(m.hostPath);
      if (p !== m.hostPath && isUnder(podPath, p)) return m.hostPath + podPath.slice(p.length);
    }
    if (isUnder(podPath, layout.root)) return path.join(layout.localRoot, path.posix.relative(layout.root, podPath));
    return podPath;
  }

  /** Read the pod's result and make the task's working directory here what it was in the pod. */
  async collect(spec: TaskSpec, layout: PodLayout, job: string, signal?: AbortSignal): Promise<ResultManifest> {
    const prefix = jobPrefix(this.settings, this.runId, job);
    const where = `s3://${this.settings.bucket}/${prefix}/${RESULT}`;
    let r: unknown;
    try {
      r = await getJson(this.store, this.loc(`${prefix}/${RESULT}`), signal);
    } catch (err) {
      if (err instanceof StorageError && err.reason === 'not_found') throw new TaskFilesError(`the pod did not upload its outputs: there is no ${where}`, where, 'not_found');
      throw err;
    }
    if (!isResultManifest(r)) throw new TaskFilesError(`${where}: not a result of this Strand version`, where, 'other');
    const t = this.traffic.find((x) => x.job === job);
    if (t) {
      t.podFetched = r.fetched;
      t.podUploaded = r.uploaded;
    }
    const kinds = new Map<string, 'dir' | 'file' | 'link'>([
      ...r.dirs.map((d) => [d, 'dir'] as const),
      ...r.files.map((f) => [f.path, 'file'] as const),
      ...r.links.map((l) => [l.path, 'link'] as const),
    ]);
    // What Strand sent to the pod and the tool removed (or replaced by another kind) goes here too;
    // nothing else in the directory is touched.
    const sent = this.sent.get(job) ?? new Map<string, 'dir' | 'file' | 'link'>();
    this.sent.delete(job);
    for (const [rel, kind] of [...sent].reverse()) {
      if (kinds.get(rel) !== kind) await rm(path.join(spec.workDir, rel), { recursive: true, force: true });
    }
    // The manifest comes from the pod (a tool could shape what its upload container saw): every
    // name must stay inside the task directory, and nothing is written through a link it made.
    const place = (rel: string, kind: string) => placeInside(spec.workDir, rel, `the pod's ${kind} ${JSON.stringify(rel)}`);
    for (const d of r.dirs) {
      const { target, existing } = await place(d, 'directory');
      if (existing && !existing.isDirectory()) await rm(target, { recursive: true, force: true });
      await mkdir(target, { recursive: true });
    }
    for (const l of r.links) {
      const at = (await place(l.path, 'link')).target;
      const target = path.isAbsolute(l.target) ? this.toLocal(layout, spec, l.target) : l.target;
      const now = await readlink(at).catch(() => undefined);
      if (now === target) continue;
      await rm(at, { force: true });
      await symlink(target, at);
    }
    await eachLimited(r.files, PARALLEL, async (f) => {
      const { target: local, existing: st } = await place(f.path, 'file');
      const k = this.known.get(local);
      if (k && st?.isFile() && k.key === f.key && k.size === st.size && k.mtimeMs === st.mtimeMs) return;
      if (st) await rm(local, { force: true });
      const got = await this.store.download(this.loc(f.key), local, signal ? { signal } : {});
      await chmod(local, f.mode & 0o777);
      const now = await stat(local);
      this.known.set(local, { key: f.key, size: got.size, mtimeMs: now.mtimeMs });
      if (t) {
        t.leaderDownloaded.files++;
        t.leaderDownloaded.bytes += got.size;
      }
    });
    await mkdir(spec.logDir, { recursive: true });
    for (const name of ['stdout', 'stderr'] as const) {
      const log = r.logs[name];
      if (log) await this.store.download(this.loc(log.key), path.join(spec.logDir, `${name}.log`), signal ? { signal } : {});
    }
    return r;
  }

  private unmark: (() => void) | undefined;

  /** Mark the run's objects as its own (bucket-runs.ts), with a heartbeat, so `strand clean` can remove them if the run is killed. */
  async mark(who: RunIdentity): Promise<void> {
    this.unmark = await markBucketRun(this.store, this.settings, who);
  }

  /**
   * Remove the run's objects (everything under runs/<run>/), unless kept by `keepIntermediate`:
   * then only the run's marker goes, and what is kept is the user's (strand clean leaves it).
   */
  async cleanup(): Promise<number> {
    this.unmark?.();
    if (this.settings.keepIntermediate) {
      if (this.unmark) await this.store.deleteKeys(this.settings.bucket, [`${runPrefix(this.settings, this.runId)}/${BUCKET_MARKER}`]);
      return 0;
    }
    const prefix = this.loc(`${runPrefix(this.settings, this.runId)}/`);
    const keys: string[] = [];
    for await (const o of this.store.list(prefix)) keys.push(o.key);
    await this.store.deleteKeys(this.settings.bucket, keys);
    return keys.length;
  }
}
