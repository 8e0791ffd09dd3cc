/**
 * Pure text of what a lab server says over WES, for `strand list --server` and `strand show
 * --server`: the same look as the local commands (store/format.ts) with what WES has. A RunLog is
 * not a run record: a run's state, times, outputs and messages, and its tasks from ListTasks (one
 * per attempt; Strand's system_logs say each one's phase).
 */
import { formatDuration, formatTime, shellQuote, type FormatOptions } from '../../store/format.js';
import type { WesRunLog, WesRunSummary, WesTaskLog } from './wes-client.js';

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

function span(start: string | undefined, end: string | undefined): number | undefined {
  if (!start || !end) return undefined;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Printable text from a server: control characters (terminal escapes among them) shown as `?`. */
export function printable(s: string, keepNewlines = false): string {
  // eslint-disable-next-line no-control-regex
  return keepNewlines ? s.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '?') : s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** The `strand list --server` table: run, state, started, duration, tags. */
export function formatWesRunList(runs: readonly WesRunSummary[], opts: FormatOptions = {}): string {
  if (runs.length === 0) return 'no runs on this server yet (submit one with: strand submit --server <workflow.cwl> <job.yml>)';
  const rows = [['RUN', 'STATE', 'STARTED', 'DURATION', 'TAGS']];
  for (const r of runs) {
    const tags = Object.entries(r.tags ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    const running = !r.end_time && r.start_time ? span(r.start_time, new Date().toISOString()) : undefined;
    rows.push([printable(r.run_id), printable(r.state), formatTime(r.start_time, opts), formatDuration(span(r.start_time, r.end_time) ?? running), printable(tags)]);
  }
  return table(rows);
}

/** A task's phase as Strand's system_logs say it (`phase: failed`), or undefined (another WES server). */
export function taskPhase(t: WesTaskLog): string | undefined {
  for (const line of t.system_logs ?? []) {
    const m = /^phase: ([a-z_]+)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

function systemLog(t: WesTaskLog, key: string): string | undefined {
  const prefix = `${key}: `;
  const line = (t.system_logs ?? []).find((l) => l.startsWith(prefix));
  return line?.slice(prefix.length);
}

export interface TaskCounts {
  total: number;
  ok: number;
  failed: number;
  running: number;
  queued: number;
  cancelled: number;
  reused: number;
  retried: number;
  /** Attempts whose phase is not said. */
  unknown: number;
}

export function countTasks(tasks: readonly WesTaskLog[]): TaskCounts {
  const c: TaskCounts = { total: tasks.length, ok: 0, failed: 0, running: 0, queued: 0, cancelled: 0, reused: 0, retried: 0, unknown: 0 };
  for (const t of tasks) {
    const phase = taskPhase(t);
    if (phase === 'succeeded' || phase === 'reused') c.ok++;
    else if (phase === 'failed') c.failed++;
    else if (phase === 'running') c.running++;
    else if (phase === 'queued') c.queued++;
    else if (phase === 'cancelled' || phase === 'never_started') c.cancelled++;
    else c.unknown++;
    if (phase === 'reused' || (t.system_logs ?? []).some((l) => l.startsWith('reused from the task cache'))) c.reused++;
    if ((t.system_logs ?? []).some((l) => l.startsWith('retried:'))) c.retried++;
  }
  return c;
}

export interface WesShowOptions extends FormatOptions {
  /** The tasks were listed in full (ListTasks had no more pages than were read). */
  tasksComplete?: boolean;
  /** The command that prints the run's logs, as the user would type it. */
  logsCommand?: string;
}

/** The `strand show --server` text: state, times, tasks counted, messages, outputs, then each attempt that failed. */
export function formatWesRunDetail(log: WesRunLog, tasks: readonly WesTaskLog[], opts: WesShowOptions = {}): string {
  const out: string[] = [];
  out.push(`run ${printable(log.run_id)}: ${printable(log.state)}`);
  const field = (name: string, value: string | undefined) => {
    if (value !== undefined && value !== '') out.push(`  ${name.padEnd(9)} ${value}`);
  };
  const rl = log.run_log ?? {};
  field('process', rl.name !== undefined ? printable(rl.name) : undefined);
  field('started', rl.start_time ? formatTime(rl.start_time, opts) : undefined);
  field('finished', rl.end_time ? `${formatTime(rl.end_time, opts)} (took ${formatDuration(span(rl.start_time, rl.end_time))})` : undefined);
  const c = countTasks(tasks);
  field(
    'tasks',
    `${c.total}${opts.tasksComplete === false ? '+' : ''} attempts: ${c.ok} ok${c.reused ? ` (${c.reused} reused from the cache)` : ''}, ${c.failed} failed` +
      (c.retried ? ` (${c.retried} of them retried)` : '') +
      (c.cancelled ? `, ${c.cancelled} cancelled` : '') +
      (c.running ? `, ${c.running} running` : '') +
      (c.queued ? `, ${c.queued} queued` : '') +
      (c.unknown ? `, ${c.unknown} not said` : ''),
  );
  const messages = rl.system_logs ?? [];
  messages.forEach((m, i) => field(i === 0 ? 'message' : '', printable(m)));
  field('logs', opts.logsCommand);

  if (log.outputs !== undefined) {
    out.push('', 'outputs:');
    for (const line of printable(JSON.stringify(log.outputs, null, 2), true).split('\n')) out.push(`  ${line}`);
  }

  const failed = tasks.filter((t) => taskPhase(t) === 'failed');
  if (failed.length > 0) {
    out.push('', 'failed task attempts:');
    for (const t of failed) {
      const attempt = systemLog(t, 'attempt');
      const reason = systemLog(t, 'reason');
      const retried = (t.system_logs ?? []).some((l) => l.startsWith('retried:')) ? ', retried' : '';
      const dur = t.end_time ? `, ${formatDuration(span(t.start_time, t.end_time))}` : '';
      const exit = t.exit_code !== undefined ? `, exit ${t.exit_code}` : '';
      out.push(`  ${printable(t.name)}${attempt ? ` (attempt ${printable(attempt)})` : ''}: failed${reason && reason !== 'completed' ? ` (${printable(reason)})` : ''}${exit}${dur}${retried}`);
      const message = systemLog(t, 'message');
      if (message) out.push(`      ${printable(message)}`);
      if (t.cmd?.length) out.push(`      command: ${printable(t.cmd.map(shellQuote).join(' '))}`);
      const tailAt = (t.system_logs ?? []).find((l) => l.startsWith('last lines of stderr:\n'));
      if (tailAt) {
        out.push('      stderr (last lines):');
        for (const line of tailAt.slice('last lines of stderr:\n'.length).split('\n')) out.push(`        ${printable(line)}`);
      }
    }
  }
  if (opts.tasksComplete === false) out.push('', `(the server has more tasks than the ${tasks.length} read)`);
  return out.join('\n');
}

/** One line per change of a watched run (`strand show --server --watch`): when, state. */
export function formatWesStateChange(runId: string, state: string, at: Date, opts: FormatOptions = {}): string {
  return `${formatTime(at.toISOString(), opts)}  ${printable(runId)}  ${printable(state)}`;
}

/** WES states after which a run changes no more. */
export const FINAL_STATES: ReadonlySet<string> = new Set(['COMPLETE', 'EXECUTOR_ERROR', 'SYSTEM_ERROR', 'CANCELED', 'PREEMPTED']);
