/**
 * A small structural type test used to pick the alternative of a union that a value belongs to
 * when binding inputs to the command line (pure; staging's checkType does full validation earlier).
 */
import { isNumberOfType } from '../../model/exact-json.js';
import { isDirectory, isFile, type CwlType, type CwlValue, type RecordSchema, type EnumSchema, type ArraySchema } from '../../model/types.js';

export type SchemaDefs = Record<string, RecordSchema | EnumSchema | ArraySchema>;

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'string', 'File', 'Directory', 'Any']);

/** Resolve a named type reference (`#Stage`, `file:///x.cwl#Stage`, `Stage`) through `defs`. */
export function resolveNamed(type: CwlType, defs: SchemaDefs): CwlType {
  if (typeof type !== 'string' || PRIMITIVES.has(type)) return type;
  const name = type as string;
  const short = name.includes('#') ? name.slice(name.lastIndexOf('#') + 1) : name;
  return defs[name] ?? defs[short] ?? defs[short.split('/').pop() ?? short] ?? type;
}

function shortSymbol(s: string): string {
  const i = Math.max(s.lastIndexOf('#'), s.lastIndexOf('/'));
  return i >= 0 ? s.slice(i + 1) : s;
}

export function matchesType(value: CwlValue | undefined, type: CwlType, defs: SchemaDefs = {}): boolean {
  const t = resolveNamed(type, defs);
  if (Array.isArray(t)) return t.some((alt) => matchesType(value, alt, defs));
  if (typeof t === 'string') {
    switch (t) {
      case 'null':
        return value === null || value === undefined;
      case 'boolean':
        return typeof value === 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        // An integer beyond 2^53 is a bigint (model/exact-json.ts).
        return isNumberOfType(t, value);
      case 'string':
        return typeof value === 'string';
      case 'File':
        return isFile(value);
      case 'Directory':
        return isDirectory(value);
      case 'Any':
        return value !== null && value !== undefined;
      default:
        return false;
    }
  }
  switch (t.type) {
    case 'array':
      return Array.isArray(value) && value.every((item) => matchesType(item, t.items, defs));
    case 'enum':
      return typeof value === 'string' && t.symbols.some((s) => s === value || shortSymbol(s) === shortSymbol(value));
    case 'record': {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || isFile(value) || isDirectory(value)) return false;
      return t.fields.every((f) => matchesType(value[f.name] ?? null, f.type, defs));
    }
  }
}
