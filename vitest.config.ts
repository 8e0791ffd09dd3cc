import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // End-to-end tests need a cluster and run with `npm run test:e2e` (vitest.e2e.config.ts).
    exclude: [...configDefaults.exclude, 'test/e2e/**/*.e2e.test.ts'],
    // A guard against hangs, not a measure of speed: tests wait for the event they check, never
    // a fixed time. At 30 s, tests that start hundreds of tasks or processes ran out of time on a
    // loaded 2-core machine while still working (the executor contract's 300 and 24 concurrent
    // tasks took 32 s at load average 9-14, 2026-12-07; issue 17's fresh machine saw the same).
    testTimeout: 120_000,
    // At least two files at a time. Vitest's default (one less than the cores) runs one at a time
    // on a 2-core machine, which leaves a core idle while a test waits for a child process, a pod
    // or a browser: the whole suite took 705 s with one worker and 497 s with two (2026-12-07).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    hookTimeout: 120_000,
  },
});
