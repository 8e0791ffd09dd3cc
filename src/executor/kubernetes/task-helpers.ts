/**
 * Small pure helpers of the Kubernetes executor: what a task's pod asks of the quotas, which Job
 * a pod belongs to, the last lines of a log, and waiting.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { TaskSpec } from '../executor.js';
import { cpuToMilli, type Demand } from './admission.js';
import { quantityToMiB } from './settings.js';

/** What the task's pod asks of the namespace's quotas: its requests, and its limits when it has them. */
export function demandOf(job: V1Job, spec: TaskSpec, memoryMiB: number): Demand {
  const limits = job.spec?.template.spec?.containers[0]?.resources?.limits ?? {};
  const d: Demand = { cpuMilli: Math.ceil(spec.resources.cores * 1000), memMiB: memoryMiB };
  const cpu = limits['cpu'] !== undefined ? cpuToMilli(String(limits['cpu'])) : undefined;
  const mem = limits['memory'] !== undefined ? quantityToMiB(String(limits['memory'])) : undefined;
  if (cpu !== undefined) d.limitCpuMilli = cpu;
  if (mem !== undefined) d.limitMemMiB = mem;
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

