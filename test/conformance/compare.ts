/**
 * cwltest's comparison rules, as cwltest (and ../shared/cwl-conformance.py) apply them:
 * - "Any" matches anything; a missing or null value matches only null.
 * - Objects match key by key; a key the output has beyond the expected ones fails unless null.
 * - Arrays match item by item, in order.
 * - Scalars match as Python's `==` does: numbers by their exact value (the integer
 *   4200000000000000000000000000000000000000000 is not the float 4.2e+42; 1 == 1.0 == true), so
 *   expected and actual values must be read with their integers intact (`parseExactJson`, and
 *   suite.ts reads the index with `intAsBigInt`).
 * - A File/Directory object: its `path` (or else `location`) must name a file (directory) that
 *   exists and ends with the expected one; `contents`, and for a File the on-disk `checksum` and
 *   `size`, must match the expected ones and the ones the output declares; every other key the
 *   expected object has (`class`, `basename`, `format`, `secondaryFiles`, ...) is compared by these
 *   same rules. A Directory's expected `listing` entries must each match some entry of its listing.
 * Returns undefined when equal, else a description of the first difference.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

type J = unknown;
type Obj = Record<string, J>;

class Mismatch extends Error {}

function isObj(v: J): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: J): string {
  const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)); // an exact integer shows as "<digits>n"
  return s === undefined ? 'undefined' : s.length > 160 ? s.slice(0, 157) + '...' : s;
}

function fail(at: string, why: string, expected: J, actual: J): never {
  throw new Mismatch(`${at}: ${why}; expected ${show(expected)}, got ${show(actual)}`);
}

/** Strand's (or another runner's) output object with every integer exact (BigInt). Empty text is `{}`. */
export function parseExactJson(text: string): J {
  if (text.trim() === '') return {};
  return parse(text, { schema: 'json', intAsBigInt: true }) as J;
}

/** Python's `==` on numbers and booleans: by exact value, whatever the representation. */
function numericEqual(a: number | bigint | boolean, b: number | bigint | boolean): boolean {
  const big = (x: number | bigint | boolean): bigint | undefined =>
    typeof x === 'boolean' ? (x ? 1n : 0n) : typeof x === 'bigint' ? x : Number.isInteger(x) ? BigInt(x) : undefined;
  const x = big(a);
  const y = big(b);
  if (x !== undefined && y !== undefined) return x === y;
  return typeof a === 'number' && typeof b === 'number' && a === b;
}

function isNumeric(v: J): v is number | bigint | boolean {
  return typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean';
}

function scalarEqual(e: J, a: J): boolean {
  if (isNumeric(e) && isNumeric(a)) return numericEqual(e, a);
  return e === a;
}

function localPath(p: string, baseDir: string): string | undefined {
  if (p.startsWith('file://')) return fileURLToPath(p);
  if (p.includes('://')) return undefined;
  return path.resolve(baseDir, p); // os.path.join: an absolute path stands alone
}

