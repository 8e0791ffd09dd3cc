/**
 * Where things are in the source: parsed YAML objects keep their position and the positions of
 * their keys (src/loader/fetch.ts); model objects made by the loader remember the raw object
 * they came from, so checks on the model can point at the field the user wrote.
 */
import type { SourceLocation } from '../../errors.js';
import type { Parsed } from '../fetch.js';

interface Origin {
  raw: object;
  parsed: Parsed;
}

const origins = new WeakMap<object, Origin>();

/** Remember that `model` (a process, step, parameter...) was built from `raw` in `parsed`. */
export function remember(model: object, raw: object, parsed: Parsed): void {
  origins.set(model, { raw, parsed });
}

export function originOf(model: object): Origin | undefined {
  return origins.get(model);
}

/** The position of `field` of `raw` (its key), else of `raw` itself. */
export function locateRaw(parsed: Parsed, raw: unknown, field?: string | number, fieldPath?: string): SourceLocation {
  const obj = typeof raw === 'object' && raw !== null ? raw : undefined;
  let pos = obj ? parsed.positions.get(obj) : undefined;
  if (obj && field !== undefined) {
    if (typeof field === 'number' && Array.isArray(obj)) {
      const item = obj[field] as unknown;
      const ip = typeof item === 'object' && item !== null ? parsed.positions.get(item) : undefined;
      pos = ip ?? parsed.fields.get(obj)?.get(String(field))?.key ?? pos;
    } else {
      const f = parsed.fields.get(obj)?.get(String(field));
      pos = f?.key ?? pos;
    }
  }
  return { file: parsed.file, line: pos?.line, column: pos?.column, ...(fieldPath ? { fieldPath } : {}) };
}

/** Where the value of `field` starts (for scalars: the value itself), else the key, else the object. */
export function locateValue(parsed: Parsed, raw: unknown, field: string, fieldPath?: string): SourceLocation {
  const obj = typeof raw === 'object' && raw !== null ? raw : undefined;
  const f = obj ? parsed.fields.get(obj)?.get(field) : undefined;
  const pos = f?.value ?? f?.key ?? (obj ? parsed.positions.get(obj) : undefined);
  return { file: parsed.file, line: pos?.line, column: pos?.column, ...(fieldPath ? { fieldPath } : {}) };
}

/** The location of a model object (or of one of its fields), through the raw object it came from. */
export function locate(model: object, field?: string, fieldPath?: string, fallbackFile = '<unknown>'): SourceLocation {
  const o = origins.get(model);
  if (!o) return { file: fallbackFile, ...(fieldPath ? { fieldPath } : {}) };
  return locateRaw(o.parsed, o.raw, field, fieldPath);
}
