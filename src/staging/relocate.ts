/** Moving final outputs out of task directories into --outdir. */
import { cp, mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CwlObject, CwlValue, FileValue } from '../model/types.js';
import { locationFromPath, nameFields, pathFromLocation } from './paths.js';

async function freeName(dir: string, name: string, taken: Set<string>): Promise<string> {
  const ext = path.extname(name);
  const root = name.slice(0, name.length - ext.length);
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? name : `${root}_${i}${ext}`;
    const p = path.join(dir, candidate);
    if (taken.has(p)) continue;
    const exists = await stat(p).then(() => true, () => false);
    if (!exists) {
      taken.add(p);
      return p;
    }
  }
}

export async function relocateOutputs(outputs: CwlObject, destDir: string, workRoot: string): Promise<CwlObject> {
  await mkdir(destDir, { recursive: true });
  const taken = new Set<string>();
  const done = new Map<string, string>();
  const inside = (p: string) => !path.relative(workRoot, p).startsWith('..');

  const move = async (f: FileValue): Promise<FileValue> => {
    const src = f.path ?? (f.location ? pathFromLocation(f.location) : undefined);
    if (!src) return f;
    let target = done.get(src);
    if (!target) {
      target = await freeName(destDir, f.basename ?? path.basename(src), taken);
      if (inside(src)) {
        await rename(src, target).catch(() => cp(src, target as string, { recursive: true, dereference: true }));
      } else {
        await cp(src, target, { recursive: true, dereference: true });
      }
      done.set(src, target);
    }
    const out: FileValue = { ...f, location: locationFromPath(target), path: target };
    nameFields(out);
    delete out.dirname;
    if (Array.isArray(f.secondaryFiles)) out.secondaryFiles = (await Promise.all(f.secondaryFiles.map((s) => move(s as FileValue)))) as FileValue[];
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
  const walk = async (v: CwlValue): Promise<CwlValue> => {
    if (Array.isArray(v)) {
      const out: CwlValue[] = [];
      for (const x of v) out.push(await walk(x));
      return out;
    }
    if (typeof v !== 'object' || v === null) return v;
    if ((v.class === 'File' || v.class === 'Directory') && (v.path || v.location)) return (await move(v as FileValue)) as CwlValue;
    const o: CwlObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = await walk(x);
    return o;
  };
  return (await walk(outputs)) as CwlObject;
}
