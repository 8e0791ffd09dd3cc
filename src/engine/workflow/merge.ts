/** linkMerge and pickValue, as the CWL v1.2 spec defines them. Pure. */
import { WorkflowFailedError } from '../../errors.js';
import type { CwlValue, LinkMerge, PickValue } from '../../model/types.js';

export function mergeSources(values: CwlValue[], linkMerge: LinkMerge | undefined, multiple: boolean): CwlValue {
  if (!multiple && linkMerge === undefined) return values[0] ?? null;
  if ((linkMerge ?? 'merge_nested') === 'merge_nested') return values;
  const out: CwlValue[] = [];
  for (const v of values) {
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return out;
}

export function pickValue(value: CwlValue, method: PickValue | undefined, what: string): CwlValue {
  if (!method) return value;
  const list = Array.isArray(value) ? value : [value];
  const nonNull = list.filter((v) => v !== null && v !== undefined);
  switch (method) {
    case 'first_non_null':
      if (nonNull.length === 0) throw new WorkflowFailedError(`${what}: pickValue first_non_null found only null values`);
      return nonNull[0] as CwlValue;
    case 'the_only_non_null':
      if (nonNull.length !== 1) {
        throw new WorkflowFailedError(`${what}: pickValue the_only_non_null found ${nonNull.length} non-null values, expected exactly one`);
      }
      return nonNull[0] as CwlValue;
    case 'all_non_null':
      return nonNull;
  }
}
