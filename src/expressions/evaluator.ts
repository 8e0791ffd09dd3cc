/**
 * CONTRACT (implemented in this folder): CWL parameter references and JavaScript expressions.
 *
 * - `$(inputs.x.path)` parameter references work without InlineJavascriptRequirement.
 * - With InlineJavascriptRequirement, `$(...)` is any JS expression and `${...}` a function body;
 *   `expressionLib` entries are evaluated first in the same context.
 * - A string that is exactly one `$(...)` / `${...}` evaluates to that value (any JSON type);
 *   a string with text around or several expressions interpolates (non-strings as JSON, written
 *   the way the reference runner writes it: python-json.ts).
 * - `\$(` escapes.
 * - JavaScript runs in a worker thread, in a fresh node:vm context per evaluation (data copied in
 *   as JSON, no require/process/fs/network), under a wall clock and a memory cap (limits.ts);
 *   whatever it does, a failure raises ExpressionError naming the expression, never ends Strand.
 */
import type { CwlObject, CwlValue } from '../model/types.js';

export interface ExpressionContext {
  inputs: CwlObject;
  self: CwlValue;
  runtime: CwlObject;
}

export interface EvaluatorOptions {
  /** InlineJavascriptRequirement present. */
  inlineJavascript: boolean;
  /** InlineJavascriptRequirement.expressionLib, already with $include resolved. */
  expressionLib: string[];
  /** Per-evaluation time limit; default the process-wide one (limits.ts: 20 s, cwltool's --eval-timeout 20). */
  timeoutMs?: number;
  /** Per-evaluation memory cap in MB; default the process-wide one (limits.ts). */
  memoryMb?: number;
}

export interface EvaluateOptions {
  /**
   * Keep whitespace around the expressions. By default (as in the reference runner) text that holds
   * an expression is trimmed first, so `" $(x) "` is the value of x; InitialWorkDir entries keep it,
   * so `"$(x)\n"` is x as text followed by a newline.
   */
  keepWhitespace?: boolean;
}

export interface Evaluator {
  /** Evaluate `text`; returns it unchanged (as a string) when it holds no expression. */
  evaluate(text: string, ctx: ExpressionContext, opts?: EvaluateOptions): CwlValue;
}
