/** PATCH bodies: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386) and strategic merge patch. */
import { badRequest, StatusError, unsupportedMediaType } from './status.js';

type J = unknown;
const isObj = (v: J): v is Record<string, J> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: J, patch: J): J {
  if (!isObj(patch)) return structuredClone(patch);
  const out: Record<string, J> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** List fields merged element-by-element by a key field, as the Kubernetes types declare. */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  ownerReferences: 'uid',
  conditions: 'type',
  ports: 'containerPort',
  imagePullSecrets: 'name',
};

export function strategicMerge(target: J, patch: J, field = ''): J {
  if (Array.isArray(patch)) {
    const mk = MERGE_KEYS[field];
    if (!mk || !Array.isArray(target)) return structuredClone(patch.filter((p) => !(isObj(p) && p['$patch'] !== undefined)));
    const out = [...target];
    for (const p of patch) {
      if (!isObj(p)) continue;
      const i = out.findIndex((t) => isObj(t) && t[mk] === p[mk]);
      if (p['$patch'] === 'delete') {
        if (i >= 0) out.splice(i, 1);
      } else if (i >= 0) out[i] = strategicMerge(out[i], p);
      else out.push(strategicMerge(undefined, p));
    }
    return out;
  }
  if (!isObj(patch)) return structuredClone(patch);
  if (patch['$patch'] === 'replace') {
    const rest = { ...patch };
    delete rest['$patch'];
    return structuredClone(rest);
  }
  const out: Record<string, J> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = strategicMerge(out[k], v, k);
  }
  return out;
}

function unescape(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`the server rejected our request due to an error in our request: invalid JSON pointer ${path}`);
  return path.slice(1).split('/').map(unescape);
}

function resolveParent(doc: J, segs: string[], op: string, path: string): { parent: J; last: string } {
  let cur = doc;
  for (const s of segs.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isObj(cur)) cur = cur[s];
    else cur = undefined;
    if (cur === undefined) throw new StatusError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `the server rejected our request due to an error in our request`, reason: 'Invalid', code: 422, details: { causes: [{ reason: 'FieldValueInvalid', message: `${op} operation does not apply: doc is missing path: "${path}": missing value`, field: '' }] } });
  }
  return { parent: cur, last: segs[segs.length - 1]! };
}

function missing(op: string, path: string): StatusError {
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `the server rejected our request due to an error in our request`,
    reason: 'Invalid',
    code: 422,
    details: { causes: [{ reason: 'FieldValueInvalid', message: `${op} operation does not apply: doc is missing path: "${path}": missing value`, field: '' }] },
  });
}

function getAt(doc: J, path: string): J {
  let cur = doc;
  for (const s of parsePointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isObj(cur)) cur = cur[s];
    else return undefined;
  }
  return cur;
}

function removeAt(doc: J, path: string, op: string): J {
  const segs = parsePointer(path);
  const { parent, last } = resolveParent(doc, segs, op, path);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!(i >= 0 && i < parent.length)) throw missing(op, path);
    return parent.splice(i, 1)[0];
  }
  if (!isObj(parent) || !(last in parent)) throw missing(op, path);
  const v = parent[last];
  delete parent[last];
  return v;
}

function addAt(doc: J, path: string, value: J, op: string, replace: boolean): J {
  const segs = parsePointer(path);
  if (segs.length === 0) return structuredClone(value);
  const { parent, last } = resolveParent(doc, segs, op, path);
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!(i >= 0 && i <= parent.length - (replace ? 1 : 0))) throw missing(op, path);
    if (replace) parent[i] = structuredClone(value);
    else parent.splice(i, 0, structuredClone(value));
  } else if (isObj(parent)) {
    if (replace && !(last in parent)) throw missing(op, path);
    parent[last] = structuredClone(value);
  } else throw missing(op, path);
  return doc;
}

export function jsonPatch(target: J, ops: J): J {
  if (!Array.isArray(ops)) throw badRequest('the server rejected our request due to an error in our request: json patch must be an array of operations');
  let doc = structuredClone(target);
  for (const raw of ops) {
    if (!isObj(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string')
      throw badRequest('the server rejected our request due to an error in our request: invalid json patch operation');
    const { op, path } = raw as { op: string; path: string };
    switch (op) {
      case 'add':
        doc = addAt(doc, path, raw['value'], op, false);
        break;
      case 'replace':
        doc = addAt(doc, path, raw['value'], op, true);
        break;
      case 'remove':
        removeAt(doc, path, op);
        break;
      case 'move': {
        const v = removeAt(doc, String(raw['from']), op);
        doc = addAt(doc, path, v, op, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, path, getAt(doc, String(raw['from'])), op, false);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(raw['value']))
          throw new StatusError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `the server rejected our request due to an error in our request: testing value ${path} failed: test failed`, reason: 'Invalid', code: 422 });
        break;
      default:
        throw badRequest(`the server rejected our request due to an error in our request: Unexpected kind: ${op}`);
    }
  }
  return doc;
}

/** Applies a PATCH body according to its Content-Type. */
export function applyPatch(contentType: string, target: J, patch: J): J {
  const ct = contentType.split(';')[0]!.trim();
  switch (ct) {
    case 'application/json-patch+json':
      return jsonPatch(target, patch);
    case 'application/merge-patch+json':
      return mergePatch(target, patch);
    case 'application/strategic-merge-patch+json':
      return strategicMerge(target, patch);
    default:
      throw unsupportedMediaType(ct);
  }
}
