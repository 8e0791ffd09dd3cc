/** Output collection for a CommandLineTool: cwl.output.json, or glob/loadContents/outputEval per output. */
import { parseJsonExact } from '../model/exact-json.js';
import { expandFormat } from '../model/format-iri.js';
import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import fg from 'fast-glob';
import type { Evaluator } from '../expressions/evaluator.js';
import { WorkflowFailedError } from '../errors.js';
import type { EffectiveRequirements } from '../model/requirements.js';
import type { CommandLineTool, CwlObject, CwlType, CwlValue, DirectoryValue, FileValue, OutputParameter } from '../model/types.js';
import { checkType } from './check-type.js';
import { locationFromPath, nameFields, pathFromLocation, readContents, sha1File } from './paths.js';
import { fsPath, rawNameGlobFs } from './raw-names.js';
import { standInBehind } from './stand-ins.js';
import { inputPaths, OutputConfinement } from './confine.js';
import { describe, listDirectory } from './prepare-inputs.js';
import { globMissError } from './glob-miss.js';
import { mapLimited } from './limited.js';
import { discoverSecondaryFiles } from './secondary.js';

/**
 * Sizes of the Files globOne found, keyed by the very object it returned: when the output value
 * still holds that object, finishing it needs no second stat. The task has exited, so nothing
 * changes the files in between.
 */
const globbedSize = new WeakMap<object, { path: string; size: number }>();

/** Complete File/Directory objects in an output value: names, size, checksum, deep listing. */
export async function finishOutputValue(v: CwlValue, outdir: string): Promise<CwlValue> {
  if (Array.isArray(v)) return mapLimited(v, (x) => finishOutputValue(x, outdir));
  if (typeof v !== 'object' || v === null) return v;
  if (v.class === 'File' || v.class === 'Directory') {
    const f = { ...v } as FileValue & CwlObject;
    if (f.location && !f.location.includes(':')) f.location = locationFromPath(path.resolve(outdir, f.location));
    if (f.path && !path.isAbsolute(f.path)) f.path = path.resolve(outdir, f.path);
    if (f.location) f.path = pathFromLocation(f.location);
    if (!f.path && f.class === 'File' && f.contents !== undefined) {
      return f;
    }
    // A basename the tool gave (cwl.output.json, an outputEval or secondaryFiles expression) is
    // the name the output takes in --outdir; the path's own name otherwise.
    const given = typeof v.basename === 'string' && v.basename !== '' && !v.basename.includes('/') ? v.basename : undefined;
    nameFields(f);
    if (given !== undefined && given !== f.basename) renameFields(f, given);
    if (f.class === 'File') {
      const known = globbedSize.get(v);
      const size = known && known.path === f.path ? known.size : (await stat(fsPath(f.path as string)).catch(() => undefined))?.size;
      if (size === undefined) throw new WorkflowFailedError(`output file ${f.path} does not exist`);
      f.size = size;
      // An input the tasks read in place, passed through (staging/stand-ins.ts): its bytes are not
      // here, and fetching them only for a checksum would bring them through this machine. Its
      // checksum is computed where its bytes are needed anyway: in the output directory (relocate.ts).
      if (await standInBehind(f.path as string)) delete f.checksum;
      else f.checksum = await sha1File(f.path as string, size);
      if (Array.isArray(f.secondaryFiles)) f.secondaryFiles = (await finishOutputValue(f.secondaryFiles, outdir)) as FileValue[];
    } else {
      delete f.nameroot;
      delete f.nameext;
      const d = f as unknown as DirectoryValue;
      if (!d.listing) await listDirectory(d, 'deep_listing');
      if (d.listing) d.listing = (await finishOutputValue(d.listing, outdir)) as Array<FileValue | DirectoryValue>;
    }
    return f;
  }
  const out: CwlObject = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = await finishOutputValue(x, outdir);
  return out;
}

function renameFields(f: FileValue | DirectoryValue, basename: string): void {
  f.basename = basename;
  if (f.class !== 'File') return;
  const dot = basename.lastIndexOf('.');
  f.nameroot = dot > 0 ? basename.slice(0, dot) : basename;
  f.nameext = dot > 0 ? basename.slice(dot) : '';
}

