// The Strand dashboard: run list, a run's graph and timeline (live), a task's details and logs.
// Preact + htm (no build-time JSX), bundled by esbuild into dist/ui (scripts/build-ui.mjs).
import { render } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { STATE_LABEL, attemptState, bytes, duration, href, mib, parseHash, shellLine, when, zoneLabel } from './format.js';
import { WorkflowGraph } from './graph.js';
import { Timeline, attemptMarks } from './timeline.js';

async function getJson(url) {
  const res = await fetch(url);
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

function useHash() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parseHash(hash);
}

/**
 * Subscribe to the server's change feed: `onRun` gets a run's whole state (once per connection),
 * `onDelta` what changed in it since (its header, changed nodes and steps), `onChange` any change.
 */
function useEvents(runId, onRun, onChange, onDelta) {
  const handlers = useRef({ onRun, onChange, onDelta });
  handlers.current = { onRun, onChange, onDelta };
  useEffect(() => {
    const es = new EventSource(`/api/events${runId ? `?run=${encodeURIComponent(runId)}` : ''}`);
    es.addEventListener('run', (e) => handlers.current.onRun?.(JSON.parse(e.data)));
    es.addEventListener('delta', (e) => handlers.current.onDelta?.(JSON.parse(e.data)));
    es.addEventListener('change', () => handlers.current.onChange?.());
    return () => es.close();
  }, [runId]);
}

function useNow(active) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

/** Whether `key` is still what the page shows: an answer about what it showed before is dropped. */
function useShown(key) {
  const shown = useRef(key);
  shown.current = key;
  return (k) => shown.current === k;
}

/** A time in the page's convention (format.js when), with the exact UTC instant as its title. */
function At({ iso }) {
  return iso ? html`<time datetime=${iso} title=${new Date(iso).toISOString()}>${when(iso)}</time>` : '–';
}

function Status({ status }) {
  return html`<span class="status" data-state=${status}>${status}</span>`;
}

function Crumbs({ items }) {
  return html`<nav aria-label="Breadcrumb" class="crumbs"><ol>
    ${items.map(([label, to], i) => html`<li>${to && i < items.length - 1 ? html`<a href=${to}>${label}</a>` : html`<span aria-current="page">${label}</span>`}</li>`)}
  </ol></nav>`;
}

function ErrorBox({ error }) {
  return error ? html`<p role="alert" class="error">${String(error.message ?? error)}</p>` : null;
}

const PAGE = 50;

function RunList({ params }) {
  const [data, setData] = useState(undefined);
  const [error, setError] = useState(undefined);
  const q = params.get('q') ?? '';
  const status = params.get('status') ?? '';
  const offset = Number(params.get('offset') ?? 0);
  const [text, setText] = useState(q);
  // The box follows the address (back, forward, a link with ?q=).
  useEffect(() => setText(q), [q]);
  const load = () =>
    getJson(`/api/runs?${new URLSearchParams({ q, status, offset: String(offset), limit: String(PAGE) })}`)
      .then((d) => (setData(d), setError(undefined)))
      .catch(setError);
  useEffect(() => void load(), [q, status, offset]);
  useEvents(undefined, undefined, load);
  const now = useNow(data?.runs.some((r) => r.status === 'running'));
  const go = (p) => (location.hash = href([], { q, status, ...p }));
  return html`<main>
    <h1>Runs</h1>
    <form class="filters" role="search" onSubmit=${(e) => (e.preventDefault(), go({ q: text, offset: 0 }))}>
      <label>Search <input type="search" name="q" value=${text} onInput=${(e) => setText(e.currentTarget.value)} placeholder="id, workflow, owner" /></label>
      <label>Status
        <select name="status" value=${status} onChange=${(e) => go({ status: e.currentTarget.value, offset: 0 })}>
          <option value="">any</option>
          ${['running', 'success', 'failed', 'cancelled', 'interrupted'].map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      <button type="submit">Search</button>
    </form>
    <${ErrorBox} error=${error} />
    ${data === undefined ? html`<p>Loading…</p>` : html`
      <table class="runs">
        <caption>${data.total} run${data.total === 1 ? '' : 's'}${q || status ? ' matching' : ''}; newest first</caption>
        <thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Workflow</th><th scope="col">Executor</th><th scope="col">Owner</th><th scope="col">Started</th><th scope="col">Duration</th><th scope="col">Tasks</th></tr></thead>
        <tbody>
          ${data.runs.map((r) => html`<tr data-run=${r.id}>
            <td><a href=${href(['runs', r.id])}>${r.id}</a></td>
            <td><${Status} status=${r.status} /></td>
            <td class="doc" title=${r.documentPath ?? r.processId}>${shortDoc(r)}</td>
            <td>${r.executor ?? '–'}</td>
            <td>${r.owner ?? '–'}</td>
            <td><${At} iso=${r.startedAt} /></td>
            <td>${duration(r.finishedAt ? r.durationMs : r.status === 'running' ? now - Date.parse(r.startedAt) : r.durationMs)}</td>
            <td>${taskSummary(r.tasks)}</td>
          </tr>`)}
        </tbody>
      </table>
      <nav class="pager" aria-label="Pages of runs">
        <button type="button" disabled=${offset === 0} onClick=${() => go({ offset: Math.max(0, offset - PAGE) })}>Newer</button>
        <span>${data.total === 0 ? 0 : offset + 1}–${Math.min(data.total, offset + PAGE)} of ${data.total}</span>
        <button type="button" disabled=${offset + PAGE >= data.total} onClick=${() => go({ offset: offset + PAGE })}>Older</button>
      </nav>`}
  </main>`;
}

