/**
 * The executor contract through the Kubernetes executor, against the fake API server: every task
 * is a Job whose pod the fake kubelet runs as a local process on the workspace path.
 */
import { afterAll, beforeAll } from 'vitest';
import { connect } from '../../src/cluster/connection.js';
import { KubeApi } from '../../src/cluster/kube-api.js';
import { KubernetesExecutor } from '../../src/executor/kubernetes/kubernetes-executor.js';
import { parseKubernetesSettings } from '../../src/executor/kubernetes/settings.js';
import { startFakeCluster, type FakeCluster } from '../support/fake-cluster.js';
import { describeExecutorContract } from './executor-contract.js';

let cluster: FakeCluster;

beforeAll(async () => {
  cluster = await startFakeCluster();
});
afterAll(async () => {
  await cluster.close();
});

describeExecutorContract(
  'kubernetes (fake API server)',
  async (options) => {
    // The contract's `parallel` is the backend's own in-flight limit: here --max-parallel.
    const settings = parseKubernetesSettings({ ...cluster.settings, maxParallel: options.parallel ?? 32 }, 'test', 'tester');
    const api = new KubeApi(connect({ kubeconfig: cluster.kube.kubeconfigPath }), { requestsPerSecond: settings.requestsPerSecond });
    return new KubernetesExecutor(settings, api, { quotaRetryMs: 50 });
  },
  {
    // Pods get HOSTNAME and KUBERNETES_SERVICE_* like real ones, and the cluster does admission.
    hostProcesses: false,
    admission: false,
    get tmpRoot() {
      return cluster.workspace;
    },
  },
);
