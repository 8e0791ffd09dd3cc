/** The validated, completed input object of a process. */
import { stringifyJsonExact } from '../model/exact-json.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Evaluator } from '../expressions/evaluator.js';
import { InputError, type SourceLocation } from '../errors.js';
import { writtenAt } from '../model/written-at.js';
import { findRequirement, type EffectiveRequirements } from '../model/requirements.js';
import type {
  CwlObject,
  CwlType,
  CwlValue,
  DirectoryValue,
  FileValue,
  LoadListing,
  Process,
  SecondaryFileSchema,
} from '../model/types.js';
import { checkType, matchingAlternative } from './check-type.js';
import { checkInputFormats } from './format-check.js';
import { mapLimited } from './limited.js';
import { locationFromPath, nameFields, pathFromLocation, readContents } from './paths.js';
import { writeEntry } from './literals.js';
import { relativeName } from './confine.js';
import { isInside } from './ownership.js';
import { givenPaths, type DocumentPaths } from './document-paths.js';
import { discoverSecondaryFiles } from './secondary.js';
import { fsPath, readEntries } from './raw-names.js';
import { defaultOf, type DefaultValues } from '../model/default-values.js';

interface AnyFile extends CwlObject {
  class: 'File' | 'Directory';
  location?: string;
  path?: string;
  basename?: string;
  contents?: string;
  size?: number;
  secondaryFiles?: Array<FileValue | DirectoryValue>;
  listing?: Array<FileValue | DirectoryValue>;
}

interface FieldOpts {
  secondaryFiles?: SecondaryFileSchema[];
  /** Where the secondaryFiles were written (for the document-paths check). */
  secondaryAt?: SourceLocation;
  loadContents?: boolean;
  loadListing?: LoadListing;
}

interface Ctx {
  evaluator: Evaluator;
  inputs: CwlObject;
  scratchDir: string;
  defaultListing: LoadListing;
  literalCount: number;
  /** cwltool's rule: only the top-level process finds secondary files on disk; a step's tool
   * trusts the secondaryFiles its File inputs come with, and requires them when they have none. */
  discoverSecondaryFiles: boolean;
  /** The rule for files the document names (document-paths.ts); none: not checked. */
  documentPaths?: DocumentPaths | undefined;
  /** The process's document, for messages without a recorded place. */
  sourceFile: string;
}

function short(v: unknown): string {
  const s = stringifyJsonExact(v);
  return s && s.length > 100 ? s.slice(0, 97) + '...' : String(s);
}

export async function listDirectory(dir: DirectoryValue, depth: LoadListing): Promise<void> {
  if (depth === 'no_listing' || !dir.path) return;
  const entries = await readEntries(dir.path);
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const listing: Array<FileValue | DirectoryValue> = [];
  for (const { name, entry: e } of entries) {
    const p = path.join(dir.path, name);
    const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(fsPath(p))).isDirectory());
    if (isDir) {
      const d: DirectoryValue = { class: 'Directory', location: locationFromPath(p), path: p, basename: name };
      if (depth === 'deep_listing') await listDirectory(d, depth);
      listing.push(d);
    } else {
      const f: FileValue = { class: 'File', location: locationFromPath(p), path: p };
      nameFields(f);
      f.size = (await stat(fsPath(p))).size;
      listing.push(f);
    }
  }
  dir.listing = listing;
}

async function materialiseLiteral(v: AnyFile, ctx: Ctx): Promise<AnyFile> {
  const dir = path.join(ctx.scratchDir, `literal-${++ctx.literalCount}`);
  const name = relativeName(v.basename ?? (v.class === 'File' ? 'literal.txt' : 'literal-dir'), `${v.class} literal`);
  return (await writeEntry(v as FileValue | DirectoryValue, path.join(dir, name))) as AnyFile;
}

