/** Reading and parsing YAML/JSON documents, with positions for error messages. */
import { open, stat } from 'node:fs/promises';
import { narrowSafeIntegers } from '../model/exact-json.js';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { LineCounter, isMap, isSeq, type Node } from 'yaml';
import { ValidationError } from '../errors.js';
import { formatBytes, type LoadSession } from './limits.js';
import { parseYamlBounded } from './parse-bounded.js';
import { reindentContinuations } from './yaml-compat.js';

export interface Parsed {
  uri: string; // file:// URI without fragment
  file: string; // absolute path
  data: unknown;
  /** Position of each parsed object/array. */
  positions: WeakMap<object, Pos>;
  /** For each parsed mapping: where each of its keys is and where its value starts; for each list: where each item is (by index). */
  fields: WeakMap<object, Map<string, FieldPos>>;
  /** Size of the file read. */
  bytes: number;
}

/** What a file is to the loader, for messages. */
export type FileRole = 'CWL document' | 'job file' | 'included file';

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

/**
 * Parsed documents of this process, each with the identity its file had when read: a document
 * referenced many times in one load is read once, and one changed since (a long-lived process
 * loads the same path again after an edit) is read again. Bounded: the oldest go first.
 */
const cache = new Map<string, { identity: string | undefined; parsed: Promise<Parsed> }>();
const CACHE_LIMIT = 512;

/** `dev:ino:size:mtime:ctime` of a local document, or undefined (not a local file, or not there). */
async function identityOf(docUri: string): Promise<string | undefined> {
  if (!docUri.startsWith('file:')) return undefined;
  const st = await stat(fileURLToPath(docUri), { bigint: true }).catch(() => undefined);
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : undefined;
}

/** A parsed document (read once while it does not change), refused when it is over `maxBytes`. */
export async function fetchParsed(docUri: string, role: FileRole, maxBytes: number): Promise<Parsed> {
  const identity = await identityOf(docUri);
  let entry = cache.get(docUri);
  if (!entry || identity === undefined || entry.identity !== identity) {
    const parsed = parseFile(docUri, role, maxBytes);
    entry = { identity, parsed };
    cache.delete(docUri);
    cache.set(docUri, entry);
    if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    // A file refused (too big, invalid) is read again next time: the limit or the file may have changed.
    const mine = entry;
    parsed.catch(() => {
      if (cache.get(docUri) === mine) cache.delete(docUri);
    });
  }
  const parsed = await entry.parsed;
  // Read earlier under a larger limit: the same answer as reading it now.
  if (parsed.bytes > maxBytes) throw tooBig(parsed.file, parsed.bytes, role, maxBytes);
  return parsed;
}

/** Note `uri` as one of the files a load uses, when it is a local file. */
export function noteLocalFile(session: LoadSession, uri: string): void {
  if (uri.startsWith('file:')) session.noteFile(fileURLToPath(uri.replace(/#.*$/, '')));
}

function tooBig(file: string, bytes: number | undefined, role: FileRole, maxBytes: number): ValidationError {
  const size = bytes === undefined ? `more than ${maxBytes} bytes` : `${bytes} bytes`;
  return new ValidationError(`${size} is over the limit of ${formatBytes(maxBytes)} for ${role === 'included file' ? 'an' : 'a'} ${role} (--max-document-size)`, { file });
}

/**
 * The text of a local file, reading no more than `maxBytes` (+1 to tell): a larger file, or a
 * pipe or device that does not end, is refused before it fills memory. An `$include`d file must
 * be a regular file (not /dev/zero, a FIFO or a socket).
 */
export async function readText(uri: string, role: FileRole, maxBytes: number): Promise<string> {
  if (!uri.startsWith('file:')) throw new ValidationError(`only local files are supported, not ${uri}`);
  const file = fileURLToPath(uri);
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new ValidationError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const st = await handle.stat();
    if (role === 'included file' && !st.isFile()) throw new ValidationError(`cannot $include ${file}: not a regular file`);
    if (st.isFile() && st.size > maxBytes) throw tooBig(file, st.size, role, maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.alloc(Math.min(1 << 20, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooBig(file, undefined, role, maxBytes);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    await handle.close();
  }
}

async function parseFile(uri: string, role: FileRole, maxBytes: number): Promise<Parsed> {
  const file = fileURLToPath(uri);
  const text = await readText(uri, role, maxBytes);
  let lineCounter = new LineCounter();
  // Both parses are bounded (parse-bounded.ts): nesting is measured before anything recursive runs.
  // Integers are read as bigints, then back to numbers where a number holds them: big ones stay exact (model/exact-json.ts).
  let doc = parseYamlBounded(text, file, lineCounter);
  const err = doc.errors[0];
  if (err) {
    // PyYAML-style flow continuations: retry re-indented before reporting the original error.
    const lc2 = new LineCounter();
    const retry = parseYamlBounded(reindentContinuations(text), file, lc2);
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
  return { uri, file, data, positions, fields, bytes: Buffer.byteLength(text) };
}
