/** Run any CWL process: Workflow through the workflow engine, tools through the tool layer. */
import { UnsupportedRequirementError } from '../errors.js';
import type { CwlObject } from '../model/types.js';
import type { Invocation, RuntimeContext } from './context.js';
import { runCommandLineTool } from './tool/run-command-line-tool.js';
import { runExpressionTool } from './tool/run-expression-tool.js';
import { runWorkflow } from './workflow/run-workflow.js';

export async function runProcess(inv: Invocation, ctx: RuntimeContext): Promise<CwlObject> {
  const p = inv.process;
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
