import type { Executor, ExecutorOptions } from './executor.js';
import { UsageError } from '../errors.js';

export type ExecutorName = 'local';

const backends: Record<ExecutorName, (o: ExecutorOptions) => Promise<Executor>> = {
  local: async (o) => {
    const { LocalExecutor } = await import('./local/local-executor.js');
    return new LocalExecutor(o);
  },
};

/** Create an executor by name; backends are imported lazily so the CLI starts fast. */
export async function createExecutor(name: string, options: ExecutorOptions = {}): Promise<Executor> {
  const make = (backends as Record<string, ((o: ExecutorOptions) => Promise<Executor>) | undefined>)[name];
  if (!make) {
    throw new UsageError(`unknown executor "${name}" (known: ${Object.keys(backends).join(', ')})`);
  }
  return make(options);
}
