/** Reading and parsing YAML/JSON documents, with positions for error messages. */
import { narrowSafeIntegers } from '../model/exact-json.js';
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { ValidationError } from '../errors.js';
import { reindentFlowContinuations } from './yaml-compat.js';

export interface Parsed {
  uri: string; // file:// URI without fragment
  file: string; // absolute path
  data: unknown;
  /** Position of each parsed object/array. */
  positions: WeakMap<object, Pos>;
  /** For each parsed mapping: where each of its keys is and where its value starts; for each list: where each item is (by index). */
  fields: WeakMap<object, Map<string, FieldPos>>;
}

export interface Pos {
  line: number;
  column: number;
}

export interface FieldPos {
  key: Pos;
  /** Where the value starts (scalars and collections alike). */
  value?: Pos;
}

export function toUri(ref: string, base?: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return ref;
  if (base) return new URL(ref, base).href;
  return pathToFileURL(path.resolve(ref)).href;
}

export function splitFragment(uri: string): { doc: string; fragment?: string } {
  const i = uri.indexOf('#');
  return i < 0 ? { doc: uri } : { doc: uri.slice(0, i), fragment: uri.slice(i + 1) };
}

const cache = new Map<string, Promise<Parsed>>();

export function fetchParsed(docUri: string): Promise<Parsed> {
  let p = cache.get(docUri);
  if (!p) {
    p = parseFile(docUri);
    cache.set(docUri, p);
  }
  return p;
}

/** Files read as text so far ($include targets as well as parsed documents). */
const readFiles = new Set<string>();

/** Absolute paths of every file the loader has read so far (CWL documents, $include files, job files). */
export function parsedFiles(): string[] {
  return [...new Set([...[...cache.keys()].filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u)), ...readFiles])];
}

export async function readText(uri: string): Promise<string> {
  if (!uri.startsWith('file:')) throw new ValidationError(`only local files are supported, not ${uri}`);
  const file = fileURLToPath(uri);
  readFiles.add(file);
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ValidationError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function parseFile(uri: string): Promise<Parsed> {
  const file = fileURLToPath(uri);
  const text = await readText(uri);
  let lineCounter = new LineCounter();
  // Integers as bigints, then back to numbers where a number holds them: big ones stay exact (model/exact-json.ts).
  const opts = { uniqueKeys: false, prettyErrors: false, version: '1.2', intAsBigInt: true } as const;
  let doc = parseDocument(text, { ...opts, lineCounter });
  const err = doc.errors[0];
  if (err) {
    // PyYAML-style flow continuations: retry re-indented before reporting the original error.
    const lc2 = new LineCounter();
    const retry = parseDocument(reindentFlowContinuations(text), { ...opts, lineCounter: lc2 });
    if (retry.errors.length === 0) {
      doc = retry;
      lineCounter = lc2;
    }
  }
  if (doc.errors.length > 0 && err) {
    const pos = lineCounter.linePos(err.pos[0]);
    throw new ValidationError(`invalid YAML: ${err.message.split('\n')[0]}`, { file, line: pos.line, column: pos.col });
  }
  const positions = new WeakMap<object, Pos>();
  const fields = new WeakMap<object, Map<string, FieldPos>>();
  const at = (n: unknown): Pos | undefined => {
    const range = (n as { range?: [number, number, number] } | null)?.range;
    if (!range) return undefined;
    const lp = lineCounter.linePos(range[0]);
    return { line: lp.line, column: lp.col };
  };
  const data = narrowSafeIntegers(doc.toJS({ maxAliasCount: 1000 }));
  // Walk the node tree and the JS value together to remember where each object starts.
  const walk = (node: Node | null | undefined, value: unknown) => {
    if (!node || typeof value !== 'object' || value === null) return;
    if (node.range) {
      const lp = lineCounter.linePos(node.range[0]);
      positions.set(value, { line: lp.line, column: lp.col });
    }
    if (isMap(node)) {
      const keys = new Map<string, FieldPos>();
      for (const pair of node.items) {
        const key = (pair.key as { value?: unknown } | null)?.value;
        if (typeof key !== 'string') continue;
        const keyPos = at(pair.key);
        const first = keys.get(key);
        // Like PyYAML/ruamel (cwltool): a key given twice is an error, not "the last one wins".
        if (first && keyPos && !duplicate) duplicate = { key, at: keyPos, first: first.key };
        if (keyPos) keys.set(key, { key: keyPos, value: at(pair.value) });
        walk(pair.value as Node, (value as Record<string, unknown>)[key]);
      }
      fields.set(value, keys);
    } else if (isSeq(node)) {
      // Items by index, so that scalars in a list (`out: [a, b]`) can be pointed at too.
      const items = new Map<string, FieldPos>();
      node.items.forEach((item, i) => {
        const p = at(item);
        if (p) items.set(String(i), { key: p, value: p });
        walk(item as Node, (value as unknown[])[i]);
      });
      fields.set(value, items);
    }
  };
  let duplicate: { key: string; at: Pos; first: Pos } | undefined;
  walk(doc.contents as Node, data);
  if (duplicate) {
    const d = duplicate as { key: string; at: Pos; first: Pos };
    throw new ValidationError(`duplicate key "${d.key}" (first given at line ${d.first.line})`, { file, line: d.at.line, column: d.at.column });
  }
  return { uri, file, data, positions, fields };
}
