/**
 * The executor contract through the Kubernetes executor in object-store mode, against the fake
 * API server and a real S3 server: every task pod fetches its files from the bucket (init
 * container), runs the tool, and uploads its working directory (a second container); nothing is
 * shared but the bucket. Needs `npm run build` (the pods run the built CLI).
 */
import { afterAll, beforeAll } from 'vitest';
import { startFakeObjectStoreCluster, type FakeObjectStoreCluster } from '../support/fake-object-store-cluster.js';
import { describeExecutorContract } from './executor-contract.js';

let cluster: FakeObjectStoreCluster;

beforeAll(async () => {
  cluster = await startFakeObjectStoreCluster({ bucket: 'strand-contract' });
});
afterAll(async () => {
  await cluster?.close();
});

describeExecutorContract('kubernetes, object-store mode (fake API server, s3rver)', async (options) => cluster.executor({ maxParallel: options.parallel ?? 32 }), {
  hostProcesses: false,
  admission: false,
  samePaths: false,
  liveFiles: false,
  // Each task starts two Node processes (stage-in, upload) on this small machine.
  manyTasks: 24,
  get tmpRoot() {
    return cluster.localRoot;
  },
});
