/**
 * Moving final outputs out of task directories into --outdir.
 *
 * Two phases: first every File/Directory gets its name in destDir, in output order (so clashes are
 * resolved the same way every time: `x.txt`, `x_2.txt`, ...) and the output object is rewritten;
 * then the moves run, concurrently unless one source lies inside another (then one by one, in
 * output order).
 */
import { cp, mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { CwlObject, CwlValue, FileValue } from '../model/types.js';
import { locationFromPath, nameFields, pathFromLocation } from './paths.js';

/** Moves in flight at once: enough to keep the thread pool busy. */
const CONCURRENT_MOVES = 16;

interface Move {
  src: string;
  target: string;
  /** Inside the run's work root: may be renamed rather than copied. */
  inside: boolean;
}

export async function relocateOutputs(outputs: CwlObject, destDir: string, workRoot: string): Promise<CwlObject> {
  await mkdir(destDir, { recursive: true });
  // Names already in destDir (anything: a dangling symlink takes its name too).
  const existing = new Set(await readdir(destDir));
  const taken = new Set<string>();
  const done = new Map<string, string>();
  const moves: Move[] = [];
  const inside = (p: string) => !path.relative(workRoot, p).startsWith('..');

  const freeName = (name: string): string => {
    const ext = path.extname(name);
    const root = name.slice(0, name.length - ext.length);
    for (let i = 1; ; i++) {
      const candidate = i === 1 ? name : `${root}_${i}${ext}`;
      if (taken.has(candidate) || existing.has(candidate)) continue;
      taken.add(candidate);
      return path.join(destDir, candidate);
    }
  };

  const move = (f: FileValue): FileValue => {
    const src = f.path ?? (f.location ? pathFromLocation(f.location) : undefined);
    if (!src) return f;
    let target = done.get(src);
    if (!target) {
      target = freeName(f.basename ?? path.basename(src));
      moves.push({ src, target, inside: inside(src) });
      done.set(src, target);
    }
    const out: FileValue = { ...f, location: locationFromPath(target), path: target };
    nameFields(out);
    delete out.dirname;
    if (Array.isArray(f.secondaryFiles)) out.secondaryFiles = f.secondaryFiles.map((s) => move(s as FileValue));
    if (Array.isArray((f as CwlObject).listing)) {
      const rewrite = (v: CwlValue, from: string, to: string): CwlValue => {
        if (Array.isArray(v)) return v.map((x) => rewrite(x, from, to));
        if (typeof v !== 'object' || v === null) return v;
        const o = { ...v };
        if (typeof o.path === 'string' && o.path.startsWith(from)) {
          o.path = to + o.path.slice(from.length);
          o.location = locationFromPath(o.path);
          delete o.dirname;
        }
        if (Array.isArray(o.listing)) o.listing = rewrite(o.listing, from, to) as CwlValue[];
        return o;
      };
      (out as CwlObject).listing = rewrite((f as CwlObject).listing as CwlValue, src, target);
    }
    return out;
  };
  const walk = (v: CwlValue): CwlValue => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    if ((v.class === 'File' || v.class === 'Directory') && (v.path || v.location)) return move(v as FileValue) as CwlValue;
    const o: CwlObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = walk(x);
    return o;
  };
  const result = walk(outputs) as CwlObject;

  if (nested(moves)) {
    for (const m of moves) await runMove(m);
  } else {
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (next < moves.length && !failed) {
        try {
          await runMove(moves[next++] as Move);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    };
    const settled = await Promise.allSettled(Array.from({ length: Math.min(CONCURRENT_MOVES, moves.length) }, worker));
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
  }
  return result;
}

async function runMove({ src, target, inside }: Move): Promise<void> {
  if (inside) await rename(src, target).catch(() => cp(src, target, { recursive: true, dereference: true }));
  else await cp(src, target, { recursive: true, dereference: true });
}

/** Whether some source lies inside another (then the order of the moves matters). */
function nested(moves: Move[]): boolean {
  const srcs = new Set(moves.map((m) => path.resolve(m.src)));
  for (const s of srcs) {
    for (let d = path.dirname(s); ; d = path.dirname(d)) {
      if (srcs.has(d)) return true;
      if (d === path.dirname(d)) break;
    }
  }
  return false;
}
