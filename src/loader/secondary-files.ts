import type { SecondaryFileSchema } from '../model/types.js';

/** `.bai`, `^.fai`, `pattern?`, lists, `{pattern, required}` -> SecondaryFileSchema[]. */
export function normSecondaryFiles(v: unknown): SecondaryFileSchema[] {
  const list = Array.isArray(v) ? v : [v];
  const out: SecondaryFileSchema[] = [];
  for (const item of list) {
    if (typeof item === 'string') {
      if (item.endsWith('?')) out.push({ pattern: item.slice(0, -1), required: false });
      else out.push({ pattern: item });
    } else if (typeof item === 'object' && item !== null) {
      const o = item as Record<string, unknown>;
      const s: SecondaryFileSchema = { pattern: String(o.pattern) };
      if (o.required !== undefined) s.required = o.required as boolean | string;
      out.push(s);
    }
  }
  return out;
}
