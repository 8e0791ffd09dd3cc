/**
 * Progress on stderr while a run goes.
 *
 * On a terminal: one status line, redrawn at most ~10 times a second, with a permanent line above
 * it for each task failure: tasks done of those known so far, with the percentage, what runs and
 * waits, an estimate of the time left, and the steps with tasks still to do. Elsewhere (CI logs,
 * files): plain lines for steps and failures, a progress line every 30 s while it changes, plus
 * task starts/finishes in verbose mode; never a carriage return. Both end with a one-line summary:
 * tasks run, reused from the cache, failed, and the wall time.
 *
 * "Total" is the tasks known so far: a step's tasks become known when its inputs are ready, so
 * the percentage and the estimate are for the work in sight, and grow more exact as the run goes.
 */
import type { RunEvent } from '../engine/events.js';
import { stepOf, taskEndText, type TaskResult } from '../executor/executor.js';

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
/** How often a non-terminal output gets a progress line (when something changed). */
export const LOG_PROGRESS_MS = 30_000;
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


/**
 * Time left for `remaining` tasks at the pace tasks have finished since the first one started
 * (reused tasks take no time and are not counted in the pace). Undefined until one has finished.
 */
export function estimateRemainingMs(ranTasks: number, sinceFirstStartMs: number, remaining: number): number | undefined {
  if (ranTasks < 1 || sinceFirstStartMs <= 0) return undefined;
  if (remaining <= 0) return 0;
  return (sinceFirstStartMs / ranTasks) * remaining;
}

/** The last segment of a step path, the name the user gave the step: `main/align/3` -> `align`. */
export function stepName(stepPath: string): string {
  const step = stepOf(stepPath);
  const i = step.lastIndexOf('/');
  return i >= 0 ? step.slice(i + 1) : step;
}

/** At most this many steps with work left are named on the status line. */
const STEPS_SHOWN = 3;

function stepsText(steps: Map<string, { total: number; done: number }>, sep: string): string {
  const active = [...steps].filter(([, st]) => st.done < st.total);
  if (active.length === 0) return '';
  const named = active.slice(0, STEPS_SHOWN).map(([p, st]) => `${stepName(p)} ${st.done}/${st.total}`);
  if (active.length > STEPS_SHOWN) named.push(`${active.length - STEPS_SHOWN} more steps`);
  return named.join(sep);
}

