/**
 * What `strand submit` sends with a run: the workflow's files, the job, and the input files small
 * enough to travel in a ConfigMap. Pure: the file system is injected.
 *
 * Each input File or Directory of the job is, by where it is on this machine:
 *   - on the workspace (under kubernetes.workspace.localPath): renamed to where pods see it (mountPath);
 *     (object-store mode has no workspace: there, inputs too large to travel belong in the bucket);
 *   - on a data volume (under a dataVolumes mountPath: the same path everywhere): left as it is;
 *   - not a local file (http:, s3:...): left as it is;
 *   - anywhere else: packed, if all packed files fit `budget` bytes, and renamed to its copy under
 *     `<bundleDir>/inputs/<n>/` (files of one directory stay together, so secondary files found by
 *     pattern beside their file still are); else a problem naming the input and what to do.
 * The workflow's files keep their places relative to one another under `<bundleDir>/workflow/`.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CwlObject } from '../../model/types.js';

export interface BundleFs {
  /** undefined when missing. */
  stat(p: string): { size: number; kind: 'file' | 'dir' | 'other' } | undefined;
  /** Entries of a directory (names). */
  list(p: string): string[];
}

export interface BundleRequest {
  /** Absolute paths of the CWL files the document is made of (the main one first). */
  documentFiles: string[];
  /** `#fragment` of the document reference, if any (a process in a packed file). */
  fragment?: string;
  /** The job object, locations absolute (loader's loadJob/resolveJobObject). */
  job: CwlObject;
  /** The workspace claim; undefined in object-store mode (no shared volume). */
  workspace?: { localPath: string; mountPath: string };
  /** mountPaths of the read-only data volumes (seen at the same path here and in pods). */
  dataVolumes: string[];
  /** Where the leader puts the bundle on the workspace, as pods see it. */
  bundleDir: string;
  /** Bytes the packed files may take in all. */
  budget: number;
}

export interface BundleFile {
  /** ConfigMap key. */
  key: string;
  /** Path relative to the bundle directory. */
  path: string;
  /** The file on this machine. */
  source: string;
  size: number;
}

export interface BundlePlan {
  files: BundleFile[];
  /** Directories to create (relative to the bundle dir), e.g. an empty input directory. */
  dirs: string[];
  /** The document to run, relative to the bundle dir (with its #fragment). */
  document: string;
  /** The job with every location as the leader and task pods see it. */
  job: CwlObject;
  /** Inputs used in place: on the workspace or a data volume (for the summary). */
  inPlace: string[];
  /** Inputs that cannot travel: one sentence each (input name, path, size, what to do). */
  problems: string[];
  packedBytes: number;
}

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');

/** The deepest directory holding every path. */
export function commonDir(paths: string[]): string {
  let common = path.dirname(paths[0] ?? '/');
  for (const p of paths.slice(1)) while (!inside(p, common)) common = path.dirname(common);
  return common;
}

function safeKey(s: string): string {
  return s.replace(/[^-._a-zA-Z0-9]+/g, '_').slice(-200) || 'file';
}

const human = (n: number) => (n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);

