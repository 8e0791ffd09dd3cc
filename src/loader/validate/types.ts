/** Type compatibility between a source and a sink, as cwltool's checker decides it. */
import type { CwlType, RecordSchema, SecondaryFileSchema } from '../../model/types.js';

export interface Endpoint {
  type: CwlType;
  secondaryFiles?: SecondaryFileSchema[];
}

export function isOptional(t: CwlType): boolean {
  return t === 'null' || (Array.isArray(t) && t.some(isOptional));
}

const norm = (t: CwlType): CwlType => (t === ('stdout' as CwlType) || t === ('stderr' as CwlType) ? 'File' : t);

/** Parameter level: Files also compare secondaryFiles (a strict check fails on a missing one). */
export function canAssign(src: Endpoint, sink: Endpoint, strict: boolean): boolean {
  if (norm(src.type) === 'File' && norm(sink.type) === 'File') {
    if (!strict) return true;
    const have = src.secondaryFiles ?? [];
    return (sink.secondaryFiles ?? []).every((s) => have.some((h) => h.pattern === s.pattern && (h.required ?? true) === (s.required ?? true)));
  }
  return canAssignType(src.type, sink.type, strict);
}

export function canAssignType(srcIn: CwlType, sinkIn: CwlType, strict: boolean): boolean {
  const src = norm(srcIn);
  const sink = norm(sinkIn);
  if (src === 'Any' || sink === 'Any') return true;
  if (isSchema(src) && isSchema(sink)) {
    if (src.type === 'array' && sink.type === 'array') return canAssignType(src.items, sink.items, strict);
    if (src.type === 'record' && sink.type === 'record') return records(src, sink, strict);
    return src.type === sink.type;
  }
  if (Array.isArray(src)) {
    if (strict) return src.every((s) => canAssignType(s, sink, false));
    return src.some((s) => s !== 'null' && canAssignType(s, sink, false));
  }
  if (Array.isArray(sink)) return sink.some((s) => canAssignType(src, s, false));
  return src === sink;
}

function isSchema(t: CwlType): t is Exclude<CwlType, string | CwlType[]> {
  return typeof t === 'object' && !Array.isArray(t);
}

function records(src: RecordSchema, sink: RecordSchema, strict: boolean): boolean {
  const srcFields = new Map(src.fields.map((f) => [f.name, f.type]));
  for (const f of sink.fields) {
    if (!canAssignType(srcFields.get(f.name) ?? 'null', f.type, strict)) return false;
  }
  return true;
}

/** `File`, `File[]`, `string?`, `record {a: int}`, `enum [x, y]`. */
export function formatType(t: CwlType): string {
  t = norm(t);
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const rest = t.filter((x) => x !== 'null');
    const inner = rest.length === 1 ? formatType(rest[0] as CwlType) : rest.map(formatType).join(' | ');
    return rest.length < t.length ? (rest.length === 1 ? `${inner}?` : `null | ${inner}`) : inner;
  }
  if (t.type === 'array') {
    const inner = formatType(t.items);
    return /[ |?]/.test(inner) ? `(${inner})[]` : `${inner}[]`;
  }
  if (t.type === 'record') return t.name ? `record ${t.name.replace(/^.*[#/]/, '')}` : `record {${t.fields.map((f) => `${f.name}: ${formatType(f.type)}`).join(', ')}}`;
  return t.name ? `enum ${t.name.replace(/^.*[#/]/, '')}` : `enum [${t.symbols.join(', ')}]`;
}