function shortDoc(r) {
  const s = r.documentPath ?? r.processId ?? '';
  return s.split('/').pop() || s;
}

function taskSummary(t) {
  if (!t || t.total === 0) return '–';
  // A failed attempt that was retried is not a failed task: tasks = attempts - retried.
  const retried = t.retried ?? 0;
  const parts = [`${t.ok}/${t.total - retried} ok`];
  if (t.failed - retried) parts.push(`${t.failed - retried} failed`);
  if (retried) parts.push(`${retried} retried`);
  if (t.running) parts.push(`${t.running} running`);
  if (t.queued) parts.push(`${t.queued} queued`);
  if (t.cancelled) parts.push(`${t.cancelled} cancelled`);
  if (t.reused) parts.push(`${t.reused} reused`);
  return parts.join(', ');
}

const ATTEMPTS = 200;

function RunPage({ runId, params }) {
  const [state, setState] = useState(undefined);
  const [page, setPage] = useState(undefined);
  const [error, setError] = useState(undefined);
  const node = params.get('node') ?? '';
  const offset = Number(params.get('offset') ?? 0);
  const lastPageLoad = useRef(0);
  const stillShown = useShown(runId);
  const loadPage = () =>
    getJson(`/api/runs/${encodeURIComponent(runId)}/attempts?${new URLSearchParams({ node, offset: String(offset), limit: String(ATTEMPTS) })}`)
      .then(setPage)
      .catch(setError);
  useEffect(() => {
    // Another run: nothing of the last one is shown while this one loads.
    setState(undefined);
    setPage(undefined);
    setError(undefined);
    getJson(`/api/runs/${encodeURIComponent(runId)}`)
      .then((st) => stillShown(runId) && setState(st))
      .catch((e) => stillShown(runId) && setError(e));
  }, [runId]);
  useEffect(() => void loadPage(), [runId, node, offset]);
  // The latest loader, for the timer (the params may have changed since it was set).
  const loadRef = useRef(loadPage);
  loadRef.current = loadPage;
  const pending = useRef(undefined);
  useEffect(() => () => clearTimeout(pending.current), []);
  const followTimeline = () => {
    // The timeline follows at most every second, and always catches up with the last change.
    if (pending.current !== undefined) return;
    const wait = Math.max(0, 1000 - (Date.now() - lastPageLoad.current));
    pending.current = setTimeout(() => {
      pending.current = undefined;
      lastPageLoad.current = Date.now();
      void loadRef.current();
    }, wait);
  };
  useEvents(
    runId,
    (s) => {
      // The whole state again (a new connection): the graph is the run's, already laid out.
      setState((prev) => keepGraph(prev, s));
      followTimeline();
    },
    undefined,
    (d) => {
      setState((prev) => (prev ? applyDelta(prev, d) : prev));
      followTimeline();
    },
  );
  const running = state?.run?.status === 'running';
  const now = useNow(running);
  if (error) return html`<main><${Crumbs} items=${[['Runs', '#/'], [runId]]} /><${ErrorBox} error=${error} /></main>`;
  if (!state) return html`<main><p>Loading…</p></main>`;
  const r = state.run;
  const nodeLabel = node ? r.graph?.nodes.find((n) => n.id === node)?.label ?? node : '';
  return html`<main>
    <${Crumbs} items=${[['Runs', '#/'], [r.id]]} />
    <h1>Run ${r.id} <${Status} status=${r.status} /></h1>
    <dl class="summary">
      <dt>Workflow</dt><dd>${r.documentPath ?? r.processId ?? '–'}</dd>
      <dt>Executor</dt><dd>${r.executor ?? '–'}${r.executorDetail?.namespace ? ` (namespace ${r.executorDetail.namespace})` : ''}</dd>
      <dt>Owner</dt><dd>${r.owner ?? '–'}</dd>
      <dt>Started</dt><dd><${At} iso=${r.startedAt} /></dd>
      <dt>Duration</dt><dd>${duration(r.status === 'running' && !r.finishedAt ? now - Date.parse(r.startedAt) : r.durationMs)}</dd>
      <dt>Tasks</dt><dd>${taskSummary(r.tasks)}</dd>
      ${r.resumedFrom ? html`<dt>Resumes</dt><dd><a href=${href(['runs', r.resumedFrom])}>${r.resumedFrom}</a></dd>` : null}
      ${r.resumedBy?.length ? html`<dt>Resumed by</dt><dd>${r.resumedBy.map((id, i) => html`${i ? ', ' : ''}<a href=${href(['runs', id])}>${id}</a>`)}</dd>` : null}
      ${r.message ? html`<dt>Message</dt><dd class="message">${r.message}</dd>` : null}
    </dl>
    <section aria-labelledby="graph-h">
      <h2 id="graph-h">Workflow graph</h2>
      <${Legend} />
      ${r.graph ? html`<div class="scroll"><${WorkflowGraph} runId=${r.id} graph=${r.graph} nodes=${state.nodes} stepStates=${state.stepStates} selected=${node} live=${r.status === 'running'} /></div>` : html`<p>This run was recorded without its graph (an older Strand).</p>`}
    </section>
    ${r.tasks?.failed ? html`<${FailedTasks} runId=${r.id} failedAttempts=${r.tasks.failed} />` : null}
    <section aria-labelledby="timeline-h">
      <h2 id="timeline-h">Timeline${nodeLabel ? html` of ${nodeLabel} <a href=${href(['runs', r.id])}>(show all steps)</a>` : ''}</h2>
      <p class="hint">The axis is the time since the run started (<${At} iso=${r.startedAt} />).</p>
      ${page === undefined ? html`<p>Loading…</p>` : page.total === 0 ? html`<p>No task attempts${node ? ' for this step' : ''} yet.</p>` : html`
        <div class="scroll"><${Timeline} run=${r} attempts=${page.attempts} now=${now} /></div>
        <nav class="pager" aria-label="Pages of attempts">
          <a href=${href(['runs', r.id], { node, offset: Math.max(0, offset - ATTEMPTS) })} aria-disabled=${offset === 0}>Earlier</a>
          <span>attempts ${offset + 1}–${Math.min(page.total, offset + ATTEMPTS)} of ${page.total}</span>
          <a href=${href(['runs', r.id], { node, offset: offset + ATTEMPTS })} aria-disabled=${offset + ATTEMPTS >= page.total}>Later</a>
        </nav>`}
    </section>
  </main>`;
}

