/**
 * A run's task attempts as a trace file with Nextflow's trace columns where they apply (tab-separated,
 * one row per attempt, in queue order). What Strand did not measure is `-`, never a guess:
 * peak_vmem is never measured; %cpu, peak_rss, rchar and wchar only where the executor sampled the
 * task (local host processes). Pure: builds text from the run's record.
 */
import type { AttemptRecord, RunDetail } from '../store/run-store.js';

export const TRACE_COLUMNS = [
  'task_id', 'hash', 'native_id', 'name', 'process', 'status', 'exit', 'attempt', 'container', 'cpus', 'memory',
  'submit', 'start', 'complete', 'duration', 'realtime', '%cpu', 'peak_rss', 'peak_vmem', 'rchar', 'wchar',
] as const;

const DASH = '-';

/** Nextflow's statuses: COMPLETED, FAILED, ABORTED, CACHED; RUNNING/SUBMITTED for attempts still going. */
export function traceStatus(a: AttemptRecord): string {
  return TRACE_STATUS[a.phase];
}

/** From the recorded phase (never from the exit code: a tool's successCodes decide). */
const TRACE_STATUS: Record<AttemptRecord['phase'], string> = {
  reused: 'CACHED',
  succeeded: 'COMPLETED',
  failed: 'FAILED',
  running: 'RUNNING',
  queued: 'SUBMITTED',
  cancelled: 'ABORTED',
  never_started: 'ABORTED',
};

/** `2026-01-02 03:04:05.678` (local time, as Nextflow writes it). */
export function traceTime(iso: string | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** `1h 2m 3s`, `4.5s`, `120ms`. */
export function traceDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [h ? `${h}h` : '', m ? `${m}m` : '', `${s % 60}s`].filter(Boolean).join(' ');
}

/** `512 MB`, `1.5 GB` (Nextflow's units: powers of 1024 named KB, MB, GB). */
export function traceMemory(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return DASH;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

const ms = (from?: string, to?: string) => (from && to ? Date.parse(to) - Date.parse(from) : undefined);

/** CPU time over the span it was measured in (else over the run time), as a percentage of one core. */
export function cpuPercent(u: AttemptRecord['usage'], realMs: number | undefined): string {
  if (!u) return DASH;
  const span = u.sampledSeconds && u.sampledSeconds > 0 ? u.sampledSeconds : realMs && realMs > 0 ? realMs / 1000 : undefined;
  return span ? `${((u.cpuSeconds * 100) / span).toFixed(1)}%` : DASH;
}

export function traceRows(run: RunDetail): string[][] {
  // Queue order, as the dashboard's timeline.
  const attempts = [...run.attempts].sort((a, b) => (a.queuedAt ?? a.startedAt ?? '').localeCompare(b.queuedAt ?? b.startedAt ?? ''));
  return attempts.map((a, i) => {
    const real = ms(a.startedAt, a.finishedAt);
    const u = a.usage;
    return [
      String(i + 1),
      a.cacheKey ? `${a.cacheKey.slice(0, 2)}/${a.cacheKey.slice(2, 8)}` : DASH,
      a.native?.job ?? a.native?.pod ?? DASH,
      a.taskId,
      a.nodePath ?? a.stepPath,
      traceStatus(a),
      a.exitCode === null || a.exitCode === undefined ? DASH : String(a.exitCode),
      String(a.attempt),
      a.image ?? DASH,
      a.resources ? String(a.resources.cores) : DASH,
      a.resources ? traceMemory(a.resources.ramMiB * 1024 * 1024) : DASH,
      traceTime(a.queuedAt ?? a.startedAt),
      traceTime(a.startedAt),
      traceTime(a.finishedAt),
      traceDuration(ms(a.queuedAt ?? a.startedAt, a.finishedAt)),
      traceDuration(real),
      cpuPercent(u, real),
      u ? traceMemory(u.peakRssMiB * 1024 * 1024) : DASH,
      DASH,
      u?.rcharBytes !== undefined ? traceMemory(u.rcharBytes) : DASH,
      u?.wcharBytes !== undefined ? traceMemory(u.wcharBytes) : DASH,
    ];
  });
}

export function traceTsv(run: RunDetail): string {
  const clean = (s: string) => s.replace(/[\t\n\r]/g, ' ');
  return [TRACE_COLUMNS.join('\t'), ...traceRows(run).map((r) => r.map(clean).join('\t'))].join('\n') + '\n';
}
