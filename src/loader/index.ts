/**
 * CWL documents -> the typed model (src/model/types.ts). Handles YAML/JSON, $import, $include,
 * $namespaces, $graph with #fragments, map forms, type shorthands, SchemaDefRequirement, ids and
 * sources, and v1.0/v1.1 documents (upgraded in memory).
 */
import { fileURLToPath } from 'node:url';
import { ValidationError, formatProblem, type Problem, type SourceLocation } from '../errors.js';
import type {
  CommandLineTool,
  CwlObject,
  InputParameter,
  OutputParameter,
  Process,
  Requirement,
  Workflow,
  WorkflowStep,
  WorkflowStepInput,
} from '../model/types.js';
import { noteWrittenAt } from '../model/written-at.js';
import { resolveDirectives } from './directives.js';
import { rootCheck } from './load-root.js';
import { fetchParsed, noteLocalFile, splitFragment, toUri, type Parsed } from './fetch.js';
import { resolveJobObject, resolveLocations } from './job.js';
import { LoadSession, type LoaderLimitOptions } from './limits.js';
import { resolveListingLocations } from './iwd-locations.js';
import { normSecondaryFiles } from './secondary-files.js';
import { collectNamed, normType, shortName, type Named } from './types.js';
import { checkProcessFields } from './validate/check-fields.js';
import { Issues } from './validate/issues.js';
import { locateRaw, locateValue, remember } from './validate/locate.js';
import { checkLoaded } from './validate/index.js';

export { resolveJobObject } from './job.js';

type Raw = Record<string, unknown>;
const VERSIONS = new Set(['v1.0', 'v1.1', 'v1.2', 'v1.1.0-dev1', 'v1.2.0-dev1', 'v1.2.0-dev2', 'v1.2.0-dev3', 'v1.2.0-dev4', 'v1.2.0-dev5']);
const CLASSES = new Set(['CommandLineTool', 'ExpressionTool', 'Workflow', 'Operation']);
const CWL_NS = 'https://w3id.org/cwl/cwl#';

interface Ctx {
  parsed: Parsed;
  base: string; // document URI
  cwlVersion: string;
  namespaces: Record<string, string>;
  graph?: Map<string, Raw>;
  /** What the validation passes found so far (errors are thrown at the end, together). */
  issues: Issues;
  /** Field path of the process being read inside its file ('' at the top, `steps.s.run` inline). */
  path: string;
  /** `$schemas` of the document (ontologies for `format`), as written. */
  schemas?: unknown[];
  /** The documents (`uri#fragment`) being loaded around this one: a step may not run one of them. */
  stack: readonly string[];
  /** The limits of this load and what it has read so far. */
  session: LoadSession;
}