/** The run's state with the graph it already had (the same object: not laid out again). */
function keepGraph(prev, next) {
  const graph = prev?.run?.id === next.run?.id ? prev?.run?.graph : undefined;
  return graph && next.run ? { ...next, run: { ...next.run, graph } } : next;
}

/** A live change: a new header (the graph kept), and the nodes and step states that changed. */
function applyDelta(prev, d) {
  return {
    ...prev,
    run: d.run ? { ...d.run, graph: prev.run?.graph } : prev.run,
    nodes: d.nodes ? mergeBy(prev.nodes, d.nodes, 'node') : prev.nodes,
    stepStates: d.stepStates ? mergeBy(prev.stepStates ?? [], d.stepStates, 'node') : prev.stepStates,
  };
}

function mergeBy(list, changed, key) {
  const by = new Map(list.map((x) => [x[key], x]));
  for (const x of changed) by.set(x[key], x);
  return [...by.values()];
}

const FAILED_SHOWN = 50;

/** Each task whose latest attempt failed: step, scatter index, why, exit code, last lines of stderr, links. */
function FailedTasks({ runId, failedAttempts }) {
  const [data, setData] = useState(undefined);
  const [error, setError] = useState(undefined);
  useEffect(() => {
    getJson(`/api/runs/${encodeURIComponent(runId)}/failed?limit=${FAILED_SHOWN}`).then(setData).catch(setError);
  }, [runId, failedAttempts]);
  return html`<section aria-labelledby="failed-h">
    <h2 id="failed-h">Failed tasks</h2>
    <${ErrorBox} error=${error} />
    ${data === undefined ? html`<p>Loading…</p>` : html`
      ${data.total > data.attempts.length ? html`<p>The first ${data.attempts.length} of ${data.total} failed tasks.</p>` : null}
      <ul class="failed">
        ${data.attempts.map((a) => {
          const index = scatterIndex(a.taskId);
          const tail = (a.logTail ?? '').trimEnd().split('\n').slice(-8).join('\n');
          return html`<li>
            <a href=${href(['runs', runId, 'task'], { task: a.taskId, attempt: a.attempt })}>${a.taskId}</a>${`${a.attempt > 1 ? ` (attempt ${a.attempt})` : ''}: step `}<a href=${href(['runs', runId], { node: a.nodePath })}>${a.nodePath}</a>${`${index ? `, scatter index ${index}` : ''}: ${reasonOf(a)}${a.exitCode !== null && a.exitCode !== undefined ? `, exit code ${a.exitCode}` : ''}`}
            ${a.message ? html`<div class="message">${a.message}</div>` : null}
            ${tail ? html`<pre class="log" aria-label=${`last lines of stderr of ${a.taskId}`}>${tail}</pre>` : null}
            ${a.logDir ? html`<a href=${href(['runs', runId, 'log'], { task: a.taskId, attempt: a.attempt, stream: 'stderr' })}>full stderr of ${a.taskId}</a>` : null}
          </li>`;
        })}
      </ul>`}
  </section>`;
}

