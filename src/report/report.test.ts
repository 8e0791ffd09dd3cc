import { describe, expect, it } from 'vitest';
import type { AttemptRecord, RunDetail } from '../store/run-store.js';
import { htmlReport, stepReports } from './html-report.js';
import { TRACE_COLUMNS, traceDuration, traceMemory, traceTsv } from './trace.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, s)).toISOString();

function attempt(over: Partial<AttemptRecord>): AttemptRecord {
  return { taskId: 'main/align/0', stepPath: 'main/align/0', nodePath: 'main/align', attempt: 1, status: 'completed', phase: 'succeeded', exitCode: 0, queuedAt: at(0), startedAt: at(1), finishedAt: at(5), ...over };
}

const run: RunDetail = {
  id: 'r1',
  status: 'failed',
  processId: 'file:///wf.cwl#main',
  startedAt: at(0),
  finishedAt: at(20),
  durationMs: 20_000,
  tasks: { total: 4, ok: 2, failed: 1, running: 0, reused: 1, queued: 0, cancelled: 0 },
  executor: 'local',
  owner: 'alice',
  steps: [],
  attempts: [
    attempt({ resources: { cores: 2, ramMiB: 1024, tmpdirMiB: 1, outdirMiB: 1 }, usage: { cpuSeconds: 6, peakRssMiB: 300, rcharBytes: 2048, wcharBytes: 10, source: 'proc', samples: 8, sampledSeconds: 4 }, cacheKey: 'abcdef0123456789', argv: ['bwa', 'mem'] }),
    attempt({ taskId: 'main/align/1', stepPath: 'main/align/1', queuedAt: at(2), startedAt: at(3), finishedAt: at(9), status: 'oom_killed', phase: 'failed', exitCode: null, message: 'OOMKilled <b>', logTail: 'killed', native: { job: 'job-1', pod: 'pod-1', node: 'n1' } }),
    attempt({ taskId: 'main/align/1', stepPath: 'main/align/1', attempt: 2, phase: 'reused', queuedAt: at(10), startedAt: at(10), finishedAt: at(12), reusedFrom: { entry: 'e', runId: 'r0' } as AttemptRecord['reusedFrom'] }),
    attempt({ taskId: 'main/merge', stepPath: 'main/merge', nodePath: 'main/merge', queuedAt: at(13), startedAt: at(13), finishedAt: at(19), image: 'debian:stable' }),
  ],
};

describe('trace file', () => {
  it("has Nextflow's columns, one row per attempt, and '-' for what was not measured", () => {
    const lines = traceTsv(run).trimEnd().split('\n');
    expect(lines[0]!.split('\t')).toEqual([...TRACE_COLUMNS]);
    expect(lines).toHaveLength(5);
    const row = (i: number) => Object.fromEntries(lines[0]!.split('\t').map((c, k) => [c, lines[i]!.split('\t')[k]]));
    expect(row(1)).toMatchObject({ task_id: '1', hash: 'ab/cdef01', name: 'main/align/0', process: 'main/align', status: 'COMPLETED', exit: '0', cpus: '2', memory: '1.0 GB', realtime: '4.0s', '%cpu': '150.0%', peak_rss: '300.0 MB', peak_vmem: '-', rchar: '2.0 KB', wchar: '10 B' });
    expect(row(2)).toMatchObject({ native_id: 'job-1', status: 'FAILED', exit: '-', '%cpu': '-', peak_rss: '-', rchar: '-' });
    expect(row(3)).toMatchObject({ status: 'CACHED', attempt: '2' });
    expect(row(4)).toMatchObject({ container: 'debian:stable', duration: '6.0s' });
  });

  it('formats durations and sizes as Nextflow does', () => {
    expect(traceDuration(120)).toBe('120ms');
    expect(traceDuration(4500)).toBe('4.5s');
    expect(traceDuration(3_723_000)).toBe('1h 2m 3s');
    expect(traceMemory(1536 * 1024 * 1024)).toBe('1.5 GB');
    expect(traceDuration(undefined)).toBe('-');
  });
});

