/** InitialWorkDirRequirement: files, directories and Dirents placed in the output directory. */
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Evaluator } from '../expressions/evaluator.js';
import { WorkflowFailedError } from '../errors.js';
import { findRequirement, type EffectiveRequirements } from '../model/requirements.js';
import type { CommandLineTool, CwlObject, CwlValue, FileValue } from '../model/types.js';
import { locationFromPath, pathFromLocation } from './paths.js';

function isFileLike(v: unknown): v is FileValue {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && ((v as CwlObject).class === 'File' || (v as CwlObject).class === 'Directory');
}

/** A host file or directory a container must see at `taskPath` (an absolute entryname). */
export interface ContainerBind {
  hostPath: string;
  taskPath: string;
  readOnly: boolean;
}

/**
 * Stage the listing into `outdir`. `binds` is given when the task runs in a container: a File or
 * Directory entry with an absolute entryname is then added to it, to be mounted at that path.
 */
export async function stageInitialWorkDir(
  tool: CommandLineTool,
  inputs: CwlObject,
  eff: EffectiveRequirements,
  evaluator: Evaluator,
  runtime: CwlObject,
  outdir: string,
  binds?: ContainerBind[],
): Promise<CwlObject> {
  const iwd = findRequirement(eff, 'InitialWorkDirRequirement');
  if (!iwd) return inputs;
  const inplace = findRequirement(eff, 'InplaceUpdateRequirement')?.value.inplaceUpdate === true;
  const ctx = { inputs, self: null, runtime };
  let listing: unknown = iwd.value.listing;
  if (typeof listing === 'string') listing = evaluator.evaluate(listing, ctx);
  const entries = (Array.isArray(listing) ? listing : [listing]).flatMap((e) => {
    const v = typeof e === 'string' ? evaluator.evaluate(e, ctx) : e;
    return Array.isArray(v) ? v : [v];
  });
  const moved = new Map<string, string>(); // original path -> staged path

  const place = async (item: FileValue, target: string, writable: boolean) => {
    await mkdir(path.dirname(target), { recursive: true });
    if (!item.location && !item.path && item.class === 'File') {
      await writeFile(target, item.contents ?? '');
      return;
    }
    if (!item.location && !item.path && (item.class as string) === 'Directory') {
      await mkdir(target, { recursive: true });
      for (const child of (item as CwlObject).listing as FileValue[] ?? []) await place(child, path.join(target, child.basename ?? 'x'), writable);
      return;
    }
    const src = item.path ?? pathFromLocation(item.location as string);
    if (writable && !inplace) await cp(src, target, { recursive: true, dereference: true });
    else await symlink(src, target).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    moved.set(src, target);
  };

  for (const e of entries) {
    if (e === null || e === undefined) continue;
    if (isFileLike(e)) {
      await place(e, path.join(outdir, e.basename ?? path.basename(e.path ?? pathFromLocation(e.location as string))), (e as CwlObject).writable === true);
      continue;
    }
    if (typeof e === 'object' && !Array.isArray(e) && 'entry' in (e as object)) {
      const d = e as CwlObject;
      const name = d.entryname !== undefined ? evaluator.evaluate(String(d.entryname), ctx) : undefined;
      const entry: CwlValue = typeof d.entry === 'string' ? evaluator.evaluate(d.entry, ctx) : (d.entry ?? null);
      const writable = d.writable === true;
      if (entry === null) continue;
      if (typeof name === 'string' && path.isAbsolute(name) && binds && isFileLike(entry) && (entry.path ?? entry.location) && (!writable || inplace)) {
        const src = entry.path ?? pathFromLocation(entry.location as string);
        binds.push({ hostPath: src, taskPath: path.normalize(name), readOnly: !(writable && inplace) });
        moved.set(src, path.normalize(name));
        continue;
      }
      if (typeof name === 'string' && path.isAbsolute(name)) {
        throw new WorkflowFailedError(
          binds
            ? `InitialWorkDirRequirement: entryname ${name} is absolute: supported only for a File or Directory that is not a writable copy`
            : `InitialWorkDirRequirement: entryname ${name} is absolute, which needs a container (DockerRequirement under requirements, not hints)`,
        );
      }
      if (isFileLike(entry) || (Array.isArray(entry) && entry.every(isFileLike))) {
        const list = Array.isArray(entry) ? entry : [entry];
        for (const f of list as FileValue[]) {
          const target = path.join(outdir, typeof name === 'string' && list.length === 1 ? name : (f.basename ?? 'entry'));
          await place(f, target, writable);
        }
        continue;
      }
      if (typeof name !== 'string') throw new WorkflowFailedError('InitialWorkDirRequirement: a Dirent with a text entry needs an entryname');
      const text = typeof entry === 'string' ? entry : JSON.stringify(entry, null, 0);
      const target = path.join(outdir, name);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, text);
      continue;
    }
    throw new WorkflowFailedError(`InitialWorkDirRequirement: cannot stage ${JSON.stringify(e).slice(0, 100)}`);
  }
  if (moved.size === 0) return inputs;
  const remap = (v: CwlValue): CwlValue => {
    if (Array.isArray(v)) return v.map(remap);
    if (typeof v !== 'object' || v === null) return v;
    if (isFileLike(v)) {
      const p = v.path ?? (v.location ? pathFromLocation(v.location) : undefined);
      const staged = p ? moved.get(p) : undefined;
      if (staged) return { ...v, path: staged, location: locationFromPath(staged), dirname: path.dirname(staged) };
      return v;
    }
    const o: CwlObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = remap(x);
    return o;
  };
  return remap(inputs) as CwlObject;
}
