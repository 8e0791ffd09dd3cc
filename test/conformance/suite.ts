/** Reading the CWL conformance suite index, following its `$import`s. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { reindentFlowContinuations } from '../../src/loader/yaml-compat.js';

export interface ConformanceTest {
  id: string;
  doc: string;
  tool: string; // absolute
  job?: string; // absolute
  output?: unknown;
  shouldFail: boolean;
  tags: string[];
  dir: string; // directory of the index that defines it
  /** The suite's root (the top index's directory): cwltest runs every test there. */
  root: string;
  /** `tool` and `job` as cwltest passes them: relative to `root` (a `#fragment` kept). */
  toolArg: string;
  jobArg?: string;
  /** The most cores any numeric ResourceRequirement `coresMin` in the tool's file asks for (1 if none). */
  coresMin: number;
}

/** The largest numeric `coresMin` of a ResourceRequirement anywhere in `v` (expressions are not evaluated). */
export function largestCoresMin(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 1;
  const o = v as Record<string, unknown>;
  // The list form ({class: ResourceRequirement, coresMin}) and the map form ({ResourceRequirement: {coresMin}}).
  const own = o.class === 'ResourceRequirement' && typeof o.coresMin === 'number' ? o.coresMin : 1;
  const children = Object.entries(o).map(([k, x]) =>
    k === 'ResourceRequirement' && typeof x === 'object' && x !== null ? largestCoresMin({ class: k, ...x }) : largestCoresMin(x),
  );
  return Math.max(own, ...children);
}

function coresMinOf(tool: string): number {
  try {
    return largestCoresMin(parseLenient(readFileSync(tool.replace(/#.*$/, ''), 'utf8')));
  } catch {
    return 1;
  }
}

/** `exact`: integers as BigInt (expected outputs keep 4200000000000000000000000000000000000000000 exact). */
function parseLenient(text: string, exact = false): unknown {
  const opts = { intAsBigInt: exact };
  try {
    return parse(text, opts);
  } catch {
    return parse(reindentFlowContinuations(text), opts);
  }
}

/** An expected output may be `{$import: file}` (JSON or YAML, relative to the index), as in cwltest. */
export function resolveImports(v: unknown, dir: string): unknown {
  if (Array.isArray(v)) return v.map((x) => resolveImports(x, dir));
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  if (typeof o.$import === 'string' && Object.keys(o).length === 1) {
    const file = path.resolve(dir, o.$import);
    return resolveImports(parseLenient(readFileSync(file, 'utf8'), true), path.dirname(file));
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolveImports(x, dir)]));
}

export function readSuite(indexPath: string, root = path.dirname(path.resolve(indexPath))): ConformanceTest[] {
  const dir = path.dirname(path.resolve(indexPath));
  const entries = parseLenient(readFileSync(indexPath, 'utf8'), true) as Array<Record<string, unknown>>;
  const out: ConformanceTest[] = [];
  for (const e of entries) {
    if (typeof e.$import === 'string') {
      out.push(...readSuite(path.resolve(dir, e.$import), root));
      continue;
    }
    if (typeof e.tool !== 'string') continue;
    const rel = (ref: string) => path.relative(root, path.resolve(dir, ref));
    out.push({
      id: String(e.id ?? e.label ?? `${path.basename(e.tool)}`),
      doc: String(e.doc ?? ''),
      tool: path.resolve(dir, e.tool),
      job: typeof e.job === 'string' ? path.resolve(dir, e.job) : undefined,
      output: resolveImports(e.output, dir),
      shouldFail: e.should_fail === true,
      tags: Array.isArray(e.tags) ? e.tags.map(String) : [],
      dir,
      root,
      toolArg: rel(e.tool),
      ...(typeof e.job === 'string' ? { jobArg: rel(e.job) } : {}),
      coresMin: coresMinOf(path.resolve(dir, e.tool)),
    });
  }
  return out;
}
