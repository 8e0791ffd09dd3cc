/** Structural match of a value against a CWL type. */
import { isNumberOfType } from '../model/exact-json.js';
import type { CwlType, CwlValue } from '../model/types.js';

export function matchingAlternative(value: CwlValue | undefined, type: CwlType): CwlType | undefined {
  const alts = Array.isArray(type) ? type : [type];
  for (const t of alts) if (checkType(value, t)) return t;
  return undefined;
}

export function checkType(value: CwlValue | undefined, type: CwlType): boolean {
  if (Array.isArray(type)) return type.some((t) => checkType(value, t));
  const v = value === undefined ? null : value;
  if (typeof type === 'string') {
    switch (type) {
      case 'null':
        return v === null;
      case 'Any':
        return v !== null;
      case 'boolean':
        return typeof v === 'boolean';
      case 'int':
      case 'long':
      case 'float':
      case 'double':
        // An integer beyond 2^53 is a bigint (model/exact-json.ts).
        return isNumberOfType(type, v);
      case 'string':
        return typeof v === 'string';
      case 'File':
      case 'Directory':
        return typeof v === 'object' && v !== null && !Array.isArray(v) && v.class === type;
      default:
        return (type as string) === 'stdout' || (type as string) === 'stderr' ? typeof v === 'object' && v !== null && !Array.isArray(v) && v.class === 'File' : false;
    }
  }
  if (type.type === 'array') return Array.isArray(v) && v.every((x) => checkType(x, type.items));
  if (type.type === 'enum') return typeof v === 'string' && type.symbols.includes(v.replace(/^.*[#/]/, ''));
  if (type.type === 'record') {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    return type.fields.every((f) => checkType(v[f.name] ?? null, f.type));
  }
  return false;
}
