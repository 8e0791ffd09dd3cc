import { describe, expect, it } from 'vitest';
import { stepStatesByNode } from './node-steps.js';

describe('stepStatesByNode', () => {
  it('folds the records of a step inside a scattered sub-workflow into its graph node', () => {
    const states = stepStatesByNode([
      { stepPath: 'main/sub', status: 'success' },
      { stepPath: 'main/sub/0/inner', status: 'skipped' },
      { stepPath: 'main/sub/1/inner', status: 'skipped' },
      { stepPath: 'main/sub/0/other', status: 'skipped' },
      { stepPath: 'main/sub/1/other', status: 'success' },
      { stepPath: 'main/sub/0/third', status: 'success' },
      { stepPath: 'main/sub/1/third', status: 'running' },
      { stepPath: 'main/sub/2/third', status: 'failed' },
    ]);
    expect(Object.fromEntries(states.map((s) => [s.node, s.status]))).toEqual({
      'main/sub': 'success',
      'main/sub/inner': 'skipped',
      'main/sub/other': 'success',
      'main/sub/third': 'running',
    });
  });
});
