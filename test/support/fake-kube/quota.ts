/** ResourceQuota and LimitRange admission, as the real admission plugins do it. */
import { isByteResource, formatQuantity, parseQuantity } from './quantity.js';
import type { Store } from './store.js';
import type { Container, KubeObject, Pod } from './types.js';

export type Usage = Record<string, number>;

const TERMINAL = new Set(['Succeeded', 'Failed']);

function containerSum(pod: Pod, kind: 'requests' | 'limits', res: string): number {
  return pod.spec.containers.reduce((a, c) => a + parseQuantity(c.resources?.[kind]?.[res] ?? 0), 0);
}

/** What one object counts for, in quota resource names. */
export function usageOf(plural: string, o: KubeObject): Usage {
  const u: Usage = { [`count/${plural === 'jobs' ? 'jobs.batch' : plural}`]: 1 };
  if (plural === 'pods') {
    const pod = o as Pod;
    if (TERMINAL.has(pod.status?.phase ?? '')) return {};
    u['pods'] = 1;
    for (const res of ['cpu', 'memory', 'ephemeral-storage']) {
      const rq = containerSum(pod, 'requests', res);
      const lim = containerSum(pod, 'limits', res);
      u[`requests.${res}`] = rq;
      u[res] = rq;
      u[`limits.${res}`] = lim;
    }
  }
  if (plural === 'persistentvolumeclaims') {
    u['persistentvolumeclaims'] = 1;
    const st = (o['spec'] as { resources?: { requests?: { storage?: string } } } | undefined)?.resources?.requests?.storage;
    u['requests.storage'] = parseQuantity(st ?? 0);
  }
  if (plural === 'configmaps') u['configmaps'] = 1;
  if (plural === 'secrets') u['secrets'] = 1;
  return u;
}

export function namespaceUsage(store: Store, ns: string, keys: string[]): Usage {
  const total: Usage = Object.fromEntries(keys.map((k) => [k, 0]));
  for (const plural of ['pods', 'jobs', 'persistentvolumeclaims', 'configmaps', 'secrets']) {
    for (const o of store.list(plural, ns)) {
      const u = usageOf(plural, o);
      for (const k of keys) total[k] = (total[k] ?? 0) + (u[k] ?? 0);
    }
  }
  return total;
}

const fmt = (k: string, v: number): string => formatQuantity(v, isByteResource(k));
const pretty = (u: Usage, keys: string[]): string => keys.map((k) => `${k}=${fmt(k, u[k] ?? 0)}`).join(',');

interface Quota extends KubeObject {
  spec?: { hard?: Record<string, string> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

/**
 * Returns the reason (without the `pods "x" is forbidden: ` prefix) the object may not be created
 * under the namespace's quotas, or undefined when it fits.
 */
export function quotaRefusal(store: Store, plural: string, o: KubeObject): string | undefined {
  const ns = o.metadata.namespace!;
  const delta = usageOf(plural, o);
  for (const q of store.list('resourcequotas', ns) as Quota[]) {
    const hard = q.spec?.hard ?? {};
    const keys = Object.keys(hard).sort();
    const relevant = keys.filter((k) => delta[k] !== undefined);
    if (relevant.length === 0) continue;
    if (plural === 'pods') {
      const pod = o as Pod;
      const missing = relevant.filter((k) => {
        const m = /^(requests|limits)\.(cpu|memory)$/.exec(k) ?? /^()(cpu|memory)$/.exec(k);
        if (!m) return false;
        const kind = m[1] === 'limits' ? 'limits' : 'requests';
        // As the quota evaluator: init containers must say it too.
        return [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].some((c: Container) => c.resources?.[kind]?.[m[2]!] === undefined);
      });
      if (missing.length > 0) return `failed quota: ${q.metadata.name}: must specify ${missing.join(',')}`;
    }
    const used = namespaceUsage(store, ns, relevant);
    const exceeded = relevant.filter((k) => (used[k] ?? 0) + (delta[k] ?? 0) > parseQuantity(hard[k]!) + 1e-9);
    if (exceeded.length > 0) {
      const limited: Usage = Object.fromEntries(exceeded.map((k) => [k, parseQuantity(hard[k]!)]));
      return `exceeded quota: ${q.metadata.name}, requested: ${pretty(delta, exceeded)}, used: ${pretty(used, exceeded)}, limited: ${pretty(limited, exceeded)}`;
    }
  }
  return undefined;
}

/** Brings every quota's status.used up to date; returns the quotas that changed. */
export function refreshQuotaStatus(store: Store, ns: string): Quota[] {
  const changed: Quota[] = [];
  for (const q of store.list('resourcequotas', ns) as Quota[]) {
    const hard = q.spec?.hard ?? {};
    const keys = Object.keys(hard);
    const used = namespaceUsage(store, ns, keys);
    const status = { hard: { ...hard }, used: Object.fromEntries(keys.map((k) => [k, fmt(k, used[k] ?? 0)])) };
    if (JSON.stringify(q.status) !== JSON.stringify(status)) {
      q.status = status;
      changed.push(q);
    }
  }
  return changed;
}

interface LimitRangeItem {
  type: string;
  default?: Record<string, string>;
  defaultRequest?: Record<string, string>;
  max?: Record<string, string>;
  min?: Record<string, string>;
}

/**
 * A Container item as the API server stores it (SetDefaults_LimitRangeItem): a missing default
 * limit is the max, a missing default request is the default limit, else the min.
 */
function withDefaults(item: LimitRangeItem): LimitRangeItem {
  const def = { ...(item.max ?? {}), ...(item.default ?? {}) };
  const defReq = { ...(item.min ?? {}), ...def, ...(item.defaultRequest ?? {}) };
  return { ...item, default: def, defaultRequest: defReq };
}

/** LimitRanger: fills container defaults and returns the violations (empty when allowed). */
export function applyLimitRanges(store: Store, pod: Pod): string[] {
  const errs: string[] = [];
  for (const lr of store.list('limitranges', pod.metadata.namespace)) {
    const items = ((lr['spec'] as { limits?: LimitRangeItem[] } | undefined)?.limits ?? []).filter((i) => i.type === 'Container').map(withDefaults);
    for (const item of items) {
      // LimitRanger fills and checks init containers too.
      for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
        c.resources ??= {};
        for (const [k, v] of Object.entries(item.default ?? {})) {
          c.resources.limits ??= {};
          c.resources.limits[k] ??= v;
        }
        for (const [k, v] of Object.entries({ ...(item.default ?? {}), ...(item.defaultRequest ?? {}) })) {
          c.resources.requests ??= {};
          c.resources.requests[k] ??= v;
        }
        for (const [k, v] of Object.entries(item.max ?? {})) {
          const lim = c.resources.limits?.[k];
          if (lim === undefined) errs.push(`maximum ${k} usage per Container is ${v}.  No limit is specified`);
          else if (parseQuantity(lim) > parseQuantity(v)) errs.push(`maximum ${k} usage per Container is ${v}, but limit is ${String(lim)}`);
        }
        for (const [k, v] of Object.entries(item.min ?? {})) {
          const rq = c.resources.requests?.[k];
          if (rq === undefined) errs.push(`minimum ${k} usage per Container is ${v}.  No request is specified`);
          else if (parseQuantity(rq) < parseQuantity(v)) errs.push(`minimum ${k} usage per Container is ${v}, but request is ${String(rq)}`);
        }
      }
    }
  }
  return errs;
}
