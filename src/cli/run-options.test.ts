import { describe, expect, it } from 'vitest';
import { givenOptions, optionsAsFlags, resumedOptions, withOptions } from './run-options.js';

describe('run options recorded for --resume', () => {
  it('records only what the command line gave', () => {
    expect(givenOptions({})).toEqual({});
    expect(givenOptions({ container: true, executor: 'kubernetes', namespace: 'lab', retries: 2 })).toEqual({ executor: 'kubernetes', retries: 2, executorOverrides: { namespace: 'lab' } });
    expect(givenOptions({ container: false, allowIncludeOutside: true })).toEqual({ noContainer: true, allowOutsideDocument: true });
  });

  it("takes the resumed run's options where this command line gives none, flag by flag", () => {
    const recorded = { executor: 'kubernetes', noContainer: true, retries: 2, executorOverrides: { namespace: 'lab', maxParallel: 8 } };
    const merged = resumedOptions(recorded, givenOptions({ retries: 0, maxParallel: 2 }));
    expect(merged).toEqual({ executor: 'kubernetes', noContainer: true, retries: 0, executorOverrides: { namespace: 'lab', maxParallel: 2 } });
    const flags = withOptions({ container: true, retries: 0, maxParallel: 2 }, merged);
    expect(flags).toMatchObject({ executor: 'kubernetes', container: false, retries: 0, namespace: 'lab', maxParallel: 2 });
    expect(optionsAsFlags(merged)).toBe('--executor kubernetes --no-container --retries 0 --namespace lab --max-parallel 2');
  });
});
