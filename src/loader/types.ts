/** Normalising CWL type expressions: `File?`, `string[]`, records, enums, named SchemaDef types. */
import { ValidationError, type SourceLocation } from '../errors.js';
import type { CwlType, EnumSchema, RecordField, RecordSchema, ArraySchema } from '../model/types.js';
import { normSecondaryFiles } from './secondary-files.js';

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'string', 'File', 'Directory', 'Any', 'stdout', 'stderr', 'stdin']);

export type Named = Record<string, RecordSchema | EnumSchema | ArraySchema>;

/** Last segment of an id: `file.cwl#main/x` -> `x`. */
export function shortName(id: string): string {
  const hash = id.lastIndexOf('#');
  const frag = hash >= 0 ? id.slice(hash + 1) : id;
  const slash = frag.lastIndexOf('/');
  return slash >= 0 ? frag.slice(slash + 1) : frag;
}

export function normType(t: unknown, named: Named, where: SourceLocation): CwlType {
  if (typeof t === 'string') {
    if (t.endsWith('?')) {
      const inner = normType(t.slice(0, -1), named, where);
      return Array.isArray(inner) ? ['null', ...inner] : ['null', inner];
    }
    if (t.endsWith('[]')) return { type: 'array', items: normType(t.slice(0, -2), named, where) };
    const bare = t.replace(/^https:\/\/w3id\.org\/cwl\/(cwl|salad)#/, '').replace(/^(sld|cwl):/, '');
    if (PRIMITIVES.has(bare)) return bare as CwlType;
    const n = named[t] ?? named[shortName(t)];
    if (n) return n;
    throw new ValidationError(`unknown type "${t}"`, where);
  }
  if (Array.isArray(t)) return t.map((x) => normType(x, named, where)).flat() as CwlType;
  if (typeof t === 'object' && t !== null) {
    const o = t as Record<string, unknown>;
    if (o.type === 'array') {
      const a: ArraySchema = { type: 'array', items: normType(o.items, named, where) };
      if (typeof o.name === 'string') a.name = o.name;
      if (o.inputBinding) a.inputBinding = o.inputBinding as ArraySchema['inputBinding'];
      return a;
    }
    if (o.type === 'enum') {
      const e: EnumSchema = { type: 'enum', symbols: ((o.symbols as unknown[]) ?? []).map((s) => shortName(String(s))) };
      if (typeof o.name === 'string') e.name = o.name;
      if (o.inputBinding) e.inputBinding = o.inputBinding as EnumSchema['inputBinding'];
      return e;
    }
    if (o.type === 'record') {
      const r: RecordSchema = { type: 'record', fields: [] };
      if (typeof o.name === 'string') r.name = o.name;
      if (o.inputBinding) r.inputBinding = o.inputBinding as RecordSchema['inputBinding'];
      const fields: Array<Record<string, unknown>> = Array.isArray(o.fields)
        ? (o.fields as Array<Record<string, unknown>>)
        : Object.entries((o.fields as Record<string, unknown>) ?? {}).map(([k, v]) =>
            typeof v === 'object' && v !== null && !Array.isArray(v) ? { name: k, ...(v as object) } : { name: k, type: v },
          );
      for (const f of fields) {
        const field: RecordField = { ...(f as object), name: shortName(String(f.name ?? f.id)), type: normType(f.type, named, where) } as RecordField;
        delete (field as unknown as Record<string, unknown>).id;
        if (f.secondaryFiles !== undefined) field.secondaryFiles = normSecondaryFiles(f.secondaryFiles);
        r.fields.push(field);
      }
      return r;
    }
    if (o.type !== undefined && Object.keys(o).length === 1) return normType(o.type, named, where);
  }
  throw new ValidationError(`invalid type ${JSON.stringify(t)}`, where);
}

/** SchemaDefRequirement types, by full and short name. */
export function collectNamed(types: unknown[], named: Named, where: SourceLocation): void {
  // Two passes so that types may refer to ones defined after them.
  const pending = (types.flat(2) as unknown[]).filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
  for (let pass = 0; pass < 3 && pending.length > 0; pass++) {
    for (let i = 0; i < pending.length; ) {
      const t = pending[i] as Record<string, unknown>;
      try {
        const n = normType(t, named, where) as RecordSchema | EnumSchema | ArraySchema;
        const name = String(t.name ?? '');
        named[name] = n;
        named[shortName(name)] = n;
        pending.splice(i, 1);
      } catch (err) {
        if (pass === 2) throw err;
        i++;
      }
    }
  }
}
