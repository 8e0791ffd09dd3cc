import { createEvaluator } from '../expressions/index.js';
import type { Evaluator } from '../expressions/evaluator.js';
import { findRequirement, type EffectiveRequirements } from '../model/requirements.js';

const cache = new WeakMap<object, Evaluator>();

/** The expression evaluator for a process, from its InlineJavascriptRequirement (cached per requirement). */
export function evaluatorFor(eff: EffectiveRequirements): Evaluator {
  const js = findRequirement(eff, 'InlineJavascriptRequirement');
  const key = js?.value ?? noJs;
  let ev = cache.get(key);
  if (!ev) {
    const lib = js?.value.expressionLib;
    ev = createEvaluator({
      inlineJavascript: js !== undefined,
      expressionLib: Array.isArray(lib) ? lib.map(String) : [],
    });
    cache.set(key, ev);
  }
  return ev;
}
const noJs = {};
