import { describe, expect, it } from 'vitest';
import { taskEndText, type TaskResult } from './executor.js';

const failed = (message: string, reason: TaskResult['reason'] = 'failed'): TaskResult => ({ reason, exitCode: null, message, finishedAt: new Date() });

describe('taskEndText', () => {
  it('does not repeat the task or step the caller already names', () => {
    expect(taskEndText(failed('index: pod p-1 (Job j-1): image pull failed'), 'index')).toBe('pod p-1 (Job j-1): image pull failed');
    expect(taskEndText(failed('index: pod p-1 (Job j-1): image pull failed'), 'index/3', 'index')).toBe('pod p-1 (Job j-1): image pull failed');
    expect(taskEndText(failed('task index/3: no such file'), 'index/3', 'index')).toBe('no such file');
  });

  it('keeps the reason when the message does not say it, and a message about something else whole', () => {
    expect(taskEndText(failed('main/index: pod p: OOMKilled at 300Mi', 'oom_killed'), 'main/index')).toBe('oom_killed: pod p: OOMKilled at 300Mi');
    expect(taskEndText(failed('indexer: broke'), 'index')).toBe('indexer: broke');
    expect(taskEndText({ reason: 'completed', exitCode: 3, message: 'x', finishedAt: new Date() }, 'index')).toBe('exit code 3');
  });
});
