/**
 * A run's logs, written to a stream (`strand logs`, and the coming server): a submitted run's
 * leader pod (or one step's task pods), a Kubernetes run's task pods while they are there, else
 * the task logs saved in the run store. What could not be shown is said, not thrown.
 */
import { createReadStream, existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RunDetail } from '../store/run-store.js';
import { SUBMITTED_EXECUTOR, type SubmittedDetail } from './submitted/follow.js';

export interface LogsOptions {
  /** Only tasks of this step path (and the steps under it). */
  step?: string;
  /** Follow the logs of running pods until they end or `signal` aborts. */
  follow?: boolean;
  /** Only the last `tail` lines of each log. */
  tail?: number;
  signal?: AbortSignal;
}

export interface LogsWritten {
  /** Logs written (pods or files). */
  written: number;
  /** Sentences about what was not there or where the logs went (for stderr). */
  said: string[];
}

export async function writeRunLogs(run: RunDetail, out: Writable, opts: LogsOptions = {}): Promise<LogsWritten> {
  if (run.executor === SUBMITTED_EXECUTOR) return submittedLogs(run, out, opts);
  const said: string[] = [];
  if (run.executor === 'kubernetes' && (opts.follow || run.status === 'running')) {
    const detail = run.executorDetail as { context?: string; namespace?: string } | undefined;
    const { openKubeSession } = await import('../executor/kubernetes/session.js');
    const { writeRunPodLogs } = await import('../cluster/pod-logs.js');
    const s = openKubeSession({ overrides: { context: detail?.context, namespace: detail?.namespace } });
    const n = await writeRunPodLogs(s.api, s.namespace, run.id, out, podOptions(opts));
    if (n > 0) return { written: n, said };
    said.push(`no pods of run ${run.id} left in namespace ${s.namespace}; showing the saved logs`);
  }
  const written = await savedLogs(run, out, opts);
  if (written === 0) said.push(`run ${run.id}: no task logs${opts.step ? ` for step ${opts.step}` : ''} (tasks that redirect their output keep it in their outputs)`);
  return { written, said };
}

function podOptions(opts: LogsOptions) {
  return {
    follow: opts.follow ?? false,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.step !== undefined ? { step: opts.step } : {}),
    ...(opts.tail !== undefined ? { tailLines: opts.tail } : {}),
  };
}

/** The task logs the run store kept, each under a `==> task (attempt n) file <==` header. */
async function savedLogs(run: RunDetail, out: Writable, opts: LogsOptions): Promise<number> {
  let shown = 0;
  for (const a of run.attempts) {
    if (opts.step !== undefined && a.stepPath !== opts.step && !a.stepPath.startsWith(opts.step + '/')) continue;
    if (!a.logDir) continue;
    for (const f of ['stdout.log', 'stderr.log']) {
      const p = path.join(a.logDir, f);
      if (!existsSync(p)) continue;
      out.write(`==> ${a.taskId} (attempt ${a.attempt}) ${f} <==\n`);
      if (opts.tail !== undefined) {
        const text = (await readFile(p, 'utf8')).split('\n').slice(-(opts.tail + 1)).join('\n');
        out.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
      } else {
        // Streamed: a log may be larger than memory.
        await pipeline(createReadStream(p), out, { end: false });
        if (!(await endsWithNewline(p))) out.write('\n');
      }
      shown++;
    }
  }
  return shown;
}

async function endsWithNewline(file: string): Promise<boolean> {
  const h = await open(file, 'r');
  try {
    const { size } = await h.stat();
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    await h.close();
  }
}

/** A submitted run: the leader pod's log (followed across leader restarts), or one step's task pods. */
async function submittedLogs(run: RunDetail, out: Writable, opts: LogsOptions): Promise<LogsWritten> {
  const detail = run.executorDetail as unknown as SubmittedDetail;
  const { openKubeSession } = await import('../executor/kubernetes/session.js');
  const s = openKubeSession({ overrides: { kubeconfig: detail.kubeconfig, context: detail.context, namespace: detail.namespace } });
  if (opts.step !== undefined) {
    const { writeRunPodLogs } = await import('../cluster/pod-logs.js');
    const n = await writeRunPodLogs(s.api, detail.namespace, run.id, out, podOptions(opts));
    if (n > 0) return { written: n, said: [] };
    const { LEADER_SCRATCH } = await import('../cluster/leader-manifests.js');
    const where = run.workDir?.startsWith(`${LEADER_SCRATCH}/`)
      ? "they were in the leader pod's run store, on its own disk (no workspace: kubernetes.storage objectStore), which went with the pod"
      : `their logs are in the leader's run store on the workspace (${run.workDir ?? '?'}/store/logs)`;
    return { written: 0, said: [`no task pods of step ${opts.step} of run ${run.id} left in namespace ${detail.namespace}; ${where}`] };
  }
  const { writeLeaderLogs } = await import('../cluster/leader-api.js');
  const n = await writeLeaderLogs(s.api, detail.namespace, run.id, out, podOptions({ ...opts, step: undefined }));
  return { written: n, said: n === 0 ? [`no leader pod of run ${run.id} in namespace ${detail.namespace} (not started yet, or deleted with its Job)`] : [] };
}
