/** The validation passes that run on a loaded document (the field checks run while loading). */
import { isSecretsClass, secretsProblems } from '../../model/secrets.js';
import type { Process } from '../../model/types.js';
import { checkWorkflow, workflowsOf } from './check-workflow.js';
import type { Issues } from './issues.js';
import { locate } from './locate.js';

export function checkLoaded(root: Process, issues: Issues): void {
  for (const { wf, inherited } of workflowsOf(root)) checkWorkflow(wf, issues, inherited);
  checkSecrets(root, issues, new Set());
}

/** cwltool:Secrets (hint or requirement) must name string inputs of the process that carries it. */
function checkSecrets(p: Process, issues: Issues, seen: Set<Process>): void {
  if (seen.has(p)) return;
  seen.add(p);
  for (const field of ['requirements', 'hints'] as const) {
    const entries = p[field].filter((r) => isSecretsClass(r.class));
    for (const problem of secretsProblems(entries, p.inputs)) issues.error(locate(p, field, field, p.sourceFile), problem);
  }
  if (p.class === 'Workflow') for (const st of p.steps) if (typeof st.run === 'object') checkSecrets(st.run, issues, seen);
}