function isObj(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where `obj` is, or its `field` when given (the key; `value: true` for where the value starts). */
function loc(ctx: Ctx, obj: unknown, fieldPath?: string, field?: string, value = false): SourceLocation {
  const full = ctx.path && fieldPath ? `${ctx.path}.${fieldPath}` : (fieldPath ?? (ctx.path || undefined));
  if (field !== undefined && value) return locateValue(ctx.parsed, obj, field, full);
  return locateRaw(ctx.parsed, obj, field, full);
}

/**
 * Map form `{a: x, b: y}` -> `[{[key]: 'a', ...}]`; `{a: 'File'}` -> `[{id: 'a', [scalarKey]: 'File'}]`.
 * Each new entry is located where its key (map form) or its item (list form) is, and keeps the
 * positions of its fields, so that messages can point at them.
 */
function mapToList(v: unknown, key: string, scalarKey?: string, parsed?: Parsed): Raw[] {
  const list = mapToListRaw(v, key, scalarKey);
  if (!parsed) return list;
  const { positions, fields } = parsed;
  const parentFields = isObj(v) ? fields.get(v) : undefined;
  const items: unknown[] = isObj(v) ? Object.values(v) : Array.isArray(v) ? v : [];
  const names = isObj(v) ? Object.keys(v) : [];
  list.forEach((entry, i) => {
    const src = items[i];
    const srcObj = typeof src === 'object' && src !== null ? src : undefined;
    const keyField = names[i] !== undefined ? parentFields?.get(names[i] as string) : undefined;
    const pos = keyField?.key ?? (srcObj ? positions.get(srcObj) : undefined) ?? positions.get(v as object);
    if (pos) positions.set(entry, pos);
    if (entry === src) return;
    const entryFields = new Map(srcObj && !Array.isArray(srcObj) ? fields.get(srcObj) : undefined);
    if (keyField) {
      entryFields.set(key, { key: keyField.key, value: keyField.key });
      if (!srcObj || Array.isArray(srcObj)) entryFields.set(scalarKey ?? 'value', keyField);
    } else if (pos) {
      entryFields.set(key, { key: pos, value: pos });
      if (scalarKey) entryFields.set(scalarKey, { key: pos, value: pos });
    }
    fields.set(entry, entryFields);
  });
  return list;
}

function mapToListRaw(v: unknown, key: string, scalarKey?: string): Raw[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map((x) => (isObj(x) ? x : scalarKey ? { [key]: String(x) } : { [key]: x })) as Raw[];
  if (isObj(v)) {
    return Object.entries(v).map(([k, x]) => (isObj(x) ? { [key]: k, ...x } : scalarKey ? { [key]: k, [scalarKey]: x } : { [key]: k, value: x }));
  }
  return [];
}

function expandClass(cls: string, ns: Record<string, string>): string {
  if (cls.startsWith(CWL_NS)) return cls.slice(CWL_NS.length);
  const m = /^([A-Za-z0-9_]+):(.+)$/.exec(cls);
  if (m && !cls.includes('://')) {
    const uri = ns[m[1] as string];
    if (uri) return uri === CWL_NS ? (m[2] as string) : uri + m[2];
  }
  return cls;
}

function normRequirements(v: unknown, ctx: Ctx, field: string): Requirement[] {
  let list: Raw[];
  if (Array.isArray(v)) list = v.filter(isObj);
  else if (isObj(v)) {
    list = Object.entries(v).map(([k, x]) => {
      const r: Raw = { class: k, ...(isObj(x) ? x : {}) };
      // Located where it was written: the fields of `x`, else its key.
      const fields = isObj(x) ? ctx.parsed.fields.get(x) : undefined;
      if (fields) ctx.parsed.fields.set(r, fields);
      const pos = (isObj(x) ? ctx.parsed.positions.get(x) : undefined) ?? ctx.parsed.fields.get(v)?.get(k)?.key;
      if (pos) ctx.parsed.positions.set(r, pos);
      return r;
    });
  } else list = []; // not a list or a map: validate/check-fields.ts reports it
  // Entries without a class are reported by validate/check-fields.ts too.
  return list.filter((r): r is Raw & { class: string } => typeof r.class === 'string').map((r) => {
    const out: Requirement = resolveListingLocations({ ...r, class: expandClass(r.class, ctx.namespaces) }, ctx.base);
    if (out.class === 'InitialWorkDirRequirement') noteWrittenAt(out, 'listing', loc(ctx, r, `${field}.InitialWorkDirRequirement.listing`, 'listing'));
    if (out.class === 'EnvVarRequirement' && isObj(out.envDef)) {
      out.envDef = Object.entries(out.envDef).map(([k, x]) => (isObj(x) ? { envName: k, ...x } : { envName: k, envValue: x }));
    }
    return out;
  });
}

function normParams<T extends InputParameter | OutputParameter>(v: unknown, ctx: Ctx, named: Named, field: string, output: boolean, wfId?: string): T[] {
  const list = mapToList(v, 'id', 'type', ctx.parsed);
  return list.map((p, i) => {
    const where = p.id === undefined ? loc(ctx, p, `${field}[${i}]`) : loc(ctx, p, `${field}.${shortName(String(p.id))}.type`, p.type === undefined ? undefined : 'type', true);
    if (p.id === undefined) throw new ValidationError(`${field}[${i}] has no id`, where);
    if (p.type === undefined && !(output && false)) {
      if (!output && p.default === undefined) throw new ValidationError(`${field}.${shortName(String(p.id))} has no type`, where);
    }
    let t = p.type;
    if (typeof t === 'string' && (t === 'array' || t === 'record' || t === 'enum')) {
      t = { type: t, items: p.items, fields: p.fields, symbols: p.symbols, name: p.name };
    }
    const out: Raw = { ...p, id: shortName(String(p.id)), type: t === undefined ? 'Any' : normType(t, named, where) };
    const at = (f: string) => loc(ctx, p, `${field}.${shortName(String(p.id))}.${f}`, f, true);
    if (p.secondaryFiles !== undefined) {
      out.secondaryFiles = normSecondaryFiles(p.secondaryFiles);
      noteWrittenAt(out, 'secondaryFiles', at('secondaryFiles'));
    }
    if (p.default !== undefined) {
      out.default = resolveLocations(p.default, ctx.base);
      noteWrittenAt(out, 'default', at('default'));
    }
    if (p.outputSource !== undefined) out.outputSource = normSources(p.outputSource, wfId ?? '');
    if (p.outputBinding && isObj(p.outputBinding) && p.outputBinding.secondaryFiles !== undefined && out.secondaryFiles === undefined) {
      out.secondaryFiles = normSecondaryFiles(p.outputBinding.secondaryFiles);
    }
    remember(out, p, ctx.parsed);
    return out as unknown as T;
  });
}

/** `#main/step/out`, `step/out`, `#input`, `file.cwl#main/x` -> `step/out` or `input`. */
function normSource(s: string, wfFragment: string): string {
  let x = s;
  const hash = x.indexOf('#');
  if (hash >= 0) x = x.slice(hash + 1);
  if (wfFragment && x.startsWith(wfFragment + '/')) x = x.slice(wfFragment.length + 1);
  return x;
}

function normSources(v: unknown, wfFragment: string): string[] {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return list.map((s) => normSource(String(s), wfFragment));
}

function fragmentOf(id: string): string {
  const h = id.indexOf('#');
  return h >= 0 ? id.slice(h + 1) : '';
}

async function normProcess(raw: Raw, ctx: Ctx, idHint: string, inheritedNamed: Named): Promise<Process> {
  const where = loc(ctx, raw);
  const cwlVersion = typeof raw.cwlVersion === 'string' ? raw.cwlVersion : ctx.cwlVersion;
  if (!cwlVersion) throw new ValidationError('missing cwlVersion (this is not a CWL document, or a draft one)', where);
  if (!VERSIONS.has(cwlVersion)) {
    throw new ValidationError(`unsupported cwlVersion "${cwlVersion}" (Strand reads v1.0, v1.1 and v1.2)`, loc(ctx, raw, 'cwlVersion', raw.cwlVersion === undefined ? undefined : 'cwlVersion', true));
  }
  const c: Ctx = { ...ctx, cwlVersion };
  const cls = raw.class;
  if (typeof cls !== 'string' || !CLASSES.has(cls)) {
    throw new ValidationError(`class must be one of ${[...CLASSES].join(', ')}, not ${JSON.stringify(cls)}`, loc(ctx, raw, 'class', raw.class === undefined ? undefined : 'class', true));
  }
  checkProcessFields(raw, ctx.parsed, cwlVersion, ctx.namespaces, ctx.issues, ctx.path);
  const id = typeof raw.id === 'string' ? (raw.id.includes('#') || raw.id.includes(':') ? toUri(raw.id, ctx.base) : `${ctx.base.split('#')[0]}#${raw.id.replace(/^#/, '')}`) : idHint;
  const requirements = normRequirements(raw.requirements, c, 'requirements');
  const hints = normRequirements(raw.hints, c, 'hints');
  const named: Named = { ...inheritedNamed };
  const sdr = requirements.find((r) => r.class === 'SchemaDefRequirement') ?? hints.find((r) => r.class === 'SchemaDefRequirement');
  if (sdr && Array.isArray(sdr.types)) {
    const inReqs = requirements.includes(sdr);
    collectNamed(sdr.types, named, loc(c, raw, `${inReqs ? 'requirements' : 'hints'}.SchemaDefRequirement`, inReqs ? 'requirements' : 'hints'));
  }
  for (const key of ['inputs', 'outputs'] as const) {
    if (raw[key] === undefined) throw new ValidationError(`${cls} has no ${key}`, where);
  }
  const schemas = Array.isArray(raw.$schemas) ? raw.$schemas : typeof raw.$schemas === 'string' ? [raw.$schemas] : ctx.schemas;
  const wfFrag = fragmentOf(id);
  const base = {
    id,
    cwlVersion: 'v1.2' as const,
    label: raw.label as string | undefined,
    doc: Array.isArray(raw.doc) ? raw.doc.join('\n') : (raw.doc as string | undefined),
    inputs: normParams<InputParameter>(raw.inputs, c, named, 'inputs', false),
    outputs: normParams<OutputParameter>(raw.outputs, c, named, 'outputs', true, wfFrag),
    requirements,
    hints,
    sourceFile: ctx.parsed.file,
    namespaces: ctx.namespaces,
    schemaDefs: named,
    ...(schemas && schemas.length > 0 ? { schemas: schemas.map((x) => toUri(String(x), ctx.base)) } : {}),
  };
  if (cls === 'CommandLineTool') {
    const bc = raw.baseCommand;
    const tool: CommandLineTool = {
      ...base,
      class: 'CommandLineTool',
      baseCommand: bc === undefined ? [] : Array.isArray(bc) ? bc.map(String) : [String(bc)],
      arguments: (Array.isArray(raw.arguments) ? raw.arguments : []) as CommandLineTool['arguments'],
      successCodes: (raw.successCodes as number[]) ?? [],
      temporaryFailCodes: (raw.temporaryFailCodes as number[]) ?? [],
      permanentFailCodes: (raw.permanentFailCodes as number[]) ?? [],
    };
    for (const k of ['stdin', 'stdout', 'stderr'] as const) if (typeof raw[k] === 'string') tool[k] = raw[k] as string;
    for (const inp of tool.inputs) {
      if ((inp.type as string) === 'stdin') {
        inp.type = 'File';
        tool.stdin = `$(inputs.${inp.id}.path)`;
      }
    }
    remember(tool, raw, ctx.parsed);
    return tool;
  }
  if (cls === 'ExpressionTool') {
    if (typeof raw.expression !== 'string') throw new ValidationError('ExpressionTool needs an expression', where);
    const et: Process = { ...base, class: 'ExpressionTool', expression: raw.expression };
    remember(et, raw, ctx.parsed);
    return et;
  }
  if (cls === 'Operation') {
    const op: Process = { ...base, class: 'Operation' };
    remember(op, raw, ctx.parsed);
    return op;
  }
  const stepsRaw = mapToList(raw.steps, 'id', undefined, c.parsed);
  const steps: WorkflowStep[] = [];
  for (const s of stepsRaw) steps.push(await normStep(s, c, `steps.${shortName(String(s.id ?? '?'))}`, wfFrag, id, named));
  const wf: Workflow = { ...base, class: 'Workflow', steps };
  remember(wf, raw, ctx.parsed);
  return wf;
}

async function normStep(s: Raw, ctx: Ctx, field: string, wfFrag: string, wfId: string, named: Named): Promise<WorkflowStep> {
  const where = loc(ctx, s, field);
  if (s.id === undefined) throw new ValidationError(`${field} has no id`, where);
  const id = shortName(String(s.id));
  if (s.run === undefined) throw new ValidationError(`step ${id} has no run`, where);
  if (s.in === undefined) throw new ValidationError(`step ${id} has no in`, where);
  if (s.out === undefined) throw new ValidationError(`step ${id} has no out`, where);
  const ins: WorkflowStepInput[] = mapToList(s.in, 'id', 'source', ctx.parsed).map((x) => {
    const inp: WorkflowStepInput = { ...(x as object), id: shortName(String(x.id)), source: normSources(x.source, wfFrag) } as WorkflowStepInput;
    const at = (f: string) => loc(ctx, x, `${field}.in.${inp.id}.${f}`, f, true);
    if (x.default !== undefined) {
      inp.default = resolveLocations(x.default, ctx.base) as WorkflowStepInput['default'];
      noteWrittenAt(inp, 'default', at('default'));
    }
    if (x.valueFrom !== undefined) noteWrittenAt(inp, 'valueFrom', at('valueFrom'));
    remember(inp, x, ctx.parsed);
    return inp;
  });
  const out = (Array.isArray(s.out) ? s.out : []).map((o) => shortName(String(isObj(o) ? o.id : o)));
  let run: Process;
  if (typeof s.run === 'string') {
    run = await loadRef(toUri(s.run, ctx.base), ctx.issues, ctx.session, ctx, loc(ctx, s, `${field}.run`, 'run', true));
  } else if (isObj(s.run)) {
    const runBase = (s.run as { __base?: string }).__base;
    const rctx = runBase ? { ...ctx, base: runBase, parsed: await fetchNoted(runBase, ctx.session), path: '' } : { ...ctx, path: loc(ctx, s, `${field}.run`).fieldPath ?? '' };
    run = await normProcess(s.run, rctx, `${wfId}/${id}/run`, named);
  } else throw new ValidationError(`step ${id}: run must be a file or a process`, where);
  const scatter = s.scatter === undefined ? [] : (Array.isArray(s.scatter) ? s.scatter : [s.scatter]).map((x) => shortName(String(x)));
  for (const sc of scatter) {
    if (!ins.some((i) => i.id === sc)) throw new ValidationError(`step ${id}: scatter names "${sc}", which is not one of its inputs`, loc(ctx, s, `${field}.scatter`, 'scatter', true));
  }
  const step: WorkflowStep = {
    id,
    in: ins,
    out,
    run,
    requirements: normRequirements(s.requirements, ctx, `${field}.requirements`),
    hints: normRequirements(s.hints, ctx, `${field}.hints`),
    scatter,
  };
  if (s.scatterMethod) step.scatterMethod = s.scatterMethod as WorkflowStep['scatterMethod'];
  if (typeof s.when === 'string') step.when = s.when;
  if (s.label) step.label = String(s.label);
  remember(step, s, ctx.parsed);
  return step;
}

async function loadRef(uri: string, issues: Issues, session: LoadSession, parent?: Ctx, at?: SourceLocation): Promise<Process> {
  const { doc, fragment } = splitFragment(uri);
  const key = `${doc}#${fragment ?? ''}`;
  const stack = [...(parent?.stack ?? []), key];
  if (parent?.stack.includes(key)) {
    const name = (k: string) => k.replace(/^.*\//, '').replace(/#$/, '');
    throw new ValidationError(`run ${name(key)} makes a loop: ${[...parent.stack.slice(parent.stack.indexOf(key)), key].map(name).join(' runs ')}`, at);
  }
  // Every process loaded counts, so that steps running the same documents over and over through
  // several levels cannot multiply without end.
  const spend = (bytes: number) => {
    const over = session.spend(bytes);
    if (over) throw new ValidationError(over, at ?? (parent ? { file: parent.parsed.file } : undefined));
  };
  if (parent?.graph && doc === parent.base.split('#')[0] && fragment) {
    spend(0);
    const raw = parent.graph.get(fragment);
    if (!raw) throw new ValidationError(`no process "#${fragment}" in ${parent.parsed.file}`, at);
    return normProcess(raw, { ...parent, path: '', stack }, `${doc}#${fragment}`, {});
  }
  let parsed: Parsed;
  try {
    parsed = await fetchNoted(doc, session);
  } catch (err) {
    // A step's `run` that cannot be read: say so at the `run` field.
    if (err instanceof ValidationError && !err.location && at) throw new ValidationError(err.detail, at);
    throw err;
  }
  spend(parsed.bytes);
  const data = await resolveDirectives(parsed.data, doc, parsed, session);
  if (!isObj(data)) throw new ValidationError('a CWL document must be a mapping', { file: parsed.file, line: 1, column: 1 });
  const namespaces = isObj(data.$namespaces) ? (data.$namespaces as Record<string, string>) : {};
  const ctx: Ctx = {
    parsed,
    base: doc,
    cwlVersion: typeof data.cwlVersion === 'string' ? data.cwlVersion : '',
    namespaces,
    issues,
    path: '',
    stack,
    session,
    ...(data.$schemas !== undefined ? { schemas: Array.isArray(data.$schemas) ? data.$schemas : [data.$schemas] } : {}),
  };
  if (Array.isArray(data.$graph)) {
    const graph = new Map<string, Raw>();
    for (const p of data.$graph) if (isObj(p) && typeof p.id === 'string') graph.set(p.id.replace(/^.*#/, '').replace(/^#/, ''), p);
    ctx.graph = graph;
    const want = fragment ?? 'main';
    const raw = graph.get(want);
    if (!raw) {
      throw new ValidationError(`no process "#${want}" in ${parsed.file}; it has: ${[...graph.keys()].map((k) => '#' + k).join(', ')}`, at ?? { file: parsed.file });
    }
    return normProcess(raw, ctx, `${doc}#${want}`, {});
  }
  if (fragment && data.id !== undefined && shortName(String(data.id)) !== fragment) {
    throw new ValidationError(`no process "#${fragment}" in ${parsed.file}`, at ?? { file: parsed.file });
  }
  return normProcess(data, ctx, doc, {});
}

/** A CWL document of this load, noted as one of its files. */
function fetchNoted(doc: string, session: LoadSession): Promise<Parsed> {
  noteLocalFile(session, doc);
  return fetchParsed(doc, 'CWL document', session.limits.maxDocumentBytes);
}

export interface LoadOptions extends LoaderLimitOptions {
  /** Called once for each warning of the validation passes (the document is still loaded). */
  onWarning?: (message: string) => void;
}

/**
 * Load a CWL document (path or URI, optionally `#id`) into the model, and validate it: fields
 * and versions (validate/check-fields.ts), then the static checks of every workflow in it
 * (validate/check-workflow.ts). Throws one ValidationError listing every error found.
 */
export async function loadDocument(ref: string, options: LoadOptions = {}): Promise<Process> {
  const hash = /^[a-z][a-z0-9+.-]*:/i.test(ref) ? -1 : ref.lastIndexOf('#');
  const uri = hash > 0 ? `${toUri(ref.slice(0, hash))}#${ref.slice(hash + 1)}` : toUri(ref);
  const issues = new Issues();
  let process: Process;
  try {
    process = await loadRef(uri, issues, new LoadSession(options, options.root !== undefined ? rootCheck(options.root) : undefined));
  } catch (err) {
    // A problem that stops loading comes after the ones already found, in source order.
    if (err instanceof ValidationError && issues.errors.length > 0) throw combine([...issues.errors.map(toProblem), ...err.problems]);
    throw err;
  }
  checkLoaded(process, issues);
  for (const w of issues.warnings) options.onWarning?.(formatProblem(toProblem(w)));
  if (issues.errors.length > 0) throw combine(issues.errors.map(toProblem));
  return process;
}

function toProblem(i: { message: string; location: SourceLocation }): Problem {
  return { detail: i.message, location: i.location };
}

function combine(problems: Problem[]): ValidationError {
  const byPlace = (p: Problem) => [p.location?.file ?? '', p.location?.line ?? 0, p.location?.column ?? 0] as const;
  const sorted = [...problems].sort((a, b) => {
    const [fa, la, ca] = byPlace(a);
    const [fb, lb, cb] = byPlace(b);
    return fa === fb ? la - lb || ca - cb : 0;
  });
  const [first, ...more] = sorted as [Problem, ...Problem[]];
  return new ValidationError(first.detail, first.location, { more });
}

/** Load a job (input object) file; File/Directory locations become absolute URIs. */
export async function loadJob(pathOrUri: string, options: LoaderLimitOptions = {}): Promise<CwlObject> {
  return (await readJobFile(pathOrUri, options)).inputs;
}

/** A job file read: its input object, and where each of its top-level keys is written. */
export interface JobFile {
  inputs: CwlObject;
  /** Where top-level `key` is in the file (line and column when the file shows it, else the file alone). */
  locate(key: string): SourceLocation;
}

/** loadJob, keeping where the keys are, for messages about them (cli/unknown-job-keys.ts). */
export async function readJobFile(pathOrUri: string, options: LoaderLimitOptions = {}): Promise<JobFile> {
  const uri = toUri(pathOrUri);
  const session = new LoadSession(options);
  const parsed = await fetchParsed(uri, 'job file', session.limits.maxDocumentBytes);
  const data = await resolveDirectives(parsed.data, uri, parsed, session, 'job file');
  if (data === null || data === undefined) return { inputs: {}, locate: () => ({ file: parsed.file }) };
  if (!isObj(data)) throw new ValidationError('a job file must be a mapping of input names to values', { file: fileURLToPath(uri), line: 1, column: 1 });
  return { inputs: resolveJobObject(data as CwlObject, uri), locate: (key) => locateRaw(parsed, data, key) };
}
