import { describe, expect, it } from 'vitest';
import { largestCoresMin } from './suite.js';

describe('largestCoresMin (which conformance tests run alone on a cluster)', () => {
  it('reads coresMin of ResourceRequirement in list and map form, in hints, requirements and steps', () => {
    expect(largestCoresMin({ hints: [{ class: 'ResourceRequirement', coresMin: 2 }, { class: 'DockerRequirement' }] })).toBe(2);
    expect(largestCoresMin({ requirements: { ResourceRequirement: { coresMin: 1.25, coresMax: 1.75 } } })).toBe(1.25);
    expect(largestCoresMin({ steps: { s: { run: { requirements: [{ class: 'ResourceRequirement', coresMin: 4 }] } } } })).toBe(4);
  });

  it('is 1 without a number: no requirement, an expression, or coresMin outside a ResourceRequirement', () => {
    expect(largestCoresMin({ class: 'CommandLineTool', inputs: [] })).toBe(1);
    expect(largestCoresMin({ requirements: { ResourceRequirement: { coresMin: '$(inputs.special_file.size)' } } })).toBe(1);
    expect(largestCoresMin({ inputs: { coresMin: 8 } })).toBe(1);
    expect(largestCoresMin({ hints: [{ class: 'ResourceRequirement', coresMin: 0.5 }] })).toBe(1);
  });
});
