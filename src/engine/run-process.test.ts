import { describe, expect, it } from 'vitest';
import type { Process } from '../model/types.js';
import { applyJobRequirements } from './run-process.js';

describe('applyJobRequirements', () => {
  const tool = {
    class: 'CommandLineTool',
    id: 't',
    inputs: [],
    outputs: [],
    hints: [],
    requirements: [{ class: 'EnvVarRequirement', envDef: { TEST_ENV: 'original' } }, { class: 'ShellCommandRequirement' }],
  } as unknown as Process;

  it("puts the job's requirements over the process's own of the same class, and takes them out of the inputs", () => {
    const job = { in: 'v', 'cwl:requirements': [{ class: 'EnvVarRequirement', envDef: { TEST_ENV: 'user' } }] };
    const inv = applyJobRequirements({ process: tool, inputs: job, path: 't', inheritedRequirements: [], inheritedHints: [] });
    expect(inv.inputs).toEqual({ in: 'v' });
    expect(inv.process.requirements).toEqual([{ class: 'EnvVarRequirement', envDef: { TEST_ENV: 'user' } }, { class: 'ShellCommandRequirement' }]);
    expect(tool.requirements[0]).toEqual({ class: 'EnvVarRequirement', envDef: { TEST_ENV: 'original' } });
  });

  it('leaves an invocation without them alone', () => {
    const inv = { process: tool, inputs: { in: 'v' }, path: 't', inheritedRequirements: [], inheritedHints: [] };
    expect(applyJobRequirements(inv)).toBe(inv);
  });
});
