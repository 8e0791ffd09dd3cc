/**
 * Building the command line of a CommandLineTool (CWL v1.2 "Input binding"), pure: no I/O.
 *
 * Follows the reference runner's algorithm: every `arguments` entry gets the sort key
 * [position, index]; every input with an inputBinding gets [position, name], and nested bindings
 * (record fields, array items, type-level bindings of array/record/enum schemas) get their
 * parent's key followed by their own. Keys compare element by element, numbers numerically,
 * a string against anything as strings; a shorter key sorts first. baseCommand comes first.
 */
import { stringifyJsonExact } from '../../model/exact-json.js';
import { ExpressionError, InputError } from '../../errors.js';
import { hasRawBytes, shownName } from '../../staging/raw-names.js';
import type { Evaluator } from '../../expressions/evaluator.js';
import {
  isDirectory,
  isFile,
  type ArraySchema,
  type CommandLineBinding,
  type CommandLineTool,
  type CwlObject,
  type CwlType,
  type CwlValue,
  type EnumSchema,
  type RecordField,
  type RecordSchema,
} from '../../model/types.js';
import { matchesType, resolveNamed, type SchemaDefs } from './match-type.js';
import { shellQuote, valueToString } from './value-format.js';

export type SortKey = Array<number | string>;

/** One binding with its value and sort key, before rendering. */
export interface BoundArgument {
  key: SortKey;
  binding: CommandLineBinding;
  /** The value bound (the input's value, or the literal of a string argument); null for arguments. */
  value: CwlValue | undefined;
}

export interface CommandLineOptions {
  /** ShellCommandRequirement in force; default: the tool's own requirements/hints say so. */
  shell?: boolean;
}

interface Env {
  inputs: CwlObject;
  runtime: CwlObject;
  evaluator: Evaluator;
  defs: SchemaDefs;
}

/** A binding, and its precomputed key when copied from an array onto its items. */
interface BindingRef {
  b: CommandLineBinding;
  key?: SortKey;
}

type SchemaObject = ArraySchema | RecordSchema | EnumSchema;

export function toolUsesShell(tool: CommandLineTool): boolean {
  return [...tool.requirements, ...tool.hints].some((r) => r.class === 'ShellCommandRequirement');
}

/** The argv of `tool` for `inputs` (staged: Files have their `path`), per CWL v1.2. */
export function buildCommandLine(
  tool: CommandLineTool,
  inputs: CwlObject,
  evaluator: Evaluator,
  runtime: CwlObject,
  options: CommandLineOptions = {},
): string[] {
  const env: Env = { inputs, runtime, evaluator, defs: tool.schemaDefs ?? {} };
  const shell = options.shell ?? toolUsesShell(tool);
  const words: string[] = [];
  for (const c of tool.baseCommand ?? []) words.push(shell ? shellQuote(c) : c);
  for (const bound of collectBindings(tool, inputs, evaluator, runtime)) {
    const rendered = renderBinding(bound, env);
    const quote = shell && bound.binding.shellQuote !== false;
    for (const w of rendered) words.push(quote ? shellQuote(w) : w);
  }
  const argv = shell ? ['/bin/sh', '-c', words.join(' ')] : words;
  const raw = argv.find(hasRawBytes);
  if (raw !== undefined) {
    // Node.js gives a program its arguments as UTF-8 text: the bytes of such a name cannot reach it.
    throw new InputError(
      `${tool.id}: the command line would hold ${shownName(raw)}, a file name that is not UTF-8, which Strand cannot pass as an argument intact; ` +
        'give the tool the Directory that holds the file (its entries keep their names), or a file named in UTF-8',
    );
  }
  return argv;
}

/** All bindings of arguments and inputs, sorted, not yet rendered. */
export function collectBindings(
  tool: CommandLineTool,
  inputs: CwlObject,
  evaluator: Evaluator,
  runtime: CwlObject,
): BoundArgument[] {
  const env: Env = { inputs, runtime, evaluator, defs: tool.schemaDefs ?? {} };
  const bound: BoundArgument[] = [];
  (tool.arguments ?? []).forEach((arg, i) => {
    if (typeof arg === 'string') {
      const isExpr = arg.includes('$(') || arg.includes('${');
      bound.push({ key: [0, i], binding: isExpr ? { valueFrom: arg } : {}, value: isExpr ? null : arg });
    } else {
      const pos = arg.position !== undefined ? evalPosition(arg.position, null, env) : 0;
      bound.push({ key: [pos, i], binding: arg, value: null });
    }
  });
  for (const param of tool.inputs) {
    const value = inputs[param.id];
    if (value === null || value === undefined) continue;
    bound.push(...bindInput(param.type, param.inputBinding ? { b: param.inputBinding } : undefined, value, [], [param.id], env));
  }
  return stableSort(bound, (a, b) => compareKeys(a.key, b.key));
}

/** Compare sort keys like the reference runner (Python 2 ordering of mixed int/str lists). */
export function compareKeys(a: SortKey, b: SortKey): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'string' || typeof y === 'string') {
      const sx = String(x);
      const sy = String(y);
      return sx > sy ? 1 : sx < sy ? -1 : 0;
    }
    return x > y ? 1 : -1;
  }
  return 0;
}

function stableSort<T>(items: T[], cmp: (a: T, b: T) => number): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => cmp(a.item, b.item) || a.i - b.i)
    .map((x) => x.item);
}

