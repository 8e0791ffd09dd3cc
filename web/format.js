// Small formatting helpers shared by the dashboard's pages.

/** 1234567 ms -> "20m 34s". */
export function duration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '–';
  const s = Math.round(ms / 1000);
  if (s < 1) return `${Math.max(0, Math.round(ms))} ms`;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${m % 60}m`;
}

/**
 * One time convention on every page, as `strand list` and `strand show` print times: local time,
 * `2026-12-07 14:51:08`, the zone said once in the page header (zoneLabel) and the exact UTC
 * instant in the element's title.
 */
export function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** This browser's offset from UTC now, as `UTC+01:00` (what every time on the page is in). */
export function zoneLabel(d = new Date()) {
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  const p = (n) => String(n).padStart(2, '0');
  return `UTC${off < 0 ? '-' : '+'}${p(Math.floor(a / 60))}:${p(a % 60)}`;
}

export function mib(v) {
  if (v === undefined || v === null) return 'not measured';
  return v >= 1024 ? `${(v / 1024).toFixed(1)} GiB` : `${v.toFixed(v < 10 ? 1 : 0)} MiB`;
}

export function bytes(v) {
  if (v === undefined || v === null) return 'not measured';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

/** A command line as a shell would take it back. */
export function shellLine(argv) {
  return (argv ?? []).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The state an attempt shows: cached, ok, failed, running, queued, cancelled. */
export function attemptState(a, runLive = true) {
  return unlessDead(ATTEMPT_STATE[a.phase] ?? 'failed', runLive);
}

/** Running or queued in a run that is not running any more (its process died): interrupted. */
function unlessDead(state, runLive) {
  return !runLive && (state === 'running' || state === 'queued') ? 'interrupted' : state;
}

/** From the phase the engine recorded (never from the exit code: a tool's successCodes decide). */
const ATTEMPT_STATE = {
  reused: 'cached',
  succeeded: 'ok',
  failed: 'failed',
  running: 'running',
  queued: 'queued',
  cancelled: 'cancelled',
  never_started: 'cancelled',
};

/** The state a graph node shows, from its tasks (by their latest attempt) and its step record. */
export function nodeState(n, tasks, step, runLive = true) {
  return unlessDead(liveNodeState(tasks, step), runLive);
}

function liveNodeState(tasks, step) {
  if (tasks && tasks.total > 0) {
    if (tasks.failed > 0) return 'failed';
    if (tasks.running > 0) return 'running';
    if (tasks.queued > 0) return 'queued';
    if (tasks.ok === tasks.total) return tasks.reused === tasks.total ? 'cached' : 'ok';
    if (tasks.cancelled > 0) return 'cancelled';
  }
  if (step) {
    if (step.status === 'success') return 'ok';
    if (step.status === 'running') return 'running';
    if (step.status === 'skipped') return 'skipped';
    return step.status;
  }
  return 'pending';
}

export const STATE_LABEL = {
  ok: 'done',
  failed: 'failed',
  running: 'running',
  queued: 'queued',
  cancelled: 'cancelled',
  interrupted: 'interrupted (its process stopped)',
  cached: 'reused from cache',
  skipped: 'skipped',
  pending: 'not started',
};

/** `#/runs/ID/task?task=a/b&attempt=2` -> { path: ['runs', 'ID', 'task'], params } */
export function parseHash(hash) {
  const h = hash.replace(/^#/, '') || '/';
  const [p, query] = h.split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query ?? '') };
}

export function href(path, params) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
  return `#/${path.map(encodeURIComponent).join('/')}${q ? `?${q}` : ''}`;
}
