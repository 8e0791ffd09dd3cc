/**
 * Inputs given as flags after the document, cwltool style: `--reads x.bam --threads 4 --verbose`.
 * Values are converted by the process's declared input types.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import type { CwlObject, CwlType, CwlValue, InputParameter, Process } from '../model/types.js';

/** Split the words after the document into an optional job file and the input flags. */
export function splitJobAndFlags(rest: string[]): { jobFile?: string; flags: string[] } {
  const first = rest[0];
  if (first !== undefined && !first.startsWith('--')) return { jobFile: first, flags: rest.slice(1) };
  return { flags: rest };
}

/** Alternatives of a type, without null. */
function alternatives(t: CwlType): CwlType[] {
  const list = Array.isArray(t) ? t : [t];
  return list.filter((x) => x !== 'null');
}

function convertScalar(raw: string, t: CwlType, name: string, basedir: string): CwlValue {
  const alts = alternatives(t);
  for (const alt of alts) {
    if (alt === 'File' || alt === 'Directory') {
      // s3:// and http(s):// are locations as they are (fetched by the run); anything else a path.
      if (/^(s3|https?):\/\//i.test(raw)) return { class: alt, location: raw };
      const at = path.resolve(basedir, raw);
      if (raw.includes('\ufffd') && !existsSync(at)) throw notUtf8Name(name, at);
      return { class: alt, location: pathToFileURL(at).href };
    }
    if (alt === 'int' || alt === 'long') {
      if (/^[-+]?\d+$/.test(raw)) return Number.parseInt(raw, 10);
      continue;
    }
    if (alt === 'float' || alt === 'double') {
      const n = Number(raw);
      if (raw.trim() !== '' && Number.isFinite(n)) return n;
      continue;
    }
    if (alt === 'boolean') {
      if (raw === 'true' || raw === 'false') return raw === 'true';
      continue;
    }
    if (alt === 'string' || alt === 'Any') return raw;
    if (typeof alt === 'object' && !Array.isArray(alt) && alt.type === 'enum') {
      if (alt.symbols.includes(raw)) return raw;
      continue;
    }
  }
  throw new UsageError(`--${name}: cannot use "${raw}" as ${describeType(t)}`);
}

/**
 * A file name on the command line that is not UTF-8: Node.js has already put U+FFFD for its bytes
 * (process.argv holds no other copy of them), so the name cannot be found. A job file can carry it.
 */
function notUtf8Name(name: string, at: string): UsageError {
  const shown = at.replace(/\ufffd/g, '?');
  return new UsageError(
    `--${name}: ${shown} is not found, and its name was not valid UTF-8 on the command line (the bytes shown as ? are lost before Strand sees them); ` +
      `give this input in a job file with the name's bytes percent-encoded, e.g. ${name}: {class: File, location: "file:///data/caf%E9.txt"} for the Latin-1 name café.txt`,
  );
}

function arrayItems(t: CwlType): CwlType | undefined {
  for (const alt of alternatives(t)) {
    if (typeof alt === 'object' && !Array.isArray(alt) && alt.type === 'array') return alt.items;
  }
  return undefined;
}

function isBoolean(t: CwlType): boolean {
  return alternatives(t).includes('boolean');
}

export function describeType(t: CwlType): string {
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const nonNull = t.filter((x) => x !== 'null');
    const s = nonNull.map(describeType).join(' | ');
    return nonNull.length < t.length ? `${s} (optional)` : s;
  }
  if (t.type === 'array') return `${describeType(t.items)}[]`;
  if (t.type === 'enum') return `enum {${t.symbols.join(', ')}}`;
  return t.name ? `record ${t.name.replace(/^.*[#/]/, '')}` : 'record';
}

/** Parse `--name value` flags into an input object. Unknown names are a usage error. */
export function parseInputFlags(flags: string[], process: Process, basedir: string): CwlObject {
  const byName = new Map<string, InputParameter>(process.inputs.map((p) => [p.id, p]));
  const out: CwlObject = {};
  for (let i = 0; i < flags.length; i++) {
    const word = flags[i] ?? '';
    if (!word.startsWith('--')) throw new UsageError(`unexpected argument "${word}": inputs are given as --name value`);
    let name = word.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    let negate = false;
    let param = byName.get(name);
    if (!param && name.startsWith('no-') && byName.has(name.slice(3))) {
      param = byName.get(name.slice(3));
      negate = true;
      name = name.slice(3);
    }
    if (!param) {
      const known = [...byName.keys()].map((k) => `--${k}`).join(', ') || '(none)';
      throw new UsageError(`unknown input --${name}; this process takes: ${known}`);
    }
    if (isBoolean(param.type) && value === undefined) {
      const next = flags[i + 1];
      if (next === 'true' || next === 'false') {
        value = next;
        i++;
      } else {
        out[name] = !negate;
        continue;
      }
    }
    if (value === undefined) {
      value = flags[i + 1];
      if (value === undefined) throw new UsageError(`--${name} needs a value (${describeType(param.type)})`);
      i++;
    }
    const items = arrayItems(param.type);
    if (items !== undefined) {
      const prev = out[name];
      const list = Array.isArray(prev) ? prev : [];
      list.push(convertScalar(value, items, name, basedir));
      out[name] = list;
    } else {
      out[name] = convertScalar(value, param.type, name, basedir);
    }
  }
  return out;
}

/** `strand run tool.cwl --help`: what the process takes. */
export function describeInputs(process: Process): string {
  const lines = [`inputs of ${process.label ?? process.id}:`];
  for (const p of process.inputs) {
    const dflt = p.default !== undefined ? ` (default: ${JSON.stringify(p.default)})` : '';
    lines.push(`  --${p.id} <${describeType(p.type)}>${dflt}`);
    if (p.doc ?? p.label) lines.push(`      ${(p.doc ?? p.label ?? '').replace(/\s+/g, ' ').trim()}`);
  }
  if (process.inputs.length === 0) lines.push('  (none)');
  return lines.join('\n');
}

export { missingRequiredInputs } from '../model/required-inputs.js';

/** cwltool's "the following arguments are required", with the two ways to give them. */
export function missingInputsError(missing: InputParameter[], document: string): UsageError {
  const names = missing.map((p) => `--${p.id} (${describeType(p.type)})`).join(', ');
  const first = missing[0]?.id ?? 'name';
  return new UsageError(
    `missing required input${missing.length > 1 ? 's' : ''}: ${names}\n` +
      `  give ${missing.length > 1 ? 'them' : 'it'} in a job file (${first}: ...) or as flags after the document (--${first} <value>); ` +
      `\`strand run ${document} --help\` lists the inputs`,
  );
}
