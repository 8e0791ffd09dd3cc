import { describe, expect, it } from 'vitest';
import { OversizeWarnings, oversizeMessage } from './oversized-requests.js';

const machine = { cores: 2, ramMiB: 8000 };
const asks = (cores: number, ramMiB: number) => ({ cores, ramMiB, tmpdirMiB: 1024, outdirMiB: 1024 });

describe('oversizeMessage', () => {
  it('names what the step asks beyond the machine, and what the machine has', () => {
    expect(oversizeMessage('main/align', asks(64, 900000), machine)).toBe(
      'step main/align asks for coresMin 64 and ramMin 900000 MiB (ResourceRequirement), more than this machine has (2 cores, 8000 MiB of memory); it runs with what there is',
    );
    expect(oversizeMessage('align', asks(1, 9000), machine)).toBe(
      'tool align asks for ramMin 9000 MiB (ResourceRequirement), more than this machine has (8000 MiB of memory); it runs with what there is',
    );
    expect(oversizeMessage('align', asks(3, 100), { cores: 1, ramMiB: 8000 })).toContain('(1 core)');
  });
  it('says nothing when the machine has what it asks, to the last core and MiB', () => {
    expect(oversizeMessage('main/align', asks(2, 8000), machine)).toBeUndefined();
  });
});

describe('OversizeWarnings', () => {
  it('warns once per step, whatever the scatter index or attempt', () => {
    const said: string[] = [];
    const w = new OversizeWarnings((m) => said.push(m), machine);
    for (const p of ['main/align/0', 'main/align/1', 'main/align/1', 'main/sort', 'main/call/0/2', 'main/call/1/0']) w.check(p, asks(4, 100));
    w.check('main/small/0', asks(1, 100));
    expect(said.map((m) => m.replace(/ asks.*/, ''))).toEqual(['step main/align', 'step main/sort', 'step main/call']);
  });
});
