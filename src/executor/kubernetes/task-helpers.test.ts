import type { V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { TaskSpec } from '../executor.js';
import { demandOf } from './task-helpers.js';

const spec = { resources: { cores: 2, ramMiB: 256, tmpdirMiB: 1, outdirMiB: 1 } } as TaskSpec;
const job = (containers: object[], initContainers: object[] = []): V1Job => ({ spec: { template: { spec: { containers, initContainers } } } }) as V1Job;

describe('demandOf', () => {
  it("counts the pod as the scheduler does: the tool's request plus the containers beside it, or the largest init container", () => {
    // Workspace mode: the tool's container alone.
    expect(demandOf(job([{ name: 'task', resources: { requests: { cpu: '2', memory: '256Mi' }, limits: { memory: '256Mi' } } }]), spec, 256)).toEqual({
      cpuMilli: 2000,
      memMiB: 256,
      limitMemMiB: 256,
    });
    // Object-store mode: the upload container's requests add to the tool's; stage-in (init) does not, being smaller.
    const os = job(
      [
        { name: 'task', resources: { requests: { cpu: '2', memory: '256Mi' }, limits: { memory: '256Mi' } } },
        { name: 'upload', resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } } },
      ],
      [{ name: 'stage-in', resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } } }],
    );
    expect(demandOf(os, spec, 256)).toEqual({ cpuMilli: 2050, memMiB: 320, limitMemMiB: 512 });
    // An init container asking for more than the app containers together sets the pod's request.
    const bigInit = job([{ name: 'task', resources: { requests: { cpu: '100m', memory: '32Mi' } } }], [{ name: 'stage-in', resources: { requests: { cpu: '1', memory: '1Gi' } } }]);
    expect(demandOf(bigInit, { resources: { cores: 0.1, ramMiB: 32, tmpdirMiB: 1, outdirMiB: 1 } } as TaskSpec, 32)).toEqual({ cpuMilli: 1000, memMiB: 1024 });
  });
});
