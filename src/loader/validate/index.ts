/** The validation passes that run on a loaded document (the field checks run while loading). */
import { isSecretsClass, secretsProblems } from '../../model/secrets.js';
import { isTaskRetryClass, taskRetryCount } from '../../model/task-retry-hint.js';
import type { Process, WorkflowStep } from '../../model/types.js';
import { checkWorkflow, workflowsOf } from './check-workflow.js';
import type { Issues } from './issues.js';
import { locate } from './locate.js';

export function checkLoaded(root: Process, issues: Issues): void {
  for (const { wf, inherited } of workflowsOf(root)) checkWorkflow(wf, issues, inherited);
  checkSecrets(root, issues, new Set());
  checkTaskRetry(root, issues, new Set());
}

/** strand:TaskRetry (on a process or a step) must give a whole number of retries: said at load, with where. */
function checkTaskRetry(p: Process, issues: Issues, seen: Set<Process>): void {
  if (seen.has(p)) return;
  seen.add(p);
  const holders: { holder: Process | WorkflowStep; file: string | undefined }[] = [{ holder: p, file: p.sourceFile }];
  if (p.class === 'Workflow') for (const st of p.steps) holders.push({ holder: st, file: p.sourceFile });
  for (const { holder, file } of holders) {
    for (const field of ['requirements', 'hints'] as const) {
      for (const r of holder[field]) {
        if (!isTaskRetryClass(r.class)) continue;
        const n = taskRetryCount(r);
        if (typeof n === 'object') issues.error(locate(holder, field, field, file), n.problem);
      }
    }
  }
  if (p.class === 'Workflow') for (const st of p.steps) if (typeof st.run === 'object') checkTaskRetry(st.run, issues, seen);
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
