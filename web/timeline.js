// A timeline of task attempts: one row per attempt (a page of them, server-side), a light bar while
// queued, a solid bar while running, marks for retries, OOM retries, quota waits and cached results.
import { html } from 'htm/preact';
import { STATE_LABEL, attemptState, duration, href } from './format.js';

const ROW = 22;
const LEFT = 230;
const WIDTH = 900;

/** What the executor said while the attempt waited or ran, in a few words. */
export function attemptMarks(a) {
  const marks = [];
  if (a.attempt > 1) marks.push(`retry ${a.attempt - 1}`);
  for (const n of a.notes ?? []) {
    const oom = /OOMKilled with a (\S+) memory limit; retrying with (\S+)/.exec(n.message);
    if (oom) marks.push(`OOM at ${oom[1]}, retried with ${oom[2]}`);
    else if (/quota/i.test(n.message)) marks.push('quota wait');
    else if (/cannot be scheduled|unschedulable/i.test(n.message)) marks.push('unschedulable wait');
  }
  if (a.reusedFrom) marks.push(`cached${a.reusedFrom.runId ? ` from ${a.reusedFrom.runId}` : ''}`);
  return [...new Set(marks)];
}

export function Timeline({ run, attempts, now: clock }) {
  const t0 = Date.parse(run.startedAt);
  // What has not ended goes on until now only while the run runs: a run whose process died
  // (interrupted) ended at its last heartbeat, which its duration says.
  const now = run.finishedAt ? Date.parse(run.finishedAt) : run.status === 'running' ? clock : t0 + (run.durationMs ?? 0);
  const ends = attempts.map((a) => Date.parse(a.finishedAt ?? '') || now);
  const t1 = Math.max(now, ...ends, t0 + 1000);
  const x = (iso) => LEFT + ((Math.max(t0, Date.parse(iso ?? '') || now) - t0) / (t1 - t0)) * WIDTH;
  const height = attempts.length * ROW + 30;
  return html`<svg class="timeline" role="group" aria-label="Timeline of task attempts" width=${LEFT + WIDTH + 20} height=${height}>
    <line class="axis" x1=${LEFT} y1="12" x2=${LEFT + WIDTH} y2="12" />
    ${[0, 0.25, 0.5, 0.75, 1].map((f) => html`<text class="tick" x=${LEFT + f * WIDTH} y="9" text-anchor="middle">${tick(f * (t1 - t0), t1 - t0)}</text>`)}
    ${attempts.map((a, i) => {
      const y = 20 + i * ROW;
      const st = attemptState(a, run.status === 'running');
      const q = a.queuedAt ?? a.startedAt;
      const s = a.startedAt;
      // A task cancelled before it started waited until it was cancelled, not until now.
      const e = a.finishedAt;
      const marks = attemptMarks(a);
      const ran = s ? duration((Date.parse(e ?? '') || now) - Date.parse(s)) : 'not started';
      const label = `${a.taskId} attempt ${a.attempt}: ${STATE_LABEL[st] ?? st}, ${ran}${marks.length ? `; ${marks.join('; ')}` : ''}`;
      return html`<a href=${href(['runs', run.id, 'task'], { task: a.taskId, attempt: a.attempt })} aria-label=${label}>
        <g class="row" data-state=${st}>
          <title>${label}</title>
          <text x="4" y=${y + 14} class="name">${clipLeft(a.taskId, 30)}${a.attempt > 1 ? ` #${a.attempt}` : ''}</text>
          ${q ? html`<rect class="wait" x=${x(q)} y=${y + 5} width=${Math.max(1, x(s ?? e) - x(q))} height="10" />` : null}
          ${s ? html`<rect class="bar" x=${x(s)} y=${y + 3} width=${Math.max(2, x(e) - x(s))} height="14" rx="2" />` : null}
          ${marks.length ? html`<text class="mark" x=${(s ? x(e) : x(q)) + 6} y=${y + 14}>${marks.join(' · ')}</text>` : null}
        </g>
      </a>`;
    })}
  </svg>`;
}

/** An axis label: tenths of seconds on a short axis, else as `duration` says. */
function tick(ms, span) {
  return span < 60_000 ? `${(ms / 1000).toFixed(span < 10_000 ? 1 : 0)}s` : duration(ms);
}

function clipLeft(s, n) {
  return s.length > n ? `…${s.slice(s.length - n + 1)}` : s;
}
