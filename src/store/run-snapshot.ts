/**
 * A run's state as one bounded JSON document: what the leader of a submitted run (`strand submit`)
 * publishes for `strand show`/`list` on the laptop, which may not see the leader's run store.
 *
 * The document must fit a ConfigMap (1 MiB), whatever the run's size: command lines and log tails
 * of tasks that succeeded are left out first, then the oldest successful attempts (the counts stay
 * exact: they are computed before trimming).
 */
import { phaseIsOk } from '../engine/events.js';
import { graphNodeOfTask } from '../model/workflow-graph.js';
import type { AttemptRecord, NodeState, RunDetail } from './run-store.js';

export interface RunSnapshot {
  version: 1;
  /** When the leader took it (ISO time). */
  publishedAt: string;
  run: RunDetail;
  /** Successful attempts left out to fit (0 when all are there). */
  attemptsOmitted: number;
}

export const SNAPSHOT_MAX_BYTES = 512 * 1024;

const ok = (a: AttemptRecord) => phaseIsOk(a.phase);

function slim(a: AttemptRecord): AttemptRecord {
  if (!ok(a)) return a;
  const { argv: _argv, logTail: _logTail, ...rest } = a;
  return rest;
}

/** The snapshot of `run` taken at `now`, at most `maxBytes` of JSON (outputs and failures kept). */
export function snapshotOf(run: RunDetail, now: Date = new Date(), maxBytes = SNAPSHOT_MAX_BYTES): RunSnapshot {
  const make = (attempts: AttemptRecord[], omitted: number): RunSnapshot => ({
    version: 1,
    publishedAt: now.toISOString(),
    run: { ...run, attempts },
    attemptsOmitted: omitted,
  });
  let snap = make(run.attempts, 0);
  if (Buffer.byteLength(JSON.stringify(snap)) <= maxBytes) return snap;
  const slimmed = run.attempts.map(slim);
  snap = make(slimmed, 0);
  // Drop the oldest successful attempts, halving what is kept until it fits.
  let keep = slimmed.filter(ok).length;
  while (Buffer.byteLength(JSON.stringify(snap)) > maxBytes && keep > 0) {
    keep = Math.floor(keep / 2);
    let okSeen = slimmed.filter(ok).length - keep;
    const kept = slimmed.filter((a) => !ok(a) || okSeen-- <= 0);
    snap = make(kept, slimmed.length - kept.length);
  }
  if (Buffer.byteLength(JSON.stringify(snap)) > maxBytes) {
    // Still too big (huge outputs or messages): the counts and status only.
    snap = { ...make([], slimmed.length), run: { ...run, attempts: [], steps: run.steps.slice(0, 200), outputs: undefined } };
  }
  return snap;
}

/** Parse a published snapshot; undefined when it is not one. */
export function parseSnapshot(text: string | undefined): RunSnapshot | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<RunSnapshot>;
    if (v.version !== 1 || typeof v.run !== 'object' || v.run === null || typeof v.run.id !== 'string') return undefined;
    return v as RunSnapshot;
  } catch {
    return undefined;
  }
}

/**
 * Per graph node, its tasks by the state of their latest attempt, from a snapshot's attempts
 * (what the store's nodeStates aggregates in SQL). A snapshot that left successful attempts out
 * (attemptsOmitted) undercounts them; its run's task counts stay exact.
 */
export function nodeStatesOfAttempts(attempts: readonly AttemptRecord[]): NodeState[] {
  const byNode = new Map<string, NodeState>();
  for (const a of latestAttempts(attempts)) {
    const node = a.nodePath ?? graphNodeOfTask(a.stepPath);
    let n = byNode.get(node);
    if (!n) byNode.set(node, (n = { node, total: 0, ok: 0, failed: 0, running: 0, queued: 0, cancelled: 0, retries: 0, reused: 0 }));
    n.total++;
    if (ok(a)) n.ok++;
    if (a.phase === 'reused') n.reused++;
    if (a.phase === 'failed') n.failed++;
    if (a.phase === 'running') n.running++;
    if (a.phase === 'queued') n.queued++;
    if (a.phase === 'cancelled' || a.phase === 'never_started') n.cancelled++;
    n.retries += a.attempt - 1;
  }
  return [...byNode.values()];
}

/** The latest attempt of each task, in the order the tasks first appear. */
export function latestAttempts(attempts: readonly AttemptRecord[]): AttemptRecord[] {
  const latest = new Map<string, AttemptRecord>();
  for (const a of attempts) {
    const seen = latest.get(a.taskId);
    if (!seen || a.attempt > seen.attempt) latest.set(a.taskId, a);
  }
  return [...latest.values()];
}
