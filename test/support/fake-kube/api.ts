/**
 * The API server's storage layer: create/get/list/update/patch/delete with admission
 * (namespace lifecycle, LimitRanger, ResourceQuota), server-set metadata, optimistic concurrency,
 * finalizers, graceful pod deletion and deletion propagation. Used by the HTTP router and,
 * without HTTP, by the simulated controllers (as the real ones use the API).
 */
import { randomBytes } from 'node:crypto';
import { type ResourceInfo, qualifiedName, resourceByPlural } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { StatusError, alreadyExists, badRequest, conflict, forbidden, goneStatus, invalid, notFound } from './status.js';
import { applyLimitRanges, quotaRefusal, refreshQuotaStatus } from './quota.js';
import type { Store } from './store.js';
import { type KubeObject, type Pod, clone, nowIso } from './types.js';
import { defaultAndValidateCreate, validateUpdate } from './validate.js';

const ALNUM = 'bcdfghjklmnpqrstvwxz2456789';
export function randomSuffix(n = 5): string {
  const b = randomBytes(n);
  return [...b].map((x) => ALNUM[x % ALNUM.length]).join('');
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface DeleteResult {
  /** 200 when gone, 202 when deletion is pending (finalizers, graceful termination). */
  code: number;
  body: KubeObject;
  warnings: string[];
}

/** Resources whose DELETE answers with the deleted object rather than a success Status. */
const RETURNS_DELETED = new Set(['pods', 'namespaces', 'events', 'configmaps', 'secrets', 'persistentvolumeclaims', 'resourcequotas', 'limitranges', 'serviceaccounts']);

export class Api {
  constructor(readonly store: Store) {
    store.onChange((ev) => {
      if (ev.plural === 'pods' || ev.plural === 'jobs' || ev.plural === 'persistentvolumeclaims' || ev.plural === 'resourcequotas')
        this.scheduleQuotaRefresh(ev.namespace);
    });
  }

  private pendingQuota = new Set<string>();
  private scheduleQuotaRefresh(ns: string): void {
    if (this.pendingQuota.has(ns)) return;
    this.pendingQuota.add(ns);
    setImmediate(() => {
      this.pendingQuota.delete(ns);
      for (const q of refreshQuotaStatus(this.store, ns)) this.store.update('resourcequotas', q);
    });
  }

  private checkNamespace(r: ResourceInfo, ns: string, creating: boolean, name: string): void {
    if (!r.namespaced) return;
    const nsObj = this.store.get('namespaces', '', ns);
    if (!nsObj) throw notFound(resourceByPlural('namespaces'), ns);
    if (creating && (nsObj['status'] as { phase?: string } | undefined)?.phase === 'Terminating')
      throw forbidden(r, name, `unable to create new content in namespace ${ns} because it is being terminated`);
  }

  get(r: ResourceInfo, ns: string, name: string): KubeObject {
    const o = this.store.get(r.plural, r.namespaced ? ns : '', name);
    if (!o) throw notFound(r, name);
    return o;
  }

  create(r: ResourceInfo, ns: string, body: unknown, opts: { dryRun?: boolean } = {}): KubeObject {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the object provided is unrecognized');
    const o = clone(body) as KubeObject;
    o.metadata ??= {};
    if (o.kind !== undefined && o.kind !== r.kind) throw badRequest(`the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${r.group ? r.group + '/' : ''}${r.version})`);
    o.apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
    o.kind = r.kind;
    if (r.namespaced) {
      if (o.metadata.namespace !== undefined && o.metadata.namespace !== '' && o.metadata.namespace !== ns)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      o.metadata.namespace = ns;
    } else delete o.metadata.namespace;
    for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink'])
      delete o.metadata[f];
    if (!o.metadata.name && o.metadata.generateName) {
      const base = o.metadata.generateName.slice(0, 58);
      for (let i = 0; i < 10; i++) {
        const cand = base + randomSuffix();
        if (!this.store.get(r.plural, ns, cand)) {
          o.metadata.name = cand;
          break;
        }
      }
    }
    const name = o.metadata.name ?? '';
    if (name) this.checkNamespace(r, ns, true, name);
    defaultAndValidateCreate(r, o);
    if (this.store.get(r.plural, r.namespaced ? ns : '', name)) throw alreadyExists(r, name);
    if (r.plural === 'pods') {
      const errs = applyLimitRanges(this.store, o as Pod);
      if (errs.length > 0) throw forbidden(r, name, errs.length === 1 ? errs[0]! : `[${errs.join(', ')}]`);
    }
    if (r.namespaced) {
      const refusal = quotaRefusal(this.store, r.plural, o);
      if (refusal) throw forbidden(r, name, refusal);
    }
    for (const ref of o.metadata.ownerReferences ?? [])
      if (!ref.uid || !ref.name || !ref.kind || !ref.apiVersion)
        throw invalid(r, name, [{ field: 'metadata.ownerReferences.uid', reason: 'FieldValueInvalid', message: 'Invalid value: "": uid must not be empty' }]);
    if (opts.dryRun) return o;
    return this.store.create(r.plural, o);
  }

  list(r: ResourceInfo, ns: string | undefined, opts: ListOptions): KubeObject {
    const ls = parseLabelSelector(opts.labelSelector);
    const fs = parseFieldSelector(opts.fieldSelector, r.plural);
    let items = this.store.list(r.plural, r.namespaced ? ns : undefined).filter((o) => ls(o) && fs(o));
    const rv = this.store.currentRv;
    const meta: Record<string, unknown> = { resourceVersion: String(rv) };
    if (opts.continue) {
      let tok: { rv: number; start: string };
      try {
        tok = JSON.parse(Buffer.from(opts.continue, 'base64').toString('utf8')) as { rv: number; start: string };
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data');
      }
      if (tok.rv < this.store.oldestRv)
        throw goneStatus('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      items = items.filter((o) => keyOf(o) > tok.start);
      meta['resourceVersion'] = String(tok.rv);
    }
    if (opts.limit && opts.limit > 0 && items.length > opts.limit) {
      const rest = items.length - opts.limit;
      items = items.slice(0, opts.limit);
      meta['continue'] = Buffer.from(JSON.stringify({ rv: Number(meta['resourceVersion']), start: keyOf(items[items.length - 1]!) })).toString('base64');
      meta['remainingItemCount'] = rest;
    }
    return { apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: `${r.kind}List`, metadata: meta, items } as KubeObject;
  }

  /** PUT: full replacement with optimistic concurrency. `sub` is 'status' for the status subresource. */
  replace(r: ResourceInfo, ns: string, name: string, body: unknown, sub?: string): KubeObject {
    const old = this.get(r, ns, name);
    if (typeof body !== 'object' || body === null) throw badRequest('the object provided is unrecognized');
    const next = clone(body) as KubeObject;
    next.metadata ??= {};
    if (next.metadata.name !== undefined && next.metadata.name !== name) throw badRequest('the name of the object (' + next.metadata.name + ') does not match the name on the URL (' + name + ')');
    const rv = next.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw conflict(r, name);
    if (rv === undefined || rv === '') {
      if (r.plural === 'pods' || r.plural === 'jobs')
        throw invalid(r, name, [{ field: 'metadata.resourceVersion', reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update' }]);
    }
    return this.writeUpdate(r, old, next, sub);
  }

  patch(r: ResourceInfo, ns: string, name: string, apply: (cur: KubeObject) => KubeObject, sub?: string): KubeObject {
    const old = this.get(r, ns, name);
    const next = apply(clone(old));
    const rv = next.metadata?.resourceVersion;
    if (rv !== undefined && rv !== old.metadata.resourceVersion) throw conflict(r, name);
    return this.writeUpdate(r, old, next, sub);
  }

  /** Internal update by a controller (no concurrency check, status included). */
  updateInternal(plural: string, o: KubeObject): KubeObject {
    const r = resourceByPlural(plural);
    const res = this.store.update(plural, o);
    return this.maybeFinalize(r, res);
  }

  private writeUpdate(r: ResourceInfo, old: KubeObject, next: KubeObject, sub?: string): KubeObject {
    const out = clone(old);
    if (sub === 'status') {
      out['status'] = next['status'];
    } else {
      next.apiVersion = old.apiVersion;
      next.kind = old.kind;
      validateUpdate(r, old, next);
      for (const [k, v] of Object.entries(next)) if (k !== 'metadata' && k !== 'status') out[k] = v;
      for (const k of Object.keys(out)) if (!(k in next) && k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') delete out[k];
      const m = next.metadata;
      out.metadata.labels = m.labels;
      out.metadata.annotations = m.annotations;
      out.metadata.ownerReferences = m.ownerReferences;
      out.metadata.finalizers = m.finalizers;
      if (out.metadata.deletionTimestamp && (m.finalizers ?? []).some((f) => !(old.metadata.finalizers ?? []).includes(f)))
        throw forbidden(r, old.metadata.name, 'no new finalizers can be added if the object is being deleted');
      for (const k of ['labels', 'annotations', 'ownerReferences', 'finalizers'] as const) if (out.metadata[k] === undefined) delete out.metadata[k];
      if (r.plural === 'secrets' && next['stringData']) {
        const data = (out['data'] ?? {}) as Record<string, string>;
        for (const [k, v] of Object.entries(next['stringData'] as Record<string, string>)) data[k] = Buffer.from(v).toString('base64');
        out['data'] = data;
        delete out['stringData'];
      }
    }
    const stored = this.store.update(r.plural, out);
    return this.maybeFinalize(r, stored);
  }

  /** Removes an object whose deletion was waiting only on finalizers that are now gone. */
  private maybeFinalize(r: ResourceInfo, o: KubeObject): KubeObject {
    if (!o.metadata.deletionTimestamp || (o.metadata.finalizers ?? []).length > 0) return o;
    if (r.plural === 'pods' && (o as Pod).spec.nodeName && !isTerminal(o as Pod) && (o.metadata.deletionGracePeriodSeconds ?? 0) > 0) return o;
    if (r.plural === 'namespaces') return o;
    return this.store.remove(r.plural, o.metadata.namespace ?? '', o.metadata.name!) ?? o;
  }

  delete(r: ResourceInfo, ns: string, name: string, opts: DeleteOptions = {}): DeleteResult {
    const o = this.get(r, ns, name);
    const warnings: string[] = [];
    if (opts.preconditions?.uid && opts.preconditions.uid !== o.metadata.uid)
      throw new StatusError({ ...conflict(r, name).status, message: `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${o.metadata.uid}` });
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== o.metadata.resourceVersion)
      throw new StatusError({ ...conflict(r, name).status, message: `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${o.metadata.resourceVersion}` });
    let policy = opts.propagationPolicy;
    if (policy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(policy))
      throw invalid(r, name, [{ field: 'propagationPolicy', reason: 'FieldValueNotSupported', message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"` }]);
    if (policy === undefined && r.plural === 'jobs') {
      // batch/v1 Jobs orphan their pods unless told otherwise (kept for backwards compatibility).
      policy = 'Orphan';
      warnings.push('child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning');
    }
    policy ??= 'Background';
    if (o.metadata.deletionTimestamp) {
      return { code: 202, body: o, warnings };
    }
    if (r.plural === 'namespaces') {
      if (name === 'default' || name.startsWith('kube-')) throw forbidden(r, name, `this namespace may not be deleted`);
      o.metadata.deletionTimestamp = nowIso();
      o['status'] = { phase: 'Terminating' };
      return { code: 200, body: this.store.update('namespaces', o), warnings };
    }
    if (policy === 'Orphan') {
      for (const d of this.store.dependentsOf(o.metadata.uid!)) {
        d.obj.metadata.ownerReferences = d.obj.metadata.ownerReferences!.filter((ref) => ref.uid !== o.metadata.uid);
        if (d.obj.metadata.ownerReferences.length === 0) delete d.obj.metadata.ownerReferences;
        this.store.update(d.plural, d.obj);
      }
    }
    if (policy === 'Foreground' && this.store.dependentsOf(o.metadata.uid!).length > 0) {
      o.metadata.finalizers = [...(o.metadata.finalizers ?? []), 'foregroundDeletion'];
    }
    if (r.plural === 'pods') {
      const pod = o as Pod;
      const grace = opts.gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      // A pod on a node is stopped by its kubelet, which removes it once the containers are dead.
      if (pod.spec.nodeName && !isTerminal(pod) && grace > 0) {
        o.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        o.metadata.deletionGracePeriodSeconds = grace;
        return { code: 200, body: this.store.update('pods', o), warnings };
      }
    }
    if ((o.metadata.finalizers ?? []).length > 0) {
      o.metadata.deletionTimestamp = nowIso();
      o.metadata.deletionGracePeriodSeconds = 0;
      return { code: 202, body: this.store.update(r.plural, o), warnings };
    }
    const gone = this.store.remove(r.plural, r.namespaced ? ns : '', name)!;
    if (RETURNS_DELETED.has(r.plural)) return { code: 200, body: gone, warnings };
    const details: Record<string, unknown> = { name, kind: r.plural, uid: gone.metadata.uid };
    if (r.group) details['group'] = r.group;
    return { code: 200, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details } as unknown as KubeObject, warnings };
  }

  /** Finishes a pod the kubelet has stopped (or one on a node that no longer exists). */
  removePod(ns: string, name: string): void {
    const o = this.store.get('pods', ns, name);
    if (!o) return;
    if ((o.metadata.finalizers ?? []).length > 0) return;
    this.store.remove('pods', ns, name);
  }

  deleteCollection(r: ResourceInfo, ns: string, opts: ListOptions & DeleteOptions): KubeObject {
    const list = this.list(r, ns, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    const items = (list['items'] as KubeObject[]).map((o) => {
      const res = this.delete(r, ns, o.metadata.name!, opts);
      return res.body.kind === 'Status' ? o : res.body;
    });
    return { ...list, items };
  }

  /** Creates an object as a controller would (admission applies, no RBAC, no injected faults). */
  createInternal(plural: string, ns: string, body: KubeObject): KubeObject {
    return this.create(resourceByPlural(plural), ns, body);
  }

  describe(r: ResourceInfo): string {
    return qualifiedName(r);
  }
}

export const isTerminal = (p: Pod): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
