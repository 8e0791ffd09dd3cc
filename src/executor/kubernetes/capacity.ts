/**
 * What the cluster's nodes can hold, when Strand may read them (nodes are cluster-scoped: a
 * namespaced Role cannot grant it; without it Strand only knows the quota). Pure.
 *
 * Two different answers for a pod that waits: it could fit once other pods finish (some node's
 * allocatable holds its requests: wait, however long), or no node could ever hold it (fail at
 * once and say what the largest node has). And the sum over the nodes a task may use bounds how
 * many tasks are worth submitting at once: more would only wait as Pending pods.
 */
import type { V1Node } from '@kubernetes/client-node';
import { cpuToMilli, type Capacity, type Demand } from './admission.js';
import { quantityToMiB, type KubernetesSettings } from './settings.js';

export interface NodeRoom {
  name: string;
  cpuMilli: number;
  memMiB: number;
  pods: number;
}

function ready(n: V1Node): boolean {
  return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && n.spec?.unschedulable !== true;
}

/** The node takes task pods: its labels match the nodeSelector and every NoSchedule/NoExecute taint is tolerated. */
function eligible(n: V1Node, settings: Pick<KubernetesSettings, 'nodeSelector' | 'tolerations'>): boolean {
  const labels = n.metadata?.labels ?? {};
  if (Object.entries(settings.nodeSelector).some(([k, v]) => labels[k] !== v)) return false;
  return (n.spec?.taints ?? [])
    .filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')
    .every((t) =>
      settings.tolerations.some(
        (tol) =>
          (tol.effect === undefined || tol.effect === t.effect) &&
          (tol.operator === 'Exists' ? tol.key === undefined || tol.key === t.key : tol.key === t.key && (tol.value ?? '') === (t.value ?? '')),
      ),
    );
}

/** Allocatable room of each Ready node that may run task pods. */
export function nodeRooms(nodes: readonly V1Node[], settings: Pick<KubernetesSettings, 'nodeSelector' | 'tolerations'>): NodeRoom[] {
  return nodes
    .filter((n) => ready(n) && eligible(n, settings))
    .map((n) => {
      const a = n.status?.allocatable ?? {};
      return {
        name: n.metadata?.name ?? '?',
        cpuMilli: cpuToMilli(String(a['cpu'] ?? '0')) ?? 0,
        memMiB: quantityToMiB(String(a['memory'] ?? '0')) ?? 0,
        pods: Number(a['pods'] ?? 110),
      };
    });
}

/** The most the nodes can run at once (sum of allocatable). */
export function capacityOfNodes(rooms: readonly NodeRoom[]): Capacity {
  const names = rooms.map((r) => r.name);
  return {
    cpuMilli: rooms.reduce((a, r) => a + r.cpuMilli, 0),
    memMiB: rooms.reduce((a, r) => a + r.memMiB, 0),
    pods: rooms.reduce((a, r) => a + r.pods, 0),
    source: `the allocatable of node${names.length === 1 ? '' : 's'} ${names.join(', ')}`,
  };
}

const fmtMem = (mib: number) => (mib >= 1024 ? `${(mib / 1024).toFixed(1)}Gi` : `${Math.floor(mib)}Mi`);

/** Why no node could ever hold a pod with these requests, or undefined when one could. */
export function neverFitsNodes(d: Demand, rooms: readonly NodeRoom[]): string | undefined {
  if (rooms.some((r) => d.cpuMilli <= r.cpuMilli && d.memMiB <= r.memMiB)) return undefined;
  const asked = `it requests ${d.cpuMilli / 1000} CPU and ${fmtMem(d.memMiB)} memory`;
  if (rooms.length === 0) return `${asked}, and no Ready node takes its pods (nodeSelector, taints)`;
  const biggest = [...rooms].sort((a, b) => b.cpuMilli - a.cpuMilli || b.memMiB - a.memMiB)[0]!;
  return `no node could ever hold it: ${asked}; the largest node (${biggest.name}) has ${biggest.cpuMilli / 1000} CPU and ${fmtMem(biggest.memMiB)} allocatable`;
}

const lower = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** The tighter of two capacities, field by field. */
export function tighter(a: Capacity, b: Capacity): Capacity {
  const c: Capacity = {};
  const set = <K extends keyof Capacity>(k: K, v: Capacity[K] | undefined) => {
    if (v !== undefined) c[k] = v;
  };
  set('cpuMilli', lower(a.cpuMilli, b.cpuMilli));
  set('memMiB', lower(a.memMiB, b.memMiB));
  set('limitsCpuMilli', lower(a.limitsCpuMilli, b.limitsCpuMilli));
  set('limitsMemMiB', lower(a.limitsMemMiB, b.limitsMemMiB));
  set('pods', lower(a.pods, b.pods));
  set('jobs', lower(a.jobs, b.jobs));
  const src = [a.source, b.source].filter(Boolean).join(' and ');
  if (src) c.source = src;
  return c;
}

/** A scheduler message that only says the nodes are full right now (room comes back when pods finish). */
export function onlyWaitingForRoom(message: string): boolean {
  const reasons = message.replace(/^0\/\d+ nodes are available:\s*/, '').split(/,\s*/).map((r) => r.replace(/^\d+\s+/, '').replace(/\.$/, '').trim());
  return reasons.length > 0 && reasons.every((r) => /^Insufficient \S+$/.test(r) || /^Too many pods$/.test(r));
}
