import { describe, expect, it } from 'vitest';
import { UnsupportedRequirementError } from '../../errors.js';
import { assertSupported } from './supported-requirements.js';

describe('assertSupported', () => {
  it('accepts the standard requirements and the cwltool CUDA extension', () => {
    expect(() =>
      assertSupported({
        requirements: [
          { class: 'DockerRequirement' },
          { class: 'ShellCommandRequirement' },
          { class: 'https://w3id.org/cwl/cwl#ToolTimeLimit' },
          { class: 'http://commonwl.org/cwltool#CUDARequirement' },
        ],
        hints: [],
      }),
    ).not.toThrow();
  });

  it('rejects unknown requirements but ignores unknown hints', () => {
    expect(() => assertSupported({ requirements: [{ class: 'MagicRequirement' }], hints: [] }, 'main/x')).toThrow(UnsupportedRequirementError);
    expect(() => assertSupported({ requirements: [{ class: 'MagicRequirement' }], hints: [] }, 'main/x')).toThrow(/MagicRequirement.*main\/x/);
    expect(() => assertSupported({ requirements: [], hints: [{ class: 'MagicRequirement' }] })).not.toThrow();
  });
});
