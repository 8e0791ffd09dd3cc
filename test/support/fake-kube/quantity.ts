/** Kubernetes resource quantities (`500m`, `2`, `1Gi`, `1e3`): parse to a number and format back. */

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const RE = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

export function isQuantity(q: unknown): boolean {
  return (typeof q === 'number' && Number.isFinite(q)) || (typeof q === 'string' && RE.test(q.trim()));
}

/** The value in base units (cores, bytes, count). Throws on malformed input. */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = RE.exec(q.trim());
  if (!m) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  return n * SUFFIX[m[2] ?? '']!;
}

/**
 * Canonical text like the API server prints in quota messages: milli-units for fractions,
 * binary suffixes for byte amounts that are multiples of 1Ki, plain integers otherwise.
 */
export function formatQuantity(v: number, binary: boolean): string {
  if (!Number.isInteger(v)) {
    const milli = Math.round(v * 1000);
    return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
  }
  if (binary && v !== 0) {
    for (const s of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki']) {
      const f = SUFFIX[s]!;
      if (v % f === 0) return `${v / f}${s}`;
    }
  }
  if (!binary && v !== 0) {
    for (const s of ['E', 'P', 'T', 'G', 'M', 'k']) {
      const f = SUFFIX[s]!;
      if (v % f === 0) return `${v / f}${s}`;
    }
  }
  return String(v);
}

/** Whether a resource name counts bytes (memory, storage) rather than cores or objects. */
export const isByteResource = (name: string): boolean => /memory|storage/.test(name);
