/**
 * Confinement: the one rule for every path Strand writes into a task and every path an output
 * names. Documents, job files and what tools leave behind are untrusted (docs/security.md,
 * "Confinement of files").
 *
 * Writing (`relativeName`, `placeInside`): a name Strand writes under a directory it owns is a
 * normalised relative path that stays inside (no `..` part, not absolute, no NUL), and every
 * directory on the way is a real directory, never a symbolic link, so nothing is written through a
 * link to somewhere else (an InitialWorkDir entry `data` linked to the user's directory, then an
 * entry `data/x`). The last part must not exist yet; callers create it with O_EXCL semantics
 * (`writeFile` flag `wx`, `symlink`, `mkdir`), which fail on an existing link instead of following
 * it.
 *
 * Reading (`OutputConfinement`): every File and Directory an output names, whatever produced it
 * (glob, cwl.output.json, outputEval, an ExpressionTool, secondaryFiles, a Directory's listing),
 * must really lie, every link resolved, in the task's output directory or in what the task was
 * given (its inputs, what InitialWorkDir linked in, and the user's originals behind staged links).
 * Inside an output Directory, a link that leaves both is refused, never followed. A link to
 * nothing (as a tool in a container makes: `/data/x` means something else on this host) is
 * refused too. Anything else fails the task, naming the output and the path.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError } from '../errors.js';
import type { CwlValue } from '../model/types.js';
import { isInside } from './ownership.js';
import { pathFromLocation } from './paths.js';
import { fsPath, readEntries, readlinkRaw, realpathRaw } from './raw-names.js';

/**
 * `name` as a normalised relative path that stays inside the directory it is written under;
 * throws, naming `what` and the name, otherwise.
 */
export function relativeName(name: string, what: string): string {
  const bad = (why: string) => new WorkflowFailedError(`${what}: the name ${JSON.stringify(name)} ${why}; Strand writes only inside the task's directory`);
  if (typeof name !== 'string' || name === '') throw bad('is empty');
  if (name.includes('\0')) throw bad('holds a NUL character');
  if (path.posix.isAbsolute(name)) throw bad('is absolute');
  const norm = path.posix.normalize(name).replace(/\/+$/, '');
  if (norm === '..' || norm.startsWith('../')) throw bad('climbs out with `..`');
  if (norm === '.' || norm === '') throw bad('names the directory itself');
  return norm;
}

/**
 * Make the directories on the way to `root/rel` (real directories inside `root`, none of them a
 * link) and return the absolute path of `rel` and what is there now (lstat: a link is not
 * followed). `root` is a directory Strand made. `what` names the entry in errors.
 */
export async function placeInside(root: string, rel: string, what: string): Promise<{ target: string; existing: Stats | undefined }> {
  const norm = relativeName(rel, what);
  const parts = norm.split('/');
  await mkdir(root, { recursive: true });
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = path.join(dir, part);
    let st = await lstat(fsPath(dir)).catch(() => undefined);
    if (!st) {
      await mkdir(fsPath(dir)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      st = await lstat(fsPath(dir));
    }
    if (st.isSymbolicLink()) throw throughLink(what, norm, path.relative(root, dir), await readlink(dir));
    if (!st.isDirectory()) throw new WorkflowFailedError(`${what}: ${norm} would be written under ${path.relative(root, dir)}, which is not a directory`);
  }
  const target = path.join(root, norm);
  return { target, existing: await lstat(fsPath(target)).catch(() => undefined) };
}

/** The error for a write that would go through a link. */
export function throughLink(what: string, name: string, link: string, to: string): WorkflowFailedError {
  return new WorkflowFailedError(`${what}: ${name} would be written through ${link}, a link to ${to}; Strand writes only into directories it made`);
}

/** Create (or truncate) the file `target` and write `data`, failing on a link instead of following it. */
export async function writeNoFollow(target: string, data: string | Uint8Array, what: string): Promise<void> {
  let fh;
  try {
    fh = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o666);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw throughLink(what, path.basename(target), target, await readlink(target).catch(() => '?'));
    throw err;
  }
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/** The path a File or Directory object names (relative paths against `base`), if a local one. */
export function namedPath(v: { path?: unknown; location?: unknown }, base: string): string | undefined {
  if (typeof v.path === 'string' && v.path !== '') return path.resolve(base, v.path);
  if (typeof v.location !== 'string' || v.location === '') return undefined;
  if (v.location.startsWith('file:')) return pathFromLocation(v.location);
  if (/^[a-z][a-z0-9+.-]*:/i.test(v.location)) return undefined; // not a host path (remote locations are not read here)
  return path.resolve(base, v.location);
}

