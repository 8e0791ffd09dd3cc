/**
 * What the run page's live feed sends: the run's whole state once (graph included) when a page
 * connects, then only what changed: the run's header without its graph, and the graph nodes and
 * step states that changed since the page's last message. A page that watches a 120-step run gets
 * a few hundred bytes per change instead of the graph again, and never lays the graph out again.
 * Pure: builds message texts from states and what a client was last sent.
 */

/** The state of a run as the run page shows it (runState in server.ts). */
export interface LiveRunState {
  run: { graph?: unknown; status?: string } | undefined;
  nodes: { node: string }[];
  stepStates: { node: string; status: string }[];
}

/** A run state, serialised once per store version and shared by every page that watches the run. */
export interface PreparedState {
  /** The whole state, for GET /api/runs/ID. */
  json: string;
  /** The whole state as an event, for a page that just connected (one text, however many connect). */
  full: string;
  /** The run's header without its graph. */
  header: string;
  nodes: Map<string, string>;
  steps: Map<string, string>;
  /** The run's status as shown (interrupted when its process died). */
  status: string | undefined;
}

/** What one page was sent last, to diff the next state against. */
export interface SentState {
  header: string;
  nodes: Map<string, string>;
  steps: Map<string, string>;
}

export function prepareState(state: LiveRunState): PreparedState {
  const { graph: _graph, ...header } = state.run ?? {};
  void _graph;
  const json = JSON.stringify(state);
  return {
    json,
    full: `event: run\ndata: ${json}\n\n`,
    header: JSON.stringify(state.run === undefined ? null : header),
    nodes: new Map(state.nodes.map((n) => [n.node, JSON.stringify(n)])),
    steps: new Map(state.stepStates.map((s) => [s.node, JSON.stringify(s)])),
    status: state.run?.status,
  };
}

/** The first message of a stream: the whole state (`event: run`). */
export function fullMessage(p: PreparedState): { text: string; sent: SentState } {
  return { text: p.full, sent: { header: p.header, nodes: p.nodes, steps: p.steps } };
}

/**
 * The change since `sent` (`event: delta`, data `{run?, nodes?, stepStates?}`), or undefined when
 * nothing changed. Nodes and step states are never removed while a run goes, so only changed
 * and new ones are sent.
 */
export function deltaMessage(p: PreparedState, sent: SentState): { text: string; sent: SentState } | undefined {
  const parts: string[] = [];
  if (p.header !== sent.header) parts.push(`"run":${p.header}`);
  const nodes = changed(p.nodes, sent.nodes);
  if (nodes.length) parts.push(`"nodes":[${nodes.join(',')}]`);
  const steps = changed(p.steps, sent.steps);
  if (steps.length) parts.push(`"stepStates":[${steps.join(',')}]`);
  if (parts.length === 0) return undefined;
  return { text: `event: delta\ndata: {${parts.join(',')}}\n\n`, sent: { header: p.header, nodes: p.nodes, steps: p.steps } };
}

function changed(now: Map<string, string>, before: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of now) if (before.get(k) !== v) out.push(v);
  return out;
}
