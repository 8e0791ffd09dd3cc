/**
 * `strand report RUN`: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched)
 * with the run's summary, per-step wall time and task time, requested against used CPU and memory
 * where measured, a timeline of task attempts, and the failures. Pure: builds text from the record.
 */
import { formatTime, utcOffsetLabel } from '../store/format.js';
import type { AttemptRecord, RunDetail } from '../store/run-store.js';
import { stepStatesByNode } from '../model/node-steps.js';
import { traceDuration, traceStatus } from './trace.js';

/** Rows drawn in the timeline at most; a bigger run's report says how many it left out. */
export const TIMELINE_MAX_ROWS = 1500;

export interface StepReport {
  node: string;
  tasks: number;
  attempts: number;
  failed: number;
  reused: number;
  /** First start to last end of its attempts (ms). */
  wallMs: number;
  /** Sum of its attempts' run times (ms). */
  taskMs: number;
  maxTaskMs: number;
  requestedCores?: number;
  requestedMiB?: number;
  /** Over the measured attempts: CPU time / run time, as a percentage of one core (mean and max). */
  meanCpuPct?: number;
  maxCpuPct?: number;
  peakRssMiB?: number;
  measured: number;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const t = (iso?: string) => (iso ? Date.parse(iso) : NaN);

export function stepReports(run: RunDetail): StepReport[] {
  const by = new Map<string, AttemptRecord[]>();
  for (const a of run.attempts) {
    const k = a.nodePath ?? a.stepPath;
    const list = by.get(k) ?? [];
    list.push(a);
    by.set(k, list);
  }
  const out: StepReport[] = [];
  for (const [node, list] of by) {
    const starts = list.map((a) => t(a.startedAt)).filter(Number.isFinite);
    const ends = list.map((a) => t(a.finishedAt)).filter(Number.isFinite);
    const runs = list.map((a) => t(a.finishedAt) - t(a.startedAt)).filter(Number.isFinite);
    const measured = list.filter((a) => a.usage && Number.isFinite(t(a.finishedAt) - t(a.startedAt)) && t(a.finishedAt) > t(a.startedAt));
    const pcts = measured.map((a) => {
      const span = a.usage!.sampledSeconds && a.usage!.sampledSeconds > 0 ? a.usage!.sampledSeconds * 1000 : t(a.finishedAt) - t(a.startedAt);
      return (a.usage!.cpuSeconds * 100000) / span;
    });
    const latest = new Map<string, AttemptRecord>();
    for (const a of list) if ((latest.get(a.taskId)?.attempt ?? 0) < a.attempt) latest.set(a.taskId, a);
    const cores = list.map((a) => a.resources?.cores).filter((v): v is number => v !== undefined);
    const ram = list.map((a) => a.resources?.ramMiB).filter((v): v is number => v !== undefined);
    out.push({
      node,
      tasks: latest.size,
      attempts: list.length,
      failed: [...latest.values()].filter((a) => traceStatus(a) === 'FAILED').length,
      reused: list.filter((a) => a.reusedFrom).length,
      wallMs: starts.length && ends.length ? Math.max(...ends) - Math.min(...starts) : 0,
      taskMs: runs.reduce((s, v) => s + v, 0),
      maxTaskMs: runs.length ? Math.max(...runs) : 0,
      ...(cores.length ? { requestedCores: Math.max(...cores) } : {}),
      ...(ram.length ? { requestedMiB: Math.max(...ram) } : {}),
      ...(pcts.length ? { meanCpuPct: pcts.reduce((s, v) => s + v, 0) / pcts.length, maxCpuPct: Math.max(...pcts) } : {}),
      ...(measured.length ? { peakRssMiB: Math.max(...measured.map((a) => a.usage!.peakRssMiB)) } : {}),
      measured: measured.length,
    });
  }
  return out.sort((a, b) => b.wallMs - a.wallMs);
}

const mib = (v?: number) => (v === undefined ? 'not measured' : v >= 1024 ? `${(v / 1024).toFixed(2)} GiB` : `${v.toFixed(1)} MiB`);

function stateOf(a: AttemptRecord): string {
  return traceStatus(a).toLowerCase();
}

function timelineSvg(run: RunDetail, now: number): string {
  const rows = [...run.attempts]
    .sort((a, b) => (a.queuedAt ?? a.startedAt ?? '').localeCompare(b.queuedAt ?? b.startedAt ?? ''))
    .slice(0, TIMELINE_MAX_ROWS);
  if (rows.length === 0) return '<p>No task attempts.</p>';
  const t0 = t(run.startedAt);
  const t1 = Math.max(run.finishedAt ? t(run.finishedAt) : now, ...rows.map((a) => t(a.finishedAt) || now), t0 + 1000);
  const left = 260;
  const width = 760;
  const row = 16;
  const x = (ms: number) => left + ((Math.max(t0, ms) - t0) / (t1 - t0)) * width;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${left + width + 10}" height="${rows.length * row + 24}" role="img" aria-label="Timeline of task attempts">`];
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<text x="${left + f * width}" y="10" text-anchor="middle" class="tick">${esc(traceDuration(f * (t1 - t0)))}</text>`);
  }
  rows.forEach((a, i) => {
    const y = 16 + i * row;
    const q = t(a.queuedAt ?? a.startedAt);
    const s = t(a.startedAt);
    const e = t(a.finishedAt) || now;
    const label = `${a.taskId}${a.attempt > 1 ? ` #${a.attempt}` : ''}`;
    parts.push(`<g class="r ${stateOf(a)}"><title>${esc(`${label}: ${traceStatus(a)}, ${traceDuration(Number.isFinite(s) ? e - s : undefined)}`)}</title>`);
    parts.push(`<text x="2" y="${y + 11}" class="n">${esc(label.length > 40 ? `…${label.slice(-39)}` : label)}</text>`);
    // Still queued: the wait goes on until now; cancelled before it started: until it was cancelled.
    const waitEnd = Number.isFinite(s) ? s : Number.isFinite(t(a.finishedAt)) ? t(a.finishedAt) : now;
    if (Number.isFinite(q)) parts.push(`<rect class="w" x="${x(q).toFixed(1)}" y="${y + 4}" width="${Math.max(1, x(waitEnd) - x(q)).toFixed(1)}" height="6"/>`);
    if (Number.isFinite(s)) parts.push(`<rect class="b" x="${x(s).toFixed(1)}" y="${y + 2}" width="${Math.max(2, x(e) - x(s)).toFixed(1)}" height="10" rx="2"/>`);
    parts.push('</g>');
  });
  parts.push('</svg>');
  const left_ = run.attempts.length - rows.length;
  return parts.join('') + (left_ > 0 ? `<p class="note">The first ${rows.length} attempts of ${run.attempts.length}; see the trace file for all.</p>` : '');
}

function stepTable(steps: StepReport[]): string {
  if (steps.length === 0) return '<p>No tasks.</p>';
  const maxWall = Math.max(...steps.map((s) => s.wallMs), 1);
  const rows = steps.map((s) => {
    const used =
      s.measured === 0
        ? '<td>not measured</td><td>not measured</td>'
        : `<td>${s.meanCpuPct!.toFixed(0)}% mean, ${s.maxCpuPct!.toFixed(0)}% max <span class="note">(${s.measured} of ${s.attempts} measured)</span></td><td>${mib(s.peakRssMiB)} peak</td>`;
    return `<tr><th scope="row">${esc(s.node)}</th><td class="num">${s.tasks}</td><td class="num">${s.attempts}</td><td class="num">${s.failed}</td><td class="num">${s.reused}</td>
<td><svg width="120" height="10" aria-hidden="true"><rect width="${((s.wallMs / maxWall) * 120).toFixed(1)}" height="10" class="wb"/></svg> ${esc(traceDuration(s.wallMs))}</td>
<td>${esc(traceDuration(s.taskMs))} (max ${esc(traceDuration(s.maxTaskMs))})</td>
<td>${s.requestedCores === undefined ? '–' : `${s.requestedCores} core${s.requestedCores === 1 ? '' : 's'}`}</td><td>${s.requestedMiB === undefined ? '–' : mib(s.requestedMiB)}</td>${used}</tr>`;
  });
  return `<table><thead><tr><th scope="col">Step</th><th scope="col">Tasks</th><th scope="col">Attempts</th><th scope="col">Failed</th><th scope="col">Reused</th><th scope="col">Wall time</th><th scope="col">Task time</th><th scope="col">CPU requested</th><th scope="col">Memory requested</th><th scope="col">CPU used</th><th scope="col">Memory used</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

/** The steps `when` skipped (every time, for a step inside a scatter), which ran no task. */
function skippedSteps(run: RunDetail): string {
  const skipped = stepStatesByNode(run.steps).filter((s) => s.status === 'skipped').map((s) => s.node);
  return skipped.length ? `<p>Skipped by <code>when</code>: ${skipped.map(esc).join(', ')}.</p>` : '';
}

function failures(run: RunDetail): string {
  const failed = run.attempts.filter((a) => traceStatus(a) === 'FAILED');
  if (failed.length === 0) return '<p>None.</p>';
  return failed
    .slice(0, 200)
    .map((a) => `<details><summary>${esc(a.taskId)} attempt ${a.attempt}: ${esc(a.phase)}${a.status !== 'completed' && a.status !== a.phase ? ` (${esc(a.status)})` : ''}${a.exitCode !== null ? `, exit code ${a.exitCode}` : ''}</summary><p>${esc(a.message ?? '')}</p>${a.argv ? `<pre>${esc(a.argv.join(' '))}</pre>` : ''}${a.logTail ? `<pre>${esc(a.logTail)}</pre>` : ''}</details>`)
    .join('\n');
}

const CSS = `body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1c1f23;font-size:14px}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse}th,td{border-bottom:1px solid #d6dbe0;padding:.3rem .55rem;text-align:left;vertical-align:top}td.num{text-align:right}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{color:#5f6b76}dd{margin:0}.note{color:#5f6b76;font-size:.85rem}
pre{background:#f4f6f8;padding:.5rem;white-space:pre-wrap;word-break:break-all}.wb{fill:#1565c0}
svg text{font-size:11px;fill:#1c1f23}.tick{fill:#5f6b76;font-size:10px}.n{font-family:ui-monospace,monospace;font-size:10px}
.w{fill:#cfd8dc}.b{fill:#9e9e9e}.completed .b{fill:#2e7d32}.failed .b{fill:#c62828}.running .b{fill:#1565c0}.aborted .b{fill:#6d4c41}.cached .b{fill:#7b1fa2}
.status{display:inline-block;padding:0 .5rem;border-radius:1rem;color:#fff;background:#5f6b76}.status.success{background:#2e7d32}.status.failed{background:#c62828}.status.running{background:#1565c0}`;

export function htmlReport(run: RunDetail, opts: { now?: number; generatedAt?: Date; utc?: boolean } = {}): string {
  // One time convention, as strand show prints times: local time of the machine that writes the
  // report, its offset from UTC said beside, the exact instant in the element.
  const at = (iso: string | undefined, otherwise: string) =>
    iso ? `<time datetime="${esc(iso)}">${esc(formatTime(iso, opts))} (${utcOffsetLabel(new Date(iso), opts)})</time>` : esc(otherwise);
  const written = opts.generatedAt ?? new Date();
  const now = opts.now ?? Date.now();
  const steps = stepReports(run);
  const measured = run.attempts.filter((a) => a.usage).length;
  const sources = [...new Set(run.attempts.flatMap((a) => (a.usage ? [a.usage.source] : [])))];
  const how: Record<string, string> = {
    proc: "sampling /proc of each task's processes (podman containers: the container's; docker: not measured)",
    'metrics.k8s.io': "the cluster's pod metrics (metrics.k8s.io: CPU averaged over metrics-server's windows, memory as the working set)",
  };
  const usageNote =
    measured === 0
      ? `CPU and memory used: not measured for this run (${run.executor === 'kubernetes' ? 'the cluster offers no pod metrics to Strand (metrics.k8s.io), or tasks ended before the first sample' : 'docker containers and tasks shorter than the first sample are not measured'}).`
      : `CPU and memory used: measured for ${measured} of ${run.attempts.length} attempts, from ${sources.map((s) => how[s] ?? s).join(' and ')}; a lower bound.`;
  const tasks = run.tasks;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Strand report: ${esc(run.id)}</title>
<meta name="generator" content="strand report"><style>${CSS}</style></head>
<body>
<h1>Run ${esc(run.id)} <span class="status ${esc(run.status)}">${esc(run.status)}</span></h1>
<dl>
<dt>Workflow</dt><dd>${esc(run.documentPath ?? run.processId ?? '–')}</dd>
<dt>Executor</dt><dd>${esc(run.executor ?? '–')}${run.executorDetail?.namespace ? ` (namespace ${esc(String(run.executorDetail.namespace))})` : ''}</dd>
<dt>Owner</dt><dd>${esc(run.owner ?? '–')}</dd>
<dt>Started</dt><dd>${at(run.startedAt, '–')}</dd>
<dt>Finished</dt><dd>${at(run.finishedAt, '(still running)')}</dd>
<dt>Duration</dt><dd>${esc(traceDuration(run.durationMs))}</dd>
<dt>Tasks</dt><dd>${tasks.total} attempts: ${tasks.ok} ok${tasks.reused ? ` (${tasks.reused} reused from the cache)` : ''}, ${tasks.failed} failed${tasks.retried ? ` (${tasks.retried} of them retried)` : ''}${tasks.running ? `, ${tasks.running} running` : ''}</dd>
${run.message ? `<dt>Message</dt><dd>${esc(run.message)}</dd>` : ''}
${run.resumedFrom ? `<dt>Resumes</dt><dd>${esc(run.resumedFrom)}</dd>` : ''}
</dl>
<h2>Steps</h2>
<p class="note">${esc(usageNote)} Wall time: from a step's first task start to its last task end; task time: the sum of its attempts' run times.</p>
${stepTable(steps)}
${skippedSteps(run)}
<h2>Timeline</h2>
<p class="note">One row per attempt, in queue order: light while queued, coloured while running (green done, red failed, purple reused, blue running).</p>
${timelineSvg(run, now)}
<h2>Failures</h2>
${failures(run)}
<p class="note">Written by strand report at ${at(written.toISOString(), '')}.</p>
</body></html>
`;
}