export function createProgressDisplay(out: ProgressOutput, opts: ProgressOptions = {}): ProgressDisplay {
  const tty = out.isTTY === true;
  const live = tty && !opts.quiet;
  const state = new Map<string, 'queued' | 'running'>();
  let queued = 0;
  let running = 0;
  let done = 0;
  let reused = 0;
  let failed = 0;
  let cancelled = 0;
  /** Failed attempts followed by another attempt of their task (--retries), and the tasks whose last attempt failed. */
  let retried = 0;
  const lastFailed = new Set<string>();
  let startedAt = Date.now();
  let firstTaskStart: number | undefined;
  /** Tasks (not attempts) known, and those finished well (run or reused), per step. */
  const tasks = new Map<string, string>();
  const finishedTasks = new Set<string>();
  const steps = new Map<string, { total: number; done: number }>();
  let lastLogged = '';
  let logTicker: NodeJS.Timeout | undefined;

  /** A new attempt of a task whose last attempt failed: that failure was retried, not final. */
  const retrying = (taskId: string, attempt: number) => {
    if (attempt < 2 || !lastFailed.delete(taskId)) return;
    failed--;
    retried++;
  };
  const knowTask = (taskId: string, stepPath: string) => {
    if (tasks.has(taskId)) return;
    const step = stepOf(stepPath);
    tasks.set(taskId, step);
    const st = steps.get(step) ?? { total: 0, done: 0 };
    st.total++;
    steps.set(step, st);
  };
  const finishTask = (taskId: string) => {
    if (finishedTasks.has(taskId)) return;
    finishedTasks.add(taskId);
    const st = steps.get(tasks.get(taskId) ?? '');
    if (st) st.done++;
  };

  /** `412/1000 tasks (41%)`, the estimate of the time left, and the steps with work left. */
  const progressText = (withSteps: boolean): string => {
    const total = tasks.size;
    const fin = finishedTasks.size;
    const pct = total > 0 ? Math.floor((fin / total) * 100) : 0;
    let s = `${fin}/${total} tasks (${pct}%)`;
    const left = estimateRemainingMs(done, firstTaskStart === undefined ? 0 : Date.now() - firstTaskStart, queued + running);
    if (left !== undefined && queued + running > 0) s += ` · ~${formatElapsed(left)} left`;
    if (withSteps) {
      const text = stepsText(steps, ', ');
      if (text) s += ` · ${text}`;
    }
    return s;
  };
  let lineShown = false;
  let stopped = false;
  let redrawTimer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;

  const statusLine = (): string => {
    let s = `[strand] ${progressText(false)} · ${running} running · ${queued} queued · ${failed} failed`;
    if (reused > 0) s += ` · ${reused} reused`;
    if (cancelled > 0) s += ` · ${cancelled} cancelled`;
    s += ` · elapsed ${formatElapsed(Date.now() - startedAt)}`;
    const text = stepsText(steps, ' · ');
    if (text) s += `  ${text}`;
    const width = out.columns;
    if (width !== undefined && width > 1 && s.length > width - 1) s = s.slice(0, width - 1);
    return s;
  };

  let runEnded = false;
  const draw = () => {
    if (!live || stopped || runEnded) return;
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
    if (stopped) return;
    if (!tty && !opts.quiet && !logTicker) {
      // A log gets a progress line now and then, only when something changed.
      logTicker = setInterval(() => {
        if (tasks.size === 0) return;
        const counts = `${finishedTasks.size}/${tasks.size}/${failed}/${running}`;
        if (counts === lastLogged) return;
        lastLogged = counts;
        println(`[strand] progress: ${progressText(true)}`);
      }, LOG_PROGRESS_MS);
      logTicker.unref?.();
    }
    if (!live || ticker) return;
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

  /** The line a run ends with: `tasks: 12 run, 988 reused, 0 failed · wall time 01:02`. */
  const summaryLine = (): string => {
    let s = `tasks: ${done} run, ${reused} reused, ${failed} failed`;
    if (cancelled > 0) s += `, ${cancelled} cancelled`;
    if (retried > 0) s += `; ${retried} failed ${retried === 1 ? 'attempt' : 'attempts'} retried`;
    return `${s} · wall time ${formatElapsed(Date.now() - startedAt)}`;
  };

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
        else if (!tty && !opts.quiet) {
          const st = steps.get(stepOf(e.stepPath));
          println(`[strand] step ${e.stepPath} finished: ${e.status}${st && st.total > 1 ? ` (${st.done}/${st.total} tasks)` : ''}`);
        }
        break;
      case 'task_queued': {
        const k = key(e);
        retrying(e.taskId, e.attempt);
        leave(k);
        knowTask(e.taskId, e.stepPath);
        state.set(k, 'queued');
        queued++;
        break;
      }
      case 'task_reused':
        leave(key(e));
        knowTask(e.taskId, e.stepPath);
        finishTask(e.taskId);
        reused++;
        if (!tty && opts.verbose && !opts.quiet) println(`[strand] task ${e.taskId} reused from run ${e.reusedFrom.runId ?? '?'}`);
        break;
      case 'task_started': {
        const k = key(e);
        leave(k);
        knowTask(e.taskId, e.stepPath);
        firstTaskStart ??= Date.now();
        state.set(k, 'running');
        running++;
        if (!tty && opts.verbose && !opts.quiet) println(`[strand] task ${e.taskId} started`);
        break;
      }
      case 'task_finished': {
        leave(key(e));
        const r = e.result;
        knowTask(e.taskId, e.stepPath);
        // The engine's verdict (success codes, output collection), never the exit code again.
        const failure = e.phase === 'failed';
        if (e.phase === 'cancelled' || e.phase === 'never_started') cancelled++;
        else if (failure) {
          failed++;
          lastFailed.add(e.taskId);
        }
        else {
          done++;
          finishTask(e.taskId);
        }
        if (failure) {
          const attempt = e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
          const ofStep = e.stepPath === e.taskId ? '' : ` of step ${e.stepPath}`;
          // Its stderr is shown once, in the error the run ends with.
          println(`[strand] task ${e.taskId}${attempt}${ofStep} failed: ${taskEndText(r, e.taskId, e.stepPath)}`);
        } else if (!tty && opts.verbose && !opts.quiet) {
          println(`[strand] task ${e.taskId} finished: ${describeResult(r)}`);
        }
        break;
      }
      case 'task_note':
        if (!opts.quiet) println(`[strand] ${e.taskId}: ${e.message}`);
        break;
      case 'run_finished':
        runEnded = true;
        if (lineShown) out.write(CLEAR);
        lineShown = false;
        // A run that ended before its first task (bad input, a missing object) has nothing to sum up.
        if (!opts.quiet && tasks.size > 0) println(`[strand] ${summaryLine()}`);
        break;
    }
    scheduleRedraw();
  };

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearTimeout(redrawTimer);
    clearInterval(ticker);
    clearInterval(logTicker);
    if (lineShown) out.write(CLEAR);
    lineShown = false;
  };

  return { onEvent, stop };
}
