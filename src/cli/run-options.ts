/**
 * The options of `strand run` that shape how a run runs, as recorded with it (store RunOptions),
 * and how `strand run --resume` takes them again: what the resumed run was given, unless this
 * command line gives it anew. Without this, a resumed `--no-container` run switched to podman
 * (or pulled images on a cluster), and one resumed without `--executor kubernetes` ran locally.
 */
import type { RunOptions } from '../store/run-store.js';
import { kubernetesOverrides, type KubernetesRunFlags } from './executor-flags.js';

/** The run-shaping flags as commander gives them (`container: false` is `--no-container`). */
export interface RunOptionFlags extends KubernetesRunFlags {
  executor?: string;
  container?: boolean;
  containerRuntime?: string;
  parallel?: number;
  retries?: number;
  onError?: 'stop' | 'continue';
  evalTimeout?: number;
  evalMemory?: number;
  allowOutsideDocument?: boolean;
  allowIncludeOutside?: boolean;
}

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** What this command line gave (only that: the config file and environment apply again by themselves). */
export function givenOptions(flags: RunOptionFlags): RunOptions {
  const overrides = defined(kubernetesOverrides(flags));
  return defined({
    executor: flags.executor,
    noContainer: flags.container === false ? true : undefined,
    containerRuntime: flags.containerRuntime,
    parallel: flags.parallel,
    retries: flags.retries,
    onError: flags.onError,
    evalTimeoutSeconds: flags.evalTimeout,
    evalMemoryMb: flags.evalMemory,
    allowOutsideDocument: flags.allowOutsideDocument === true || flags.allowIncludeOutside === true ? true : undefined,
    executorOverrides: Object.keys(overrides).length ? overrides : undefined,
  }) as RunOptions;
}

/** The resumed run's options under this command line's (which win, flag by flag). */
export function resumedOptions(recorded: RunOptions | undefined, given: RunOptions): RunOptions {
  if (!recorded) return given;
  const overrides = { ...(recorded.executorOverrides ?? {}), ...(given.executorOverrides ?? {}) };
  return { ...recorded, ...given, ...(Object.keys(overrides).length ? { executorOverrides: overrides } : {}) };
}

/** `flags` with the options filled in where the command line gave nothing. */
export function withOptions<F extends RunOptionFlags>(flags: F, o: RunOptions): F {
  const ov = (o.executorOverrides ?? {}) as Record<string, unknown>;
  const pick = <T>(given: T | undefined, recorded: unknown): T | undefined => (given !== undefined ? given : (recorded as T | undefined));
  return {
    ...flags,
    executor: pick(flags.executor, o.executor),
    container: flags.container === false || o.noContainer === true ? false : flags.container,
    containerRuntime: pick(flags.containerRuntime, o.containerRuntime),
    parallel: pick(flags.parallel, o.parallel),
    retries: pick(flags.retries, o.retries),
    onError: pick(flags.onError, o.onError),
    evalTimeout: pick(flags.evalTimeout, o.evalTimeoutSeconds),
    evalMemory: pick(flags.evalMemory, o.evalMemoryMb),
    allowOutsideDocument: flags.allowOutsideDocument === true || flags.allowIncludeOutside === true || o.allowOutsideDocument === true ? true : flags.allowOutsideDocument,
    context: pick(flags.context, ov['context']),
    namespace: pick(flags.namespace, ov['namespace']),
    maxParallel: pick(flags.maxParallel, ov['maxParallel']),
    pendingTimeout: pick(flags.pendingTimeout, ov['pendingTimeoutSeconds']),
    maxMemory: pick(flags.maxMemory, ov['maxMemory']),
    owner: pick(flags.owner, ov['owner']),
  };
}

/** The options as the flags that give them, for a log line (`--executor kubernetes --no-container`). */
export function optionsAsFlags(o: RunOptions): string {
  const out: string[] = [];
  if (o.executor !== undefined) out.push(`--executor ${o.executor}`);
  if (o.noContainer) out.push('--no-container');
  if (o.containerRuntime !== undefined) out.push(`--container-runtime ${o.containerRuntime}`);
  if (o.parallel !== undefined) out.push(`--parallel ${o.parallel}`);
  if (o.retries !== undefined) out.push(`--retries ${o.retries}`);
  if (o.onError !== undefined) out.push(`--on-error ${o.onError}`);
  if (o.evalTimeoutSeconds !== undefined) out.push(`--eval-timeout ${o.evalTimeoutSeconds}`);
  if (o.evalMemoryMb !== undefined) out.push(`--eval-memory ${o.evalMemoryMb}`);
  if (o.allowOutsideDocument) out.push('--allow-outside-document');
  const ov = o.executorOverrides ?? {};
  const names: Record<string, string> = { context: 'context', namespace: 'namespace', maxParallel: 'max-parallel', pendingTimeoutSeconds: 'pending-timeout', maxMemory: 'max-memory', owner: 'owner' };
  for (const [k, flag] of Object.entries(names)) if (ov[k] !== undefined) out.push(`--${flag} ${String(ov[k])}`);
  return out.join(' ');
}
