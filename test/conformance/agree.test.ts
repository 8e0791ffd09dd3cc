import { describe, expect, it } from 'vitest';
import { compareRunners } from './agree.js';

const harness = (pass: string[], fail: string[]) => ({
  passed: pass.length,
  results: [...pass.map((id) => ({ id, status: 'pass' })), ...fail.map((id) => ({ id, status: 'fail' }))],
});
const independent = (pass: string[], fail: string[], unsupported: string[] = []) => ({
  summary: { passed: pass.length },
  results: [
    ...pass.map((id) => ({ id, status: 'passed' })),
    ...fail.map((id) => ({ id, status: 'failed' })),
    ...unsupported.map((id) => ({ id, status: 'unsupported' })),
  ],
});

describe('harness and cwl-conformance.py agreement', () => {
  it('agrees when both pass the same number of the same tests', () => {
    expect(compareRunners(harness(['a', 'b'], ['c']), independent(['b', 'a'], [], ['c']))).toEqual({
      agree: true,
      harnessPassed: 2,
      independentPassed: 2,
      onlyHarness: [],
      onlyIndependent: [],
    });
  });
  it('disagrees on different pass counts and names the tests', () => {
    const a = compareRunners(harness(['a', 'b', 'c'], []), independent(['a', 'b'], ['c']));
    expect(a).toMatchObject({ agree: false, harnessPassed: 3, independentPassed: 2, onlyHarness: ['c'], onlyIndependent: [] });
  });
  it('disagrees when the two ran different tests', () => {
    expect(compareRunners(harness(['a'], ['b']), independent(['a'], [])).agree).toBe(false);
  });
  it('refuses files that are not the runners\' results', () => {
    expect(() => compareRunners({ passed: 3 }, independent([], []))).toThrow(/harness results/);
    expect(() => compareRunners(harness([], []), { results: [{ id: 'x' }] })).toThrow(/independent results: result 0/);
  });
});
