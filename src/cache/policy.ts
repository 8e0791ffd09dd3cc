/** Whether a run may use the task cache at all, from its process tree. */
import type { Process, Requirement } from '../model/types.js';

function inplace(reqs: readonly Requirement[] | undefined): boolean {
  return (reqs ?? []).some((r) => r.class === 'InplaceUpdateRequirement' && (r as Record<string, unknown>).inplaceUpdate !== false);
}

/**
 * Why the run must not use the cache, or undefined. A tool with InplaceUpdateRequirement writes to
 * its inputs, which may be cached results of earlier steps: the cache is off for such a run, so a
 * cached result is never changed.
 */
export function cacheBlocker(p: Process, jobRequirements?: unknown): string | undefined {
  if (Array.isArray(jobRequirements) && inplace(jobRequirements as Requirement[])) return 'the job object asks for InplaceUpdateRequirement';
  const seen = new Set<Process>();
  const visit = (q: Process): string | undefined => {
    if (seen.has(q)) return undefined;
    seen.add(q);
    if (inplace(q.requirements) || inplace(q.hints)) return `${q.id} has InplaceUpdateRequirement (tools that change their inputs could change cached results)`;
    if (q.class === 'Workflow') {
      for (const s of q.steps) {
        if (inplace(s.requirements) || inplace(s.hints)) return `step ${s.id} has InplaceUpdateRequirement`;
        const r = visit(s.run);
        if (r) return r;
      }
    }
    return undefined;
  };
  return visit(p);
}

