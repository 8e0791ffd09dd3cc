/** Pure text formatting of run records for `strand list` and `strand show`. */
import { phaseIsOk } from '../engine/events.js';
import type { AttemptRecord, RunDetail, RunSummary } from './run-store.js';

export interface FormatOptions {
  /** Show times in UTC instead of local time (tests, logs shared across zones). */
  utc?: boolean;
  /** How many successful attempts `formatRunDetail` lists before summarising the rest. */
  maxOkAttempts?: number;
  /**
   * Whether a path exists now (the CLI passes fs.existsSync). Directories and logs that are gone
   * (a run's work directory is removed after it) are said to be, not listed as if they were there.
   * Without it, every path is assumed to exist.
   */
  exists?: (p: string) => boolean;
}

/** `42s`, `3m05s`, `1h02m`; `<1s` under a second. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return '<1s';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

/** `2026-01-02 03:04:05` in local time (or UTC). */
export function formatTime(isoTime: string | undefined, opts: FormatOptions = {}): string {
  if (!isoTime) return '-';
  const d = new Date(isoTime);
  if (Number.isNaN(d.getTime())) return isoTime;
  const p = (n: number) => String(n).padStart(2, '0');
  const [y, mo, da, h, mi, se] = opts.utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${y}-${p(mo)}-${p(da)} ${p(h)}:${p(mi)}:${p(se)}`;
}

/** The offset from UTC of local time at `d`, as `UTC+01:00`: the label of times formatTime writes. */
export function utcOffsetLabel(d: Date, opts: FormatOptions = {}): string {
  const off = opts.utc ? 0 : -d.getTimezoneOffset();
  const a = Math.abs(off);
  const p = (n: number) => String(n).padStart(2, '0');
  return `UTC${off < 0 ? '-' : '+'}${p(Math.floor(a / 60))}:${p(a % 60)}`;
}

/** A short name for the process: `wf.cwl#main` rather than a full file URI. */
export function shortProcessName(run: Pick<RunSummary, 'processId' | 'documentPath'>): string {
  const id = run.processId ?? run.documentPath ?? '-';
  const hash = id.lastIndexOf('#');
  const file = hash >= 0 ? id.slice(0, hash) : id;
  const base = file.slice(file.lastIndexOf('/') + 1);
  return hash >= 0 ? `${base}#${id.slice(hash + 1)}` : base || id;
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `ok/failed (notes)`: failed are the tasks whose last attempt failed; a failure retried is a note. */
function taskCell(run: RunSummary): string {
  const { ok, failed, running, reused, queued, cancelled } = run.tasks;
  const retried = run.tasks.retried ?? 0;
  const notes = [
    ...(running > 0 ? [`${running} running`] : []),
    ...(queued > 0 ? [`${queued} queued`] : []),
    ...(cancelled > 0 ? [`${cancelled} cancelled`] : []),
    ...(reused > 0 ? [`${reused} reused`] : []),
    ...(retried > 0 ? [`${retried} retried`] : []),
  ];
  return `${ok}/${failed - retried}` + (notes.length ? ` (${notes.join(', ')})` : '');
}

/** The `strand list` table: id, status, started, duration, tasks ok/failed, process. */
export function formatRunList(runs: readonly RunSummary[], opts: FormatOptions = {}): string {
  if (runs.length === 0) return 'no runs recorded yet (start one with: strand run <workflow.cwl> <job.yml>)';
  const rows = [['RUN', 'STATUS', 'STARTED', 'DURATION', 'TASKS OK/FAILED', 'PROCESS']];
  for (const r of runs) {
    rows.push([r.id, r.status, formatTime(r.startedAt, opts), formatDuration(r.durationMs), taskCell(r), shortProcessName(r)]);
  }
  return table(rows);
}

/** One line per change of a watched run (`strand show --watch`): when, status, duration, tasks ok/failed. */
export function formatRunChange(run: RunSummary, at: Date, opts: FormatOptions = {}): string {
  return `${formatTime(at.toISOString(), opts)}  ${run.status}  ${formatDuration(run.durationMs)}  tasks ${taskCell(run)}${run.message && run.status !== 'running' ? `  ${run.message}` : ''}`;
}

function attemptSucceeded(a: AttemptRecord): boolean {
  return phaseIsOk(a.phase);
}

function attemptOutcome(a: AttemptRecord): string {
  if (a.reusedFrom) {
    const from = a.reusedFrom.runId ? ` from run ${a.reusedFrom.runId}${a.reusedFrom.taskId && a.reusedFrom.taskId !== a.taskId ? ` (${a.reusedFrom.taskId})` : ''}` : '';
    return `reused${from}, exit ${a.exitCode ?? '?'}`;
  }
  const exit = a.exitCode !== null ? `, exit ${a.exitCode}` : '';
  if (a.phase === 'never_started') return 'cancelled before it started';
  if (a.phase === 'queued' || a.phase === 'running') return a.phase;
  // The verdict, then how the process ended when that says more (a failed attempt's reason).
  const how = a.status === 'completed' || a.status === a.phase ? '' : ` (${a.status})`;
  return `${a.phase}${how}${exit}`;
}

function span(start: string | undefined, end: string | undefined): number | undefined {
  if (!start || !end) return undefined;
  return Date.parse(end) - Date.parse(start);
}

/** The `strand show` text: header, steps, then attempts (failures in full, with log paths). */
export function formatRunDetail(run: RunDetail, opts: FormatOptions = {}): string {
  const maxOk = opts.maxOkAttempts ?? 50;
  const out: string[] = [];
  out.push(`run ${run.id}: ${run.status}`);
  const field = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== '') out.push(`  ${name.padEnd(9)} ${value}`);
  };
  field('process', run.processId);
  field('document', run.documentPath);
  field('job', run.jobPath);
  field('started', formatTime(run.startedAt, opts));
  field('finished', run.finishedAt ? `${formatTime(run.finishedAt, opts)} (took ${formatDuration(run.durationMs)})` : undefined);
  field('outdir', run.outdir);
  const exists = opts.exists ?? (() => true);
  const dir = (p: string | undefined) => (p === undefined || exists(p) ? p : `${p} (removed after the run; --leave-tmpdir keeps it)`);
  field('workdir', dir(run.workDir));
  field('cwd', run.cwd);
  field('pid', run.pid !== undefined && run.status === 'running' ? String(run.pid) : undefined);
  field('resumes', run.resumedFrom);
  field('resumed', run.resumedBy?.length ? `by ${run.resumedBy.join(', ')}` : undefined);
  field('cache', run.cacheDir ? `${run.cacheDir} (${run.cacheMode ?? 'readwrite'})` : run.cacheMode === 'off' ? 'off' : undefined);
  const { ok, failed, running, total, reused, queued, cancelled } = run.tasks;
  field(
    'tasks',
    `${total} attempts: ${ok} ok${reused ? ` (${reused} reused from the cache)` : ''}, ${failed} failed` +
      (run.tasks.retried ? ` (${run.tasks.retried} of them retried)` : '') +
      (cancelled ? `, ${cancelled} cancelled` : '') +
      (running ? `, ${running} running` : '') +
      (queued ? `, ${queued} queued` : ''),
  );
  field('message', run.message);

  if (run.steps.length > 0) {
    out.push('', 'steps:');
    const rows = run.steps.map((s) => [
      `  ${s.stepPath}`,
      s.status,
      formatDuration(span(s.startedAt, s.finishedAt)),
      s.message ?? '',
    ]);
    out.push(table(rows));
  }

  if (run.attempts.length > 0) {
    out.push('', 'task attempts:');
    let okShown = 0;
    let okHidden = 0;
    // An attempt followed by another of its task was retried (--retries): said on its line.
    const lastAttempt = new Map<string, number>();
    for (const a of run.attempts) lastAttempt.set(a.taskId, Math.max(a.attempt, lastAttempt.get(a.taskId) ?? 0));
    for (const a of run.attempts) {
      const good = attemptSucceeded(a);
      if (good && okShown >= maxOk) {
        okHidden++;
        continue;
      }
      if (good) okShown++;
      const dur = formatDuration(span(a.startedAt, a.finishedAt));
      const retried = a.phase === 'failed' && (a.retried || (lastAttempt.get(a.taskId) ?? 0) > a.attempt) ? ', retried' : '';
      out.push(`  ${a.taskId} (attempt ${a.attempt}): ${attemptOutcome(a)}${a.finishedAt ? `, ${dur}` : ''}${retried}`);
      // What happened within the attempt (OOM retries with more memory, evictions, quota waits): the
      // memory that finally worked is only here.
      for (const n of a.notes ?? []) out.push(`      note: ${n.message}`);
      if (good) continue;
      if (a.message) out.push(`      ${a.message}`);
      if (a.argv) out.push(`      command: ${a.argv.map(shellQuote).join(' ')}`);
      if (a.workDir) out.push(`      workdir: ${a.workDir && exists(a.workDir) ? a.workDir : 'removed after the run'}`);
      // Logs are written only for streams the tool did not redirect, and only when it wrote to them.
      const logs = a.logDir ? [`${a.logDir}/stdout.log`, `${a.logDir}/stderr.log`].filter(exists) : [];
      if (logs.length) out.push(`      logs:    ${logs.join(', ')}`);
      if (a.logTail) {
        out.push('      stderr (last lines):');
        for (const line of a.logTail.split('\n')) out.push(`        ${line}`);
      }
    }
    // Left out here, or by the store (getRun's AttemptWindow: a large run is not read whole).
    const okLeft = okHidden + (run.attemptsLeftOut?.ok ?? 0);
    const otherLeft = run.attemptsLeftOut?.other ?? 0;
    if (otherLeft > 0) out.push(`  ... and ${otherLeft} more attempts that did not succeed (see --json, or the dashboard's failed-tasks panel)`);
    if (okLeft > 0) out.push(`  ... and ${okLeft} more successful attempts (see --json)`);
  }
  return out.join('\n');
}

/** Quote an argument for display the way a POSIX shell would need it. */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
