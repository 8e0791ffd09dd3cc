/**
 * Input staging for tasks that run on the host: the tool gets links in a per-task staging
 * directory, never the user's own paths.
 *
 * Each input File gets a directory of its own, `<stageDir>/stg<N>/`, holding a symbolic link named
 * after its basename and, beside it, links for its secondaryFiles (what cwltool does for host
 * jobs). Each link leads in one hop to the real path of the user's file (link-farm.ts), which
 * outlives the run, unlike the staging directory. A tool that deletes, renames or replaces its
 * input (`mv $0 $0.bz2`, `rm`, `sed -i`, write to a temp file then rename over it) changes only
 * the link; side files it writes next to its input (`.fai`, `.bai`) land in the staging
 * directory, not in the user's directory.
 *
 * Directories are staged as a link farm: real directories, with a link per file. A link to the
 * whole directory would let the tool create, delete or rename entries inside the user's directory.
 * The farm costs one mkdir per directory and one symlink per file (about 15 µs per entry here, see
 * docs/architecture.md "Files in and out"), paid only by tasks that get a Directory input.
 *
 * What links cannot prevent: a tool that opens its input for writing and writes into it (not
 * replacing it) writes the user's file, as with cwltool. Containers get read-only mounts instead.
 */
import { mkdir, symlink } from 'node:fs/promises';
import { linkFarm, realTarget } from './link-farm.js';
import { placeInside } from './confine.js';
import { fsPath } from './raw-names.js';
import path from 'node:path';
import type { CwlObject, CwlValue } from '../model/types.js';
import { locationFromPath, pathFromLocation } from './paths.js';

export interface StagedInputs {
  /** The input object with every File/Directory (and secondaryFiles, listings) at its staged path. */
  inputs: CwlObject;
  /**
   * The user's path behind a staged path (the path itself when it is not staged): for
   * InitialWorkDir entries the tool may update in place (InplaceUpdateRequirement).
   */
  originalOf(p: string): string;
  /**
   * Whether the staged links lead to the originals on this host (a task on the host), so that
   * InitialWorkDir links to them too, never into the staging directory (link-farm.ts). False for
   * isolated executors, which show a staged link to the pod as its target.
   */
  onHost: boolean;
}

interface FileLike extends CwlObject {
  class: 'File' | 'Directory';
  path?: string;
  location?: string;
  basename?: string;
  secondaryFiles?: FileLike[];
  listing?: FileLike[];
}

function isFileLike(v: CwlValue): v is FileLike {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v.class === 'File' || v.class === 'Directory');
}

function sourcePath(f: FileLike): string | undefined {
  if (f.location && f.location.startsWith('file:')) return pathFromLocation(f.location);
  return f.path;
}

/**
 * Whether a File or Directory needs a staging directory to have the layout CWL promises: its
 * basename is not its location's name, or a secondary file is not beside it under its own name.
 */
export function needsLayout(f: FileLike): boolean {
  const src = sourcePath(f);
  if (!src) return false;
  if (f.basename !== undefined && f.basename !== path.basename(src)) return true;
  return (f.secondaryFiles ?? []).some((s) => {
    const ssrc = sourcePath(s);
    if (!ssrc) return false;
    return path.dirname(ssrc) !== path.dirname(src) || (s.basename !== undefined && s.basename !== path.basename(ssrc)) || (s.secondaryFiles?.length ?? 0) > 0;
  });
}

export interface StageOptions {
  /**
   * For isolated executors (a cluster), whose pods see inputs in place, read-only: stage only the
   * Files and Directories that `needsLayout`, each as one symbolic link (a Directory too: no link
   * farm, the pod's mount is read-only), which the executor shows in the pod as its target.
   */
  layoutOnly?: boolean;
}

