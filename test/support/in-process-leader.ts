/**
 * A submitted run's leader, run in the test's own process on the fake API server. The fake
 * cannot run the leader pod (its kubelet runs commands, and the leader image has an entrypoint
 * only), so a test that must follow a submitted run to its end runs the real leader (runLeader)
 * here, on what submit put in the cluster (the bundle ConfigMap and the job Secret, written out
 * as the pod's mounts would show them), publishing through the real StatusPublisher, as its pod would.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jobFileOf, readPlan, runLeader } from '../../src/api/submitted/leader-run.js';
import type { KubeApi } from '../../src/cluster/kube-api.js';
import { StatusPublisher } from '../../src/cluster/leader-api.js';
import { bundleName, jobSecretName, leaderJobName } from '../../src/cluster/leader-manifests.js';
import type { RunStatus } from '../../src/engine/events.js';
import type { FakeKube } from './fake-kube/index.js';

export interface InProcessLeaderOptions {
  /** The leader pod's client: what it publishes the run's state with. */
  api: KubeApi;
  namespace: string;
  runId: string;
  /** A directory for the pod's mounts (one folder per run is made in it). */
  mountsDir: string;
  /**
   * The kubeconfig the leader's executor connects with (its pod's ServiceAccount), set as
   * KUBECONFIG while it runs and put back after; without it, KUBECONFIG is left as it is.
   */
  kubeconfig?: string;
  /** Where the leader's output goes; default nowhere. */
  out?: { stdout: (text: string) => void; stderr: (text: string) => void };
}

/** Run the leader of `runId` to its end, from its bundle ConfigMap and job Secret; resolves with how the run ended. */
export async function runLeaderInProcess(kube: FakeKube, o: InProcessLeaderOptions): Promise<RunStatus> {
  const { namespace: ns, runId } = o;
  const bundle = kube.getObject('configmaps', ns, bundleName(runId)) as unknown as { data?: Record<string, string>; binaryData?: Record<string, string> } | undefined;
  const secret = kube.getObject('secrets', ns, jobSecretName(runId)) as unknown as { data: Record<string, string> } | undefined;
  const job = kube.getObject('jobs', ns, leaderJobName(runId));
  if (!bundle || !secret || !job) throw new Error(`run ${runId} in namespace ${ns}: no bundle ConfigMap, job Secret or leader Job to run its leader from`);
  const mount = path.join(o.mountsDir, runId);
  mkdirSync(mount, { recursive: true });
  for (const [k, v] of Object.entries(bundle.data ?? {})) writeFileSync(path.join(mount, k), v);
  for (const [k, v] of Object.entries(bundle.binaryData ?? {})) writeFileSync(path.join(mount, k), Buffer.from(v, 'base64'));
  writeFileSync(path.join(mount, 'job.json'), Buffer.from(secret.data['job.json']!, 'base64'));
  const plan = readPlan(mount, 'submit.json');
  const publisher = new StatusPublisher(o.api, ns, runId, 50, (m) => {
    throw new Error(m);
  });
  const saved = process.env.KUBECONFIG;
  if (o.kubeconfig !== undefined) process.env.KUBECONFIG = o.kubeconfig;
  try {
    return await runLeader(plan, mount, { namespace: ns, jobName: job.metadata.name!, jobUid: job.metadata.uid! }, publisher, () => jobFileOf(plan, mount, mount, 'job.json'), o.out ?? {
      stdout: () => undefined,
      stderr: () => undefined,
    });
  } finally {
    if (o.kubeconfig !== undefined) {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  }
}
