// Summarises a STRAND_TASK_TIMINGS file (src/engine/task-timings.ts): the median and 90th
// percentile of each step of a task's way through the engine, and how busy the executor's slots
// were. Used by scatter-bench.mjs; alone: node bench/task-timings.mjs FILE [--parallel P]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ORDER = ['ready', 'dirs', 'staged', 'built', 'keyed', 'looked_up', 'queued', 'started', 'exited', 'collected', 'published'];
const STEPS = {
  dirs: 'make task directories',
  staged: 'prepare and stage inputs',
  built: 'build command line and spec',
  keyed: 'compute the cache key',
  looked_up: 'look the key up (a miss)',
  queued: 'hand to the executor',
  started: 'wait for a slot, start the process',
  exited: 'process runs, exit seen',
  collected: 'collect outputs',
  published: 'publish to the task cache',
};

const quantile = (xs, q) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** Lines of the breakdown, for a run with parallelism `parallel`. */
export function summarizeTimings(file, parallel) {
  const rows = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const attempts = rows.filter((r) => r.marks);
  const proc = rows.find((r) => r.process)?.process;
  if (attempts.length === 0) return ['task timings: no task attempts recorded'];
  const out = [`per-task timings (${attempts.length} attempts; ms, median / p90 of each step from the mark before it):`];
  for (const [mark, label] of Object.entries(STEPS)) {
    const gaps = [];
    for (const a of attempts) {
      const m = a.marks;
      if (m[mark] === undefined) continue;
      const prev = ORDER.slice(0, ORDER.indexOf(mark)).reverse().find((p) => m[p] !== undefined);
      if (prev !== undefined) gaps.push(m[mark] - m[prev]);
    }
    if (gaps.length) out.push(`  ${label.padEnd(36)} ${quantile(gaps, 0.5).toFixed(1).padStart(8)} ${quantile(gaps, 0.9).toFixed(1).padStart(8)}  (${gaps.length})`);
  }
  const all = attempts.flatMap((a) => Object.values(a.marks));
  const first = Math.min(...all);
  const last = Math.max(...all);
  const span = last - first;
  const run = attempts.filter((a) => a.marks.started !== undefined && a.marks.exited !== undefined);
  const busy = run.reduce((s, a) => s + (a.marks.exited - a.marks.started), 0);
  const engine = attempts.reduce((s, a) => {
    const m = a.marks;
    const end = m.published ?? m.collected ?? m.exited;
    const before = (m.queued ?? end) - m.ready;
    const after = m.exited !== undefined && end !== undefined ? end - m.exited : 0;
    return s + (Number.isFinite(before) ? before : 0) + (Number.isFinite(after) ? after : 0);
  }, 0);
  out.push(`  first mark to last: ${(span / 1000).toFixed(2)} s; processes running (started..exited) ${(busy / 1000).toFixed(2)} s of ${parallel} slots x ${(span / 1000).toFixed(2)} s = ${((100 * busy) / (parallel * span)).toFixed(0)}% busy`);
  out.push(`  engine work around the processes (ready..queued + exited..end, summed over tasks): ${(engine / 1000).toFixed(2)} s`);
  // Slot hand-over: for each start, the time since the latest exit before it (when one was there).
  const exits = run.map((a) => a.marks.exited).sort((a, b) => a - b);
  const handovers = [];
  for (const a of run.sort((x, y) => x.marks.started - y.marks.started)) {
    let lo = 0, hi = exits.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (exits[mid] < a.marks.started) lo = mid + 1; else hi = mid; }
    if (lo > 0) handovers.push(a.marks.started - exits[lo - 1]);
  }
  if (handovers.length) out.push(`  from the last exit to the next start: median ${quantile(handovers, 0.5).toFixed(1)} ms, p90 ${quantile(handovers, 0.9).toFixed(1)} ms`);
  if (proc) out.push(`  Strand's own process: ${((proc.userMs + proc.systemMs) / 1000).toFixed(2)} s of CPU (user ${(proc.userMs / 1000).toFixed(2)}, system ${(proc.systemMs / 1000).toFixed(2)}), ${((proc.userMs + proc.systemMs) / attempts.length).toFixed(2)} ms per task; peak RSS ${(proc.maxRssKiB / 1024).toFixed(0)} MiB`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  const p = process.argv.indexOf('--parallel');
  if (!file) { console.error('usage: node bench/task-timings.mjs FILE [--parallel P]'); process.exit(2); }
  console.log(summarizeTimings(file, p > 0 ? Number(process.argv[p + 1]) : 2).join('\n'));
}