function evaluate(text: string, self: CwlValue | undefined, env: Env): CwlValue {
  return env.evaluator.evaluate(text, { inputs: env.inputs, self: self ?? null, runtime: env.runtime });
}

function evalPosition(position: number | string, self: CwlValue | undefined, env: Env): number {
  if (typeof position === 'number') return position;
  const v = evaluate(position, self, env);
  if (v === null) return 0;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new ExpressionError(`inputBinding position must evaluate to an integer, got ${JSON.stringify(v)}`, position);
  }
  return n;
}

function makeOwn(ref: BindingRef | undefined, datum: CwlValue, lead: SortKey, tail: SortKey, env: Env): BoundArgument | undefined {
  if (!ref) return undefined;
  const pos = ref.key ?? [ref.b.position !== undefined ? evalPosition(ref.b.position, datum, env) : 0];
  return { key: [...lead, ...pos, ...tail], binding: ref.b, value: datum };
}

/** Parent binding first in key order: nested keys get the parent's key in front. */
function combine(own: BoundArgument | undefined, nested: BoundArgument[]): BoundArgument[] {
  if (!own) return nested;
  return [...nested.map((n) => ({ ...n, key: [...own.key, ...n.key] })), own];
}

type ConcreteType = Exclude<CwlType, CwlType[]>;

function resolveType(type: CwlType, datum: CwlValue, env: Env): ConcreteType {
  let t = resolveNamed(type, env.defs);
  while (Array.isArray(t)) {
    const alt = t.find((a) => matchesType(datum, a, env.defs));
    if (alt === undefined) {
      throw new ExpressionError(`value ${stringifyJsonExact(datum)} does not match any type of the union ${JSON.stringify(type)}`, '');
    }
    t = resolveNamed(alt, env.defs);
  }
  return t;
}

function bindInput(type: CwlType, ref: BindingRef | undefined, datum: CwlValue, lead: SortKey, tail: SortKey, env: Env): BoundArgument[] {
  const t = resolveType(type, datum, env);
  if (typeof t === 'object') {
    const own = makeOwn(ref, datum, lead, tail, env);
    let st: BindingRef | undefined = t.inputBinding ? { b: t.inputBinding } : undefined;
    // An array bound as a whole without itemSeparator also binds each item.
    if (own && !st && t.type === 'array' && own.binding.itemSeparator === undefined) st = { b: {} };
    const sub = bindStructure(t, st, datum, lead, tail, env);
    return combine(own, own?.binding.valueFrom !== undefined ? [] : sub);
  }
  if (t === 'Any' && !isFile(datum) && !isDirectory(datum)) {
    if (Array.isArray(datum)) return bindStructure({ type: 'array', items: 'Any' }, ref, datum, lead, tail, env);
    if (typeof datum === 'object' && datum !== null) {
      const fields: RecordField[] = Object.keys(datum).map((name) => ({ name, type: 'Any' }));
      return bindStructure({ type: 'record', fields }, ref, datum, lead, tail, env);
    }
  }
  return combine(makeOwn(ref, datum, lead, tail, env), []);
}

/** One level of a schema with its binding: record fields and array items recurse. */
function bindStructure(
  schema: SchemaObject,
  ref: BindingRef | undefined,
  datum: CwlValue,
  lead: SortKey,
  tail: SortKey,
  env: Env,
): BoundArgument[] {
  let own = makeOwn(ref, datum, lead, tail, env);
  const nested: BoundArgument[] = [];
  if (schema.type === 'record' && typeof datum === 'object' && datum !== null && !Array.isArray(datum)) {
    for (const f of schema.fields) {
      const v = datum[f.name];
      if (v === null || v === undefined) continue;
      nested.push(...bindInput(f.type, f.inputBinding ? { b: f.inputBinding } : undefined, v, lead, [f.name], env));
    }
  } else if (schema.type === 'array' && Array.isArray(datum)) {
    const itemRef = own ? { b: own.binding, key: own.key } : undefined;
    datum.forEach((item, n) => nested.push(...bindInput(schema.items, itemRef, item, [n], tail, env)));
    own = undefined; // the items carry the binding now
  }
  return combine(own, nested);
}

/** The words one binding contributes (CWL CommandLineBinding rules). */
function renderBinding(bound: BoundArgument, env: Env): string[] {
  const { binding } = bound;
  let value: CwlValue | undefined = bound.value;
  if (binding.valueFrom !== undefined) value = evaluate(binding.valueFrom, bound.value, env);
  const prefix = binding.prefix;
  const separate = binding.separate ?? true;
  let items: CwlValue[];
  if (Array.isArray(value)) {
    if (binding.itemSeparator !== undefined && value.length > 0) {
      items = [value.map(valueToString).join(binding.itemSeparator)];
    } else if (binding.valueFrom !== undefined) {
      return [...(prefix ? [prefix] : []), ...value.map(valueToString)];
    } else {
      return prefix && value.length > 0 ? [prefix] : [];
    }
  } else if (isFile(value) || isDirectory(value)) {
    items = [value];
  } else if (typeof value === 'object' && value !== null) {
    return prefix ? [prefix] : [];
  } else if (value === true) {
    return prefix ? [prefix] : [];
  } else if (value === false || value === null || value === undefined) {
    return [];
  } else {
    items = [value];
  }
  const words: string[] = [];
  for (const item of items) {
    if (separate) {
      if (prefix !== undefined) words.push(prefix);
      words.push(valueToString(item));
    } else {
      words.push((prefix ?? '') + valueToString(item));
    }
  }
  return words;
}