function isFileType(t: CwlType): boolean {
  return t === 'File' || t === 'Directory' || (t as string) === 'stdout' || (t as string) === 'stderr';
}

function singleWanted(t: CwlType): boolean {
  const alts = (Array.isArray(t) ? t : [t]).filter((x) => x !== 'null');
  return alts.length > 0 && alts.every((x) => typeof x === 'string' && isFileType(x));
}

async function globOne(pattern: string, outdir: string): Promise<Array<FileValue | DirectoryValue>> {
  const abs = path.isAbsolute(pattern) ? pattern : path.join(outdir, pattern);
  const rel = path.relative(outdir, abs);
  if (rel === '' || rel === '.') return [{ class: 'Directory', location: locationFromPath(outdir), path: outdir }];
  if (rel.startsWith('..')) throw new WorkflowFailedError(`glob ${pattern} points outside the output directory`);
  if (!fg.isDynamicPattern(rel)) {
    // A literal name: one stat, no glob machinery.
    const st = await stat(fsPath(abs)).catch(() => undefined);
    return st ? [globbed(path.join(outdir, rel), st)] : [];
  }
  const matches = await fg(rel, { cwd: outdir, onlyFiles: false, dot: false, followSymbolicLinks: true, fs: rawNameGlobFs as unknown as fg.FileSystemAdapter });
  matches.sort();
  const stats = await Promise.all(matches.map((m) => stat(fsPath(path.join(outdir, m))).catch(() => undefined)));
  const out: Array<FileValue | DirectoryValue> = [];
  matches.forEach((m, i) => {
    const st = stats[i];
    if (st) out.push(globbed(path.join(outdir, m), st));
  });
  return out;
}

function globbed(p: string, st: Stats): FileValue | DirectoryValue {
  if (st.isDirectory()) return { class: 'Directory', location: locationFromPath(p), path: p };
  const f: FileValue = { class: 'File', location: locationFromPath(p), path: p };
  globbedSize.set(f, { path: p, size: st.size });
  return f;
}

