import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventNews, jobOfEvent } from './cluster-events.js';

const ev = (kind: string, name: string, reason: string, message: string, type = 'Warning'): CoreV1Event => ({ involvedObject: { kind, name }, metadata: {}, reason, message, type });

describe('eventNews', () => {
  it('fails the task when the pod is refused after admission, with the cluster\'s words', () => {
    const n = eventNews(ev('Job', 's-1', 'FailedCreate', 'Error creating: pods "s-1-abcde" is forbidden: maximum memory usage per Container is 100Mi, but limit is 256Mi'));
    expect(n).toEqual({ kind: 'refused', message: expect.stringContaining('maximum memory usage per Container is 100Mi') });
    expect(eventNews(ev('Pod', 's-1-abcde', 'FailedScheduling', 'persistentvolumeclaim "nope" not found'))?.kind).toBe('refused');
    expect(eventNews(ev('Pod', 's-1-abcde', 'FailedMount', 'MountVolume.SetUp failed for volume "x" : secret "creds" not found'))?.kind).toBe('refused');
  });

  it('only notes a quota refusal (room comes back) and a slow mount; ignores Normal events and what pod status already says', () => {
    expect(eventNews(ev('Job', 's-1', 'FailedCreate', 'Error creating: pods "s-1-x" is forbidden: exceeded quota: q, requested: pods=1'))?.kind).toBe('note');
    expect(eventNews(ev('Pod', 's-1-abcde', 'FailedMount', 'timed out waiting for the condition'))?.kind).toBe('note');
    expect(eventNews(ev('Pod', 's-1-abcde', 'FailedScheduling', '0/1 nodes are available: 1 Insufficient cpu.'))).toBeUndefined();
    expect(eventNews(ev('Job', 's-1', 'SuccessfulCreate', 'Created pod', 'Normal'))).toBeUndefined();
  });
});

describe('jobOfEvent', () => {
  it('names the Job of a Job or pod Event', () => {
    expect(jobOfEvent(ev('Job', 's-run-step-1', 'x', ''))).toBe('s-run-step-1');
    expect(jobOfEvent(ev('Pod', 's-run-step-1-q7x2z', 'x', ''))).toBe('s-run-step-1');
    expect(jobOfEvent(ev('Node', 'rig', 'x', ''))).toBeUndefined();
  });
});
