/**
 * `$import` and `$include`, replaced recursively, within the limits of the load (limits.ts):
 * - an `$import` of a document already being imported around it is a loop, named in order
 *   (`a.cwl imports b.cwl imports a.cwl`), not an endless expansion;
 * - the nesting of the result (through imports and YAML aliases too) stops at MAX_NESTING_DEPTH;
 * - the documents brought in, counted each time, stop at the load's budget;
 * - `$include` reads only files inside the including document's directory (links resolved),
 *   unless --allow-outside-document (or its older name --allow-include-outside); an `$import` from outside it must be CWL (a process,
 *   requirement or type, or a list of them), not any YAML file of the host.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError, type SourceLocation } from '../errors.js';
import { fetchParsed, noteLocalFile, readText, splitFragment, toUri, type FieldPos, type FileRole, type Parsed } from './fetch.js';
import { MAX_NESTING_DEPTH, type LoadSession } from './limits.js';

type Raw = Record<string, unknown>;

function isObj(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The documents being imported around a value, outermost first (document URIs). */
export type ImportChain = readonly string[];

/** Replace `$import` and `$include` in `v`, a value of `parsed` (whose URI is `base`). */
export function resolveDirectives(v: unknown, base: string, parsed: Parsed, session: LoadSession, role: FileRole = 'CWL document'): Promise<unknown> {
  return resolve(v, { base, parsed, session, chain: [base.split('#')[0] as string], role }, 0);
}

interface Scope {
  base: string;
  parsed: Parsed;
  session: LoadSession;
  chain: ImportChain;
  /** The role of the top document (a job file's imports are read under the same name). */
  role: FileRole;
}

function where(scope: Scope, v: unknown): SourceLocation {
  const pos = typeof v === 'object' && v !== null ? scope.parsed.positions.get(v) : undefined;
  return pos ? { file: scope.parsed.file, line: pos.line, column: pos.column } : { file: scope.parsed.file };
}

async function resolve(v: unknown, scope: Scope, depth: number): Promise<unknown> {
  if (typeof v !== 'object' || v === null) return v;
  if (depth >= MAX_NESTING_DEPTH) {
    const via = scope.chain.length > 1 ? ` (through $import of ${scope.chain.slice(1).map(fileName).join(', ')})` : '';
    throw new ValidationError(`nested more than ${MAX_NESTING_DEPTH} levels deep${via}; the loader reads no deeper`, where(scope, v));
  }
  const { parsed } = scope;
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    const items = parsed.fields.get(v);
    const outItems = new Map<string, FieldPos>();
    for (const [i, x] of v.entries()) {
      const resolved = await resolve(x, scope, depth + 1);
      const at = items?.get(String(i));
      // As schema-salad: an `$import` item that brings a list is spliced into the list
      // (`requirements: [{$import: common-requirements.yml}, ...]`), not nested in it.
      const spliced = isObj(x) && typeof x.$import === 'string' && Array.isArray(resolved) ? resolved : [resolved];
      for (const y of spliced) {
        if (at) outItems.set(String(out.length), at);
        out.push(y);
      }
    }
    const pos = parsed.positions.get(v);
    if (pos) parsed.positions.set(out, pos);
    if (items) parsed.fields.set(out, outItems);
    return out;
  }
  const o = v as Raw;
  if (typeof o.$include === 'string') return include(o, o.$include, scope);
  if (typeof o.$import === 'string') return importDoc(o, o.$import, scope, depth);
  const out: Raw = {};
  for (const [k, x] of Object.entries(o)) out[k] = await resolve(x, scope, depth + 1);
  const pos = parsed.positions.get(o);
  if (pos) parsed.positions.set(out, pos);
  const fields = parsed.fields.get(o);
  if (fields) parsed.fields.set(out, fields);
  if ((o as { __base?: string }).__base) Object.defineProperty(out, '__base', { value: (o as { __base?: string }).__base });
  return out;
}

