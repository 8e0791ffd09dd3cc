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

  it('draws exactly the links of merged sources and sub-workflows, no more and no fewer', async () => {
    const wf = await loadDocument(path.resolve('test/ui/fixtures/merged-sources.cwl'));
    const g = workflowGraph(wf, 'main');
    const edges = g.edges.map((e) => `${e.from} -> ${e.to}`).sort();
    expect(edges).toEqual(
      [
        'in:main/x -> main/a',
        'in:main/y -> main/b',
        // step c: source [a/o, b/o] with linkMerge is two links
        'main/a -> main/c',
        'main/b -> main/c',
        // into the sub-workflow: p (from x) feeds i1 only, q (from c) feeds i2 only
        'in:main/x -> main/sub/i1',
        'main/c -> main/sub/i2',
        // out of it: r merges i1 and i2, both reach d
        'main/sub/i1 -> main/d',
        'main/sub/i2 -> main/d',
        // the workflow output merges a and b
        'main/a -> out:main/out',
        'main/b -> out:main/out',
      ].sort(),
    );
    // The unused input is drawn, and joined to nothing.
    expect(g.nodes.some((n) => n.id === 'in:main/unused')).toBe(true);
    expect(g.edges.some((e) => e.from === 'in:main/unused' || e.to === 'in:main/unused')).toBe(false);
    const dot = graphToDot(g);
    expect(dot.split('\n').filter((l) => l.includes(' -> '))).toHaveLength(edges.length);
  });

  it('follows a sub-workflow output that passes one of its inputs straight through', async () => {
    const wf = await loadDocument(path.resolve('test/ui/fixtures/passthrough.cwl'));
    const edges = workflowGraph(wf, 'main').edges.map((e) => `${e.from} -> ${e.to}`).sort();
    expect(edges).toEqual(['in:main/x -> main/after', 'in:main/x -> main/sub/inner', 'main/after -> out:main/y', 'main/sub/inner -> out:main/z'].sort());
  });

  it('maps a task to its node by dropping scatter indexes', () => {
    expect(graphNodeOfTask('main/align/3')).toBe('main/align');
    expect(graphNodeOfTask('main/sub/2/inner/0')).toBe('main/sub/inner');
    expect(graphNodeOfTask('tool')).toBe('tool');
  });
});
