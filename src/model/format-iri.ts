/**
 * `format` values as CWL gives them: a prefixed name (`edam:format_2330`) expanded to the IRI
 * (`http://edamontology.org/format_2330`) with the `$namespaces` in force, as cwltool (schema-salad)
 * does for a document's formats and a job's File objects. A name with no known prefix, or an IRI
 * already, stays as it is.
 */
import type { CwlObject, CwlValue } from './types.js';

export function expandFormat(name: string, namespaces: Readonly<Record<string, string>>): string {
  const m = /^([A-Za-z_][A-Za-z0-9_.-]*):(.*)$/.exec(name);
  if (!m || name.includes('://')) return name;
  const ns = namespaces[m[1] as string];
  return typeof ns === 'string' ? ns + m[2] : name;
}

/**
 * The input object with the `format` of every File in it (secondary files, listings and records
 * included) expanded: by the job's own `$namespaces` when it has them, else the process's (as
 * cwltool's job loader does). Pure: the input object is copied where it changes.
 */
export function expandJobFormats(inputs: CwlObject, processNamespaces: Readonly<Record<string, string>>): CwlObject {
  const own = inputs.$namespaces;
  const ns = typeof own === 'object' && own !== null && !Array.isArray(own) ? (own as Record<string, string>) : processNamespaces;
  const walk = (v: CwlValue): CwlValue => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v;
    const out: CwlObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = walk(x);
    if (out.class === 'File' && typeof out.format === 'string') out.format = expandFormat(out.format, ns);
    return out;
  };
  return walk(inputs) as CwlObject;
}