/** The paths of every File and Directory in a value (an input object). */
export function inputPaths(v: CwlValue, into: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) inputPaths(x, into);
  else if (typeof v === 'object' && v !== null) {
    if (v.class === 'File' || v.class === 'Directory') {
      const p = typeof v.path === 'string' ? v.path : typeof v.location === 'string' && v.location.startsWith('file:') ? pathFromLocation(v.location) : undefined;
      if (p) into.push(p);
    }
    for (const x of Object.values(v)) if (x !== undefined) inputPaths(x, into);
  }
  return into;
}

/** Where an output may lie: the task's output directory (if it has one) and what the task was given. */
export class OutputConfinement {
  private realOwned: Promise<string[]> | undefined;
  private realTrusted: Promise<string[]> | undefined;
  private readonly realDirs = new Map<string, Promise<string | undefined>>();
  /** Paths that passed check() with something there, and what it said of them. */
  private readonly passed = new Map<string, boolean>();
  /** Real paths of the directories checkTree has read (each is read once). */
  private readonly walked = new Set<string>();

  /**
   * `outdir`: the task's output directory (undefined: none, as for an ExpressionTool).
   * `trusted`: what the task was given (its inputs, what InitialWorkDir linked in, their originals).
   * `alsoOwned`: other directories Strand made for the task where it may write (its input staging
   * directory); checked like the output directory, links inside included.
   */
  constructor(
    private readonly outdir: string | undefined,
    private readonly trusted: readonly string[],
    private readonly alsoOwned: readonly string[] = [],
  ) {}

  private get allowedText(): string {
    return this.outdir === undefined ? "the step's inputs" : "the task's output directory and its inputs";
  }

  /** Whether a real path lies in a directory Strand made for the task (the output directory first). */
  private async inOwned(real: string): Promise<boolean> {
    const dirs = [...(this.outdir === undefined ? [] : [this.outdir]), ...this.alsoOwned];
    this.realOwned ??= Promise.all(dirs.map((d) => this.realDir(d))).then((r) => r.filter((x): x is string => x !== undefined));
    return (await this.realOwned).some((o) => isInside(real, o));
  }

  private async inTrusted(real: string): Promise<boolean> {
    this.realTrusted ??= Promise.all([...new Set(this.trusted)].map((x) => realpathRaw(x).catch(() => path.resolve(x))));
    return (await this.realTrusted).some((r) => isInside(real, r));
  }

  /** The real path of `p`, itself not a link: its directory's real path and its name. */
  private async realDirJoin(p: string): Promise<string | undefined> {
    const d = await this.realDir(path.dirname(p));
    return d === undefined ? undefined : path.join(d, path.basename(p));
  }

  /** The real path of a directory, asked once per confinement (a task's outputs share their directory). */
  private realDir(dir: string): Promise<string | undefined> {
    let real = this.realDirs.get(dir);
    if (!real) {
      real = realpathRaw(dir).catch(() => undefined);
      this.realDirs.set(dir, real);
    }
    return real;
  }

  private shown(p: string): string {
    if (this.outdir === undefined) return p;
    const rel = path.relative(this.outdir, p);
    return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
  }

  /**
   * Throws unless `p` really lies in the output directory or in what the task was given. Returns
   * whether it lies in a directory Strand made for the task (undefined when nothing is there).
   */
  async check(p: string, outputId: string): Promise<boolean | undefined> {
    // A path passes once per confinement (a glob's file is checked again in the output value):
    // the task has ended, so what passed stays so while its outputs are collected.
    const abs = path.resolve(p);
    const passed = this.passed.get(abs);
    if (passed !== undefined) return passed;
    const value = await this.checkNow(abs, outputId);
    if (value !== undefined) this.passed.set(abs, value); // nothing there may be something later
    return value;
  }

