/**
 * Where a task's time goes: with STRAND_TASK_TIMINGS=<file>, every task attempt's way through the
 * engine is timed (milliseconds since this process started) and written to <file> as JSON lines
 * when the process exits, one line per attempt:
 *
 *   {"task":"main/echo/7","attempt":1,"marks":{"ready":812.4,"dirs":813.0,...}}
 *
 * The marks, in order (absent when the attempt did not pass there):
 *   ready      the attempt begins (its inputs are known)
 *   dirs       its task directories exist
 *   staged     inputs prepared and staged, InitialWorkDir written
 *   built      command line, environment and TaskSpec built
 *   keyed      task-cache key computed (cache on)
 *   looked_up  task cache looked up and missed (cache on; a hit ends at `collected`)
 *   queued     handed to the executor, which waits for a slot
 *   started    the executor says the process (pod) started
 *   exited     the executor returned its result
 *   collected  outputs collected (globs, checksums)
 *   published  outputs published to the task cache (cache on)
 *
 * and a last line with this process's own CPU time and peak memory:
 *
 *   {"process":{"userMs":2710,"systemMs":830,"maxRssKiB":180312}}
 *
 * Off (no variable), `markTask` is one property test. bench/scatter-bench.mjs reads the file and
 * prints the median of each step. Measurement only: nothing here changes what a run does.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export type TimingMark = 'ready' | 'dirs' | 'staged' | 'built' | 'keyed' | 'looked_up' | 'queued' | 'started' | 'exited' | 'collected' | 'published';

interface AttemptTimings {
  task: string;
  attempt: number;
  marks: Partial<Record<TimingMark, number>>;
}

class TimingsFile {
  private readonly attempts = new Map<string, AttemptTimings>();

  constructor(private readonly file: string) {
    process.once('exit', () => this.write());
  }

  mark(task: string, attempt: number, mark: TimingMark): void {
    const id = `${attempt}\u0000${task}`;
    let a = this.attempts.get(id);
    if (!a) {
      a = { task, attempt, marks: {} };
      this.attempts.set(id, a);
    }
    a.marks[mark] = Math.round(performance.now() * 10) / 10;
  }

  /** Written once, at exit (synchronously: the only write an exit handler can make). */
  private write(): void {
    const lines = [...this.attempts.values()].map((a) => JSON.stringify(a));
    // This process's own CPU time and peak memory (not its tasks'), as a last line.
    const r = process.resourceUsage();
    lines.push(JSON.stringify({ process: { userMs: Math.round(r.userCPUTime / 1000), systemMs: Math.round(r.systemCPUTime / 1000), maxRssKiB: r.maxRSS } }));
    try {
      writeFileSync(this.file, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
    } catch (err) {
      process.stderr.write(`strand: STRAND_TASK_TIMINGS: cannot write ${this.file}: ${(err as Error).message}\n`);
    }
  }
}

const target = process.env.STRAND_TASK_TIMINGS;
const timings = target ? new TimingsFile(target) : undefined;

/** Record that `task`'s attempt reached `mark` now (nothing unless STRAND_TASK_TIMINGS is set). */
export function markTask(task: string, attempt: number, mark: TimingMark): void {
  timings?.mark(task, attempt, mark);
}
