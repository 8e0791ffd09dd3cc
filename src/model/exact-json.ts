/**
 * Integers beyond 2^53 kept exact, as Python (cwltool) keeps them: a document, a job or a tool's
 * cwl.output.json may hold `4200000000000000000000000000000000000000000`, which a JavaScript number
 * would turn into 4.2e+42. Such integers are `bigint`s in CWL values (model/types.ts); every
 * integer that a number holds exactly stays a number. JSON text in and out goes through here.
 */
import { createRequire } from 'node:module';

/** The yaml package, loaded only when a number may have been rounded (commands that only list runs never load it). */
const yamlParse = (text: string, opts: Record<string, unknown>): unknown =>
  (createRequire(import.meta.url)('yaml') as { parse: (t: string, o: Record<string, unknown>) => unknown }).parse(text, opts);

/** Replace, in place, every bigint that a number holds exactly by that number (yaml's intAsBigInt makes every integer one). */
export function narrowSafeIntegers(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = narrowSafeIntegers(v[i]);
  } else if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = narrowSafeIntegers(o[k]);
  }
  return v;
}

/** Whether JSON.parse may have rounded a number of `v` (an integral number beyond 2^53). */
function mayHaveRounded(v: unknown): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && !Number.isSafeInteger(v);
  if (Array.isArray(v)) return v.some(mayHaveRounded);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(mayHaveRounded);
  return false;
}

/** JSON.parse, with integers beyond 2^53 as exact bigints (JSON.parse errors as they are). */
export function parseJsonExact(text: string): unknown {
  const fast = JSON.parse(text) as unknown;
  if (!mayHaveRounded(fast)) return fast;
  try {
    // JSON is YAML 1.2 (json schema): the same values, with the integers' digits.
    return narrowSafeIntegers(yamlParse(text, { schema: 'json', intAsBigInt: true, uniqueKeys: false }));
  } catch {
    return fast;
  }
}

function hasBigInt(v: unknown): boolean {
  if (typeof v === 'bigint') return true;
  if (Array.isArray(v)) return v.some(hasBigInt);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(hasBigInt);
  return false;
}

const marker = `\u0000bigint${Math.random().toString(36).slice(2)}:`;
const markerInJson = JSON.stringify(marker).slice(1, -1);
const markedDigits = new RegExp(`"${markerInJson.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(-?\\d+)"`, 'g');

/** JSON.stringify that writes bigints as their exact digits (JSON.stringify alone throws on them). */
export function stringifyJsonExact(v: unknown, indent?: number): string {
  if (!hasBigInt(v)) return JSON.stringify(v, null, indent);
  const text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${marker}${x.toString()}` : x), indent);
  return text.replace(markedDigits, '$1');
}

/** A value as JavaScript expressions see it: bigints as (rounded) numbers, as cwltool hands Python ints to its JavaScript engine. */
export function toJsonForJavaScript(v: unknown): string {
  return hasBigInt(v) ? JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x)) : JSON.stringify(v);
}

/** Whether `v` is a value of a numeric CWL type: a long may be a bigint within 64 bits (as cwltool checks), a float or double any integer too. */
export function isNumberOfType(type: 'int' | 'long' | 'float' | 'double', v: unknown): boolean {
  if (type === 'float' || type === 'double') return typeof v === 'number' || typeof v === 'bigint';
  if (typeof v === 'number') return Number.isInteger(v);
  return type === 'long' && typeof v === 'bigint' && BigInt.asIntN(64, v) === v;
}
