/**
 * Schema checks on one raw CWL process (as written, before normalisation): unknown fields,
 * features of a later CWL version than the document's `cwlVersion`, requirements and hints that
 * are not objects with a `class`, fields of known requirement classes, literal entrynames that
 * leave the output directory. Like schema-salad, namespaced fields are extensions and allowed.
 */
import type { Parsed } from '../fetch.js';
import { Issues } from './issues.js';
import { locateRaw, locateValue } from './locate.js';
import {
  allowedFields,
  atLeast,
  isExtensionField,
  requirementClasses,
  requirementFields,
  requirementSince,
  versionOf,
  type CwlVersion,
  type SchemaName,
} from './schema.js';

type Raw = Record<string, unknown>;

const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Ctx {
  parsed: Parsed;
  version: CwlVersion;
  declared: string; // the cwlVersion as written
  namespaces: Record<string, string>;
  issues: Issues;
}

const CWL_NS = 'https://w3id.org/cwl/cwl#';

/** Check the fields of a raw process. `path` is the field path of the process itself ('' at the top). */
export function checkProcessFields(raw: Raw, parsed: Parsed, cwlVersion: string, namespaces: Record<string, string>, issues: Issues, path = ''): void {
  const c: Ctx = { parsed, version: versionOf(cwlVersion), declared: cwlVersion, namespaces, issues };
  const cls = raw.class;
  if (cls === 'Operation' && !atLeast(c.version, 'v1.2')) {
    issues.error(locateRaw(parsed, raw, 'class', join(path, 'class')), `class Operation is a CWL v1.2 feature, but this document is cwlVersion ${cwlVersion}`);
  }
  const schema = (['CommandLineTool', 'ExpressionTool', 'Workflow', 'Operation'] as const).find((x) => x === cls);
  if (!schema) return;
  fields(c, raw, schema, path);
  const inSchema: SchemaName = cls === 'CommandLineTool' ? 'CommandInputParameter' : cls === 'Operation' ? 'OperationParameter' : 'WorkflowInputParameter';
  const outSchema: SchemaName =
    cls === 'CommandLineTool' ? 'CommandOutputParameter' : cls === 'ExpressionTool' ? 'ExpressionToolOutputParameter' : cls === 'Operation' ? 'OperationParameter' : 'WorkflowOutputParameter';
  params(c, raw.inputs, inSchema, join(path, 'inputs'));
  params(c, raw.outputs, outSchema, join(path, 'outputs'));
  requirements(c, raw, 'requirements', path);
  requirements(c, raw, 'hints', path);
  if (cls === 'Workflow') steps(c, raw, path);
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/** Fields whose value is one of a few symbols, wherever they appear. */
const SYMBOLS: Record<string, readonly string[]> = {
  linkMerge: ['merge_nested', 'merge_flattened'],
  pickValue: ['first_non_null', 'the_only_non_null', 'all_non_null'],
  scatterMethod: ['dotproduct', 'nested_crossproduct', 'flat_crossproduct'],
  loadListing: ['no_listing', 'shallow_listing', 'deep_listing'],
};

function symbol(c: Ctx, obj: Raw, key: string, path: string): void {
  const allowed = SYMBOLS[key];
  const v = obj[key];
  if (!allowed || v === undefined || v === null || (typeof v === 'string' && allowed.includes(v))) return;
  c.issues.error(locateValue(c.parsed, obj, key, join(path, key)), `${key} must be one of ${allowed.map((x) => `'${x}'`).join(', ')}, not ${JSON.stringify(v)}`);
}

/** The kinds of value some scalar-valued fields take (schema-salad checks them; so do we). */
type Kind = 'string' | 'string[]' | 'int' | 'int[]' | 'boolean' | 'list' | 'map';
const KINDS: Partial<Record<SchemaName, Record<string, readonly Kind[]>>> = {
  CommandLineTool: { baseCommand: ['string', 'string[]'], stdin: ['string'], stdout: ['string'], stderr: ['string'], successCodes: ['int[]'], temporaryFailCodes: ['int[]'], permanentFailCodes: ['int[]'], arguments: ['list'] },
  ExpressionTool: { expression: ['string'] },
  Workflow: { steps: ['list', 'map'] },
  CommandLineBinding: { position: ['int', 'string'], prefix: ['string'], separate: ['boolean'], itemSeparator: ['string'], valueFrom: ['string'], shellQuote: ['boolean'], loadContents: ['boolean'] },
  CommandOutputBinding: { glob: ['string', 'string[]'], outputEval: ['string'], loadContents: ['boolean'] },
  WorkflowStep: { run: ['string', 'map'], scatter: ['string', 'string[]'], when: ['string'], out: ['list'], in: ['list', 'map'] },
  WorkflowStepInput: { source: ['string', 'string[]'], valueFrom: ['string'], loadContents: ['boolean'] },
  WorkflowOutputParameter: { outputSource: ['string', 'string[]'] },
};
const PROCESS_KINDS: Record<string, readonly Kind[]> = { label: ['string'], doc: ['string', 'string[]'], inputs: ['list', 'map'], outputs: ['list', 'map'] };
const PARAM_KINDS: Record<string, readonly Kind[]> = { label: ['string'], doc: ['string', 'string[]'], streamable: ['boolean'], loadContents: ['boolean'] };
const KIND_NAMES: Record<Kind, string> = { string: 'a string', 'string[]': 'a list of strings', int: 'a whole number', 'int[]': 'a list of whole numbers', boolean: 'true or false', list: 'a list', map: 'a mapping' };

function isKind(v: unknown, k: Kind): boolean {
  switch (k) {
    case 'string':
      return typeof v === 'string';
    case 'string[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'int[]':
      return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x));
    case 'boolean':
      return typeof v === 'boolean';
    case 'list':
      return Array.isArray(v);
    case 'map':
      return isObj(v);
  }
}

