import { describe, expect, it } from 'vitest';
import type { Requirement } from '../../model/types.js';
import { computeResources } from './resources.js';
import { fakeEvaluator } from './test-support.js';

const fc = { evaluator: fakeEvaluator(), inputs: { n: 3 }, runtime: { outdir: '/o', tmpdir: '/t' } };
const eff = (requirements: Requirement[], hints: Requirement[] = []) => ({ requirements, hints });

describe('computeResources', () => {
  it('uses the CWL v1.2 defaults', () => {
    const r = computeResources(eff([]), fc);
    expect(r.runtime).toEqual({ cores: 1, ram: 256, tmpdirSize: 1024, outdirSize: 1024 });
    expect(r.resources).toEqual({ cores: 1, ramMiB: 256, tmpdirMiB: 1024, outdirMiB: 1024 });
  });

  it('rounds fractional values up in runtime (cores_float, storage_float)', () => {
    const r = computeResources(eff([{ class: 'ResourceRequirement', coresMin: 1.25, coresMax: 1.75 }]), fc);
    expect(r.runtime.cores).toBe(2);
    expect(r.resources.cores).toBe(1.25);
    expect(r.resources.coresMax).toBe(1.75);
    const s = computeResources(
      eff([{ class: 'ResourceRequirement', ramMin: 254.1, ramMax: 254.9, tmpdirMin: 255.1, tmpdirMax: 255.9, outdirMin: 256.1, outdirMax: 256.9 }]),
      fc,
    );
    expect([s.runtime.ram, s.runtime.tmpdirSize, s.runtime.outdirSize]).toEqual([255, 256, 257]);
  });

  it('a lone Max is also the Min; hints count; expressions are evaluated', () => {
    expect(computeResources(eff([{ class: 'ResourceRequirement', coresMax: 4 }]), fc).runtime.cores).toBe(4);
    expect(computeResources(eff([], [{ class: 'ResourceRequirement', coresMin: 2 }]), fc).runtime.cores).toBe(2);
    const r = computeResources(eff([{ class: 'ResourceRequirement', ramMin: '$(inputs.n * 100)' }]), fc);
    expect(r.runtime.ram).toBe(300);
    expect(r.resources.ramMaxMiB).toBeUndefined();
  });

  it('the requirement wins over the hint', () => {
    const r = computeResources(eff([{ class: 'ResourceRequirement', coresMin: 3 }], [{ class: 'ResourceRequirement', coresMin: 8 }]), fc);
    expect(r.runtime.cores).toBe(3);
  });

  it('rejects Max below Min', () => {
    expect(() => computeResources(eff([{ class: 'ResourceRequirement', ramMin: 10, ramMax: 5 }]), fc)).toThrow(/less than/);
  });

  it('maps the cwltool CUDARequirement to gpus', () => {
    const r = computeResources(eff([], [{ class: 'http://commonwl.org/cwltool#CUDARequirement', cudaDeviceCountMin: 2, cudaVersionMin: '11.0' }]), fc);
    expect(r.resources.gpus).toBe(2);
    expect(r.runtime.cudaDeviceCount).toBe(2);
  });
});
