/**
 * In-process JavaScript sandbox for CWL expressions: one node:vm context per evaluator. Data goes
 * in and out as JSON text, so no host object (and no host Function constructor) is reachable from
 * expression code; the context has no require, process, timers or network.
 */
import { toJsonForJavaScript } from '../model/exact-json.js';
import vm from 'node:vm';
import type { CwlValue } from '../model/types.js';

export class JsSandbox {
  private readonly context: vm.Context;
  private readonly scripts = new Map<string, vm.Script>();
  private lastInjected: unknown[] = [];
  private readonly inject = new vm.Script(
    'var __strandData = JSON.parse(__strandJson); var inputs = __strandData.inputs; var self = __strandData.self; var runtime = __strandData.runtime; __strandJson = undefined;',
  );

  constructor(
    expressionLib: string[],
    private readonly timeoutMs: number,
  ) {
    this.context = vm.createContext(Object.create(null) as object, { codeGeneration: { strings: true, wasm: false }, name: 'cwl-expression' });
    for (const lib of expressionLib) {
      new vm.Script(lib, { filename: 'expressionLib' }).runInContext(this.context, { timeout: this.timeoutMs });
    }
  }

  /** Run `code` (an expression body when kind is 'paren', a function body when 'brace'). */
  run(kind: 'paren' | 'brace', code: string, inputs: unknown, self: unknown, runtime: unknown): CwlValue {
    if (this.lastInjected[0] !== inputs || this.lastInjected[1] !== self || this.lastInjected[2] !== runtime) {
      (this.context as Record<string, unknown>).__strandJson = toJsonForJavaScript({ inputs, self: self ?? null, runtime });
      this.inject.runInContext(this.context);
      this.lastInjected = [inputs, self, runtime];
    }
    const key = `${kind}\u0000${code}`;
    let script = this.scripts.get(key);
    if (!script) {
      const body = kind === 'paren' ? `return (${code}\n);` : code;
      script = new vm.Script(`(function(){ var __r = (function(){ ${body}\n })(); return __r === undefined ? 'null' : JSON.stringify(__r); })()`, {
        filename: 'cwl-expression',
      });
      this.scripts.set(key, script);
    }
    const json = script.runInContext(this.context, { timeout: this.timeoutMs }) as string | undefined;
    return json === undefined ? null : (JSON.parse(json) as CwlValue);
  }
}
