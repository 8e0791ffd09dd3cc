/**
 * Test doubles for the tool layer's unit tests (not used by production code): a small expression
 * evaluator on node:vm and a helper to build CommandLineTool models by hand while the loader is
 * not available to these tests.
 */
import vm from 'node:vm';
import type { Evaluator, ExpressionContext } from '../../expressions/evaluator.js';
import type { CommandLineTool, CwlValue, ExpressionTool } from '../../model/types.js';

/** Find the end of a `$(...)` / `${...}` starting at `start` (index of `$`); -1 if unbalanced. */
function scanEnd(text: string, start: number): number {
  const open = text[start + 1];
  const close = open === '(' ? ')' : '}';
  let depth = 0;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i;
  }
  return -1;
}

export function fakeEvaluator(): Evaluator {
  const run = (code: string, isBody: boolean, ctx: ExpressionContext): CwlValue => {
    const sandbox = vm.createContext({
      inputs: JSON.parse(JSON.stringify(ctx.inputs)),
      self: JSON.parse(JSON.stringify(ctx.self ?? null)),
      runtime: JSON.parse(JSON.stringify(ctx.runtime)),
    });
    const src = isBody ? `(function(){${code}})()` : `(${code})`;
    const out: unknown = vm.runInContext(src, sandbox, { timeout: 1000 });
    return out === undefined ? null : (JSON.parse(JSON.stringify(out)) as CwlValue);
  };
  return {
    evaluate(text, ctx) {
      const trimmed = text.trim();
      if ((trimmed.startsWith('$(') || trimmed.startsWith('${')) && scanEnd(trimmed, 0) === trimmed.length - 1) {
        return run(trimmed.slice(2, -1), trimmed[1] === '{', ctx);
      }
      let out = '';
      let i = 0;
      while (i < text.length) {
        const j = text.indexOf('$', i);
        if (j < 0 || (text[j + 1] !== '(' && text[j + 1] !== '{')) {
          out += j < 0 ? text.slice(i) : text.slice(i, j + 1);
          i = j < 0 ? text.length : j + 1;
          continue;
        }
        const end = scanEnd(text, j);
        if (end < 0) throw new Error(`unbalanced expression in ${text}`);
        out += text.slice(i, j);
        const v = run(text.slice(j + 2, end), text[j + 1] === '{', ctx);
        out += typeof v === 'string' ? v : JSON.stringify(v);
        i = end + 1;
      }
      return out;
    },
  };
}

/** A CommandLineTool model with the loader's defaults filled in. */
export function makeTool(partial: Partial<CommandLineTool>): CommandLineTool {
  return {
    class: 'CommandLineTool',
    id: 'file:///test/tool.cwl',
    cwlVersion: 'v1.2',
    inputs: [],
    outputs: [],
    requirements: [],
    hints: [],
    sourceFile: '/test/tool.cwl',
    namespaces: {},
    schemaDefs: {},
    baseCommand: [],
    arguments: [],
    successCodes: [0],
    temporaryFailCodes: [],
    permanentFailCodes: [],
    ...partial,
  };
}

export function makeExpressionTool(partial: Partial<ExpressionTool> & { expression: string }): ExpressionTool {
  return {
    class: 'ExpressionTool',
    id: 'file:///test/expr.cwl',
    cwlVersion: 'v1.2',
    inputs: [],
    outputs: [],
    requirements: [],
    hints: [],
    sourceFile: '/test/expr.cwl',
    namespaces: {},
    schemaDefs: {},
    ...partial,
  };
}

/** A staged File value whose path is /data/<name>. */
export function file(name: string): CwlValue {
  return { class: 'File', location: `file:///data/${name}`, path: `/data/${name}`, basename: name };
}
