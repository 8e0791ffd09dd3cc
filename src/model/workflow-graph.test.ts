import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDocument } from '../loader/index.js';
import { graphNodeOfTask, graphToDot, workflowGraph } from './workflow-graph.js';

const example = path.resolve('examples/variant-calling/variant-calling.cwl');

describe('workflowGraph', () => {
  it('gives the steps of the variant-calling example, its scatter and the links between them', async () => {
    const wf = await loadDocument(example);
    const g = workflowGraph(wf, 'variant-calling');
    const steps = g.nodes.filter((n) => n.kind === 'step').map((n) => n.id);
    expect(steps).toContain('variant-calling/index');
    const scattered = g.nodes.filter((n) => n.scatter);
    expect(scattered.length).toBeGreaterThan(0);
    expect(g.edges).toContainEqual({ from: 'in:variant-calling/reference', to: 'variant-calling/index' });
    // Every edge joins two nodes of the graph.
    const ids = new Set(g.nodes.map((n) => n.id));
    for (const e of g.edges) expect(ids.has(e.from) && ids.has(e.to)).toBe(true);
    const dot = graphToDot(g);
    expect(dot).toMatch(/^digraph workflow \{/);
    expect(dot).toContain('"in:variant-calling/reference" -> "variant-calling/index";');
    expect(dot).toContain('[scatter]');
  });

  it('maps a task to its node by dropping scatter indexes', () => {
    expect(graphNodeOfTask('main/align/3')).toBe('main/align');
    expect(graphNodeOfTask('main/sub/2/inner/0')).toBe('main/sub/inner');
    expect(graphNodeOfTask('tool')).toBe('tool');
  });
});
