/** The validation passes that run on a loaded document (the field checks run while loading). */
import type { Process } from '../../model/types.js';
import { checkWorkflow, workflowsOf } from './check-workflow.js';
import type { Issues } from './issues.js';

export function checkLoaded(root: Process, issues: Issues): void {
  for (const { wf, inherited } of workflowsOf(root)) checkWorkflow(wf, issues, inherited);
}
