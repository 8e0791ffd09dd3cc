/**
 * The limits every JavaScript expression runs under (docs/security.md, "Expressions"): a wall
 * clock and a memory cap. Process-wide, like the sandbox worker that enforces them; the CLI sets
 * them from --eval-timeout and --eval-memory, an evaluator may narrow them for itself.
 */
import { UsageError } from '../errors.js';

export interface ExpressionLimits {
  /** Wall clock per evaluation (expressionLib, the expression and the promise jobs it queues). */
  timeoutMs: number;
  /** Memory an evaluation may add: the sandbox's JavaScript heap and any other memory it fills. */
  memoryMb: number;
}

/**
 * cwltool's default (--eval-timeout 20 s). A shorter limit fails expressions that are slow on
 * purpose: timelimit_expressiontool spins for up to 5 s, and failed whenever the machine was busy.
 */
export const DEFAULT_TIMEOUT_MS = 20_000;
/** Generous for expressions (CWL values as JSON), small beside a machine that runs tools. */
export const DEFAULT_MEMORY_MB = 512;

let current: ExpressionLimits = { timeoutMs: DEFAULT_TIMEOUT_MS, memoryMb: DEFAULT_MEMORY_MB };

/** Set the process-wide limits (the CLI's --eval-timeout / --eval-memory); unset fields keep theirs. */
export function setExpressionLimits(limits: Partial<ExpressionLimits>): void {
  const next = { ...current, ...limits };
  if (!(next.timeoutMs > 0)) throw new UsageError(`the expression time limit must be positive, not ${next.timeoutMs} ms`);
  if (!(next.memoryMb >= 16)) throw new UsageError(`the expression memory limit must be at least 16 MB, not ${next.memoryMb}`);
  current = next;
}

export function expressionLimits(): Readonly<ExpressionLimits> {
  return current;
}
