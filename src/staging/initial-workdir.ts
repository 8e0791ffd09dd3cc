/**
 * InitialWorkDirRequirement: files, directories and Dirents placed in the output directory.
 *
 * Two steps, as in the reference runner. `listWorkDirEntries` (pure) evaluates the listing into
 * entries, each a File or Directory and the name it takes under the output directory:
 * - a Dirent's `entry` is evaluated keeping its whitespace (`"$(inputs.f)\n"` is text); a string
 *   becomes a file with that text, a File or Directory is staged under `entryname`, an array of
 *   Files/Directories is staged item by item (then `entryname` is an error), and any other value
 *   is written as JSON (`iwd-jsondump*`); null entries are skipped;
 * - any other item is an expression (or a literal) giving Files, Directories, Dirents, arrays of
 *   them, or null.
 * `stageInitialWorkDir` then places the entries: text and literals are written, Files and
 * Directories linked (copied when `writable`, unless InplaceUpdateRequirement says to update
 * them in place), each File's secondaryFiles beside it, a Directory literal's listing inside it;
 * and the input object is rewritten so inputs that were staged have their staged paths. On the
 * host, a read-only File links to the user's real file and a read-only Directory is mirrored
 * (link-farm.ts), never a link into the staging directory, which is deleted after the run.
 */
import { stringifyJsonExact } from '../model/exact-json.js';
import { cp, mkdir, readlink, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Evaluator, ExpressionContext } from '../expressions/evaluator.js';
import { pythonJson } from '../expressions/index.js';
import { UnsupportedRequirementError, WorkflowFailedError } from '../errors.js';
import { findRequirement, type EffectiveRequirements } from '../model/requirements.js';
import type { CommandLineTool, CwlObject, CwlValue, DirectoryValue, FileValue } from '../model/types.js';
import { isFromJob, writtenAt } from '../model/written-at.js';
import { placeInside, relativeName, throughLink, writeNoFollow } from './confine.js';
import type { DocumentPaths } from './document-paths.js';
import { locationFromPath, pathFromLocation } from './paths.js';
import { copyStandIn, materializeUnder } from './stand-ins.js';
import { linkFarm, realTarget } from './link-farm.js';
import type { StagedInputs } from './stage-inputs.js';

type Entry = FileValue | DirectoryValue;

/** One thing to place in the output directory. */
export interface WorkDirEntry {
  value: Entry;
  /** Path relative to the output directory (normalised; may have directories in front). */
  name: string;
  writable: boolean;
  /** The name is an absolute path (only allowed with DockerRequirement in requirements). */
  absolute?: boolean;
}

/** A host file or directory a container must see at `taskPath` (an absolute entryname). */
export interface ContainerBind {
  hostPath: string;
  taskPath: string;
  readOnly: boolean;
}

function isEntry(v: unknown): v is Entry {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && ((v as CwlObject).class === 'File' || (v as CwlObject).class === 'Directory');
}

function isDirent(v: unknown): v is CwlObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'entry' in v && !isEntry(v);
}

function sourceOf(v: Entry): string | undefined {
  if (v.path) return v.path;
  return v.location ? pathFromLocation(v.location) : undefined;
}

function short(v: unknown): string {
  const s = stringifyJsonExact(v) ?? String(v);
  return s.length > 100 ? `${s.slice(0, 97)}...` : s;
}

const fail = (msg: string) => new WorkflowFailedError(`InitialWorkDirRequirement: ${msg}`);

/** A listing item before naming: a File/Directory (with a name from entryname, if any), or text. */
interface Pending {
  value: Entry | string;
  entryname?: string;
  writable: boolean;
}

