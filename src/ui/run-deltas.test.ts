import { describe, expect, it } from 'vitest';
import { deltaMessage, fullMessage, prepareState, type LiveRunState } from './run-deltas.js';

const header = (r: Record<string, unknown>) => r as { graph?: unknown };
const state = (over: Partial<LiveRunState> = {}): LiveRunState => ({
  run: header({ id: 'r', status: 'running', tasks: { ok: 0 }, graph: { nodes: [{ id: 'w/a' }, { id: 'w/b' }], edges: [] } }),
  nodes: [
    { node: 'w/a', running: 1 } as { node: string },
    { node: 'w/b', running: 0 } as { node: string },
  ],
  stepStates: [{ node: 'w/a', status: 'running' }],
  ...over,
});
const data = (text: string) => JSON.parse(text.split('\ndata: ')[1]!) as Record<string, unknown>;

describe('the run feed', () => {
  it('sends the whole state with its graph first, then only the nodes and steps that changed, never the graph', () => {
    const first = fullMessage(prepareState(state()));
    expect(first.text.startsWith('event: run\n')).toBe(true);
    expect(data(first.text)).toMatchObject({ run: { graph: { nodes: [{ id: 'w/a' }, { id: 'w/b' }] } } });
    expect(deltaMessage(prepareState(state()), first.sent)).toBeUndefined();
    const next = state({
      run: header({ id: 'r', status: 'running', tasks: { ok: 1 }, graph: { nodes: [{ id: 'w/a' }, { id: 'w/b' }], edges: [] } }),
      nodes: [{ node: 'w/a', running: 0, ok: 1 } as { node: string }, { node: 'w/b', running: 0 } as { node: string }],
      stepStates: [{ node: 'w/a', status: 'success' }, { node: 'w/b', status: 'skipped' }],
    });
    const delta = deltaMessage(prepareState(next), first.sent)!;
    expect(delta.text.startsWith('event: delta\n')).toBe(true);
    expect(data(delta.text)).toEqual({
      run: { id: 'r', status: 'running', tasks: { ok: 1 } },
      nodes: [{ node: 'w/a', running: 0, ok: 1 }],
      stepStates: [{ node: 'w/a', status: 'success' }, { node: 'w/b', status: 'skipped' }],
    });
    expect(delta.text).not.toContain('graph');
    expect(deltaMessage(prepareState(next), delta.sent)).toBeUndefined();
  });
});