/** `main/sub/2/align/0` -> "2, 0" (the indexes of the scatters it belongs to). */
function scatterIndex(taskId) {
  return taskId.split('/').slice(1).filter((s) => /^\d+$/.test(s)).join(', ');
}

const REASON = {
  completed: 'exited with a code the tool does not count as success',
  failed: 'failed',
  oom_killed: 'killed for lack of memory',
  timed_out: 'ran out of time',
  evicted: 'evicted',
  image_unavailable: 'its image could not be pulled',
  unschedulable: 'could not be scheduled',
  cancelled: 'cancelled',
  lost: 'lost',
};

function reasonOf(a) {
  return REASON[a.status] ?? a.status;
}

function Legend() {
  return html`<ul class="legend" aria-label="Colours">
    ${['ok', 'running', 'queued', 'failed', 'cancelled', 'interrupted', 'cached', 'skipped', 'pending'].map((s) => html`<li data-state=${s}><span class="swatch"></span>${STATE_LABEL[s]}</li>`)}
  </ul>`;
}

function TaskPage({ runId, params }) {
  const task = params.get('task') ?? '';
  const attempt = params.get('attempt') ?? '';
  const [data, setData] = useState(undefined);
  const [error, setError] = useState(undefined);
  const key = `${runId}\n${task}\n${attempt}`;
  const stillShown = useShown(key);
  const load = () =>
    getJson(`/api/runs/${encodeURIComponent(runId)}/task?${new URLSearchParams({ task, attempt })}`)
      .then((d) => stillShown(key) && setData(d))
      .catch((e) => stillShown(key) && setError(e));
  useEffect(() => {
    // Another task: nothing of the last one is shown while this one loads.
    setData(undefined);
    setError(undefined);
    void load();
  }, [runId, task, attempt]);
  // Any news of the run (the whole state on connect, then deltas) reloads a task still going.
  const follow = () => {
    if (data && (data.attempt.status === 'running' || data.attempt.status === 'queued')) void load();
  };
  useEvents(runId, follow, undefined, follow);
  if (error) return html`<main><${Crumbs} items=${[['Runs', '#/'], [runId, href(['runs', runId])], [task]]} /><${ErrorBox} error=${error} /></main>`;
  if (!data) return html`<main><p>Loading…</p></main>`;
  const a = data.attempt;
  // An attempt still running in a run whose process died is interrupted, as on the run page.
  const st = attemptState(a, data.runStatus === undefined || data.runStatus === 'running');
  const res = a.resources;
  const use = a.usage;
  const wall = a.startedAt && a.finishedAt ? Date.parse(a.finishedAt) - Date.parse(a.startedAt) : undefined;
  const marks = attemptMarks(a);
  return html`<main>
    <${Crumbs} items=${[['Runs', '#/'], [runId, href(['runs', runId])], [`${a.taskId} (attempt ${a.attempt})`]]} />
    <h1>Task ${a.taskId} <span class="status" data-state=${st}>${STATE_LABEL[st] ?? st}</span></h1>
    ${a.attempt > 1 ? html`<p>Attempt ${a.attempt}: <a href=${href(['runs', runId, 'task'], { task: a.taskId, attempt: a.attempt - 1 })}>see attempt ${a.attempt - 1}</a></p>` : null}
    <dl class="summary">
      <dt>Step</dt><dd><a href=${href(['runs', runId], { node: a.nodePath })}>${a.nodePath ?? a.stepPath}</a></dd>
      <dt>Exit</dt><dd>${a.status}${a.exitCode !== null && a.exitCode !== undefined ? `, exit code ${a.exitCode}` : ''}</dd>
      ${a.message ? html`<dt>Message</dt><dd class="message">${a.message}</dd>` : null}
      ${marks.length ? html`<dt>Marks</dt><dd>${marks.join('; ')}</dd>` : null}
      ${a.notes?.length ? html`<dt>Executor notes</dt><dd><ul class="notes">${a.notes.map((n) => html`<li><${At} iso=${n.at} />: ${n.message}</li>`)}</ul></dd>` : null}
      <dt>Queued</dt><dd><${At} iso=${a.queuedAt} /></dd>
      <dt>Started</dt><dd><${At} iso=${a.startedAt} /></dd>
      <dt>Finished</dt><dd><${At} iso=${a.finishedAt} /></dd>
      <dt>Wall time</dt><dd>${wall === undefined ? '–' : duration(wall)}</dd>
      ${a.image ? html`<dt>Image</dt><dd>${a.image}</dd>` : null}
      ${a.native ? html`<dt>Kubernetes</dt><dd>Job ${a.native.job ?? '–'}, pod ${a.native.pod ?? '–'}, node ${a.native.node ?? '–'}</dd>` : null}
      ${a.reusedFrom ? html`<dt>Reused from</dt><dd>${a.reusedFrom.runId ? html`run <a href=${href(['runs', a.reusedFrom.runId])}>${a.reusedFrom.runId}</a>, ` : ''}cache entry ${a.reusedFrom.entry}</dd>` : null}
      <dt>Work directory</dt><dd><code>${a.workDir ?? '–'}</code></dd>
      <dt>Log directory</dt><dd><code>${a.logDir ?? '–'}</code></dd>
    </dl>
    <section aria-labelledby="cmd-h"><h2 id="cmd-h">Command line</h2><pre class="cmd">${a.argv ? shellLine(a.argv) : '(not started)'}</pre></section>
    <section aria-labelledby="res-h"><h2 id="res-h">Resources</h2>
      <table class="resources"><thead><tr><th scope="col"></th><th scope="col">Requested</th><th scope="col">Used</th></tr></thead><tbody>
        <tr><th scope="row">CPU</th><td>${res ? `${res.cores} core${res.cores === 1 ? '' : 's'}` : '–'}</td><td>${use ? `${use.cpuSeconds.toFixed(2)} s CPU${cpuSpan(use, wall) ? ` (${((use.cpuSeconds / cpuSpan(use, wall)) * 100).toFixed(0)}% of a core)` : ''}` : 'not measured'}</td></tr>
        <tr><th scope="row">Memory</th><td>${res ? mib(res.ramMiB) : '–'}</td><td>${use ? `${mib(use.peakRssMiB)} peak` : 'not measured'}</td></tr>
        <tr><th scope="row">I/O</th><td></td><td>${use && use.rcharBytes !== undefined ? `read ${bytes(use.rcharBytes)}, wrote ${bytes(use.wcharBytes)}` : 'not measured'}</td></tr>
      </tbody></table>
      ${use ? html`<p class="note">Measured from ${use.source === 'proc' ? '/proc, sampled' : use.source} (${use.samples} samples).</p>` : null}
    </section>
    <section aria-labelledby="stderr-h"><h2 id="stderr-h">Last lines of stderr</h2><pre class="log" tabindex="0" aria-label="stderr tail">${data.stderrTail || '(empty)'}</pre></section>
    <section aria-labelledby="logs-h"><h2 id="logs-h">Full logs</h2>
      ${data.logs.length === 0 ? html`<p>No log files (the task wrote nothing to stdout or stderr that was not redirected, or they were removed).</p>` : html`<ul>
        ${data.logs.map((l) => html`<li><a href=${href(['runs', runId, 'log'], { task: a.taskId, attempt: a.attempt, stream: l.stream })}>${l.stream}</a> (${bytes(l.bytes)})</li>`)}
      </ul>`}
    </section>
  </main>`;
}