function kind(p: string): 'file' | 'dir' | undefined {
  try {
    const s = statSync(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

function actualRef(actual: Obj): J {
  return actual.path || actual.location;
}

function compareLocation(expected: Obj, actual: Obj, at: string, baseDir: string): void {
  let want: J;
  if ('path' in expected) {
    want = expected.path;
    if (!('path' in actual) && 'location' in actual) actual.path = actual.location;
  } else if ('location' in expected) {
    want = expected.location;
  } else {
    return;
  }
  const ref = actualRef(actual);
  if (typeof ref !== 'string') fail(at, 'no location/path in the output object', expected, actual);
  const isDir = actual.class === 'Directory';
  const got = isDir ? ref.replace(/\/+$/, '') : ref;
  const lp = localPath(got, baseDir);
  if (lp === undefined || kind(lp) !== (isDir ? 'dir' : 'file')) fail(at, `${got} does not exist`, expected, actual);
  if (want !== 'Any' && !(got.endsWith('/' + String(want)) || (!got.includes('/') && got === want))) {
    fail(at, `${got} does not end with ${String(want)}`, expected, actual);
  }
}

function fileBytes(actual: Obj, at: string, baseDir: string): Buffer {
  const ref = actualRef(actual);
  const lp = typeof ref === 'string' ? localPath(ref, baseDir) : undefined;
  if (lp === undefined) throw new Mismatch(`${at}: cannot read the output file ${show(ref)}`);
  try {
    return readFileSync(lp);
  } catch (err) {
    throw new Mismatch(`${at}: cannot read the output file: ${(err as Error).message}`);
  }
}

function compareFile(expected: Obj, actual: Obj, at: string, baseDir: string): void {
  compareLocation(expected, actual, at, baseDir);
  let data: Buffer | undefined;
  if ('contents' in expected) {
    data = fileBytes(actual, at, baseDir);
    const text = data.toString('utf8').replace(/\r\n?/g, '\n');
    if (text !== expected.contents) fail(`${at}.contents`, 'file contents differ', expected.contents, text.slice(0, 200));
  }
  if (actual.class === 'File') {
    data ??= fileBytes(actual, at, baseDir);
    const sha = 'sha1$' + createHash('sha1').update(data).digest('hex');
    if ('checksum' in actual && actual.checksum !== sha) fail(`${at}.checksum`, `the declared checksum is not the file's (${sha})`, sha, actual.checksum);
    if ('checksum' in expected && expected.checksum !== sha) fail(`${at}.checksum`, "the file's checksum differs", expected.checksum, sha);
    if ('size' in actual && !scalarEqual(actual.size, data.length)) fail(`${at}.size`, `the declared size is not the file's (${data.length})`, data.length, actual.size);
    if ('size' in expected && !scalarEqual(expected.size, data.length)) fail(`${at}.size`, "the file's size differs", expected.size, data.length);
  }
  for (const k of Object.keys(expected)) {
    if (['path', 'location', 'listing', 'contents', 'checksum', 'size'].includes(k)) continue;
    compareAt(expected[k], actual[k] ?? null, `${at}.${k}`, baseDir);
  }
}

function compareDirectory(expected: Obj, actual: Obj, at: string, baseDir: string): void {
  if (actual.class !== 'Directory') fail(at, 'expected class Directory', expected, actual);
  if (!('listing' in actual)) fail(at, "the Directory output has no 'listing'", expected, actual);
  const listing = Array.isArray(actual.listing) ? actual.listing : [];
  for (const want of Array.isArray(expected.listing) ? expected.listing : []) {
    const found = listing.some((got) => compareValues(want, got, baseDir, at) === undefined);
    if (!found) fail(`${at}.listing`, 'listing entry not found', want, listing);
  }
  compareFile(expected, actual, at, baseDir);
}

function compareAt(expected: J, actual: J, at: string, baseDir: string): void {
  if (expected === 'Any') return;
  if (expected !== null && expected !== undefined && (actual === null || actual === undefined)) fail(at, 'missing value', expected, actual);
  if (isObj(expected)) {
    if (!isObj(actual)) fail(at, 'expected an object', expected, actual);
    if (expected.class === 'File') return compareFile(expected, actual, at, baseDir);
    if (expected.class === 'Directory') return compareDirectory(expected, actual, at, baseDir);
    for (const k of Object.keys(expected)) compareAt(expected[k], actual[k] ?? null, `${at}.${k}`, baseDir);
    for (const k of Object.keys(actual)) {
      if (!(k in expected) && actual[k] !== null && actual[k] !== undefined) fail(`${at}.${k}`, 'not expected', undefined, actual[k]);
    }
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) fail(at, 'expected an array', expected, actual);
    if (expected.length !== actual.length) fail(at, `array lengths differ (${expected.length} vs ${actual.length})`, expected, actual);
    expected.forEach((e, i) => compareAt(e, actual[i], `${at}[${i}]`, baseDir));
    return;
  }
  if (!scalarEqual(expected ?? null, actual ?? null)) fail(at, 'values differ', expected, actual);
}

/**
 * Compare an expected output with a runner's (both read with exact integers). Relative paths in
 * the output are taken from `baseDir` (the suite's root, where the runner ran). Files named by the
 * output are read, so call this before removing the output directory.
 */
export function compareValues(expected: J, actual: J, baseDir: string, at = 'output'): string | undefined {
  try {
    compareAt(expected, actual, at, baseDir);
    return undefined;
  } catch (err) {
    if (err instanceof Mismatch) return err.message;
    throw err;
  }
}
