/**
 * What each graph node's step records say, folded into one status per node. A step inside a
 * scattered sub-workflow has one record per scatter element (`main/sub/0/inner`,
 * `main/sub/1/inner`), all drawn as one node (`main/sub/inner`): it is skipped only when every
 * element skipped it (`when` was false), running while any runs, failed if any failed. Pure.
 */
import { graphNodeOfTask } from './workflow-graph.js';

export interface StepStatusLike {
  stepPath: string;
  status: string;
}

export interface NodeStepState {
  node: string;
  status: string;
}

const RANK = ['running', 'failed', 'cancelled', 'success', 'skipped'];

export function stepStatesByNode(steps: readonly StepStatusLike[]): NodeStepState[] {
  const by = new Map<string, string>();
  for (const s of steps) {
    const node = graphNodeOfTask(s.stepPath);
    const seen = by.get(node);
    if (seen === undefined || rank(s.status) < rank(seen)) by.set(node, s.status);
  }
  return [...by].map(([node, status]) => ({ node, status }));
}

function rank(status: string): number {
  const i = RANK.indexOf(status);
  return i < 0 ? RANK.length : i;
}
