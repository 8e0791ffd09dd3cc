/**
 * Input `format` checking, as cwltool does it when it binds inputs: every File given to a
 * parameter (or record field) that declares `format` must have a `format` that is one of the
 * declared ones, or a subclass or equivalent of one in the document's `$schemas` ontologies.
 * Prefixed names (`edam:format_2330`) are expanded with the document's `$namespaces`.
 */
import { expandFormat } from '../model/format-iri.js';
import { InputError } from '../errors.js';
import type { Evaluator } from '../expressions/evaluator.js';
import type { CwlObject, CwlType, CwlValue, Process } from '../model/types.js';
import { isFormatOf, loadOntology, type Ontology } from './ontology.js';

interface Check {
  name: string;
  value: CwlValue;
  formats: string[];
}

function evalFormats(format: string | string[], evaluator: Evaluator, inputs: CwlObject): string[] {
  const out: string[] = [];
  for (const f of Array.isArray(format) ? format : [format]) {
    const v = /\$[({]/.test(f) ? evaluator.evaluate(f, { inputs, self: null, runtime: {} }) : f;
    for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string') out.push(x);
  }
  return out;
}

/** Record fields with `format` inside `type`, paired with the values they hold. */
function fieldChecks(type: CwlType, value: CwlValue, name: string, evaluator: Evaluator, inputs: CwlObject, out: Check[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(type)) {
    for (const t of type) fieldChecks(t, value, name, evaluator, inputs, out);
    return;
  }
  if (typeof type !== 'object') return;
  if (type.type === 'array' && Array.isArray(value)) {
    value.forEach((v, i) => fieldChecks(type.items, v, `${name}[${i}]`, evaluator, inputs, out));
  } else if (type.type === 'record' && typeof value === 'object' && !Array.isArray(value) && value.class === undefined) {
    for (const f of type.fields) {
      const v = value[f.name];
      if (v === undefined || v === null) continue;
      if (f.format !== undefined) out.push({ name: `${name}.${f.name}`, value: v, formats: evalFormats(f.format, evaluator, inputs) });
      fieldChecks(f.type, v, `${name}.${f.name}`, evaluator, inputs, out);
    }
  }
}

function files(v: CwlValue): CwlObject[] {
  if (Array.isArray(v)) return v.flatMap(files);
  if (typeof v === 'object' && v !== null && v.class === 'File') return [v];
  return [];
}

/** Throws an InputError naming the first input whose File has a format the process does not take. */
export async function checkInputFormats(process: Process, inputs: CwlObject, evaluator: Evaluator): Promise<void> {
  const checks: Check[] = [];
  for (const p of process.inputs) {
    const v = inputs[p.id];
    if (v === undefined || v === null) continue;
    if (p.format !== undefined) checks.push({ name: p.id, value: v, formats: evalFormats(p.format, evaluator, inputs) });
    fieldChecks(p.type, v, p.id, evaluator, inputs, checks);
  }
  if (checks.length === 0) return;
  let ontology: Ontology | undefined;
  for (const c of checks) {
    const wanted = c.formats.map((f) => expandFormat(f, process.namespaces));
    if (wanted.length === 0) continue;
    for (const f of files(c.value)) {
      const label = `input ${c.name}: ${String(f.basename ?? f.location ?? f.path)}`;
      if (typeof f.format !== 'string') {
        throw new InputError(`${label} has no format, but ${c.name} takes ${wanted.join(' or ')}`, c.name);
      }
      const actual = expandFormat(f.format, process.namespaces);
      if (wanted.includes(actual)) continue;
      ontology ??= (await loadOntology(process.schemas ?? [])).ontology;
      if (wanted.some((w) => isFormatOf(actual, w, ontology as Ontology))) continue;
      const via = (process.schemas ?? []).length > 0 ? ' (nor a subclass or equivalent of one in $schemas)' : '';
      throw new InputError(`${label} has format ${actual}, but ${c.name} takes ${wanted.join(' or ')}${via}`, c.name);
    }
  }
}
