/**
 * Progress on stderr while a run goes.
 *
 * On a terminal: one status line, redrawn at most ~10 times a second, with a permanent line above
 * it for each task failure. Elsewhere (CI logs, files): plain lines for steps and failures, plus
 * task starts/finishes in verbose mode.
 */
import type { RunEvent } from '../engine/events.js';
import { taskEndText, type TaskResult } from '../executor/executor.js';

export interface ProgressOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Only failures. */
  quiet?: boolean;
  /** Also log every task start and finish (non-terminal output). */
  verbose?: boolean;
}

export interface ProgressDisplay {
  onEvent(e: RunEvent): void;
  stop(): void;
}

const REDRAW_MS = 100;
const TICK_MS = 1000;
const CLEAR = '\r\x1b[2K';

/** `00:42`, `12:03`, `1:02:03`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const p = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${p(m)}:${p(s % 60)}` : `${p(m)}:${p(s % 60)}`;
}

/** How a task result reads in one line: `completed exit 3`, `timed_out`, `failed`. */
export function describeResult(r: TaskResult): string {
  return r.reason === 'completed' || r.exitCode !== null ? `${r.reason} exit ${r.exitCode ?? '?'}` : r.reason;
}

/** A task that did not succeed (cancellations are not failures: they follow one, or Ctrl-C). */
export function isFailure(r: TaskResult): boolean {
  if (r.reason === 'cancelled') return false;
  return r.reason !== 'completed' || r.exitCode !== 0;
}

export function createProgressDisplay(out: ProgressOutput, opts: ProgressOptions = {}): ProgressDisplay {
  const tty = out.isTTY === true;
  const live = tty && !opts.quiet;
  const state = new Map<string, 'queued' | 'running'>();
  let queued = 0;
  let running = 0;
  let done = 0;
  let failed = 0;
  let cancelled = 0;
  let startedAt = Date.now();
  let lineShown = false;
  let stopped = false;
  let redrawTimer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;

  const statusLine = (): string => {
    let s = `[strand] ${queued} queued · ${running} running · ${done} done · ${failed} failed`;
    if (cancelled > 0) s += ` · ${cancelled} cancelled`;
    s += `  (elapsed ${formatElapsed(Date.now() - startedAt)})`;
    const width = out.columns;
    if (width !== undefined && width > 1 && s.length > width - 1) s = s.slice(0, width - 1);
    return s;
  };

  const draw = () => {
    if (!live || stopped) return;
    out.write(CLEAR + statusLine());
    lineShown = true;
  };

  const scheduleRedraw = () => {
    if (!live || stopped || redrawTimer) return;
    redrawTimer = setTimeout(() => {
      redrawTimer = undefined;
      draw();
    }, REDRAW_MS);
    redrawTimer.unref?.();
  };

  const startTicker = () => {
    if (!live || ticker || stopped) return;
    ticker = setInterval(draw, TICK_MS);
    ticker.unref?.();
  };

  /** A permanent line: above the status line on a terminal. */
  const println = (line: string) => {
    if (stopped) return;
    if (live && lineShown) {
      out.write(CLEAR + line + '\n');
      draw();
    } else {
      out.write(line + '\n');
    }
  };

  const key = (e: { taskId: string; attempt: number }) => `${e.taskId}#${e.attempt}`;

  const leave = (k: string) => {
    const s = state.get(k);
    if (s === 'queued') queued--;
    else if (s === 'running') running--;
    state.delete(k);
  };

  const onEvent = (e: RunEvent): void => {
    if (stopped) return;
    switch (e.type) {
      case 'run_started':
        startedAt = e.at.getTime();
        if (!opts.quiet) println(`[strand] run ${e.runId} started`);
        startTicker();
        break;
      case 'step_started':
        if (!tty && !opts.quiet) println(`[strand] step ${e.stepPath} started`);
        break;
      case 'step_finished':
        // A step that failed because of its task says so in the run's error: do not repeat it.
        if (e.status === 'failed') println(`[strand] step ${e.stepPath} failed${e.message && !e.message.startsWith(`step ${e.stepPath} failed`) ? `: ${e.message}` : ''}`);
        else if (!tty && !opts.quiet) println(`[strand] step ${e.stepPath} finished: ${e.status}`);
        break;
      case 'task_queued': {
        const k = key(e);
        leave(k);
        state.set(k, 'queued');
        queued++;
        break;
      }
      case 'task_started': {
        const k = key(e);
        leave(k);
        state.set(k, 'running');
        running++;
        if (!tty && opts.verbose && !opts.quiet) println(`[strand] task ${e.taskId} started`);
        break;
      }
      case 'task_finished': {
        leave(key(e));
        const r = e.result;
        if (r.reason === 'cancelled') cancelled++;
        else if (isFailure(r)) failed++;
        else done++;
        if (isFailure(r)) {
          const attempt = e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
          const ofStep = e.stepPath === e.taskId ? '' : ` of step ${e.stepPath}`;
          // Its stderr is shown once, in the error the run ends with.
          println(`[strand] task ${e.taskId}${attempt}${ofStep} failed: ${taskEndText(r, e.taskId)}`);
        } else if (!tty && opts.verbose && !opts.quiet) {
          println(`[strand] task ${e.taskId} finished: ${describeResult(r)}`);
        }
        break;
      }
      case 'task_note':
        if (!opts.quiet) println(`[strand] ${e.taskId}: ${e.message}`);
        break;
      case 'run_finished':
        draw();
        break;
    }
    scheduleRedraw();
  };

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearTimeout(redrawTimer);
    clearInterval(ticker);
    if (lineShown) out.write(CLEAR);
    lineShown = false;
  };

  return { onEvent, stop };
}
