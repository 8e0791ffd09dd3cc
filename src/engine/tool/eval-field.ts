/** Evaluating requirement fields that may be expressions. */
import { ValidationError } from '../../errors.js';
import type { Evaluator } from '../../expressions/evaluator.js';
import type { CwlObject, CwlValue } from '../../model/types.js';

export interface FieldContext {
  evaluator: Evaluator;
  inputs: CwlObject;
  runtime: CwlObject;
}

/** A field value: strings are evaluated (they may be expressions), anything else is kept. */
export function evalField(value: unknown, fc: FieldContext): CwlValue | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return fc.evaluator.evaluate(value, { inputs: fc.inputs, self: null, runtime: fc.runtime });
  return value as CwlValue;
}

/** A numeric field (number, numeric string or expression yielding one); undefined when absent or null. */
export function evalNumber(value: unknown, fc: FieldContext, what: string): number | undefined {
  const v = evalField(value, fc);
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || Number.isNaN(n)) throw new ValidationError(`${what} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

export function evalBoolean(value: unknown, fc: FieldContext, what: string): boolean | undefined {
  const v = evalField(value, fc);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ValidationError(`${what} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}