async function collectOne(o: OutputParameter, tool: CommandLineTool, inputs: CwlObject, evaluator: Evaluator, runtime: CwlObject, outdir: string, guard: OutputConfinement): Promise<CwlValue> {
  const recordType = (Array.isArray(o.type) ? o.type : [o.type]).find((t) => typeof t === 'object' && !Array.isArray(t) && t.type === 'record');
  if (!o.outputBinding && recordType && typeof recordType === 'object' && !Array.isArray(recordType) && recordType.type === 'record') {
    const rec: CwlObject = {};
    for (const f of recordType.fields) {
      rec[f.name] = await collectOne(
        { id: `${o.id}.${f.name}`, type: f.type, outputBinding: f.outputBinding, secondaryFiles: f.secondaryFiles, format: f.format as string | undefined },
        tool, inputs, evaluator, runtime, outdir, guard,
      );
    }
    return rec;
  }
  const b = o.outputBinding ?? {};
  let self: CwlValue = null;
  const matched: Array<FileValue | DirectoryValue> = [];
  const hasGlob = b.glob !== undefined;
  const patterns: string[] = [];
  if (hasGlob) {
    const globs = (Array.isArray(b.glob) ? b.glob : [b.glob]).flatMap((g) => {
      const r = evaluator.evaluate(String(g), { inputs, self: null, runtime });
      return Array.isArray(r) ? r : [r];
    });
    for (const g of globs) {
      if (g === null) continue;
      if (typeof g !== 'string') throw new WorkflowFailedError(`output ${o.id}: glob must be a string, got ${JSON.stringify(g)}`);
      patterns.push(g);
      matched.push(...(await globOne(g, outdir)));
    }
    for (const m of matched) if (m.path) await guard.check(m.path, o.id);
    for (const m of matched) {
      nameFields(m);
      if (m.class === 'File') {
        (m as FileValue).size = globbedSize.get(m)?.size ?? (await stat(m.path as string)).size;
        if (b.loadContents) (m as FileValue).contents = await readContents(m.path as string, 65536, false);
      } else if (b.loadListing && b.loadListing !== 'no_listing') await listDirectory(m as DirectoryValue, b.loadListing);
    }
    self = matched;
  }
  let value: CwlValue;
  if (b.outputEval) {
    value = evaluator.evaluate(b.outputEval, { inputs, self, runtime });
  } else if (hasGlob) {
    value = singleWanted(o.type) ? (matched.length === 0 ? null : (matched[0] as CwlValue)) : matched;
    if (singleWanted(o.type) && matched.length > 1) value = matched[0] as CwlValue;
  } else value = null;
  if (hasGlob && !b.outputEval && value === null && !checkType(null, o.type)) throw await globMissError(o.id, describe(o.type), patterns, outdir);
  if (o.secondaryFiles?.length) {
    const addSecondary = async (v: CwlValue): Promise<CwlValue> => {
      if (Array.isArray(v)) return Promise.all(v.map(addSecondary));
      if (typeof v === 'object' && v !== null && v.class === 'File') {
        const f = v as FileValue;
        if (!f.path && f.location) f.path = pathFromLocation(f.location);
        nameFields(f);
        const { found, missing } = await discoverSecondaryFiles(f, o.secondaryFiles ?? [], evaluator, inputs, runtime, false).catch((err: Error) => {
          throw new WorkflowFailedError(`output ${o.id}: ${err.message}`, { cause: err });
        });
        if (missing.length) throw new WorkflowFailedError(`output ${o.id}: missing secondary file ${missing.join(', ')}`);
        f.secondaryFiles = found;
      }
      return v;
    };
    value = await addSecondary(value);
  }
  if (o.format) {
    // A literal format is the IRI its prefix names (cwltool expands it when loading the document).
    const fmt = /\$[({]/.test(o.format) ? evaluator.evaluate(o.format, { inputs, self: value, runtime }) : expandFormat(o.format, tool.namespaces);
    const setFmt = (v: CwlValue) => {
      if (Array.isArray(v)) v.forEach(setFmt);
      else if (typeof v === 'object' && v !== null && v.class === 'File') v.format = fmt as string;
    };
    setFmt(value);
  }
  void tool;
  return value;
}

export async function collectOutputs(
  tool: CommandLineTool,
  inputs: CwlObject,
  _eff: EffectiveRequirements,
  evaluator: Evaluator,
  runtime: CwlObject,
  outdir: string,
  /** Paths the task was given, which its globs may reach through links (default: the inputs'). */
  trusted?: readonly string[],
  /** Other directories Strand made for the task, where it may write (its input staging directory). */
  alsoOwned: readonly string[] = [],
): Promise<CwlObject> {
  const guard = new OutputConfinement(outdir, trusted ?? inputPaths(inputs), alsoOwned);
  const cwlOutput = path.join(outdir, 'cwl.output.json');
  let result: CwlObject = {};
  // A link to a file elsewhere is not read; nothing there (the usual case) is not read either.
  const there = await guard.check(cwlOutput, 'cwl.output.json');
  const custom = there === undefined ? undefined : await readFile(cwlOutput, 'utf8').catch(() => undefined);
  if (custom !== undefined) {
    try {
      result = parseJsonExact(custom) as CwlObject;
    } catch (err) {
      throw new WorkflowFailedError(`cwl.output.json is not valid JSON: ${(err as Error).message}`);
    }
    for (const o of tool.outputs) if (!(o.id in result)) result[o.id] = null;
  } else {
    for (const o of tool.outputs) result[o.id] = await collectOne(o, tool, inputs, evaluator, runtime, outdir, guard);
  }
  const out: CwlObject = {};
  for (const o of tool.outputs) {
    // Whatever named them (glob, cwl.output.json, outputEval, secondaryFiles, a listing): checked
    // before anything is read from them (confine.ts).
    await guard.checkValue(result[o.id] ?? null, o.id);
    const v = await finishOutputValue(result[o.id] ?? null, outdir);
    if (!checkType(v, o.type)) {
      const got = v === null ? 'no value' : JSON.stringify(v)?.slice(0, 200);
      throw new WorkflowFailedError(`output ${o.id} of ${tool.id}: expected ${describe(o.type)}, got ${got}`);
    }
    out[o.id] = v;
  }
  return out;
}
