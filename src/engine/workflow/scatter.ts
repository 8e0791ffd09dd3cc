/** Scatter: the list of jobs for dotproduct / nested_crossproduct / flat_crossproduct, and the output shape. Pure. */
import { WorkflowFailedError } from '../../errors.js';
import type { CwlObject, CwlValue, ScatterMethod } from '../../model/types.js';

export interface ScatterPlan {
  jobs: CwlObject[];
  /** Turn the per-job results (in job order) into the step's output value. */
  shape<T>(results: T[]): T[] | T[][] | unknown[];
}

export function planScatter(inputs: CwlObject, names: string[], method: ScatterMethod | undefined, step: string): ScatterPlan {
  const lists = names.map((n) => {
    const v = inputs[n];
    if (!Array.isArray(v)) throw new WorkflowFailedError(`step ${step}: scatter input ${n} is not an array (got ${JSON.stringify(v)?.slice(0, 80)})`);
    return v;
  });
  const m = method ?? (names.length > 1 ? undefined : 'dotproduct');
  if (names.length > 1 && m === undefined) throw new WorkflowFailedError(`step ${step}: scatter over several inputs needs a scatterMethod`);
  if (m === 'dotproduct') {
    const len = lists[0]?.length ?? 0;
    if (lists.some((l) => l.length !== len)) {
      throw new WorkflowFailedError(`step ${step}: dotproduct scatter needs arrays of equal length, got ${lists.map((l) => l.length).join(' and ')}`);
    }
    const jobs: CwlObject[] = [];
    for (let i = 0; i < len; i++) {
      const job = { ...inputs };
      names.forEach((n, k) => (job[n] = (lists[k] as CwlValue[])[i] as CwlValue));
      jobs.push(job);
    }
    return { jobs, shape: (r) => r };
  }
  // Cross products: every combination, first input varying slowest.
  const jobs: CwlObject[] = [];
  const rec = (k: number, job: CwlObject) => {
    if (k === names.length) {
      jobs.push({ ...job });
      return;
    }
    for (const v of lists[k] as CwlValue[]) {
      job[names[k] as string] = v;
      rec(k + 1, job);
    }
  };
  rec(0, { ...inputs });
  if (m === 'flat_crossproduct') return { jobs, shape: (r) => r };
  const dims = lists.map((l) => l.length);
  return {
    jobs,
    shape: <T>(results: T[]) => {
      let i = 0;
      const build = (d: number): unknown[] => {
        const out: unknown[] = [];
        for (let j = 0; j < (dims[d] as number); j++) out.push(d === dims.length - 1 ? results[i++] : build(d + 1));
        return out;
      };
      return build(0);
    },
  };
}
