/**
 * How values become command-line words and shell words: numbers without scientific notation
 * (like cwltool), Files/Directories as their path, and POSIX shell quoting.
 */
import { stringifyJsonExact } from '../../model/exact-json.js';
import { isDirectory, isFile, type CwlValue } from '../../model/types.js';
import { ValidationError } from '../../errors.js';

/** A number in plain decimal notation: 1e-5 -> `0.00001`, 1.23e5 -> `123000`, 1e42 -> 1 and 42 zeros. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = String(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/i.exec(s);
  if (!m) return s;
  const sign = m[1] ?? '';
  const intPart = m[2] ?? '0';
  const frac = m[3] ?? '';
  const exp = Number(m[4]);
  const digits = intPart + frac;
  const point = intPart.length + exp; // position of the decimal point within `digits`
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`.replace(/0+$/, '');
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** The command-line word for one value (cwltool's `tostr`). */
export function valueToString(v: CwlValue | undefined): string {
  if (isFile(v) || isDirectory(v)) {
    if (typeof v.path !== 'string') {
      throw new ValidationError(`${v.class} object has no "path" when building the command line: ${JSON.stringify(v)}`);
    }
    return v.path;
  }
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return v;
  // cwltool renders Python's str(): True / False / None.
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v === null || v === undefined) return 'None';
  return stringifyJsonExact(v);
}

/** POSIX shell quoting with the same rules as Python's shlex.quote. */
export function shellQuote(s: string): string {
  if (s === '') return "''";
  if (!/[^\w@%+=:,./-]/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}
