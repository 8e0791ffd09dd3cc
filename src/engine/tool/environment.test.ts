import { describe, expect, it } from 'vitest';
import { buildEnvironment } from './environment.js';
import { fakeEvaluator } from './test-support.js';

const fc = { evaluator: fakeEvaluator(), inputs: { who: 'world' }, runtime: { outdir: '/o', tmpdir: '/t' } };
const o = { outdir: '/o', tmpdir: '/t', hostPath: '/host/bin' };

describe('buildEnvironment', () => {
  it('has only PATH, HOME and TMPDIR without EnvVarRequirement', () => {
    expect(buildEnvironment({ requirements: [], hints: [] }, fc, o)).toEqual({ PATH: '/host/bin', HOME: '/o', TMPDIR: '/t' });
  });

  it("has no PATH for a task in a container (its image's applies), unless EnvVarRequirement sets one", () => {
    const inContainer = { outdir: '/o', tmpdir: '/t' };
    expect(buildEnvironment({ requirements: [], hints: [] }, fc, inContainer)).toEqual({ HOME: '/o', TMPDIR: '/t' });
    const set = buildEnvironment({ requirements: [{ class: 'EnvVarRequirement', envDef: { PATH: '/opt/tool/bin:/usr/bin' } }], hints: [] }, fc, inContainer);
    expect(set.PATH).toBe('/opt/tool/bin:/usr/bin');
  });

  it('adds envDef entries (array and map forms), evaluating expressions', () => {
    const arr = buildEnvironment(
      { requirements: [{ class: 'EnvVarRequirement', envDef: [{ envName: 'GREETING', envValue: 'hello $(inputs.who)' }, { envName: 'HOME', envValue: '/elsewhere' }] }], hints: [] },
      fc,
      o,
    );
    expect(arr).toEqual({ PATH: '/host/bin', HOME: '/elsewhere', TMPDIR: '/t', GREETING: 'hello world' });
    const map = buildEnvironment({ requirements: [], hints: [{ class: 'EnvVarRequirement', envDef: { WHO: '$(inputs.who)' } }] }, fc, o);
    expect(map.WHO).toBe('world');
  });
});
