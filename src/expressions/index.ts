/** CWL parameter references and sandboxed JavaScript expressions (contract: ./evaluator.ts). */
import { ExpressionError } from '../errors.js';
import type { CwlValue } from '../model/types.js';
import type { EvaluateOptions, Evaluator, EvaluatorOptions, ExpressionContext } from './evaluator.js';
import { pythonJson } from './python-json.js';
import { parseParamRef, resolveParamRef } from './param-ref.js';
import { expressionLimits } from './limits.js';
import { JsSandbox } from './sandbox.js';
import { prestartSandbox } from './sandbox-host.js';
import { containsExpression, scanExpressions, type Segment } from './scan.js';

export type { EvaluateOptions, Evaluator, EvaluatorOptions, ExpressionContext } from './evaluator.js';
export { pythonJson } from './python-json.js';
export { containsExpression } from './scan.js';
export { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, expressionLimits, setExpressionLimits, type ExpressionLimits } from './limits.js';

function toText(v: CwlValue): string {
  return typeof v === 'string' ? v : pythonJson(v);
}

export function createEvaluator(opts: EvaluatorOptions): Evaluator {
  // The process-wide limits (--eval-timeout, --eval-memory) as they are when an expression runs.
  const limits = () => {
    const l = expressionLimits();
    return { timeoutMs: opts.timeoutMs ?? l.timeoutMs, memoryMb: opts.memoryMb ?? l.memoryMb };
  };
  let sandbox: JsSandbox | undefined;
  // A process with JavaScript: the sandbox starts now, in the background, while the run is planned.
  if (opts.inlineJavascript) prestartSandbox(limits().memoryMb);
  const scanned = new Map<string, Segment[]>();

  const evalOne = (seg: Exclude<Segment, { kind: 'text' }>, ctx: ExpressionContext): CwlValue => {
    if (seg.kind === 'paren') {
      const ref = parseParamRef(seg.code);
      if (ref) {
        try {
          return resolveParamRef(ref, { inputs: ctx.inputs, self: ctx.self, runtime: ctx.runtime });
        } catch (err) {
          if (!opts.inlineJavascript) throw new ExpressionError(`${seg.source}: ${(err as Error).message}`, seg.source);
        }
      }
    }
    if (!opts.inlineJavascript) {
      throw new ExpressionError(
        `${seg.source} is not a parameter reference, and JavaScript needs InlineJavascriptRequirement`,
        seg.source,
      );
    }
    sandbox ??= new JsSandbox(opts.expressionLib, limits);
    return sandbox.run(seg.kind, seg.code, seg.source, ctx.inputs, ctx.self, ctx.runtime);
  };

  const segments = (text: string): Segment[] => {
    let segs = scanned.get(text);
    if (!segs) {
      segs = scanExpressions(text);
      scanned.set(text, segs);
    }
    return segs;
  };

  return {
    evaluate(raw: string, ctx: ExpressionContext, opts: EvaluateOptions = {}): CwlValue {
      if (!containsExpression(raw)) return raw;
      // As in cwltool: text with an expression is trimmed first, unless asked not to.
      const text = opts.keepWhitespace ? raw : raw.trim();
      const segs = segments(text);
      const only = segs[0];
      if (segs.length === 1 && only && only.kind !== 'text') return evalOne(only, ctx);
      let out = '';
      for (const seg of segs) out += seg.kind === 'text' ? seg.text : toText(evalOne(seg, ctx));
      return out;
    },
  };
}
