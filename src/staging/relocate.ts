/**
 * Moving final outputs out of task directories into --outdir, without ever moving, replacing or
 * deleting a file Strand did not create.
 *
 * 1. Names: every File/Directory gets its name in destDir, in output order; two outputs of one run
 *    with the same basename stay distinct (`x.txt`, `x_2.txt`, ...).
 * 2. Ownership, on real paths (ownership.ts): a source Strand owns (not a link, real parent inside
 *    the work root, reached once, a Directory without links inside, not in the task cache) is
 *    renamed; anything else (a cached result, an
 *    input passed through, a staged link, a file reached through an InitialWorkDir link to the
 *    user's directory, a Directory holding links) is copied with links dereferenced.
 * 3. Clashes: a name already in destDir may be replaced only if an earlier Strand run wrote what is
 *    there now (`replaceable`, from the run store) and it is not an input of this run. Otherwise the
 *    run fails naming the file, and this run's outputs stay in the staging directory it names.
 * 4. Everything lands first in a staging directory inside destDir (same file system), is verified
 *    there (verify-outputs.ts), and only then renamed into place: a failure leaves earlier results
 *    in destDir as they were.
 */
import { copyFile, lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { copyTreeDereferenced, fsPath, readEntries } from './raw-names.js';
import path from 'node:path';
import { OutputsNotDeliveredError, WorkflowFailedError } from '../errors.js';
import type { CwlObject, CwlValue, FileValue } from '../model/types.js';
import { isInside, owns, pathFacts, realPathOf, realRoots, treeHasSymlink, type PathFacts } from './ownership.js';
import { locationFromPath, nameFields, pathFromLocation, sha1File } from './paths.js';
import { materializeUnder, standInsUnder } from './stand-ins.js';
import { verifyOutputs } from './verify-outputs.js';
import { forEachLimited, mapLimited } from './limited.js';

/** Moves in flight at once: enough to keep the thread pool busy. */
const CONCURRENT_MOVES = 16;

/** Prefix of the staging directory relocation makes inside destDir. */
export const STAGING_PREFIX = '.strand-outputs-';

export interface RelocateOptions {
  /** This run's inputs: a name in destDir held by one of them is never replaced. */
  inputs?: CwlValue;
  /** Whether what is at `p` (in destDir) is what an earlier Strand run wrote there, unchanged. */
  replaceable?: (p: string) => Promise<boolean>;
  /**
   * Directories whose contents are copied out, never moved, even where Strand owns them: the task
   * cache, whose entries later runs reuse (docs/caching.md).
   */
  keep?: readonly string[];
}

interface Move {
  src: string;
  /** Top-level name in destDir. */
  name: string;
  /** Output id (or id path) for messages. */
  output: string;
  real?: string;
  copy?: boolean;
  /** Already at its name in destDir: nothing to move. */
  inPlace?: boolean;
}

export async function relocateOutputs(outputs: CwlObject, destDir: string, workRoot: string, opts: RelocateOptions = {}): Promise<CwlObject> {
  const dest = path.resolve(destDir);
  await mkdir(dest, { recursive: true });
  const taken = new Set<string>();
  const bySource = new Map<string, Move>();
  const moves: Move[] = [];

  const freeName = (name: string): string => {
    const ext = path.extname(name);
    const root = name.slice(0, name.length - ext.length);
    for (let i = 1; ; i++) {
      const candidate = i === 1 ? name : `${root}_${i}${ext}`;
      if (taken.has(candidate) || candidate.startsWith(STAGING_PREFIX)) continue;
      taken.add(candidate);
      return candidate;
    }
  };

  const move = (f: FileValue, output: string): FileValue => {
    const src = f.path ?? (f.location ? pathFromLocation(f.location) : undefined);
    if (!src) return f;
    // One file in destDir per real file: the same file reached by two paths (an in-place update
    // through an InitialWorkDir link, an input passed through twice) is one output file.
    const key = facts.get(src)?.real ?? src;
    let m = bySource.get(key);
    if (!m) {
      m = { src, name: freeName(f.basename ?? path.basename(src)), output };
      moves.push(m);
      bySource.set(key, m);
    }
    const target = path.join(dest, m.name);
    const out: FileValue = { ...f, location: locationFromPath(target), path: target };
    nameFields(out);
    delete out.dirname;
    if (Array.isArray(f.secondaryFiles)) out.secondaryFiles = f.secondaryFiles.map((s) => move(s as FileValue, output));
    if (Array.isArray((f as CwlObject).listing)) {
      (out as CwlObject).listing = rewrite((f as CwlObject).listing as CwlValue, src, target);
    }
    return out;
  };
  const walk = (v: CwlValue, where: string): CwlValue => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${where}[${i}]`));
    if (typeof v !== 'object' || v === null) return v;
    if ((v.class === 'File' || v.class === 'Directory') && (v.path || v.location)) return move(v as FileValue, where) as CwlValue;
    const o: CwlObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = walk(x, where ? `${where}.${k}` : k);
    return o;
  };
  const facts = await sourceFacts(outputs);
  const result = walk(outputs, '') as CwlObject;
  if (moves.length === 0) return result;

  await decideModes(moves, facts, await realRoots([workRoot]), await realRoots([...(opts.keep ?? [])]));
  // Names already in destDir (anything: a dangling link holds its name too); usually none.
  const existing = new Set((await readEntries(dest)).map((e) => e.name));
  const clashes = await findClashes(moves.filter((m) => existing.has(m.name)), dest, opts);

  // Outputs that are (or hold) stand-ins of objects the tasks read in place: fetched by transfer().
  const heldStandIns = new Set<string>();
  for (const m of moves) if ((await standInsUnder(m.real as string)).length) heldStandIns.add(m.name);
  const staging = await mkdtemp(path.join(dest, STAGING_PREFIX));
  const keptIn = `this run's outputs are kept in ${staging}`;
  const delivered = new Set<Move>();
  try {
    await forEachLimited(moves, async (m) => {
      if (!m.inPlace) await transfer(m, path.join(staging, m.name));
      delivered.add(m);
    }, CONCURRENT_MOVES);
  } catch (err) {
    // Say where every output really is: in the staging directory if it got there, else where it was made.
    const undelivered = moves.filter((m) => !delivered.has(m));
    throw new OutputsNotDeliveredError(
      `could not put the outputs in ${dest}: ${(err as Error).message}; nothing there was replaced; ${whereOutputsAre(staging, delivered.size, undelivered)}`,
      undelivered.map((m) => m.src),
      { cause: err },
    );
  }
  if (clashes.length) {
    throw new WorkflowFailedError(
      `not replacing ${clashes.length === 1 ? 'a file' : 'files'} in ${dest} that Strand did not write: ${clashes.join('; ')}; ${keptIn}`,
    );
  }
  const copied = new Set(moves.filter((m) => m.copy && !m.inPlace).map((m) => m.name));
  const inPlace = new Set(moves.filter((m) => m.inPlace).map((m) => m.name));
  const topName = (p: string) => path.relative(dest, p).split(path.sep)[0] as string;
  const stagedAt = (p: string) => (isInside(p, dest) && !inPlace.has(topName(p)) ? path.join(staging, path.relative(dest, p)) : p);
  // Inputs the tasks read in place have their checksums only now that their bytes are here.
  if (heldStandIns.size) await addChecksums(result, (p) => heldStandIns.has(topName(p)), stagedAt);
  const problems = await verifyOutputs(result, {
    at: stagedAt,
    copied: (p) => copied.has(topName(p)),
  });
  if (problems.length) throw new WorkflowFailedError(`${problems.join('; ')}; ${keptIn}`);

  // Into place: what is there now was written by an earlier run (checked above); set it aside first.
  const aside = path.join(staging, '.replaced');
  if (moves.some((m) => existing.has(m.name) && !m.inPlace)) await mkdir(aside);
  await forEachLimited(moves, async (m) => {
    if (m.inPlace) return;
    const target = path.join(dest, m.name);
    if (existing.has(m.name)) await rename(fsPath(target), fsPath(path.join(aside, m.name)));
    await rename(fsPath(path.join(staging, m.name)), fsPath(target));
  }, CONCURRENT_MOVES);
  await rm(staging, { recursive: true, force: true });
  return result;
}

/** Facts (lstat, real path, real parent) of the top-level Files/Directories (and secondaryFiles) of an output object. */
async function sourceFacts(outputs: CwlValue): Promise<Map<string, PathFacts>> {
  const srcs = new Set<string>();
  const walk = (v: CwlValue): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== 'object' || v === null) return;
    if (v.class === 'File' || v.class === 'Directory') {
      const src = typeof v.path === 'string' ? v.path : typeof v.location === 'string' ? pathFromLocation(v.location) : undefined;
      if (src) srcs.add(src);
      if (Array.isArray(v.secondaryFiles)) walk(v.secondaryFiles);
      return;
    }
    Object.values(v).forEach((x) => x !== undefined && walk(x));
  };
  walk(outputs);
  const parents = new Map<string, Promise<string | undefined>>();
  const out = new Map<string, PathFacts>();
  await forEachLimited([...srcs], async (src) => {
    const facts = await pathFacts(src, parents);
    if (facts) out.set(src, facts);
  });
  return out;
}

