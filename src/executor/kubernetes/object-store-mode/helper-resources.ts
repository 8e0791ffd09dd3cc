/**
 * The resources of the containers object-store mode adds to a task pod (stage-in, upload), made
 * to pass the namespace's LimitRanges: a `Container` range's `min` raises a request and a limit
 * to it, its `max` lowers them, and a request never ends above its limit. Without this a
 * namespace whose LimitRange asks for at least 100m CPU refused every task pod, as one with a
 * `requests.cpu` quota did before the defaults asked for CPU at all. Pure: the executor lists the
 * LimitRanges once per run.
 */
import type { V1LimitRange } from '@kubernetes/client-node';
import { cpuToMilli } from '../admission.js';
import { quantityToMiB } from '../settings.js';

export interface HelperResources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

/** A comparable number for a quantity of `resource` (CPU in milli, the rest in MiB), or undefined when unparsable. */
function amount(resource: string, q: string): number | undefined {
  return resource === 'cpu' ? cpuToMilli(q) : quantityToMiB(q);
}

const larger = (resource: string, a: string | undefined, b: string): string => {
  if (a === undefined) return b;
  const x = amount(resource, a);
  const y = amount(resource, b);
  return x !== undefined && y !== undefined && y > x ? b : a;
};

const smaller = (resource: string, a: string | undefined, b: string): string | undefined => {
  if (a === undefined) return undefined;
  const x = amount(resource, a);
  const y = amount(resource, b);
  return x !== undefined && y !== undefined && y < x ? b : a;
};

/** `base` fitted to every `Container` limit of `ranges` (min first, then max); what changed is said in `notes`. */
export function fitToLimitRanges(base: HelperResources, ranges: readonly V1LimitRange[]): HelperResources & { notes: string[] } {
  const requests = { ...base.requests };
  const limits = { ...base.limits };
  const notes: string[] = [];
  for (const lr of ranges) {
    for (const item of lr.spec?.limits ?? []) {
      if (item.type !== 'Container') continue;
      const where = `LimitRange ${lr.metadata?.name ?? '?'}`;
      for (const [res, min] of Object.entries(item.min ?? {})) {
        const q = String(min);
        const r = larger(res, requests[res], q);
        if (r !== requests[res]) notes.push(`${res} request ${requests[res] ?? 'unset'} -> ${r} (${where} min)`);
        requests[res] = r;
        if (limits[res] !== undefined) limits[res] = larger(res, limits[res], q);
      }
      for (const [res, max] of Object.entries(item.max ?? {})) {
        const q = String(max);
        const l = limits[res] === undefined ? q : smaller(res, limits[res], q)!;
        if (l !== limits[res]) notes.push(`${res} limit ${limits[res] ?? 'unset'} -> ${l} (${where} max)`);
        limits[res] = l;
        if (requests[res] !== undefined) requests[res] = smaller(res, requests[res], q)!;
      }
    }
  }
  // A request above its limit is refused by the API server.
  for (const [res, l] of Object.entries(limits)) if (requests[res] !== undefined) requests[res] = smaller(res, requests[res], l)!;
  return { requests, limits, notes };
}