/** The listing, evaluated: what goes where in the output directory. Pure. */
export function listWorkDirEntries(listing: unknown, evaluator: Evaluator, ctx: ExpressionContext, dockerRequired = false): WorkDirEntry[] {
  const pending: Pending[] = [];
  const addValue = (v: CwlValue | undefined, writable: boolean) => {
    if (v === null || v === undefined || v === false || v === '') return;
    if (Array.isArray(v)) {
      for (const x of v) addValue(x, writable);
      return;
    }
    if (isEntry(v)) pending.push({ value: v, writable: writable || (v as CwlObject).writable === true });
    else if (isDirent(v)) addDirent(v, false);
    else throw fail(`a listing expression must give Files, Directories or Dirents, got ${short(v)}`);
  };
  const addDirent = (d: CwlObject, evaluateEntry: boolean) => {
    const writable = d.writable === true;
    const entry: CwlValue | undefined =
      evaluateEntry && typeof d.entry === 'string' ? evaluator.evaluate(d.entry, ctx, { keepWhitespace: true }) : d.entry;
    if (entry === null || entry === undefined) return;
    let entryname: string | undefined;
    if (d.entryname !== undefined && d.entryname !== null) {
      const n = evaluateEntry ? evaluator.evaluate(String(d.entryname), ctx) : d.entryname;
      if (typeof n !== 'string') throw fail(`entryname must be a string, got ${short(n)} from ${short(d.entryname)}`);
      entryname = n;
    }
    if (Array.isArray(entry) && entry.every(isEntry)) {
      if (entryname !== undefined) throw fail(`entryname ${entryname} is invalid when the entry gives a list of Files or Directories`);
      for (const e of entry) pending.push({ value: e, writable });
      return;
    }
    const value = isEntry(entry) ? entry : typeof entry === 'string' ? entry : pythonJson(entry);
    pending.push(entryname === undefined ? { value, writable } : { value, entryname, writable });
  };

  if (typeof listing === 'string') {
    const v = evaluator.evaluate(listing, ctx);
    if (!Array.isArray(v)) throw fail(`the listing expression must give an array, got ${short(v)}`);
    addValue(v, false);
  } else {
    for (const item of Array.isArray(listing) ? listing : [listing]) {
      if (isDirent(item)) addDirent(item, true);
      else addValue(typeof item === 'string' ? evaluator.evaluate(item, ctx) : (item as CwlValue), false);
    }
  }

  return pending.map((p, i): WorkDirEntry => {
    let value: Entry;
    let name: string | undefined;
    if (typeof p.value === 'string') {
      if (p.entryname === undefined) throw fail(`entry ${i + 1} of the listing is text but has no entryname`);
      name = p.entryname;
      value = { class: 'File', basename: path.posix.basename(name), contents: p.value };
    } else {
      value = p.value;
      const src = sourceOf(value);
      name = p.entryname ?? value.basename ?? (src ? path.basename(src) : undefined);
      if (name === undefined) throw fail(`entry ${i + 1} of the listing has no name (no entryname, basename or location)`);
    }
    if (path.posix.isAbsolute(name)) {
      if (!dockerRequired) throw fail(`name ${name} of entry ${i + 1} is absolute, which is only allowed with DockerRequirement in requirements`);
      return { value, name: path.posix.normalize(name), writable: p.writable, absolute: true };
    }
    return { value, name: relativeName(name, `InitialWorkDirRequirement: entry ${i + 1}`), writable: p.writable };
  });
}

