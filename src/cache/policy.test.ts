import { describe, expect, it } from 'vitest';
import type { Process } from '../model/types.js';
import { cacheBlocker } from './policy.js';

const tool = (requirements: unknown[] = []): Process =>
  ({ class: 'CommandLineTool', id: 'file:///t.cwl', inputs: [], outputs: [], requirements, hints: [] }) as unknown as Process;

describe('cacheBlocker', () => {
  it('allows a run without InplaceUpdateRequirement', () => {
    expect(cacheBlocker(tool())).toBeUndefined();
    expect(cacheBlocker(tool([{ class: 'InplaceUpdateRequirement', inplaceUpdate: false }]))).toBeUndefined();
  });
  it('blocks a run where a tool, a nested step or the job object asks for in-place updates', () => {
    expect(cacheBlocker(tool([{ class: 'InplaceUpdateRequirement', inplaceUpdate: true }]))).toMatch(/InplaceUpdateRequirement/);
    const wf = {
      class: 'Workflow',
      id: 'file:///wf.cwl',
      requirements: [],
      hints: [],
      steps: [{ id: 's', requirements: [], hints: [], run: tool([{ class: 'InplaceUpdateRequirement', inplaceUpdate: '$(true)' }]) }],
    } as unknown as Process;
    expect(cacheBlocker(wf)).toMatch(/t\.cwl/);
    expect(cacheBlocker(tool(), [{ class: 'InplaceUpdateRequirement', inplaceUpdate: true }])).toMatch(/job object/);
  });
});