/** Stage every File and Directory in `inputs` under `stageDir` (created as needed). */
export async function stageInputs(inputs: CwlObject, stageDir: string, opts: StageOptions = {}): Promise<StagedInputs> {
  const roots = new Map<string, string>(); // staged root -> original root
  const stagedFiles = new Map<string, Promise<FileLike>>(); // original path of a plain File -> staged value
  let count = 0;
  const newDir = async (): Promise<string> => {
    const d = path.join(stageDir, `stg${++count}`);
    await mkdir(d, { recursive: true });
    return d;
  };

  /** Place one File/Directory (no secondaries) at `name` under `dir`. */
  const place = async (f: FileLike, src: string, dir: string, name: string): Promise<FileLike> => {
    // A basename may name a subdirectory (`sub/x.txt`), never one outside `dir` (confine.ts).
    const { target } = await placeInside(dir, name, `input ${f.class === 'File' ? 'file' : 'directory'} ${src}`);
    if (opts.layoutOnly) await symlink(fsPath(src), fsPath(target));
    // One hop to the real file, never through another link (link-farm.ts).
    else if (f.class === 'File') await symlink(fsPath(await realTarget(src)), fsPath(target));
    else await linkFarm(src, target);
    roots.set(target, src);
    return retarget(f, src, target);
  };

  const stageOne = async (f: FileLike): Promise<FileLike> => {
    const src = sourcePath(f);
    if (!src) return f;
    const plain = f.class === 'File' && !f.secondaryFiles?.length;
    if (plain) {
      const known = stagedFiles.get(`${src}\0${f.basename ?? ''}`);
      if (known) return { ...(await known) };
    }
    const work = (async () => {
      const dir = await newDir();
      const name = f.basename ?? path.basename(src);
      const staged = await place(f, src, dir, name);
      if (f.class === 'File' && f.secondaryFiles?.length) {
        const used = new Set([name]);
        const secondaries: FileLike[] = [];
        for (const s of f.secondaryFiles) {
          const ssrc = sourcePath(s);
          if (!ssrc) {
            secondaries.push(s);
            continue;
          }
          const sname = s.basename ?? path.basename(ssrc);
          // Two secondaries with one name (from different directories): the second gets its own directory.
          const sdir = used.has(sname) ? await newDir() : dir;
          used.add(sname);
          secondaries.push(await place(s, ssrc, sdir, sname));
        }
        staged.secondaryFiles = secondaries;
      }
      return staged;
    })();
    if (plain) stagedFiles.set(`${src}\0${f.basename ?? ''}`, work);
    return work;
  };

  const walk = async (v: CwlValue): Promise<CwlValue> => {
    if (Array.isArray(v)) return Promise.all(v.map(walk));
    if (typeof v !== 'object' || v === null) return v;
    if (isFileLike(v)) return (opts.layoutOnly && !needsLayout(v) ? v : await stageOne(v)) as CwlValue;
    const out: CwlObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = await walk(x);
    return out;
  };

  const staged = (await walk(inputs)) as CwlObject;
  return {
    inputs: staged,
    onHost: !opts.layoutOnly,
    originalOf(p: string): string {
      for (let d = p; ; d = path.dirname(d)) {
        const orig = roots.get(d);
        if (orig !== undefined) return orig + p.slice(d.length);
        if (d === path.dirname(d)) return p;
      }
    },
  };
}

/** The value with every path at or below `from` moved to `to` (listings and secondaryFiles included). */
function retarget(f: FileLike, from: string, to: string): FileLike {
  const move = (v: CwlValue): CwlValue => {
    if (Array.isArray(v)) return v.map(move);
    if (!isFileLike(v)) return v;
    const o: FileLike = { ...v };
    const p = sourcePath(v);
    if (p !== undefined && (p === from || p.startsWith(from + path.sep))) {
      o.path = to + p.slice(from.length);
      o.location = locationFromPath(o.path);
      o.dirname = path.dirname(o.path);
    }
    if (Array.isArray(v.listing)) o.listing = v.listing.map(move) as FileLike[];
    if (Array.isArray(v.secondaryFiles)) o.secondaryFiles = v.secondaryFiles.map(move) as FileLike[];
    return o as CwlValue;
  };
  const out = move(f as CwlValue) as FileLike;
  // The primary keeps its basename (it may differ from the source's name); secondaries are staged by stageOne.
  if (f.class === 'File') delete out.secondaryFiles;
  if (f.basename !== undefined) out.basename = f.basename;
  return out;
}