export function planBundle(req: BundleRequest, fs: BundleFs): BundlePlan {
  const files: BundleFile[] = [];
  const dirs: string[] = [];
  const problems: string[] = [];
  const inPlace: string[] = [];
  let packedBytes = 0;
  const addFile = (source: string, rel: string, size: number) => {
    files.push({ key: `f${files.length}-${safeKey(path.basename(rel))}`, path: rel, source, size });
    packedBytes += size;
  };

  // The workflow's files.
  const root = commonDir(req.documentFiles);
  for (const f of req.documentFiles) {
    const st = fs.stat(f);
    if (!st || st.kind !== 'file') {
      problems.push(`workflow file ${f} is not a file`);
      continue;
    }
    addFile(f, path.join('workflow', path.relative(root, f)), st.size);
  }
  const main = req.documentFiles[0] ?? '';
  const document = path.join('workflow', path.relative(root, main)) + (req.fragment ? `#${req.fragment}` : '');

  // Inputs: a packed source directory -> its index under inputs/.
  const dirIndex = new Map<string, number>();
  const packedAt = new Map<string, string>();
  const packPath = (local: string, kind: 'file' | 'dir'): string => {
    const done = packedAt.get(local);
    if (done) return done;
    const parent = path.dirname(local);
    let n = dirIndex.get(parent);
    if (n === undefined) {
      n = dirIndex.size;
      dirIndex.set(parent, n);
    }
    const rel = path.join('inputs', String(n), path.basename(local));
    packedAt.set(local, rel);
    if (kind === 'file') {
      addFile(local, rel, fs.stat(local)?.size ?? 0);
      return rel;
    }
    // A directory: every file below it, and its (possibly empty) directories.
    const walk = (dir: string, relDir: string) => {
      dirs.push(relDir);
      for (const name of fs.list(dir).sort()) {
        const p = path.join(dir, name);
        const st = fs.stat(p);
        if (st?.kind === 'dir') walk(p, path.join(relDir, name));
        else if (st?.kind === 'file') addFile(p, path.join(relDir, name), st.size);
      }
    };
    walk(local, rel);
    return rel;
  };
  const sizeOf = (local: string, kind: 'file' | 'dir'): number => {
    if (kind === 'file') return fs.stat(local)?.size ?? 0;
    let n = 0;
    for (const name of fs.list(local)) {
      const p = path.join(local, name);
      const st = fs.stat(p);
      n += st?.kind === 'dir' ? sizeOf(p, 'dir') : (st?.size ?? 0);
    }
    return n;
  };

  const ws = req.workspace ? path.resolve(req.workspace.localPath) : undefined;
  const walk = (v: unknown, where: string): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${where}[${i}]`));
    if (typeof v !== 'object' || v === null) return v;
    const o = { ...(v as Record<string, unknown>) };
    if (o.class !== 'File' && o.class !== 'Directory') {
      for (const k of Object.keys(o)) o[k] = walk(o[k], where ? `${where}.${k}` : k);
      return o;
    }
    const kind = o.class === 'File' ? 'file' : 'dir';
    const loc = typeof o.location === 'string' ? o.location : undefined;
    if (Array.isArray(o.secondaryFiles)) o.secondaryFiles = o.secondaryFiles.map((x, i) => walk(x, `${where}.secondaryFiles[${i}]`));
    if (loc === undefined || !loc.startsWith('file:')) return o;
    const local = fileURLToPath(loc);
    if (ws !== undefined && req.workspace && inside(local, ws)) {
      o.location = pathToFileURL(path.join(req.workspace.mountPath, path.relative(ws, local))).href;
      inPlace.push(`${where}: ${local} (on the workspace)`);
      return o;
    }
    if (req.dataVolumes.some((d) => inside(local, path.resolve(d)))) {
      inPlace.push(`${where}: ${local} (on a data volume)`);
      return o;
    }
    const st = fs.stat(local);
    if (!st) {
      problems.push(`input ${where}: ${local} does not exist`);
      return o;
    }
    if (packedAt.has(local)) {
      o.location = pathToFileURL(path.join(req.bundleDir, packedAt.get(local)!)).href;
      return o;
    }
    const size = sizeOf(local, kind);
    if (packedBytes + size > req.budget) {
      problems.push(
        `input ${where}: ${local} (${human(size)}) does not fit in the run's bundle (${human(req.budget)} in all, ${human(packedBytes)} used): ` +
          (req.workspace
            ? `put it on the workspace (under ${ws}, which pods see at ${req.workspace.mountPath}) or a data volume, and name it there`
            : 'put it in the bucket (s3://...) and name it there'),
      );
      return o;
    }
    // A Directory's listing is re-read from the copy by the leader.
    if (kind === 'dir') delete o.listing;
    o.location = pathToFileURL(path.join(req.bundleDir, packPath(local, kind))).href;
    return o;
  };
  const job = walk(req.job, '') as CwlObject;
  return { files, dirs, document, job, inPlace, problems, packedBytes };
}
