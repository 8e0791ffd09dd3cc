/**
 * The workflow graph of a process, as plain data: its inputs, steps and outputs and the links
 * between them, for the dashboard, reports and `strand run --print-dot`. Pure: reads the loaded
 * process only. Step nodes are named by their step path (`main/align`, `main/sub/inner`), the same
 * path the engine gives their tasks (with scatter indexes: `main/align/3`).
 */
import type { Process, Workflow, WorkflowStep } from './types.js';

export type GraphNodeKind = 'input' | 'output' | 'step' | 'workflow';

export interface GraphNode {
  /** Unique in the graph: the step path for steps, `in:<path>/<name>` / `out:<path>/<name>` for parameters. */
  id: string;
  kind: GraphNodeKind;
  label: string;
  /** The workflow step (kind 'workflow') this node sits in; absent at the top level. */
  parent?: string;
  /** Scattered step: its inputs' names. */
  scatter?: string[];
  /** Runs only when this expression is true. */
  when?: string;
  /** Step's tool class (CommandLineTool, ExpressionTool, Workflow, Operation). */
  runClass?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
}

export interface WorkflowGraph {
  root: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Graph of `process` with its top level named `root` (the run's root step path, e.g. `main`). */
export function workflowGraph(process: Process, root: string): WorkflowGraph {
  const g: WorkflowGraph = { root, nodes: [], edges: [] };
  if (process.class !== 'Workflow') {
    g.nodes.push({ id: root, kind: 'step', label: root, runClass: process.class });
    for (const i of process.inputs) addEdgeNode(g, 'input', root, i.id, undefined, { from: `in:${root}/${i.id}`, to: root });
    for (const o of process.outputs) addEdgeNode(g, 'output', root, o.id, undefined, { from: root, to: `out:${root}/${o.id}` });
    return g;
  }
  addLevel(g, process, root, undefined, (name) => [`in:${root}/${name}`]);
  return g;
}

function addEdgeNode(g: WorkflowGraph, kind: 'input' | 'output', level: string, name: string, parent: string | undefined, edge: GraphEdge): void {
  g.nodes.push({ id: `${kind === 'input' ? 'in' : 'out'}:${level}/${name}`, kind, label: name, ...(parent ? { parent } : {}) });
  g.edges.push(edge);
}

/** The nodes a source (`input` or `step/output`) at one level comes from. */
type Resolve = (src: string) => string[];

/**
 * Adds one workflow level: its parameters (top level only), steps, and the links among them.
 * `inputs` gives the nodes behind each of this level's inputs: the input nodes at the top level;
 * inside a sub-workflow, whatever feeds the sub-workflow step's input in its parent. So a link
 * into a sub-workflow lands only on the inner steps that read that input, and every source of a
 * merged link (`source: [a/o, b/o]`, a sub-workflow output with several `outputSource`s) is drawn.
 */
function addLevel(g: WorkflowGraph, wf: Workflow, level: string, parent: string | undefined, inputs: Resolve): void {
  const top = parent === undefined;
  const resolve = resolverOf(wf, level, inputs);
  if (top) for (const i of wf.inputs) g.nodes.push({ id: `in:${level}/${i.id}`, kind: 'input', label: i.id });
  for (const step of wf.steps) {
    const path = `${level}/${step.id}`;
    const isWf = step.run.class === 'Workflow';
    g.nodes.push({
      id: path,
      kind: isWf ? 'workflow' : 'step',
      label: step.label ?? step.id,
      ...(parent ? { parent } : {}),
      ...(step.scatter.length ? { scatter: step.scatter } : {}),
      ...(step.when ? { when: step.when } : {}),
      runClass: step.run.class,
    });
    // A sub-workflow's links are drawn to the inner steps that read them, by the level below.
    if (isWf) addLevel(g, step.run as Workflow, path, path, stepInputs(step, resolve));
    else for (const input of step.in) for (const src of input.source) for (const from of resolve(src)) g.edges.push({ from, to: path });
  }
  if (top) {
    for (const o of wf.outputs) {
      g.nodes.push({ id: `out:${level}/${o.id}`, kind: 'output', label: o.id });
      for (const src of o.outputSource ?? []) for (const from of resolve(src)) g.edges.push({ from, to: `out:${level}/${o.id}` });
    }
  }
  dedupe(g);
}

/** What feeds each input of a sub-workflow step: the sources of the step's `in` entry of that name. */
function stepInputs(step: WorkflowStep, resolve: Resolve): Resolve {
  return (name) => step.in.find((i) => i.id === name)?.source.flatMap(resolve) ?? [];
}

/** Resolves sources at one level; a sub-workflow's output leads to the inner steps (or outer sources) behind it. */
function resolverOf(wf: Workflow, level: string, inputs: Resolve): Resolve {
  const resolve: Resolve = (src) => {
    const slash = src.indexOf('/');
    if (slash < 0) return inputs(src);
    const stepId = src.slice(0, slash);
    const step = wf.steps.find((s) => s.id === stepId);
    if (!step) return [];
    const path = `${level}/${stepId}`;
    if (step.run.class !== 'Workflow') return [path];
    const sub = step.run as Workflow;
    const inner = resolverOf(sub, path, stepInputs(step, resolve));
    return sub.outputs.find((o) => o.id === src.slice(slash + 1))?.outputSource?.flatMap(inner) ?? [];
  };
  return resolve;
}

function dedupe(g: WorkflowGraph): void {
  const seen = new Set<string>();
  g.edges = g.edges.filter((e) => {
    const k = `${e.from}\u0000${e.to}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The graph node a task belongs to: its step path without scatter indexes (`main/align/3` -> `main/align`). */
export function graphNodeOfTask(taskStepPath: string): string {
  return taskStepPath
    .split('/')
    .filter((seg, i) => i === 0 || !/^\d+$/.test(seg))
    .join('/');
}

const dotId = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The graph in Graphviz dot: steps as boxes, sub-workflows as clusters, inputs and outputs as ellipses. */
export function graphToDot(g: WorkflowGraph): string {
  const lines = ['digraph workflow {', '  rankdir=LR;', '  node [fontname="Helvetica", fontsize=11];'];
  const children = new Map<string | undefined, typeof g.nodes>();
  for (const n of g.nodes) {
    const list = children.get(n.parent) ?? [];
    list.push(n);
    children.set(n.parent, list);
  }
  const emit = (parent: string | undefined, indent: string): void => {
    for (const n of children.get(parent) ?? []) {
      if (n.kind === 'workflow') {
        lines.push(`${indent}subgraph ${dotId(`cluster_${n.id}`)} {`, `${indent}  label=${dotId(n.label)};`, `${indent}  style=rounded;`);
        emit(n.id, indent + '  ');
        lines.push(`${indent}}`);
        continue;
      }
      const attrs =
        n.kind === 'step'
          ? `shape=box, style=rounded, label=${dotId(n.scatter ? `${n.label} [scatter]` : n.label)}`
          : `shape=${n.kind === 'input' ? 'ellipse' : 'doubleoctagon'}, label=${dotId(n.label)}`;
      lines.push(`${indent}${dotId(n.id)} [${attrs}];`);
    }
  };
  emit(undefined, '  ');
  const drawn = new Set(g.nodes.filter((n) => n.kind !== 'workflow').map((n) => n.id));
  for (const e of g.edges) if (drawn.has(e.from) && drawn.has(e.to)) lines.push(`  ${dotId(e.from)} -> ${dotId(e.to)};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
