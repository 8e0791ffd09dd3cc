/** Resolving File/Directory `location`/`path` in input objects and defaults to absolute URIs. */
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { InputError } from '../errors.js';
import { JOB_REQUIREMENTS_KEY } from '../model/requirements.js';
import type { CwlObject, CwlValue } from '../model/types.js';

function baseUri(base: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(base)) return base;
  return pathToFileURL(path.resolve(base) + path.sep).href;
}

export function resolveLocations(v: unknown, base: string): CwlValue {
  const b = baseUri(base);
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x !== 'object' || x === null) return x;
    const o = { ...(x as Record<string, unknown>) };
    if (o.class === 'File' || o.class === 'Directory') {
      if (typeof o.location === 'string') {
        // A location is a URI reference: already encoded.
        o.location = /^[a-z][a-z0-9+.-]*:/i.test(o.location) ? o.location : new URL(o.location, b).href;
        delete o.path;
      } else if (typeof o.path === 'string') {
        // A path is a plain file name: encode it.
        const p = o.path;
        o.location = path.isAbsolute(p) ? pathToFileURL(p).href : new URL(p.split('/').map(encodeURIComponent).join('/'), b).href;
        delete o.path;
      }
      if (Array.isArray(o.secondaryFiles)) o.secondaryFiles = o.secondaryFiles.map(walk);
      if (Array.isArray(o.listing)) o.listing = o.listing.map(walk);
      return o;
    }
    for (const k of Object.keys(o)) o[k] = walk(o[k]);
    return o;
  };
  return walk(v) as CwlValue;
}

const JOB_REQUIREMENTS_URI = 'https://w3id.org/cwl/cwl#requirements';

/**
 * `cwl:requirements` of a job object in list form (`[{class: X, ...}]`), whether the job gave a
 * list or a map (`{X: {...}}`); undefined when there are none. The engine applies them over the
 * process's own requirements (engine/run-process.ts).
 */
export function normalizeJobRequirements(v: unknown): CwlObject[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    return v.map((r, i) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r) || typeof (r as CwlObject).class !== 'string') {
        throw new InputError(`cwl:requirements[${i}] in the job must be a requirement with a class`, 'cwl:requirements');
      }
      return r as CwlObject;
    });
  }
  if (typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>).map(([cls, body]) => ({ ...(typeof body === 'object' && body !== null ? (body as CwlObject) : {}), class: cls }));
  }
  throw new InputError('cwl:requirements in the job must be a list or a map of requirements', 'cwl:requirements');
}

/** The same for an in-memory input object; `baseDir` is a directory path or URI. */
export function resolveJobObject(obj: CwlObject, baseDir: string): CwlObject {
  const out = resolveLocations(obj, baseDir) as CwlObject;
  const given = out[JOB_REQUIREMENTS_URI] ?? out[JOB_REQUIREMENTS_KEY];
  delete out[JOB_REQUIREMENTS_URI];
  const reqs = normalizeJobRequirements(given);
  if (reqs) out[JOB_REQUIREMENTS_KEY] = reqs;
  return out;
}