function rewrite(v: CwlValue, from: string, to: string): CwlValue {
  if (Array.isArray(v)) return v.map((x) => rewrite(x, from, to));
  if (typeof v !== 'object' || v === null) return v;
  const o = { ...v };
  if (typeof o.path === 'string' && (o.path === from || o.path.startsWith(from + path.sep))) {
    o.path = to + o.path.slice(from.length);
    o.location = locationFromPath(o.path);
    delete o.dirname;
  }
  if (Array.isArray(o.listing)) o.listing = rewrite(o.listing, from, to) as CwlValue[];
  if (Array.isArray(o.secondaryFiles)) o.secondaryFiles = rewrite(o.secondaryFiles, from, to) as CwlValue[];
  return o;
}

/**
 * Rename or copy, per move. Copy when Strand does not own the source, when the source overlaps
 * another one (the same real file reached twice, a file inside a Directory output), or when it is
 * a Directory holding links (copied dereferenced, so nothing in destDir points anywhere).
 */
async function decideModes(moves: Move[], facts: Map<string, PathFacts>, roots: string[], keep: string[]): Promise<void> {
  for (const m of moves) {
    m.real = facts.get(m.src)?.real;
    if (!m.real) throw new WorkflowFailedError(`output ${m.output}: ${m.src} does not exist (or is a link to nothing)`);
  }
  // Overlaps: a real path reached twice, or one inside another (n x depth, not n x n: scatters are large).
  const seen = new Map<string, number>();
  for (const m of moves) seen.set(m.real as string, (seen.get(m.real as string) ?? 0) + 1);
  const overlapping = new Set<string>();
  for (const [real, n] of seen) {
    if (n > 1) overlapping.add(real);
    for (let d = path.dirname(real); d !== path.dirname(d); d = path.dirname(d)) {
      if (seen.has(d)) {
        overlapping.add(real);
        overlapping.add(d);
      }
    }
  }
  await forEachLimited(moves, async (m) => {
    const f = facts.get(m.src) as PathFacts;
    if (overlapping.has(m.real as string) || !owns(f, roots) || keep.some((k) => isInside(m.real as string, k))) m.copy = true;
    else m.copy = f.stats.isDirectory() && (await treeHasSymlink(m.src));
  });
}

