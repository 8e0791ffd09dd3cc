/**
 * Globbed outputs must be the tool's own files. A tool that links a file from elsewhere into its
 * output directory (`ln -s /tmp/x out.txt`) does not make it an output: like cwltool, Strand only
 * collects what lies in the output directory or in what the task was given (its inputs, what
 * InitialWorkDir linked in, and the user's paths behind staged links), as seen through every link. Anything else fails the task, naming the output, the match and where
 * it really points.
 */
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError } from '../errors.js';
import type { CwlValue } from '../model/types.js';
import { isInside } from './ownership.js';
import { pathFromLocation } from './paths.js';

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

export class LinkGuard {
  private realOutdir: Promise<string> | undefined;
  private realInputs: Promise<string[]> | undefined;
  private readonly realDirs = new Map<string, Promise<string>>();

  /** `trusted`: what the task was given (its inputs, what InitialWorkDir linked in, their originals). */
  constructor(
    private readonly outdir: string,
    private readonly trusted: readonly string[],
  ) {}

  /** Throws unless `p` (a glob match) really lies in the output directory or in an input. */
  async check(p: string, outputId: string): Promise<void> {
    this.realOutdir ??= realpath(this.outdir);
    const dir = path.dirname(p);
    let realDir = this.realDirs.get(dir);
    if (!realDir) {
      realDir = realpath(dir);
      this.realDirs.set(dir, realDir);
    }
    const st = await lstat(p);
    const real = st.isSymbolicLink() ? await realpath(p) : path.join(await realDir, path.basename(p));
    if (isInside(real, await this.realOutdir)) return;
    this.realInputs ??= Promise.all([...new Set(this.trusted)].map((x) => realpath(x).catch(() => x)));
    if ((await this.realInputs).some((r) => isInside(real, r))) return;
    const shown = path.relative(this.outdir, p) || p;
    throw new WorkflowFailedError(
      `output ${outputId}: ${shown} is a link to ${real}, outside the task's output directory and its inputs; ` +
        'Strand does not collect files a tool links in from elsewhere (write or copy them into the output directory)',
    );
  }
}