function kinds(c: Ctx, obj: Raw, schema: SchemaName, path: string): void {
  const table = {
    ...(['CommandLineTool', 'ExpressionTool', 'Workflow', 'Operation'].includes(schema) ? PROCESS_KINDS : {}),
    ...(/Parameter$|^RecordField$/.test(schema) ? PARAM_KINDS : {}),
    ...KINDS[schema],
  };
  for (const [key, allowed] of Object.entries(table)) {
    const v = obj[key];
    if (v === undefined || v === null || allowed.some((k) => isKind(v, k))) continue;
    c.issues.error(locateValue(c.parsed, obj, key, join(path, key)), `\`${key}\` must be ${allowed.map((k) => KIND_NAMES[k]).join(' or ')}, not ${describe(v)}`);
  }
}

/** Later-version fields get a message naming the version; other unknown fields list what is allowed. */
function fields(c: Ctx, obj: Raw, schema: SchemaName, path: string): void {
  const allowed = allowedFields(schema, c.version);
  kinds(c, obj, schema, path);
  for (const key of Object.keys(obj)) {
    if (allowed.has(key)) {
      symbol(c, obj, key, path);
      continue;
    }
    if (isExtensionField(key)) {
      const prefix = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(key)?.[1];
      if (prefix && !key.includes('://') && !(prefix in c.namespaces) && !key.startsWith('$')) {
        c.issues.warn(locateRaw(c.parsed, obj, key, join(path, key)), `the prefix "${prefix}" of "${key}" is not declared in $namespaces`);
      }
      continue;
    }
    const where = locateRaw(c.parsed, obj, key, join(path, key));
    if (allowedFields(schema, 'v1.2').has(key)) {
      const since = allowedFields(schema, 'v1.1').has(key) ? 'v1.1' : 'v1.2';
      c.issues.error(where, `\`${key}\` is a CWL ${since} feature, but this document is cwlVersion ${c.declared}`);
    } else {
      c.issues.error(where, `invalid field \`${key}\`, expected one of: ${[...allowed].map((f) => `'${f}'`).join(', ')}`);
    }
  }
}

/** Entries of a map form `{id: {...}}` or a list form `[{id: ...}]`, with their field paths. */
function entries(v: unknown, path: string): Array<{ obj: Raw; path: string }> {
  if (Array.isArray(v)) {
    return v.flatMap((x, i) => (isObj(x) ? [{ obj: x, path: typeof x.id === 'string' ? join(path, shortId(x.id)) : join(path, i) }] : []));
  }
  if (isObj(v)) return Object.entries(v).flatMap(([k, x]) => (isObj(x) ? [{ obj: x, path: join(path, k) }] : []));
  return [];
}

