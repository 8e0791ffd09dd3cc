/**
 * Files a document names: the one rule for every local path that enters a run from the CWL
 * document itself rather than from the user (docs/security.md, "Files a document names").
 *
 * A published workflow is untrusted. A File or Directory it names (an input's or a step's
 * `default`, a step's `valueFrom`, an InitialWorkDir entry, a `secondaryFiles` default or
 * expression) must, every link resolved, lie inside the document's directory tree or already be
 * part of the run (what the step or task was given: the job's inputs and anything under them,
 * earlier tasks' outputs). Anything else (`/home/u/.ssh/id_rsa`, `file:///etc/shadow`,
 * `../../.aws/credentials`, a link in the workflow's directory that leads out) fails the run
 * before the file is read, naming the document, line, field and path. `--allow-outside-document`
 * (or the older `--allow-include-outside`) lifts the rule. Paths in the job file or on the
 * command line are the user's own and are not checked here.
 *
 * The document's directory tree is:
 * - the directory of the document that names the file (as for `$include`), and
 * - the directory of the top-level document given on the command line, or the directory Strand
 *   runs in when that document lies under it (a repository's workflows are run from its root, as
 *   cwltest runs the conformance suite from the suite's root: `tests/iwd/x.cwl` naming
 *   `../loadContents/y`), except when that directory is the home directory or above it (where
 *   `~/.ssh` and `~/.aws` are).
 */
import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ValidationError, type SourceLocation } from '../errors.js';
import type { CwlValue } from '../model/types.js';
import { inputPaths, namedPath } from './confine.js';
import { isInside } from './ownership.js';

export interface DocumentPathsOptions {
  /** The top-level document's file (a local path; a remote document has no tree on this host). */
  document?: string | undefined;
  /** The directory Strand runs in (default: the process's). */
  cwd?: string;
  /** The user's home directory (default: os.homedir()). */
  home?: string;
  /** --allow-outside-document: no check at all. */
  allowAnywhere?: boolean;
}

/** The real path of `p`, or of its nearest existing parent with the rest appended. */
async function realOrNear(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(await realOrNear(parent), path.basename(p));
  }
}

function localFile(f: string | undefined): string | undefined {
  if (f === undefined || f === '') return undefined;
  if (f.startsWith('file:')) return namedPath({ location: f }, '/');
  return path.isAbsolute(f) ? f : undefined;
}

export class DocumentPaths {
  /** The tree of the top-level document (real paths), resolved once. */
  private readonly tree: Promise<string[]>;
  private readonly realDirs = new Map<string, Promise<string>>();
  /** The links inside a directory of the tree (real directory -> each link and where it leads), read once. */
  private readonly linksIn = new Map<string, Promise<Array<{ link: string; to: string }>>>();
  readonly allowAnywhere: boolean;

  constructor(options: DocumentPathsOptions = {}) {
    this.allowAnywhere = options.allowAnywhere === true;
    this.tree = DocumentPaths.treeOf(options);
  }

  /** No check: --allow-outside-document. */
  static anywhere(): DocumentPaths {
    return new DocumentPaths({ allowAnywhere: true });
  }

  private static async treeOf(o: DocumentPathsOptions): Promise<string[]> {
    const doc = localFile(o.document);
    if (doc === undefined) return [];
    const dir = await realOrNear(path.dirname(doc));
    const cwd = await realOrNear(o.cwd ?? process.cwd());
    const home = await realOrNear(o.home ?? os.homedir());
    // The run's directory counts when the document lies under it, unless it holds the home directory.
    if (cwd !== dir && isInside(dir, cwd) && !isInside(home, cwd)) return [cwd];
    return [dir];
  }

  private linksOf(real: string): Promise<Array<{ link: string; to: string }>> {
    let l = this.linksIn.get(real);
    if (!l) {
      l = lstat(real).then((st) => (st.isDirectory() ? linksUnder(real) : []), () => []);
      this.linksIn.set(real, l);
    }
    return l;
  }

  private realDir(dir: string): Promise<string> {
    let r = this.realDirs.get(dir);
    if (!r) this.realDirs.set(dir, (r = realOrNear(dir)));
    return r;
  }

  /**
   * Throws a ValidationError at `at` (the document, line and field that wrote the value) unless
   * every local File and Directory in `value` (its secondaryFiles and listing too) lies, links
   * resolved, in the document's tree (the top-level document's and `at.file`'s directory) or in
   * one of `given` (paths already part of the run: what the step was given). Relative paths are
   * taken against the current directory, as staging reads them.
   */
  async check(value: CwlValue | undefined, at: SourceLocation, given: readonly string[] = []): Promise<void> {
    if (this.allowAnywhere || value === undefined) return;
    const named = namedFiles(value);
    if (named.length === 0) return;
    const own = localFile(at.file);
    const tree = await this.tree;
    const ownDir = own ? await this.realDir(path.dirname(own)) : undefined;
    const roots = ownDir === undefined || tree.some((t) => isInside(ownDir, t)) ? tree : [...tree, ownDir];
    const givenReal = await Promise.all([...new Set(given)].map((g) => realOrNear(path.resolve(g))));
    const allowed = [...roots, ...givenReal];
    const inside = roots.length === 0 ? 'the document (a remote document has no directory on this host)' : roots.join(' or ');
    for (const p of named) {
      const real = await realOrNear(p);
      let how: string | undefined;
      if (!allowed.some((r) => isInside(real, r))) how = real === p ? 'is' : `is a link to ${real},`;
      else if (!givenReal.some((g) => isInside(real, g))) {
        // A directory of the tree: a link inside it that leads out (committed with the workflow) is refused too.
        const out = (await this.linksOf(real)).find((l) => !allowed.some((r) => isInside(l.to, r)));
        if (out) how = `holds ${out.link}, a link to ${out.to}, which is`;
      }
      if (how === undefined) continue;
      throw new ValidationError(
        `${p} ${how} outside ${inside}; a document may name only files in its own directory tree ` +
          "(or the run's inputs); give --allow-outside-document to let it read files from anywhere " +
          '(files in the job file or on the command line are always allowed)',
        at,
      );
    }
  }
}

/** Every link under `dir` (not followed) and where it leads (a dangling one: its target as written, resolved). */
async function linksUnder(dir: string, into: Array<{ link: string; to: string }> = []): Promise<Array<{ link: string; to: string }>> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isSymbolicLink()) into.push({ link: p, to: await realpath(p).catch(async () => path.resolve(dir, await readlink(p))) });
    else if (e.isDirectory()) await linksUnder(p, into);
  }
  return into;
}

/** The local paths of the Files and Directories in a value (named by path or location; literals have none). */
function namedFiles(v: CwlValue, into: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) namedFiles(x, into);
  else if (typeof v === 'object' && v !== null) {
    if (v.class === 'File' || v.class === 'Directory') {
      // Both: staging reads `location` when there is one, `path` otherwise.
      for (const p of [namedPath({ path: v.path }, process.cwd()), namedPath({ location: v.location }, process.cwd())]) if (p !== undefined) into.push(p);
    }
    for (const x of Object.values(v)) if (x !== undefined) namedFiles(x, into);
  }
  return into;
}

/** The paths a step or task was given (its inputs), which an expression may pass on. */
export function givenPaths(...values: CwlValue[]): string[] {
  const out: string[] = [];
  for (const v of values) inputPaths(v, out);
  return out;
}
