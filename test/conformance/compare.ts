/**
 * cwltest's comparison rules: expected File/Directory objects match on class, basename, checksum,
 * size, contents and listing where given; `location` matches as a path suffix; "Any" matches
 * anything. Returns undefined when equal, else a description of the first difference.
 */
type J = unknown;

function isObj(v: J): v is Record<string, J> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: J): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 120 ? s.slice(0, 117) + '...' : s;
}

function compareFileLike(expected: Record<string, J>, actual: J, at: string): string | undefined {
  if (!isObj(actual)) return `${at}: expected a ${String(expected.class)}, got ${show(actual)}`;
  if (actual.class !== expected.class) return `${at}.class: expected ${show(expected.class)}, got ${show(actual.class)}`;
  if (typeof expected.location === 'string' && expected.location !== 'Any') {
    const loc = typeof actual.location === 'string' ? actual.location : '';
    if (!loc.endsWith(expected.location)) return `${at}.location: expected to end with ${show(expected.location)}, got ${show(loc)}`;
  }
  for (const key of ['basename', 'checksum', 'size', 'contents'] as const) {
    if (key in expected && expected[key] !== 'Any' && !(key === 'checksum' && expected[key] === undefined)) {
      if (actual[key] !== expected[key]) return `${at}.${key}: expected ${show(expected[key])}, got ${show(actual[key])}`;
    }
  }
  for (const key of ['listing', 'secondaryFiles'] as const) {
    if (key in expected) {
      const d = compareValues(expected[key], actual[key] ?? [], `${at}.${key}`, true);
      if (d) return d;
    }
  }
  return undefined;
}

export function compareValues(expected: J, actual: J, at = 'output', unordered = false): string | undefined {
  if (expected === 'Any') return undefined;
  if (isObj(expected) && (expected.class === 'File' || expected.class === 'Directory')) {
    return compareFileLike(expected, actual, at);
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at}: expected an array, got ${show(actual)}`;
    if (expected.length !== actual.length) return `${at}: expected ${expected.length} items, got ${actual.length}`;
    if (unordered) {
      const used = new Set<number>();
      for (let i = 0; i < expected.length; i++) {
        const j = actual.findIndex((a, k) => !used.has(k) && compareValues(expected[i], a, at) === undefined);
        if (j < 0) return `${at}[${i}]: no match for ${show(expected[i])} in ${show(actual)}`;
        used.add(j);
      }
      return undefined;
    }
    for (let i = 0; i < expected.length; i++) {
      const d = compareValues(expected[i], actual[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (isObj(expected)) {
    if (!isObj(actual)) return `${at}: expected an object, got ${show(actual)}`;
    for (const key of Object.keys(expected)) {
      const d = compareValues(expected[key], actual[key] ?? null, `${at}.${key}`);
      if (d) return d;
    }
    for (const key of Object.keys(actual)) {
      if (!(key in expected) && actual[key] !== null && actual[key] !== undefined) return `${at}.${key}: not expected, got ${show(actual[key])}`;
    }
    return undefined;
  }
  if (typeof expected === 'number' && typeof actual === 'number') {
    return expected === actual || Math.abs(expected - actual) < 1e-9 * Math.max(1, Math.abs(expected)) ? undefined : `${at}: expected ${expected}, got ${actual}`;
  }
  return expected === actual ? undefined : `${at}: expected ${show(expected)}, got ${show(actual)}`;
}