/** Names in destDir that must not be replaced: not written by Strand, or an input of this run. */
async function findClashes(moves: Move[], dest: string, opts: RelocateOptions): Promise<string[]> {
  const inputs = await inputRealPaths(opts.inputs);
  const clashes: string[] = [];
  for (const m of moves) {
    const target = path.join(dest, m.name);
    const real = await realPathOf(target);
    if (real !== undefined && real === m.real) {
      m.inPlace = true; // the output is the very file already at that name (e.g. an input passed through, --outdir beside it)
      continue;
    }
    const input = real !== undefined ? inputs.find((p) => isInside(p, real) || isInside(real, p)) : undefined;
    if (input !== undefined) clashes.push(`${target} (output ${m.output}) is ${input === real ? 'an input of this run' : `or holds an input of this run (${input})`}`);
    else if (!(await opts.replaceable?.(target))) clashes.push(`${target} (output ${m.output}) was not written by an earlier Strand run, or was changed since`);
  }
  return clashes;
}

async function inputRealPaths(v: CwlValue | undefined): Promise<string[]> {
  const paths = new Set<string>();
  const walk = (x: CwlValue | undefined): void => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (typeof x !== 'object' || x === null) return;
    if (x.class === 'File' || x.class === 'Directory') {
      const p = typeof x.path === 'string' ? x.path : typeof x.location === 'string' && x.location.startsWith('file:') ? pathFromLocation(x.location) : undefined;
      if (p) paths.add(p);
      walk(x.secondaryFiles);
      return;
    }
    Object.values(x).forEach(walk);
  };
  walk(v);
  const reals = await mapLimited([...paths], realPathOf);
  return reals.filter((r): r is string => r !== undefined);
}

/** Where a run's outputs are after a failed delivery, in a few lines however many there are. */
function whereOutputsAre(staging: string, deliveredCount: number, undelivered: Move[]): string {
  const SHOWN = 5;
  const parts: string[] = [];
  if (deliveredCount) parts.push(`${deliveredCount} output file(s) are in ${staging}`);
  const shown = undelivered.slice(0, SHOWN).map((m) => `${m.output} at ${m.src}`);
  const more = undelivered.length > SHOWN ? ` and ${undelivered.length - SHOWN} more where their tasks made them` : '';
  if (undelivered.length) parts.push(`not copied, and kept where they are: ${shown.join(', ')}${more}`);
  return parts.join('; ');
}

/** Set the checksum of each File without one under an output `which` names, computed on its file at `at(path)`. */
async function addChecksums(v: CwlValue, which: (p: string) => boolean, at: (p: string) => string): Promise<void> {
  if (Array.isArray(v)) {
    for (const x of v) await addChecksums(x, which, at);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  if (v.class === 'File' && typeof v.path === 'string' && v.checksum === undefined && which(v.path)) v.checksum = await sha1File(at(v.path));
  for (const x of Object.values(v)) if (x !== undefined) await addChecksums(x, which, at);
}

async function transfer(m: Move, target: string): Promise<void> {
  try {
    await transferOnce(m, target);
  } catch (err) {
    // A partial copy (a full disk) is removed: the output is still at its source.
    if (m.copy) await rm(target, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

async function transferOnce(m: Move, target: string): Promise<void> {
  // An input read in place by the tasks is fetched here only now, when it is an output (stand-ins.ts).
  await materializeUnder(m.real as string);
  if (!m.copy) {
    try {
      await rename(fsPath(m.src), fsPath(target));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      m.copy = true; // another file system: copied, so verified like a copy
    }
  }
  const real = m.real as string;
  const st = await lstat(fsPath(real));
  if (st.isDirectory()) await copyTreeDereferenced(real, target);
  else await copyFile(fsPath(real), fsPath(target));
}