/** Seconds the measured CPU time covers: the sampled span, else the wall time. */
function cpuSpan(use, wallMs) {
  return use.sampledSeconds > 0 ? use.sampledSeconds : wallMs > 0 ? wallMs / 1000 : 0;
}

function LogPage({ runId, params }) {
  const task = params.get('task') ?? '';
  const attempt = params.get('attempt') ?? '';
  const stream = params.get('stream') ?? 'stderr';
  const [text, setText] = useState(undefined);
  useEffect(() => {
    fetch(`/api/runs/${encodeURIComponent(runId)}/log?${new URLSearchParams({ task, attempt, stream })}`)
      .then((r) => r.text())
      .then(setText)
      .catch((e) => setText(String(e)));
  }, [runId, task, attempt, stream]);
  return html`<main>
    <${Crumbs} items=${[['Runs', '#/'], [runId, href(['runs', runId])], [task, href(['runs', runId, 'task'], { task, attempt })], [stream]]} />
    <h1>${stream} of ${task}${attempt ? ` (attempt ${attempt})` : ''}</h1>
    <pre class="log full" tabindex="0" aria-label=${`${stream} log`}>${text ?? 'Loading…'}</pre>
  </main>`;
}

function App() {
  const { path, params } = useHash();
  let page;
  if (path[0] === 'runs' && path[1] && path[2] === 'task') page = html`<${TaskPage} runId=${path[1]} params=${params} />`;
  else if (path[0] === 'runs' && path[1] && path[2] === 'log') page = html`<${LogPage} runId=${path[1]} params=${params} />`;
  else if (path[0] === 'runs' && path[1]) page = html`<${RunPage} runId=${path[1]} params=${params} />`;
  else page = html`<${RunList} params=${params} />`;
  useEffect(() => {
    document.title = path[1] ? `Strand: ${path[1]}` : 'Strand runs';
  }, [path[1]]);
  return html`<header class="top"><a href="#/" class="brand">Strand</a><span class="ro">read-only view of the run store</span><span class="tz" data-zone=${zoneLabel()}>times are local: ${zoneLabel()}</span></header>${page}`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
