import { defineConfig } from 'vitest/config';

// `npm run test:e2e`: the Kubernetes end-to-end test (see test/e2e/kubernetes.e2e.test.ts and
// docs/kubernetes.md). Runs against a real cluster (STRAND_E2E_CONFIG) or the fake API server
// (STRAND_E2E_FAKE=1); skips with one message otherwise.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 5 * 60_000,
    fileParallelism: false,
  },
});