async function include(directive: Raw, ref: string, scope: Scope): Promise<string> {
  const uri = toUri(ref, scope.base);
  const at = where(scope, directive);
  if (uri.startsWith('file:') && !scope.session.limits.allowIncludeOutside) {
    const dir = outsideOf(uri, scope.parsed.file);
    if (dir) {
      throw new ValidationError(
        `$include of ${fileURLToPath(uri)} is outside ${dir}, the directory of the document that includes it; ` +
          'give --allow-outside-document to read files from anywhere',
        at,
      );
    }
  }
  let text: string;
  try {
    noteLocalFile(scope.session, uri);
    text = await readText(uri, 'included file', scope.session.limits.maxDocumentBytes);
  } catch (err) {
    // A file that cannot be read: say so at the directive (a file too big is named itself).
    if (err instanceof ValidationError && !err.location) throw new ValidationError(err.detail, at);
    throw err;
  }
  spend(scope, Buffer.byteLength(text), at);
  return text;
}

async function importDoc(directive: Raw, ref: string, scope: Scope, depth: number): Promise<unknown> {
  const { doc, fragment } = splitFragment(toUri(ref, scope.base));
  const at = where(scope, directive);
  if (scope.chain.includes(doc)) {
    const loop = [...scope.chain.slice(scope.chain.indexOf(doc)), doc].map(fileName);
    throw new ValidationError(`$import of ${fileName(doc)} makes a loop: ${loop.join(' imports ')}`, at);
  }
  let imported: Parsed;
  try {
    noteLocalFile(scope.session, doc);
    imported = await fetchParsed(doc, scope.role === 'job file' ? 'job file' : 'CWL document', scope.session.limits.maxDocumentBytes);
  } catch (err) {
    if (err instanceof ValidationError && !err.location) throw new ValidationError(err.detail, at);
    throw err;
  }
  spend(scope, imported.bytes, at);
  const data = await resolve(imported.data, { ...scope, base: doc, parsed: imported, chain: [...scope.chain, doc] }, depth);
  if (doc.startsWith('file:') && !scope.session.limits.allowIncludeOutside && !looksLikeCwl(data)) {
    const dir = outsideOf(doc, scope.parsed.file);
    if (dir) {
      throw new ValidationError(
        `$import of ${imported.file}, outside ${dir} (the directory of the document that imports it), is not CWL ` +
          '(a process, requirement or type, or a list of them); give --allow-outside-document to import it anyway',
        at,
      );
    }
  }
  if (fragment && Array.isArray(data)) {
    const hit = data.find((x) => isObj(x) && (x.name === fragment || x.id === fragment || String(x.name).endsWith(`#${fragment}`)));
    if (hit) return hit;
  }
  if (isObj(data) && !data.$base) Object.defineProperty(data, '__base', { value: doc, enumerable: false });
  return data;
}

function spend(scope: Scope, bytes: number, at: SourceLocation): void {
  const over = scope.session.spend(bytes);
  if (over) throw new ValidationError(over, at);
}

/** A CWL process, requirement or type (or a list of them), as `$import` brings in. */
function looksLikeCwl(data: unknown): boolean {
  if (Array.isArray(data)) return data.every((x) => isObj(x) && looksLikeCwl(x));
  return isObj(data) && ['class', 'cwlVersion', '$graph', 'type'].some((k) => k in data);
}

/** The including document's directory when `uri` (a file: URI) is not inside it (links resolved); else undefined. */
function outsideOf(uri: string, includingFile: string): string | undefined {
  const dir = real(path.dirname(includingFile));
  const target = real(fileURLToPath(uri));
  return target === dir || target.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep) ? undefined : dir;
}

/** The real path of `p`, or of its nearest existing parent with the rest appended (a missing file is reported when read). */
function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(real(parent), path.basename(p));
  }
}

/** A document URI as a short name in messages: its file name. */
export function fileName(uri: string): string {
  return uri.replace(/#.*$/, '').replace(/^.*\//, '');
}
