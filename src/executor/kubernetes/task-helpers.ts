/**
 * Small pure helpers of the Kubernetes executor: what a task's pod asks of the quotas, which Job
 * a pod belongs to, the last lines of a log, and waiting.
 */
import type { V1Container, V1Job, V1Pod } from '@kubernetes/client-node';
import type { TaskSpec } from '../executor.js';
import { cpuToMilli, type Demand } from './admission.js';
import { quantityToMiB } from './settings.js';

/**
 * What a task's pod asks of a node and of the namespace's quota, as the scheduler counts it: the
 * sum over its containers (the tool's, and in object-store mode Strand's upload container beside
 * it), or the largest init container (stage-in) when that is more. The tool's own request is
 * `spec.resources` with `memoryMiB` (OOM retries double it).
 */
export function demandOf(job: V1Job, spec: TaskSpec, memoryMiB: number): Demand {
  const pod = job.spec?.template.spec;
  const [tool, ...others] = pod?.containers ?? [];
  const num = (q: unknown, parse: (s: string) => number | undefined) => (q === undefined ? undefined : parse(String(q)));
  const cpuOf = (c: V1Container, k: 'requests' | 'limits') => num(c.resources?.[k]?.['cpu'], cpuToMilli);
  const memOf = (c: V1Container, k: 'requests' | 'limits') => num(c.resources?.[k]?.['memory'], quantityToMiB);
  const sum = (xs: Array<number | undefined>) => xs.reduce<number>((n, x) => n + (x ?? 0), 0);
  const maxInit = (f: (c: V1Container) => number | undefined) => Math.max(0, ...(pod?.initContainers ?? []).map((c) => f(c) ?? 0));
  const cpuMilli = Math.ceil(spec.resources.cores * 1000) + sum(others.map((c) => cpuOf(c, 'requests')));
  // The tool's own request when it has one (it holds a memory-backed scratch too), else what it was given.
  const memMiB = ((tool ? memOf(tool, 'requests') : undefined) ?? memoryMiB) + sum(others.map((c) => memOf(c, 'requests')));
  const d: Demand = {
    cpuMilli: Math.max(cpuMilli, maxInit((c) => cpuOf(c, 'requests'))),
    memMiB: Math.max(memMiB, maxInit((c) => memOf(c, 'requests'))),
  };
  // Limits count only when every container has one (a container without a limit is unbounded).
  const cpuLimits = tool ? [tool, ...others].map((c) => cpuOf(c, 'limits')) : [];
  const memLimits = tool ? [tool, ...others].map((c) => memOf(c, 'limits')) : [];
  if (cpuLimits.length && cpuLimits.every((x) => x !== undefined)) d.limitCpuMilli = Math.max(sum(cpuLimits), maxInit((c) => cpuOf(c, 'limits')));
  if (memLimits.length && memLimits.every((x) => x !== undefined)) d.limitMemMiB = Math.max(sum(memLimits), maxInit((c) => memOf(c, 'limits')));
  return d;
}

export function jobOfPod(pod: V1Pod): string | undefined {
  const l = pod.metadata?.labels;
  return l?.['batch.kubernetes.io/job-name'] ?? l?.['job-name'] ?? pod.metadata?.ownerReferences?.find((o) => o.kind === 'Job')?.name;
}

export function lastLines(text: string, n: number): string {
  const lines = text.replace(/\n+$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

export async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await sleep(100);
}

