import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { TASK_REASONS } from '../../executor/executor.js';
import { WES_STATES, wesState } from './wes-state.js';

const SPEC = path.resolve(import.meta.dirname, '../../../spec/ga4gh/workflow-execution-service-1.1.0/workflow_execution_service.openapi.yaml');

describe('a run\'s WES state, from what Strand recorded', () => {
  it('names exactly the eleven states of the vendored WES 1.1.0 specification', () => {
    const spec = parse(readFileSync(SPEC, 'utf8')) as { components: { schemas: { State: { enum: string[] } } } };
    expect([...WES_STATES]).toEqual(spec.components.schemas.State.enum);
  });

  it('a running run: queued while its leader Job has no pod, initializing while it starts, then running; canceling once a cancel is asked', () => {
    expect(wesState({ status: 'running', leader: 'pending', failures: [] })).toBe('QUEUED');
    expect(wesState({ status: 'running', leader: 'starting', failures: [] })).toBe('INITIALIZING');
    expect(wesState({ status: 'running', failures: [] })).toBe('RUNNING');
    expect(wesState({ status: 'running', leader: 'pending', cancelRequested: true, failures: [] })).toBe('CANCELING');
  });

  it('an ended run: complete, canceled; interrupted (Strand stopped) is a system error', () => {
    expect(wesState({ status: 'success', failures: [] })).toBe('COMPLETE');
    expect(wesState({ status: 'cancelled', failures: ['cancelled'] })).toBe('CANCELED');
    expect(wesState({ status: 'interrupted', failures: [] })).toBe('SYSTEM_ERROR');
  });

  it("a failed run: the tool's failure first, then preemption when it is all there is, else a system error", () => {
    expect(wesState({ status: 'failed', failures: ['completed'] })).toBe('EXECUTOR_ERROR');
    expect(wesState({ status: 'failed', failures: ['oom_killed'] })).toBe('EXECUTOR_ERROR');
    expect(wesState({ status: 'failed', failures: ['timed_out'] })).toBe('EXECUTOR_ERROR');
    expect(wesState({ status: 'failed', failures: ['evicted', 'completed'] })).toBe('EXECUTOR_ERROR');
    expect(wesState({ status: 'failed', failures: ['evicted'] })).toBe('PREEMPTED');
    expect(wesState({ status: 'failed', failures: ['evicted', 'lost'] })).toBe('PREEMPTED');
    expect(wesState({ status: 'failed', failures: ['evicted', 'image_unavailable'] })).toBe('SYSTEM_ERROR');
    expect(wesState({ status: 'failed', failures: ['image_unavailable'] })).toBe('SYSTEM_ERROR');
    expect(wesState({ status: 'failed', failures: ['unschedulable'] })).toBe('SYSTEM_ERROR');
    expect(wesState({ status: 'failed', failures: ['failed'] })).toBe('SYSTEM_ERROR');
    // Failed before any task (an input Strand could not read, an engine error).
    expect(wesState({ status: 'failed', failures: [] })).toBe('SYSTEM_ERROR');
  });

  it('gives a state for every reason a task can end with, and never PAUSED', () => {
    for (const r of TASK_REASONS) {
      for (const status of ['failed', 'cancelled', 'success', 'running', 'interrupted'] as const) {
        const s = wesState({ status, failures: [r] });
        expect(WES_STATES).toContain(s);
        expect(s).not.toBe('PAUSED');
      }
    }
    expect(wesState({ status: 'strange' as never, failures: [] })).toBe('UNKNOWN');
  });
});