  private async checkNow(abs: string, outputId: string): Promise<boolean | undefined> {
    const st = await lstat(fsPath(abs)).catch(() => undefined);
    if (!st) return undefined; // nothing there: the caller reports a missing file in its own words
    const link = st.isSymbolicLink();
    const real = link ? await realpathRaw(abs).catch(() => undefined) : await this.realDirJoin(abs);
    if (real === undefined) {
      if (link) {
        throw new WorkflowFailedError(
          `output ${outputId}: ${this.shown(abs)} is a link to ${await readlinkRaw(abs)}, which does not exist here; Strand does not follow links a tool leaves dangling`,
        );
      }
      return undefined;
    }
    if (await this.inOwned(real)) return true;
    if (await this.inTrusted(real)) return false;
    // A link to an entry of an input, as given (a staged input's link farm: the user's own link,
    // wherever it leads, is the user's choice). Its first hop only, normalised: `../` cannot climb out.
    if (link) {
      const hop = path.resolve(path.dirname(abs), await readlinkRaw(abs));
      if (this.trusted.some((t) => isInside(hop, path.resolve(t)))) return false;
    }
    const how = real === abs ? 'lies' : `is a link to ${real},`;
    throw new WorkflowFailedError(
      `output ${outputId}: ${this.shown(abs)} ${how} outside ${this.allowedText}; ` +
        'Strand does not collect files from elsewhere (write or copy them into the output directory)',
    );
  }

  /**
   * Throws if a link inside the directory `dir` (in the output directory) leaves the output
   * directory and the inputs, or leads to nothing. A link to another directory in the output
   * directory is read too (relocation copies through it). Each real directory is read once.
   */
  async checkTree(dir: string, outputId: string): Promise<void> {
    const real = await realpathRaw(dir).catch(() => undefined);
    if (real === undefined || this.walked.has(real)) return;
    this.walked.add(real);
    const entries = await readEntries(dir).catch(() => []);
    for (const { name, entry: e } of entries) {
      const p = path.join(dir, name);
      if (e.isSymbolicLink()) {
        if ((await this.check(p, outputId)) === true && (await stat(fsPath(p))).isDirectory()) await this.checkTree(p, outputId);
      } else if (e.isDirectory()) await this.checkTree(p, outputId);
    }
  }

  /**
   * Checks every File and Directory in an output value (its secondaryFiles and listing too):
   * each must lie where outputs may, and a Directory in the output directory must not hold
   * links that leave it. Relative paths are taken against the output directory (the current
   * directory when there is none).
   */
  async checkValue(v: CwlValue, outputId: string): Promise<void> {
    if (Array.isArray(v)) {
      for (const x of v) await this.checkValue(x, outputId);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    if (v.class === 'File' || v.class === 'Directory') {
      const p = namedPath(v, this.outdir ?? process.cwd());
      // A Directory the tool made is checked inside too; one of its inputs is the user's own.
      if (p !== undefined && (await this.check(p, outputId)) === true && v.class === 'Directory') await this.checkTree(p, outputId);
      if (Array.isArray(v.secondaryFiles)) await this.checkValue(v.secondaryFiles, outputId);
      if (Array.isArray(v.listing)) await this.checkValue(v.listing, outputId);
      return;
    }
    for (const [k, x] of Object.entries(v)) if (x !== undefined) await this.checkValue(x, `${outputId}.${k}`);
  }
}

/**
 * The files a task's stdout and stderr are written to (names relative to `outdir`): their
 * directories are made inside `outdir`, and neither they nor a directory on the way may be a link
 * (an InitialWorkDir entry `data` linked to the user's directory, then `stdout: data/x`), since the
 * executor opens them for writing before the tool starts.
 */
export async function prepareStreamFiles(
  outdir: string,
  names: { stdout?: string | undefined; stderr?: string | undefined },
  opts: { fresh?: boolean } = {},
): Promise<void> {
  for (const field of ['stdout', 'stderr'] as const) {
    const name = names[field];
    if (name === undefined) continue;
    // `fresh`: `outdir` was just made by Strand and nothing was written into it (no InitialWorkDir),
    // so a plain name has nothing on its way and nothing there: only the name is checked.
    if (opts.fresh && !relativeName(name, field).includes('/')) continue;
    const { target, existing } = await placeInside(outdir, name, field);
    if (existing?.isSymbolicLink()) throw throughLink(field, name, name, await readlink(target));
    if (existing && !existing.isFile()) throw new WorkflowFailedError(`${field}: ${name} is there already and is not a file`);
  }
}