describe('HTML report', () => {
  it('sums each step: wall time, task time, requested against used where measured', () => {
    const [align, merge] = stepReports(run);
    expect(align).toMatchObject({ node: 'main/align', tasks: 2, attempts: 3, failed: 0, reused: 1, wallMs: 11_000, taskMs: 12_000, requestedCores: 2, requestedMiB: 1024, measured: 1, peakRssMiB: 300 });
    expect(align!.meanCpuPct).toBeCloseTo(150);
    expect(merge).toMatchObject({ node: 'main/merge', measured: 0 });
    expect(merge!.meanCpuPct).toBeUndefined();
  });

  it('is one self-contained file that escapes what the run recorded', () => {
    const html = htmlReport(run, { now: Date.parse(at(30)), generatedAt: new Date(0) });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    expect(html).toContain('<svg');
    expect(html).toContain('OOMKilled &#60;b&#62;');
    expect(html).not.toContain('OOMKilled <b>');
    expect(html).toContain('150% mean');
    expect(html).toContain('not measured');
    expect(html).toContain('alice');
    expect(html).toContain('measured for 1 of 4 attempts, from sampling /proc');
  });

  it("writes times as strand show does, with the offset from UTC beside and the exact instant in the element", () => {
    const html = htmlReport(run, { now: Date.parse(at(30)), generatedAt: new Date(0), utc: true });
    expect(html).toContain(`<dt>Started</dt><dd><time datetime="${at(0)}">2026-01-02 03:04:00 (UTC+00:00)</time></dd>`);
    expect(html).toContain('Written by strand report at <time datetime="1970-01-01T00:00:00.000Z">1970-01-01 00:00:00 (UTC+00:00)</time>.');
  });

  it('says where usage came from on Kubernetes, and why it is missing when the cluster has no metrics', () => {
    const k8s: RunDetail = {
      ...run,
      executor: 'kubernetes',
      attempts: [attempt({ usage: { cpuSeconds: 3, peakRssMiB: 40, source: 'metrics.k8s.io', samples: 2, sampledSeconds: 30 }, native: { job: 'j', pod: 'p', node: 'n' } })],
    };
    const html = htmlReport(k8s, { now: Date.parse(at(30)), generatedAt: new Date(0) });
    expect(html).toContain("measured for 1 of 1 attempts, from the cluster&#39;s pod metrics (metrics.k8s.io");
    expect(html).toContain('10% mean');
    const none = htmlReport({ ...k8s, attempts: [attempt({})] }, { now: Date.parse(at(30)), generatedAt: new Date(0) });
    expect(none).toContain('not measured for this run (the cluster offers no pod metrics to Strand (metrics.k8s.io)');
  });

  it('names the steps skipped by when, and draws a task cancelled before it started up to its cancellation', () => {
    const skipped: RunDetail = {
      ...run,
      steps: [
        { stepPath: 'main/check', status: 'skipped' },
        { stepPath: 'main/sub/0/inner', status: 'skipped' },
        { stepPath: 'main/sub/1/inner', status: 'skipped' },
        { stepPath: 'main/sub/0/other', status: 'success' },
      ],
      attempts: [
        attempt({}),
        attempt({ taskId: 'main/align/1', stepPath: 'main/align/1', phase: 'never_started', status: 'cancelled', exitCode: null, queuedAt: at(1), startedAt: undefined, finishedAt: at(4) }),
      ],
    };
    // Long after the run: the wait must not run on to now, past the axis.
    const html = htmlReport(skipped, { now: Date.parse(at(59)), generatedAt: new Date(0) });
    expect(html).toMatch(/Skipped by <code>when<\/code>: main\/check, main\/sub\/inner\b/);
    expect(html).not.toMatch(/Skipped[^<]*main\/sub\/other/);
    const waits = [...html.matchAll(/<rect class="w" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]) + Number(m[2]));
    expect(waits).toHaveLength(2);
    // left 260 + width 760, over 20 s; cancelled at 4 s.
    expect(waits[1]).toBeCloseTo(260 + (4 / 20) * 760, 0);
  });
});
