/**
 * `strand logs` for a run whose pods still exist: the task containers' logs straight from the
 * cluster, one header line per pod, optionally followed until the pods end.
 */
import { PassThrough, type Writable } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { Log } from './kubernetes-client.js';
import type { KubeApi } from './kube-api.js';
import { ANNOTATIONS, LABELS, labelValue, runSelector } from './names.js';

export interface PodLogOptions {
  /** Only pods of steps whose path starts with this. */
  step?: string;
  follow?: boolean;
  tailLines?: number;
  signal?: AbortSignal;
}

/** The run's pods (optionally of one step path prefix), oldest first. */
export async function runPods(api: KubeApi, namespace: string, runId: string, step?: string): Promise<V1Pod[]> {
  const list = await api.call(`list pods of run ${runId} in namespace ${namespace}`, () =>
    api.core.listNamespacedPod({ namespace, labelSelector: runSelector(runId) }),
  );
  return list.items
    .filter((p) => {
      if (step === undefined) return true;
      const path = p.metadata?.annotations?.[ANNOTATIONS.stepPath] ?? p.metadata?.labels?.[LABELS.step] ?? '';
      return path === step || path.startsWith(step + '/') || p.metadata?.labels?.[LABELS.step] === labelValue(step);
    })
    .sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')));
}

/** One pod's log into `sink`; resolves when the log ends (or the signal aborts a follow). */
async function podLog(log: Log, namespace: string, name: string, sink: Writable, opts: PodLogOptions): Promise<void> {
  const ended = new Promise<void>((resolve) => {
    sink.on('finish', resolve);
    sink.on('close', resolve);
  });
  const ctl = await log.log(namespace, name, 'task', sink, {
    follow: opts.follow ?? false,
    ...(opts.tailLines !== undefined ? { tailLines: opts.tailLines } : {}),
  });
  opts.signal?.addEventListener('abort', () => ctl.abort(), { once: true });
  await ended;
}

/** Prefixes every line with `[task] ` (for several pods followed at once). */
function linePrefixer(prefix: string, out: Writable): Writable {
  let partial = '';
  const t = new PassThrough();
  t.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) out.write(`${prefix}${l}\n`);
  });
  t.on('end', () => {
    if (partial) out.write(`${prefix}${partial}\n`);
  });
  return t;
}

/**
 * Write the run's pod logs to `out`. Without follow: each pod under a `==> task (pod) <==` header.
 * With follow: every pod at once, each line prefixed with its task, until they all end.
 */
export async function writeRunPodLogs(api: KubeApi, namespace: string, runId: string, out: Writable, opts: PodLogOptions = {}): Promise<number> {
  const pods = await runPods(api, namespace, runId, opts.step);
  const log = new Log(api.conn.kc);
  const taskOf = (pod: V1Pod) => pod.metadata?.annotations?.[ANNOTATIONS.taskId] ?? pod.metadata?.name ?? '?';
  if (opts.follow) {
    await Promise.all(
      pods.map((pod) =>
        podLog(log, namespace, pod.metadata?.name ?? '', linePrefixer(`[${taskOf(pod)}] `, out), opts).catch((err: unknown) => {
          out.write(`[${taskOf(pod)}] (no log: ${(err as Error).message})\n`);
        }),
      ),
    );
    return pods.length;
  }
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '?';
    out.write(`==> ${taskOf(pod)} (pod ${name}) <==\n`);
    const sink = new PassThrough();
    sink.on('data', (d: Buffer) => out.write(d));
    await podLog(log, namespace, name, sink, opts).catch((err: unknown) => {
      out.write(`(no log: ${(err as Error).message})\n`);
    });
  }
  return pods.length;
}