function shortId(id: string): string {
  return id.replace(/^.*[#/]/, '');
}

function params(c: Ctx, v: unknown, schema: SchemaName, path: string): void {
  for (const { obj, path: p } of entries(v, path)) {
    fields(c, obj, schema, p);
    if (obj.type !== undefined) type(c, obj.type, join(p, 'type'));
    if (obj.secondaryFiles !== undefined) secondaryFiles(c, obj, join(p, 'secondaryFiles'));
    if (isObj(obj.inputBinding)) fields(c, obj.inputBinding, 'CommandLineBinding', join(p, 'inputBinding'));
    if (isObj(obj.outputBinding)) {
      fields(c, obj.outputBinding, 'CommandOutputBinding', join(p, 'outputBinding'));
      if (obj.outputBinding.secondaryFiles !== undefined) secondaryFiles(c, obj.outputBinding, join(p, 'outputBinding.secondaryFiles'));
    }
  }
}

function secondaryFiles(c: Ctx, holder: Raw, path: string): void {
  if (atLeast(c.version, 'v1.1')) {
    for (const [i, x] of (Array.isArray(holder.secondaryFiles) ? holder.secondaryFiles : [holder.secondaryFiles]).entries()) {
      if (isObj(x)) fields(c, x, 'SecondaryFileSchema', Array.isArray(holder.secondaryFiles) ? join(path, i) : path);
    }
    return;
  }
  const list = Array.isArray(holder.secondaryFiles) ? holder.secondaryFiles : [holder.secondaryFiles];
  list.forEach((x, i) => {
    if (typeof x === 'string') return;
    const where = Array.isArray(holder.secondaryFiles)
      ? locateRaw(c.parsed, holder.secondaryFiles, i, join(path, i))
      : locateRaw(c.parsed, holder, 'secondaryFiles', path);
    c.issues.error(where, `secondaryFiles entries must be patterns or expressions in cwlVersion ${c.declared}; {pattern, required} is a CWL v1.1 feature`);
  });
}

/** Record, enum and array schemas inside a type expression. */
function type(c: Ctx, t: unknown, path: string): void {
  if (Array.isArray(t)) {
    t.forEach((x, i) => type(c, x, join(path, i)));
    return;
  }
  if (!isObj(t)) return;
  const kind = t.type;
  if (kind === 'record') {
    fields(c, t, 'RecordSchema', path);
    const list: Array<[string, unknown]> = Array.isArray(t.fields)
      ? t.fields.map((f, i) => [isObj(f) && typeof f.name === 'string' ? shortId(f.name) : String(i), f])
      : isObj(t.fields)
        ? Object.entries(t.fields)
        : [];
    for (const [name, f] of list) {
      if (!isObj(f)) continue;
      const fp = join(join(path, 'fields'), name);
      fields(c, f, 'RecordField', fp);
      if (f.type !== undefined) type(c, f.type, join(fp, 'type'));
      if (f.secondaryFiles !== undefined) secondaryFiles(c, f, join(fp, 'secondaryFiles'));
      if (isObj(f.inputBinding)) fields(c, f.inputBinding, 'CommandLineBinding', join(fp, 'inputBinding'));
      if (isObj(f.outputBinding)) fields(c, f.outputBinding, 'CommandOutputBinding', join(fp, 'outputBinding'));
    }
  } else if (kind === 'enum') {
    fields(c, t, 'EnumSchema', path);
  } else if (kind === 'array') {
    fields(c, t, 'ArraySchema', path);
    type(c, t.items, join(path, 'items'));
  } else if (kind !== undefined) {
    type(c, kind, join(path, 'type'));
  }
}

function requirementList(c: Ctx, holder: Raw, field: 'requirements' | 'hints', path: string): Array<{ req: Raw; path: string; loc: Raw | unknown[]; idx: string | number }> {
  const v = holder[field];
  const p = join(path, field);
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) {
    const out: Array<{ req: Raw; path: string; loc: Raw | unknown[]; idx: string | number }> = [];
    v.forEach((x, i) => {
      if (!isObj(x)) {
        c.issues.error(locateRaw(c.parsed, v, i, join(p, i)), `${field} must be a list of objects with a \`class\`, but item ${i + 1} is ${describe(x)}`);
        return;
      }
      if (typeof x.class !== 'string') {
        c.issues.error(locateRaw(c.parsed, v, i, join(p, i)), `${field} item ${i + 1} has no \`class\``);
        return;
      }
      out.push({ req: x, path: join(p, x.class), loc: v, idx: i });
    });
    return out;
  }
  if (isObj(v)) {
    const out: Array<{ req: Raw; path: string; loc: Raw | unknown[]; idx: string | number }> = [];
    for (const [k, x] of Object.entries(v)) {
      if (!isObj(x)) {
        c.issues.error(locateRaw(c.parsed, v, k, join(p, k)), `${field}: the value of ${k} must be an object (use \`${k}: {}\`), not ${describe(x)}`);
        continue;
      }
      out.push({ req: { class: k, ...x }, path: join(p, k), loc: x, idx: k });
    }
    return out;
  }
  c.issues.error(locateRaw(c.parsed, holder, field, p), `${field} must be a list of objects with a \`class\`, or a map from class to object, not ${describe(v)}`);
  return [];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    // Name the item that does not fit: `[true]` is a list holding the boolean true (quote it: "true").
    const odd = v.find((x) => typeof x !== 'string');
    return odd === undefined ? 'a list' : `a list holding ${describe(odd)}${typeof odd === 'boolean' ? ` (quote it: "${odd}")` : ''}`;
  }
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v === 'object' ? 'an object' : `the ${typeof v}`} ${JSON.stringify(v)}`;
}

function className(cls: string, ns: Record<string, string>): string {
  if (cls.startsWith(CWL_NS)) return cls.slice(CWL_NS.length);
  const m = /^([A-Za-z0-9_]+):(.+)$/.exec(cls);
  if (m && !cls.includes('://') && ns[m[1] as string] === CWL_NS) return m[2] as string;
  return cls;
}

function requirements(c: Ctx, holder: Raw, field: 'requirements' | 'hints', path: string): void {
  for (const { req, path: p, loc, idx } of requirementList(c, holder, field, path)) {
    const cls = className(req.class as string, c.namespaces);
    // The object the user wrote: in map form the value (without `class`), in list form the item.
    const written = Array.isArray(loc) ? (loc[idx as number] as Raw) : (loc as Raw);
    const where = (key?: string) => (key ? locateRaw(c.parsed, written, key, join(p, key)) : locateRaw(c.parsed, Array.isArray(loc) ? loc : holder[field], idx, p));
    const known = requirementFields(cls, c.version);
    if (!known) {
      if (cls.includes(':')) continue; // an extension (cwltool:..., http://...)
      const since = requirementSince(cls);
      const msg = since
        ? `${cls} is a CWL ${since} feature, but this document is cwlVersion ${c.declared}`
        : `unknown ${field === 'hints' ? 'hint' : 'requirement'} class ${cls}; expected one of: ${requirementClasses(c.version).join(', ')}`;
      if (field === 'hints') c.issues.warn(where(), msg + ' (ignored)');
      else c.issues.error(where(), msg);
      continue;
    }
    for (const key of Object.keys(req)) {
      if (key === 'loadListing' && !Array.isArray(loc)) symbol(c, written, key, p);
      else if (key === 'loadListing') symbol(c, req, key, p);
      if (known.has(key) || isExtensionField(key)) continue;
      c.issues.error(where(key), `invalid field \`${key}\` of ${cls}, expected one of: ${[...known].map((f) => `'${f}'`).join(', ')}`);
    }
    if (cls === 'ResourceRequirement' && !atLeast(c.version, 'v1.2')) {
      for (const [key, value] of Object.entries(req)) {
        if (typeof value === 'number' && !Number.isInteger(value)) {
          c.issues.error(where(key), `${key} must be a whole number in cwlVersion ${c.declared} (fractions like ${value} are a CWL v1.2 feature)`);
        }
      }
    }
    if (cls === 'SchemaDefRequirement' && Array.isArray(req.types)) req.types.forEach((t, i) => type(c, t, join(join(p, 'types'), i)));
    if (cls === 'InitialWorkDirRequirement' && Array.isArray(req.listing)) {
      req.listing.forEach((entry, i) => {
        if (!isObj(entry) || typeof entry.entryname !== 'string' || /\$[({]/.test(entry.entryname)) return;
        if (escapesWorkdir(entry.entryname)) {
          c.issues.error(locateValue(c.parsed, entry, 'entryname', join(join(p, 'listing'), i) + '.entryname'), `entryname "${entry.entryname}" points outside the output directory`);
        }
      });
    }
  }
}

/** `../x`, `a/../../x`: a relative name that climbs out of the directory it is relative to. */
function escapesWorkdir(name: string): boolean {
  if (name.startsWith('/')) return false; // absolute: allowed with a container, checked at run time
  let depth = 0;
  for (const part of name.split('/')) {
    if (part === '..') depth--;
    else if (part !== '' && part !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

function steps(c: Ctx, raw: Raw, path: string): void {
  for (const { obj: step, path: p } of entries(raw.steps, join(path, 'steps'))) {
    fields(c, step, 'WorkflowStep', p);
    requirements(c, step, 'requirements', p);
    requirements(c, step, 'hints', p);
    for (const { obj, path: ip } of entries(step.in, join(p, 'in'))) fields(c, obj, 'WorkflowStepInput', ip);
    if (Array.isArray(step.out)) {
      step.out.forEach((o, i) => {
        if (isObj(o)) fields(c, o, 'WorkflowStepOutput', join(join(p, 'out'), typeof o.id === 'string' ? shortId(o.id) : i));
      });
    }
  }
}