async function completeFileObject(v: AnyFile, opts: FieldOpts, name: string, ctx: Ctx): Promise<CwlValue> {
  let f = { ...v } as unknown as AnyFile;
  if (!f.location && !f.path) {
    if (f.class === 'File' && f.contents === undefined) throw new InputError(`input ${name}: a File needs a location, a path or contents`, name);
    f = await materialiseLiteral(f, ctx);
  }
  if (f.path && f.location && !f.location.startsWith('file:')) f.location = locationFromPath(f.path);
  if (f.location && !f.path) f.path = pathFromLocation(f.location);
  if (f.path && !f.location) f.location = locationFromPath(f.path);
  if (f.location) f.path = pathFromLocation(f.location);
  let st;
  try {
    st = await stat(fsPath(f.path as string));
  } catch {
    throw new InputError(`input ${name}: ${f.class === 'File' ? 'file' : 'directory'} not found: ${f.path}`, name);
  }
  // A basename given in the job names the file as staged (e.g. a secondary Directory `xtestdir`
  // whose location is `testdir`); the path's own name otherwise.
  const given = typeof v.basename === 'string' && v.basename !== '' && !v.basename.includes('/') ? v.basename : undefined;
  nameFields(f);
  if (given !== undefined && given !== f.basename) {
    f.basename = given;
    if (f.class === 'File') {
      const dot = given.lastIndexOf('.');
      f.nameroot = dot > 0 ? given.slice(0, dot) : given;
      f.nameext = dot > 0 ? given.slice(dot) : '';
    }
  }
  if (f.class === 'File') {
    if (!st.isFile()) throw new InputError(`input ${name}: ${f.path} is not a file`, name);
    f.size = st.size;
    if (opts.loadContents && f.contents === undefined) f.contents = await readContents(f.path as string);
    if (Array.isArray(f.secondaryFiles)) {
      f.secondaryFiles = (await Promise.all(f.secondaryFiles.map((s) => completeFileObject(s as AnyFile, {}, name, ctx)))) as Array<FileValue | DirectoryValue>;
    }
    if (opts.secondaryFiles?.length && (ctx.discoverSecondaryFiles || !Array.isArray(v.secondaryFiles))) {
      const { found, missing } = await discoverSecondaryFiles(f as FileValue, opts.secondaryFiles, ctx.evaluator, ctx.inputs, {}, true, ctx.discoverSecondaryFiles);
      if (missing.length) {
        const why = ctx.discoverSecondaryFiles ? '' : ' (this File comes from the enclosing workflow without it: declare the secondaryFiles there too)';
        throw new InputError(`input ${name}: missing secondary file ${missing.join(', ')} of ${f.path}${why}`, name);
      }
      // What a pattern found stays next to the primary; a File an expression made elsewhere is a
      // file the document names (those the File came with are checked where it came from).
      const dir = path.dirname(f.path as string);
      const made = found.slice(Array.isArray(f.secondaryFiles) ? f.secondaryFiles.length : 0);
      const away = made.filter((s) => [s.path, s.location].some((p) => typeof p === 'string' && !isInside(p.startsWith('file:') ? pathFromLocation(p) : path.resolve(p), dir)));
      if (away.length) await ctx.documentPaths?.check(away, opts.secondaryAt ?? { file: ctx.sourceFile, fieldPath: `inputs.${name}.secondaryFiles` }, givenPaths(ctx.inputs));
      f.secondaryFiles = (await Promise.all(found.map((s) => completeFileObject(s as AnyFile, {}, name, ctx)))) as Array<FileValue | DirectoryValue>;
    }
  } else {
    if (!st.isDirectory()) throw new InputError(`input ${name}: ${f.path} is not a directory`, name);
    const depth = opts.loadListing ?? ctx.defaultListing;
    if (depth !== 'no_listing') await listDirectory(f as DirectoryValue, depth);
    else if (Array.isArray(f.listing)) {
      // A listing given in the job (a Directory literal's, say) is kept, its entries completed.
      f.listing = (await Promise.all(f.listing.map((c) => completeFileObject(c as AnyFile, {}, name, ctx)))) as Array<FileValue | DirectoryValue>;
    }
  }
  return f as CwlValue;
}

