/** Run any CWL process: Workflow through the workflow engine, tools through the tool layer. */
import { UnsupportedRequirementError } from '../errors.js';
import { JOB_REQUIREMENTS_KEY, mergeRequirements } from '../model/requirements.js';
import type { CwlObject, Process, Requirement } from '../model/types.js';
import { noteFromJob } from '../model/written-at.js';
import type { Invocation, RuntimeContext } from './context.js';
import { registerSecrets } from './secrets.js';
import { runCommandLineTool } from './tool/run-command-line-tool.js';
import { runExpressionTool } from './tool/run-expression-tool.js';
import { runWorkflow } from './workflow/run-workflow.js';

/**
 * A job object's `cwl:requirements` (a list, as the loader's resolveJobObject leaves them) apply to the process it runs, over the process's own
 * requirements of the same class (as in cwltool, which appends them to the process's list). For a
 * workflow they are its requirements, inherited by the steps like any other.
 */
export function applyJobRequirements(inv: Invocation): Invocation {
  const reqs = inv.inputs[JOB_REQUIREMENTS_KEY];
  if (!Array.isArray(reqs)) return inv;
  const inputs = { ...inv.inputs };
  delete inputs[JOB_REQUIREMENTS_KEY];
  // What they name is the user's, as the job's inputs are (staging/document-paths.ts).
  for (const r of reqs) if (typeof r === 'object' && r !== null) noteFromJob(r);
  const process = { ...inv.process, requirements: mergeRequirements(inv.process.requirements, reqs as unknown as Requirement[]) } as Process;
  return { ...inv, process, inputs };
}

export async function runProcess(invocation: Invocation, ctx: RuntimeContext): Promise<CwlObject> {
  const inv = applyJobRequirements(invocation);
  const p = inv.process;
  // Before anything of it is shown or recorded: its secret inputs' values join the run's mask.
  if (ctx.secrets) registerSecrets(p, inv.inputs, ctx.secrets);
  switch (p.class) {
    case 'Workflow':
      return runWorkflow(p, inv, ctx, runProcess);
    case 'CommandLineTool':
      return runCommandLineTool(inv, ctx);
    case 'ExpressionTool':
      return runExpressionTool(inv, ctx);
    case 'Operation':
      throw new UnsupportedRequirementError(
        'Operation',
        `cannot run an abstract operation ${p.id}: an Operation has no implementation; replace it with a CommandLineTool, ExpressionTool or Workflow`,
      );
  }
}
