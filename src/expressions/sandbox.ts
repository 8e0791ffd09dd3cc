/**
 * JavaScript for CWL expressions, run in the sandbox worker (sandbox-host.ts): a fresh context per
 * evaluation, data in and out as JSON text, no require/process/fs/network, a wall clock and a
 * memory cap. What goes wrong fails the expression with an ExpressionError, never Strand.
 */
import { ExpressionError } from '../errors.js';
import { toJsonForJavaScript } from '../model/exact-json.js';
import type { CwlValue } from '../model/types.js';
import type { ExpressionLimits } from './limits.js';
import { runInSandbox } from './sandbox-host.js';

let nextLibId = 1;

export class JsSandbox {
  private readonly libId = nextLibId++;
  private lastData: { values: unknown[]; json: string } | undefined;

  constructor(
    private readonly expressionLib: string[],
    private readonly limits: () => Readonly<ExpressionLimits>,
  ) {}

  /** Run `code` (an expression body when kind is 'paren', a function body when 'brace'); `source` names it in errors. */
  run(kind: 'paren' | 'brace', code: string, source: string, inputs: unknown, self: unknown, runtime: unknown): CwlValue {
    const values = [inputs, self, runtime];
    // The same job's values are serialized once for all of its expressions.
    if (!this.lastData || this.lastData.values.some((v, i) => v !== values[i])) {
      this.lastData = { values, json: toJsonForJavaScript({ inputs, self: self ?? null, runtime }) };
    }
    const limits = this.limits();
    const out = runInSandbox({ libId: this.libId, lib: this.expressionLib, kind, code, data: this.lastData.json }, limits);
    const what = `expression ${abbreviate(source)}`;
    if (out.ok) {
      try {
        return JSON.parse(out.json) as CwlValue;
      } catch {
        // Made by the sandbox's own JSON.stringify unless the code broke out of its function.
        throw new ExpressionError(`${what} failed: its value is not JSON`, source);
      }
    }
    // The child's vm sometimes reports its own time limit as an error of the script (seen ~1 in 10
    // at 50 ms under load; the path is not yet found): it is the time limit all the same.
    if (out.reason === 'error' && /^Script execution timed out after \d+ms$/.test(out.message)) {
      throw new ExpressionError(`${what} exceeded the time limit of ${limits.timeoutMs / 1000} s (--eval-timeout)`, source);
    }
    switch (out.reason) {
      case 'timeout':
        throw new ExpressionError(`${what} exceeded the time limit of ${limits.timeoutMs / 1000} s (--eval-timeout)`, source);
      case 'memory':
        throw new ExpressionError(`${what} ran out of memory (limit ${limits.memoryMb} MB, --eval-memory)`, source);
      case 'start':
        throw new ExpressionError(`${what} could not run: the expression sandbox did not start`, source);
      case 'error':
        throw new ExpressionError(`${what} failed: ${out.message}`, source);
    }
  }
}

function abbreviate(s: string): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > 80 ? one.slice(0, 77) + '...' : one;
}