async function prepareValue(value: CwlValue, type: CwlType, opts: FieldOpts, name: string, ctx: Ctx): Promise<CwlValue> {
  const t = matchingAlternative(value, type);
  if (t === undefined && value === null) throw new InputError(`input ${name} is required (${describe(type)}) but has no value`, name);
  if (t === undefined) throw new InputError(`input ${name}: expected ${describe(type)}, got ${short(value)}`, name);
  if (value === null) return null;
  if (typeof t === 'string') {
    if ((t === 'File' || t === 'Directory' || t === 'Any') && typeof value === 'object' && !Array.isArray(value) && (value.class === 'File' || value.class === 'Directory')) {
      return completeFileObject(value as AnyFile, opts, name, ctx);
    }
    if (t === 'Any') return prepareAny(value, name, ctx);
    return value;
  }
  if (Array.isArray(t)) return value;
  if (t.type === 'array') {
    const arr = value as CwlValue[];
    return mapLimited(arr, (x, i) => prepareValue(x, t.items, opts, `${name}[${i}]`, ctx));
  }
  if (t.type === 'record') {
    const rec = value as CwlObject;
    const out: CwlObject = {};
    for (const f of t.fields) {
      out[f.name] = await prepareValue(rec[f.name] ?? null, f.type, { secondaryFiles: f.secondaryFiles, loadContents: f.loadContents ?? f.inputBinding?.loadContents, loadListing: f.loadListing }, `${name}.${f.name}`, ctx);
    }
    return out;
  }
  return value;
}

async function prepareAny(value: CwlValue, name: string, ctx: Ctx): Promise<CwlValue> {
  if (Array.isArray(value)) return mapLimited(value, (x) => prepareAny(x, name, ctx));
  if (typeof value === 'object' && value !== null) {
    if (value.class === 'File' || value.class === 'Directory') return completeFileObject(value as AnyFile, {}, name, ctx);
    const out: CwlObject = {};
    for (const [k, x] of Object.entries(value)) if (x !== undefined) out[k] = await prepareAny(x, name, ctx);
    return out;
  }
  return value;
}

export function describe(t: CwlType): string {
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.map(describe).join(' or ');
  if (t.type === 'array') return `array of ${describe(t.items)}`;
  if (t.type === 'enum') return `one of ${t.symbols.join(', ')}`;
  return `record${t.name ? ' ' + t.name.replace(/^.*[#/]/, '') : ''}`;
}

export async function prepareInputs(
  process: Process,
  job: CwlObject,
  eff: EffectiveRequirements,
  evaluator: Evaluator,
  scratchDir: string,
  options: { discoverSecondaryFiles?: boolean; documentPaths?: DocumentPaths | undefined; defaults?: DefaultValues | undefined } = {},
): Promise<CwlObject> {
  const ll = findRequirement(eff, 'LoadListingRequirement')?.value.loadListing as LoadListing | undefined;
  const ctx: Ctx = {
    evaluator,
    inputs: {},
    scratchDir,
    defaultListing: ll ?? 'no_listing',
    literalCount: 0,
    discoverSecondaryFiles: options.discoverSecondaryFiles ?? true,
    documentPaths: options.documentPaths,
    sourceFile: process.sourceFile,
  };
  const raw: CwlObject = {};
  for (const p of process.inputs) {
    let v = job[p.id];
    const d = defaultOf(p, options.defaults);
    if ((v === undefined || v === null) && d !== undefined) {
      v = structuredClone(d);
      // A default is the document's choice: the files it names stay in the document's tree.
      await options.documentPaths?.check(v, writtenAt(p, 'default') ?? { file: process.sourceFile, fieldPath: `inputs.${p.id}.default` });
    }
    raw[p.id] = v === undefined ? null : v;
  }
  ctx.inputs = raw;
  const out: CwlObject = {};
  for (const p of process.inputs) {
    const secondaryAt = writtenAt(p, 'secondaryFiles');
    out[p.id] = await prepareValue(raw[p.id] ?? null, p.type, {
      secondaryFiles: p.secondaryFiles,
      ...(secondaryAt ? { secondaryAt } : {}),
      loadContents: p.loadContents ?? p.inputBinding?.loadContents,
      loadListing: p.loadListing,
    }, p.id, ctx);
  }
  await checkInputFormats(process, out, evaluator);
  return out;
}

export { checkType };
