// The workflow graph: laid out with dagre, drawn as SVG; each node a link, coloured by state.
import dagre from '@dagrejs/dagre';
import { html } from 'htm/preact';
import { useMemo } from 'preact/hooks';
import { STATE_LABEL, href, nodeState } from './format.js';

const W = 170;
const H = 46;

export function layout(graph) {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 56, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(graph.nodes.map((n) => n.id));
  for (const n of graph.nodes) {
    if (n.kind === 'workflow') g.setNode(n.id, { label: n.label, clusterLabelPos: 'top', paddingTop: 24 });
    else g.setNode(n.id, { width: n.kind === 'step' ? W : 120, height: n.kind === 'step' ? H : 30 });
  }
  for (const n of graph.nodes) if (n.parent && ids.has(n.parent)) g.setParent(n.id, n.parent);
  for (const e of graph.edges) if (ids.has(e.from) && ids.has(e.to)) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const info = g.graph();
  const nodes = graph.nodes.map((n) => ({ ...n, box: g.node(n.id) }));
  const edges = g.edges().map((e) => ({ ...e, points: g.edge(e).points }));
  // Edges routed around a sub-workflow's box can pass outside the size dagre gives: draw them all.
  let width = info.width ?? 200;
  let height = info.height ?? 100;
  for (const e of edges) {
    for (const p of e.points) {
      width = Math.max(width, p.x + 12);
      height = Math.max(height, p.y + 12);
    }
  }
  return { width: Math.ceil(width), height: Math.ceil(height), nodes, edges };
}

/**
 * Laid out once per graph (the run page keeps the same graph object while the run goes; live
 * changes only recolour). Painted in layers: sub-workflow boxes, then the edges (which cross
 * into the boxes to the inner steps they feed), then steps and parameters.
 */
export function WorkflowGraph({ runId, graph, nodes, stepStates, selected, live = true }) {
  const laid = useMemo(() => layout(graph), [graph]);
  const byNode = new Map(nodes.map((n) => [n.node, n]));
  const stepOf = new Map((stepStates ?? []).map((s) => [s.node, s]));
  const clusters = laid.nodes.filter((n) => n.kind === 'workflow' && n.box);
  const others = laid.nodes.filter((n) => n.kind !== 'workflow');
  return html`<svg class="graph" role="group" aria-label="Workflow graph" width=${laid.width} height=${laid.height} viewBox="0 0 ${laid.width} ${laid.height}">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead" /></marker></defs>
    ${clusters.map((n) => {
      const b = n.box;
      const x = b.x - b.width / 2;
      const y = b.y - b.height / 2;
      const st = nodeState(n, undefined, stepOf.get(n.id), live);
      return html`<g class="cluster" data-node=${n.id} data-state=${st}><rect x=${x} y=${y} width=${b.width} height=${b.height} rx="10" /><text x=${x + 10} y=${y + 16}>${n.label}</text></g>`;
    })}
    ${laid.edges.map((e) => html`<polyline class="edge" marker-end="url(#arrow)" points=${e.points.map((p) => `${p.x},${p.y}`).join(' ')} />`)}
    ${others.map((n) => {
      const b = n.box;
      if (!b) return null;
      const x = b.x - b.width / 2;
      const y = b.y - b.height / 2;
      if (n.kind !== 'step') {
        return html`<g class="param ${n.kind}"><rect x=${x} y=${y} width=${b.width} height=${b.height} rx="15" /><text x=${b.x} y=${b.y + 4} text-anchor="middle">${clip(n.label, 16)}</text></g>`;
      }
      const t = byNode.get(n.id);
      const st = nodeState(n, t, stepOf.get(n.id), live);
      const count = t ? `${t.ok}/${t.total}` : '';
      const label = `${n.label}: ${STATE_LABEL[st] ?? st}${t ? `, ${t.ok} of ${t.total} tasks done${t.failed ? `, ${t.failed} failed` : ''}${t.running ? `, ${t.running} running` : ''}${t.reused ? `, ${t.reused} reused` : ''}` : ''}`;
      return html`<a href=${href(['runs', runId], { node: n.id })} aria-label=${label} class="node-link">
        <g class="node ${selected === n.id ? 'selected' : ''}" data-node=${n.id} data-state=${st}>
          <title>${label}</title>
          <rect x=${x} y=${y} width=${b.width} height=${b.height} rx="6" />
          ${t && t.total > 0 ? html`<rect class="progress" x=${x} y=${y + b.height - 5} width=${(b.width * t.ok) / t.total} height="5" />` : null}
          <text x=${b.x} y=${b.y - 3} text-anchor="middle" class="label">${clip(n.label, 22)}</text>
          <text x=${b.x} y=${b.y + 13} text-anchor="middle" class="sub">${n.scatter && st !== 'skipped' ? `scatter ${count}` : count || (STATE_LABEL[st] ?? st)}</text>
        </g>
      </a>`;
    })}
  </svg>`;
}

function clip(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
