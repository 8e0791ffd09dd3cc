import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { normalizeJobRequirements, resolveJobObject } from './job.js';

describe('cwl:requirements in a job object', () => {
  it('are kept in list form under cwl:requirements, from a list, a map or the full URI', () => {
    const list = [{ class: 'EnvVarRequirement', envDef: [{ envName: 'A', envValue: 'x' }] }];
    expect(resolveJobObject({ in: 'v', 'cwl:requirements': list }, '/base')['cwl:requirements']).toEqual(list);
    expect(resolveJobObject({ 'https://w3id.org/cwl/cwl#requirements': { EnvVarRequirement: { envDef: { A: 'x' } } } }, '/base')).toEqual({
      'cwl:requirements': [{ class: 'EnvVarRequirement', envDef: { A: 'x' } }],
    });
    expect(resolveJobObject({ in: 'v' }, '/base')).toEqual({ in: 'v' });
  });

  it('refuses what is not a requirement', () => {
    expect(() => normalizeJobRequirements([{ envDef: {} }])).toThrow(InputError);
    expect(() => normalizeJobRequirements('EnvVarRequirement')).toThrow(InputError);
  });
});
