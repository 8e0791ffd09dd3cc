/**
 * `strand clean` on the workspace: the directories Strand made for runs that are over (killed,
 * cancelled, or a submitted run whose leader has finished), found by the marker Strand wrote in
 * each (executor/run-marker.ts), never by name alone. Only the direct entries of Strand's own
 * folders are looked at (`runs/`, `.strand-staged/`, `strand-submit/` under the workspace, and the
 * object-store mode's local work root); none of them is followed through a link, and removing a
 * directory removes links in it, never what they point to. A run still going keeps its files.
 */
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RUN_MARKER, liveness, pidAlive, readRunMarker, type FoundMarker, type LeaderJobState, type LivenessProbe } from '../run-marker.js';
import type { KubeApi } from '../../cluster/kube-api.js';
import { LEADER_LABEL } from '../../cluster/leader-manifests.js';
import { LABELS, MANAGED_BY } from '../../cluster/names.js';

/** Where Strand makes run directories under a workspace (as this machine sees it). */
export function workspaceRunParents(workspace: string): string[] {
  return [path.join(workspace, 'runs'), path.join(workspace, '.strand-staged'), path.join(workspace, 'strand-submit')];
}

export interface RunFilesFilter {
  runId?: string;
  owner?: string;
}

export interface RunDirVerdict {
  dir: string;
  runId: string;
  remove: boolean;
  /** Entries left in place because they are the run's outputs (a submitted run's `out`). */
  kept: string[];
  why: string;
}

/** Every marked run directory directly under `parents` (each a real directory, not a link). */
export async function findRunDirs(parents: readonly string[]): Promise<FoundMarker[]> {
  const found: FoundMarker[] = [];
  for (const parent of parents) {
    const st = await lstat(parent).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    for (const e of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
      if (!e.isDirectory()) continue;
      const m = await readRunMarker(path.join(parent, e.name));
      if (m) found.push(m);
    }
  }
  return found;
}

/**
 * What to do with each marked directory of the runs the filter selects: a run is over when none
 * of its directories says it still goes on (its leader Job, its process, its heartbeat).
 */
export function judgeRunDirs(found: readonly FoundMarker[], filter: RunFilesFilter, probe: LivenessProbe): RunDirVerdict[] {
  const byRun = new Map<string, FoundMarker[]>();
  for (const f of found) byRun.set(f.marker.runId, [...(byRun.get(f.marker.runId) ?? []), f]);
  const out: RunDirVerdict[] = [];
  for (const [runId, dirs] of byRun) {
    if (filter.runId !== undefined && runId !== filter.runId) continue;
    if (filter.owner !== undefined && !dirs.some((d) => d.marker.owner === filter.owner)) continue;
    const lives = dirs.map((d) => liveness(d, probe));
    const alive = lives.find((l) => l.live);
    for (const d of dirs) {
      out.push({ dir: d.dir, runId, remove: !alive, kept: d.marker.keep ?? [], why: (alive ?? lives[0]!).why });
    }
  }
  return out.sort((a, b) => a.dir.localeCompare(b.dir));
}

/**
 * Remove a run directory: every entry but the kept ones (links are removed, never followed), the
 * marker last, then the directory itself when nothing is left in it.
 */
export async function removeRunDir(v: RunDirVerdict): Promise<void> {
  const st = await lstat(v.dir).catch(() => undefined);
  if (!st?.isDirectory()) return;
  const keep = new Set(v.kept);
  for (const name of await readdir(v.dir)) {
    if (keep.has(name) || name === RUN_MARKER) continue;
    await rm(path.join(v.dir, name), { recursive: true, force: true });
  }
  await rm(path.join(v.dir, RUN_MARKER), { force: true });
  await rmdir(v.dir).catch(() => undefined);
}

/** The namespace's leader Jobs (strand submit) and whether each is still running. */
export async function leaderJobStates(api: KubeApi, namespace: string): Promise<Map<string, LeaderJobState>> {
  const sel = `${LABELS.managedBy}=${MANAGED_BY},${LEADER_LABEL}`;
  const jobs = await api.call(`list leader Jobs (${sel}) in namespace ${namespace}`, () => api.batch.listNamespacedJob({ namespace, labelSelector: sel }));
  const out = new Map<string, LeaderJobState>();
  for (const j of jobs.items) {
    const name = j.metadata?.name;
    if (!name) continue;
    const over = j.metadata?.deletionTimestamp || (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    out.set(name, over ? 'finished' : 'running');
  }
  return out;
}

/**
 * The run directories `strand clean` looks at under `parents`, judged (leader Jobs read from the
 * namespace, processes of this host, heartbeats) and, unless `dryRun`, removed when their run is over.
 * The markers are listed before the leader Jobs: a run whose marker is found had its Job then.
 */
export async function cleanRunDirs(
  api: KubeApi,
  namespace: string,
  parents: readonly string[],
  filter: RunFilesFilter,
  opts: { dryRun?: boolean } = {},
): Promise<RunDirVerdict[]> {
  const found = await findRunDirs(parents);
  if (found.length === 0) return [];
  const probe = await clusterProbe(api, namespace, found.some((f) => f.marker.leaderJob !== undefined));
  const verdicts = judgeRunDirs(found, filter, probe);
  if (!opts.dryRun) for (const v of verdicts) if (v.remove) await removeRunDir(v);
  return verdicts;
}

/** How `strand clean` tells whether a run goes on: this host's processes, the namespace's leader Jobs (read now), the clock. */
export async function clusterProbe(api: KubeApi, namespace: string, readLeaders = true): Promise<LivenessProbe> {
  const leaders = readLeaders ? await leaderJobStates(api, namespace) : new Map<string, LeaderJobState>();
  return {
    host: os.hostname(),
    now: Date.now(),
    pidAlive,
    // A leader Job of another namespace cannot be seen from here: its run counts as going on.
    leaderJob: (name, ns) => (ns !== undefined && ns !== namespace ? undefined : (leaders.get(name) ?? 'gone')),
  };
}
