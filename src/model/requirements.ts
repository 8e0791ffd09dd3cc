/**
 * Requirement and hint lookup, following CWL's inheritance rules: requirements of an enclosing
 * workflow/step apply to the processes inside; a process's own requirement of the same class
 * overrides the inherited one; requirements override hints of the same class.
 */
import type { Requirement } from './types.js';

/** Where a job object carries requirements for the process it runs (CWL v1.1+ `cwl:requirements`). */
export const JOB_REQUIREMENTS_KEY = 'cwl:requirements';

export interface EffectiveRequirements {
  /** Innermost wins: later entries override earlier ones of the same class. */
  requirements: Requirement[];
  hints: Requirement[];
}

/** Merge layers ordered outermost first (workflow, step, process). Later layers win per class. */
export function mergeRequirements(...layers: Requirement[][]): Requirement[] {
  const byClass = new Map<string, Requirement>();
  for (const layer of layers) for (const r of layer) byClass.set(r.class, r);
  return [...byClass.values()];
}

/** The requirement of `cls` if any, else the hint of `cls`. */
export function findRequirement<T extends Requirement = Requirement>(
  eff: EffectiveRequirements,
  cls: string,
): { value: T; required: boolean } | undefined {
  const req = eff.requirements.find((r) => r.class === cls);
  if (req) return { value: req as T, required: true };
  const hint = eff.hints.find((r) => r.class === cls);
  if (hint) return { value: hint as T, required: false };
  return undefined;
}

export function hasRequirement(eff: EffectiveRequirements, cls: string): boolean {
  return findRequirement(eff, cls) !== undefined;
}
