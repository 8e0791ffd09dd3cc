import type { Executor, ExecutorOptions } from './executor.js';
import { UsageError } from '../errors.js';

export type ExecutorName = 'local' | 'kubernetes';

const backends: Record<ExecutorName, (o: ExecutorOptions) => Promise<Executor>> = {
  local: async (o) => {
    if (o.dryRun) {
      const { LocalDryRunExecutor } = await import('./local/dry-run.js');
      return new LocalDryRunExecutor(o.output ?? process.stdout);
    }
    const { LocalExecutor } = await import('./local/local-executor.js');
    return new LocalExecutor(o);
  },
  kubernetes: async (o) => {
    const { createKubernetesExecutor } = await import('./kubernetes/index.js');
    return createKubernetesExecutor(o);
  },
};

export const EXECUTOR_NAMES = Object.keys(backends) as ExecutorName[];

/** Create an executor by name; backends are imported lazily so the CLI starts fast. */
export async function createExecutor(name: string, options: ExecutorOptions = {}): Promise<Executor> {
  const make = (backends as Record<string, ((o: ExecutorOptions) => Promise<Executor>) | undefined>)[name];
  if (!make) {
    throw new UsageError(`unknown executor "${name}" (known: ${Object.keys(backends).join(', ')})`);
  }
  return make(options);
}
