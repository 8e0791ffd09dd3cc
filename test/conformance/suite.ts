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
}

function parseLenient(text: string): unknown {
  try {
    return parse(text);
  } catch {
    return parse(reindentFlowContinuations(text));
  }
}

/** An expected output may be `{$import: file}` (JSON or YAML, relative to the index), as in cwltest. */
export function resolveImports(v: unknown, dir: string): unknown {
  if (Array.isArray(v)) return v.map((x) => resolveImports(x, dir));
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  if (typeof o.$import === 'string' && Object.keys(o).length === 1) {
    const file = path.resolve(dir, o.$import);
    return resolveImports(parseLenient(readFileSync(file, 'utf8')), path.dirname(file));
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolveImports(x, dir)]));
}

export function readSuite(indexPath: string): ConformanceTest[] {
  const dir = path.dirname(path.resolve(indexPath));
  const entries = parseLenient(readFileSync(indexPath, 'utf8')) as Array<Record<string, unknown>>;
  const out: ConformanceTest[] = [];
  for (const e of entries) {
    if (typeof e.$import === 'string') {
      out.push(...readSuite(path.resolve(dir, e.$import)));
      continue;
    }
    if (typeof e.tool !== 'string') continue;
    out.push({
      id: String(e.id ?? e.label ?? `${path.basename(e.tool)}`),
      doc: String(e.doc ?? ''),
      tool: path.resolve(dir, e.tool),
      job: typeof e.job === 'string' ? path.resolve(dir, e.job) : undefined,
      output: resolveImports(e.output, dir),
      shouldFail: e.should_fail === true,
      tags: Array.isArray(e.tags) ? e.tags.map(String) : [],
      dir,
    });
  }
  return out;
}
