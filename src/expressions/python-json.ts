/**
 * JSON text as the reference runner writes it (Python's `json.dumps(v, sort_keys=True)`): keys
 * sorted, `", "` and `": "` between items, non-ASCII escaped as `\uXXXX`, floats in Python's repr
 * (`1e-05`, `1e+16`). Used where CWL turns a value into text: a value interpolated into a string
 * and an InitialWorkDir entry that is neither a string nor a File (`iwd-jsondump*`).
 */
import type { CwlValue } from '../model/types.js';

function pyNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  // JSON does not tell 2 from 2.0: a safe integer is written as an int, as Python reads it back.
  if (Number.isSafeInteger(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e16) return String(n);
  // Exponent form: the shortest digits, a sign and at least two exponent digits.
  const [mant, exp] = n.toExponential().split('e') as [string, string];
  const sign = exp.startsWith('-') ? '-' : '+';
  return `${mant}e${sign}${exp.replace(/^[+-]/, '').padStart(2, '0')}`;
}

function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function pythonJson(v: CwlValue | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return pyNumber(v);
  // An integer beyond 2^53, exact: Python's int.
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return pyString(v);
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`;
  const keys = Object.keys(v)
    .filter((k) => v[k] !== undefined)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${pyString(k)}: ${pythonJson(v[k])}`).join(', ')}}`;
}
