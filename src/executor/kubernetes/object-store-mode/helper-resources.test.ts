import type { V1LimitRange } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { fitToLimitRanges } from './helper-resources.js';
import { DEFAULT_HELPER_RESOURCES } from './settings.js';

const range = (name: string, item: Record<string, unknown>): V1LimitRange => ({ metadata: { name }, spec: { limits: [{ type: 'Container', ...item }] } });

describe('fitToLimitRanges', () => {
  it('asks for CPU and memory by default, so a namespace with requests/limits quotas admits the helpers', () => {
    expect(DEFAULT_HELPER_RESOURCES.requests).toEqual({ cpu: '0', memory: '64Mi' });
    expect(DEFAULT_HELPER_RESOURCES.limits).toEqual({ cpu: '1', memory: '256Mi' });
    expect(fitToLimitRanges(DEFAULT_HELPER_RESOURCES, [])).toEqual({ ...DEFAULT_HELPER_RESOURCES, notes: [] });
  });

  it("raises requests to a range's min and lowers limits to its max, saying so", () => {
    const fitted = fitToLimitRanges(DEFAULT_HELPER_RESOURCES, [range('lab', { min: { cpu: '100m', memory: '128Mi' }, max: { cpu: '500m', memory: '1Gi' } })]);
    expect(fitted.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(fitted.limits).toEqual({ cpu: '500m', memory: '256Mi' });
    expect(fitted.notes).toEqual(['cpu request 0 -> 100m (LimitRange lab min)', 'memory request 64Mi -> 128Mi (LimitRange lab min)', 'cpu limit 1 -> 500m (LimitRange lab max)']);
  });

  it('never leaves a request above its limit, and sets a limit where a max needs one', () => {
    const fitted = fitToLimitRanges({ requests: { cpu: '2' }, limits: {} }, [range('tight', { max: { cpu: '1', memory: '100Mi' } })]);
    expect(fitted.limits).toEqual({ cpu: '1', memory: '100Mi' });
    expect(fitted.requests).toEqual({ cpu: '1' });
  });

  it('ignores Pod and PersistentVolumeClaim ranges', () => {
    const lr: V1LimitRange = { metadata: { name: 'p' }, spec: { limits: [{ type: 'Pod', min: { cpu: '1' } }, { type: 'PersistentVolumeClaim', min: { storage: '1Gi' } }] } };
    expect(fitToLimitRanges(DEFAULT_HELPER_RESOURCES, [lr]).requests).toEqual(DEFAULT_HELPER_RESOURCES.requests);
  });
});