export async function stageInitialWorkDir(
  tool: CommandLineTool,
  inputs: CwlObject,
  eff: EffectiveRequirements,
  evaluator: Evaluator,
  runtime: CwlObject,
  outdir: string,
  /**
   * The task's staged inputs (stage-inputs.ts): `originalOf` gives the user's path behind a staged
   * input, what an in-place update must reach; `onHost`: entries link to the originals, not to the
   * staging directory (link-farm.ts).
   */
  staged?: Pick<StagedInputs, 'originalOf' | 'onHost'>,
  binds?: ContainerBind[],
  /** Filled with the source of every File or Directory linked into the output directory. */
  linked?: string[],
  /**
   * The rule for files the document names (document-paths.ts) and what the task was given: each
   * File or Directory the listing names (a literal `location` or what an expression makes) must
   * lie in the document's tree or in `given`.
   */
  named?: { rule: DocumentPaths; given: readonly string[] },
): Promise<CwlObject> {
  const iwd = findRequirement(eff, 'InitialWorkDirRequirement');
  if (!iwd) return inputs;
  const inplace = findRequirement(eff, 'InplaceUpdateRequirement')?.value.inplaceUpdate === true;
  const dockerRequired = eff.requirements.some((r) => r.class === 'DockerRequirement');
  const entries = listWorkDirEntries(iwd.value.listing, evaluator, { inputs, self: null, runtime }, dockerRequired);
  const at = writtenAt(iwd.value, 'listing') ?? { file: tool.sourceFile, fieldPath: 'requirements.InitialWorkDirRequirement.listing' };
  // A listing the job file gives (`cwl:requirements`) names the user's files, not the document's.
  if (!isFromJob(iwd.value)) await named?.rule.check(entries.map((e) => e.value), at, named.given);
  const originalOf = staged?.originalOf ?? ((p: string) => p);
  const placed = new Map<string, string>(); // source path -> path in the output directory
  const farms = new Map<string, string>(); // a Directory mirrored in the output directory -> its original

  // Every name is written inside the output directory, never through a link (confine.ts): a
  // child's or secondary file's basename is checked like an entryname, and an entry under a
  // directory that an earlier entry linked in (`data` -> the user's directory, then `data/x`) fails.
  // On the host `data` is a mirror instead: `data/x` over one of its links is there already, and a
  // new name is written into the mirror, not into the user's directory.
  const link = async (src: string, isDir: boolean, rel: string, writable: boolean, what: string) => {
    const { target, existing } = await placeInside(outdir, rel, what);
    let from = writable && inplace ? originalOf(src) : src;
    // On the host, a read-only entry leads to the original, never into the staging directory
    // (deleted after the run): a File in one hop, a Directory as a mirror of the original.
    const mirror = staged?.onHost === true && !writable && isDir;
    if (staged?.onHost === true && !writable && !isDir) from = await realTarget(originalOf(src));
    if (mirror) from = originalOf(src);
    if (existing && mirror && existing.isDirectory() && farms.get(target) === from) return target;
    if (existing) {
      // The same link twice (a file listed twice, a secondary file that is also an entry) is one entry.
      if (existing.isSymbolicLink() && !(writable && !inplace) && (await readlink(target)) === from) return target;
      throw fail(`${what}: ${rel} is there already${existing.isSymbolicLink() ? `, a link to ${await readlink(target)}` : ''}`);
    }
    if (writable && !inplace) {
      // A stand-in for an object the tasks read in place is copied as another stand-in (stand-ins.ts).
      if (await copyStandIn(src, target)) return target;
      await materializeUnder(src);
      await cp(src, target, { recursive: true, dereference: true, errorOnExist: true, force: false });
      return target;
    }
    linked?.push(src);
    if (mirror) {
      await linkFarm(from, target);
      farms.set(target, from);
    } else await symlink(from, target);
    return target;
  };

  const place = async (item: Entry, rel: string, writable: boolean, what: string): Promise<void> => {
    const src = sourceOf(item);
    if (src !== undefined) {
      placed.set(src, await link(src, item.class === 'Directory', rel, writable, what));
    } else if (item.class === 'File') {
      const { target, existing } = await placeInside(outdir, rel, what);
      if (existing?.isSymbolicLink()) throw throughLink(what, rel, rel, await readlink(target));
      await writeNoFollow(target, item.contents ?? '', what);
    } else {
      const { target, existing } = await placeInside(outdir, rel, what);
      if (existing?.isSymbolicLink()) throw throughLink(what, rel, rel, await readlink(target));
      if (existing && !existing.isDirectory()) throw fail(`${what}: ${rel} is there already and is not a directory`);
      if (!existing) await mkdir(target);
      for (const [i, child] of (item.listing ?? []).entries()) {
        const csrc = sourceOf(child);
        const cname = child.basename ?? (csrc ? path.basename(csrc) : undefined);
        if (cname === undefined) throw fail(`entry ${i + 1} of directory ${item.basename ?? rel} has no name`);
        const crel = `${rel}/${relativeName(cname, `InitialWorkDirRequirement: entry ${i + 1} of directory ${rel}`)}`;
        await place(child, crel, writable, what);
      }
    }
    // A File's secondaryFiles go beside it, under their own names.
    if (item.class === 'File') {
      for (const s of item.secondaryFiles ?? []) {
        const ssrc = sourceOf(s);
        const sname = s.basename ?? (ssrc ? path.basename(ssrc) : undefined);
        if (sname === undefined) continue;
        const dir = path.posix.dirname(rel);
        const srel = relativeName(dir === '.' ? sname : `${dir}/${sname}`, `InitialWorkDirRequirement: secondary file ${sname} of ${rel}`);
        await place(s, srel, writable, what);
      }
    }
  };

  for (const e of entries) {
    if (e.absolute) {
      // Mounted at that path in the container; on the host there is no such place.
      const src = sourceOf(e.value);
      if (!binds) {
        throw new UnsupportedRequirementError('InitialWorkDirRequirement', `InitialWorkDirRequirement: the absolute name ${e.name} needs a container; Strand runs this task on the host`);
      }
      if (src === undefined || (e.writable && !inplace)) {
        throw fail(`the absolute name ${e.name} is supported only for a File or Directory that is not a writable copy`);
      }
      binds.push({ hostPath: e.writable ? originalOf(src) : src, taskPath: e.name, readOnly: !e.writable });
      placed.set(src, e.name);
      continue;
    }
    await place(e.value, e.name, e.writable, `InitialWorkDirRequirement: entry ${e.name}`);
  }
  return placed.size === 0 ? inputs : (remapStaged(inputs, placed) as CwlObject);
}

/** Inputs at their staged paths: Files and Directories staged, and everything under a staged Directory. */
export function remapStaged(v: CwlValue, staged: Map<string, string>): CwlValue {
  const stagedPath = (p: string): string | undefined => {
    for (let d = p; ; d = path.dirname(d)) {
      const t = staged.get(d);
      if (t !== undefined) return t + p.slice(d.length);
      if (d === path.dirname(d)) return undefined;
    }
  };
  const walk = (x: CwlValue): CwlValue => {
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x !== 'object' || x === null) return x;
    const o: CwlObject = {};
    for (const [k, y] of Object.entries(x)) if (y !== undefined) o[k] = walk(y);
    if (isEntry(x)) {
      const src = sourceOf(x);
      const to = src !== undefined ? stagedPath(src) : undefined;
      if (to !== undefined) {
        // Path and location change; the names the input was given stay (as in cwltool).
        o.path = to;
        o.location = locationFromPath(to);
        if (x.class === 'File') o.dirname = path.dirname(to);
        else delete o.dirname;
      }
    }
    return o;
  };
  return walk(v);
}
