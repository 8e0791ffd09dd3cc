/** `strand logs` for a submitted run: the leader pod's log, or the task pods of one step. */
import type { RunDetail } from '../../store/run-store.js';
import { EXIT } from '../exit-codes.js';
import type { SubmittedDetail } from '../../api/submitted/follow.js';

export async function writeSubmittedLogs(run: RunDetail, step: string | undefined, flags: { follow?: boolean; tail?: number }): Promise<number> {
  const detail = run.executorDetail as unknown as SubmittedDetail;
  const { openKubeSession } = await import('../../executor/kubernetes/session.js');
  const s = openKubeSession({ overrides: { kubeconfig: detail.kubeconfig, context: detail.context, namespace: detail.namespace } });
  const ctl = new AbortController();
  process.once('SIGINT', () => ctl.abort());
  const opts = { follow: flags.follow ?? false, signal: ctl.signal, ...(flags.tail !== undefined ? { tailLines: flags.tail } : {}) };
  if (step !== undefined) {
    const { writeRunPodLogs } = await import('../../executor/kubernetes/pod-logs.js');
    const n = await writeRunPodLogs(s.api, detail.namespace, run.id, process.stdout, { ...opts, step });
    if (n === 0) {
      const { LEADER_SCRATCH } = await import('../../executor/kubernetes/leader/leader-manifests.js');
      const where = run.workDir?.startsWith(`${LEADER_SCRATCH}/`)
        ? "they were in the leader pod's run store, on its own disk (no workspace: kubernetes.storage objectStore), which went with the pod"
        : `their logs are in the leader's run store on the workspace (${run.workDir ?? '?'}/store/logs)`;
      process.stderr.write(`no task pods of step ${step} of run ${run.id} left in namespace ${detail.namespace}; ${where}\n`);
    }
    return EXIT.ok;
  }
  const { writeLeaderLogs } = await import('../../executor/kubernetes/leader/leader-api.js');
  const n = await writeLeaderLogs(s.api, detail.namespace, run.id, process.stdout, opts);
  if (n === 0) process.stderr.write(`no leader pod of run ${run.id} in namespace ${detail.namespace} (not started yet, or deleted with its Job)\n`);
  return EXIT.ok;
}
