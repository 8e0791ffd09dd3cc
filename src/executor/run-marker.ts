/**
 * The marker Strand leaves in each directory it makes for a run on a shared workspace (a run's
 * task directories, its input copies, a submitted run's folder): `.strand-run.json`, saying which
 * run made the directory, for whom, from where, and the directory's own inode. `strand clean`
 * removes a run's leftovers by this marker only, never by a name pattern: a directory without it,
 * or whose marker was written for another directory (copied, moved), is not Strand's to remove.
 *
 * Liveness (is the run still going, so its files must stay): a submitted run lives as long as its
 * leader Job is there unfinished; a run of this machine as long as its process; a run of another
 * machine as long as it keeps touching its marker (a heartbeat every HEARTBEAT_MS; stale after
 * STALE_MS).
 */
import { constants } from 'node:fs';
import { lstat, open, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const RUN_MARKER = '.strand-run.json';
export const HEARTBEAT_MS = 60_000;
export const STALE_MS = 10 * 60_000;

export type RunFilesKind = 'task-dirs' | 'input-copies' | 'submitted-run' | 'bucket';

export interface RunMarker {
  strand: 'run-files';
  version: 1;
  kind: RunFilesKind;
  runId: string;
  /** The directory's own name and inode when the marker was written: a copy elsewhere is not it. */
  dir: string;
  ino: number;
  owner?: string;
  namespace?: string;
  /** A submitted run: its leader Job (the run lives while that Job does). */
  leaderJob?: string;
  host: string;
  pid: number;
  createdAt: string;
  /** Entries of the directory that are the user's outputs, never removed (a submitted run's `out`). */
  keep?: string[];
}

export interface RunIdentity {
  runId: string;
  owner?: string | undefined;
  namespace?: string | undefined;
  leaderJob?: string | undefined;
}

function isMarker(m: unknown): m is RunMarker {
  const r = m as Partial<RunMarker> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    r.strand === 'run-files' &&
    r.version === 1 &&
    (r.kind === 'task-dirs' || r.kind === 'input-copies' || r.kind === 'submitted-run') &&
    typeof r.runId === 'string' &&
    r.runId !== '' &&
    typeof r.dir === 'string' &&
    typeof r.ino === 'number' &&
    typeof r.host === 'string' &&
    typeof r.pid === 'number' &&
    (r.keep === undefined || (Array.isArray(r.keep) && r.keep.every((k) => typeof k === 'string' && k !== '' && !k.includes('/') && k !== '.' && k !== '..')))
  );
}

/**
 * Write the marker in `dir`, a directory Strand has just made for the run (or made earlier for the
 * same run: a restart). Never through a link: `dir` must be a real directory, and a marker that is
 * not a regular file is left as it is (and the directory stays unmarked, so never cleaned).
 */
export async function markRunDir(dir: string, kind: RunFilesKind, who: RunIdentity, extra: { keep?: string[] } = {}): Promise<boolean> {
  const st = await lstat(dir);
  if (!st.isDirectory()) return false;
  const marker: RunMarker = {
    strand: 'run-files',
    version: 1,
    kind,
    runId: who.runId,
    dir: path.basename(dir),
    ino: st.ino,
    ...(who.owner !== undefined ? { owner: who.owner } : {}),
    ...(who.namespace !== undefined ? { namespace: who.namespace } : {}),
    ...(who.leaderJob !== undefined ? { leaderJob: who.leaderJob } : {}),
    host: os.hostname(),
    pid: process.pid,
    createdAt: new Date().toISOString(),
    ...(extra.keep?.length ? { keep: extra.keep } : {}),
  };
  const file = path.join(dir, RUN_MARKER);
  const existing = await lstat(file).catch(() => undefined);
  if (existing && !existing.isFile()) return false;
  const tmp = `${file}.${process.pid}.tmp`;
  // 'wx': O_EXCL, which never follows a link put where the temporary file goes.
  await writeFile(tmp, JSON.stringify(marker) + '\n', { flag: 'wx', mode: 0o644 });
  await rename(tmp, file);
  return true;
}

/**
 * Touch the marker every HEARTBEAT_MS while the run goes on (its mtime is the heartbeat). The file
 * is opened without following a link. Returns the function that stops it.
 */
export function heartbeat(dir: string, everyMs = HEARTBEAT_MS): () => void {
  const beat = async () => {
    const fh = await open(path.join(dir, RUN_MARKER), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
    if (!fh) return;
    try {
      if ((await fh.stat()).isFile()) {
        const now = new Date();
        await fh.utimes(now, now);
      }
    } catch {
      // a heartbeat missed is not a failure of the run
    } finally {
      await fh.close().catch(() => undefined);
    }
  };
  const t = setInterval(() => void beat(), everyMs);
  t.unref();
  return () => clearInterval(t);
}

export interface FoundMarker {
  dir: string;
  marker: RunMarker;
  /** The marker's mtime: the last heartbeat. */
  beatAt: number;
}

/**
 * The marker of `dir` when `dir` is a real directory (not a link) whose marker is a regular file
 * Strand wrote for this very directory (same name, same inode); else undefined.
 */
export async function readRunMarker(dir: string): Promise<FoundMarker | undefined> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return undefined;
  const fh = await open(path.join(dir, RUN_MARKER), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const fst = await fh.stat();
    if (!fst.isFile() || fst.size > 64 * 1024) return undefined;
    const m: unknown = JSON.parse(await readFile(fh, 'utf8'));
    if (!isMarker(m) || m.dir !== path.basename(dir) || m.ino !== st.ino) return undefined;
    return { dir, marker: m, beatAt: fst.mtimeMs };
  } catch {
    return undefined;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

export type LeaderJobState = 'running' | 'finished' | 'gone';

export interface LivenessProbe {
  host: string;
  now: number;
  pidAlive(pid: number): boolean;
  /** The state of a leader Job in the cluster (undefined: could not be read). */
  leaderJob(name: string, namespace: string | undefined): LeaderJobState | undefined;
}

/** Whether the run that wrote this marker still goes on, and why (for what `strand clean` prints). */
export function liveness(found: FoundMarker, probe: LivenessProbe): { live: boolean; why: string } {
  const m = found.marker;
  if (m.leaderJob !== undefined) {
    const st = probe.leaderJob(m.leaderJob, m.namespace);
    if (st === undefined) return { live: true, why: `its leader job/${m.leaderJob} could not be read` };
    return st === 'running' ? { live: true, why: `its leader job/${m.leaderJob} is running` } : { live: false, why: `its leader job/${m.leaderJob} is ${st}` };
  }
  if (m.host === probe.host) {
    return probe.pidAlive(m.pid) ? { live: true, why: `its process ${m.pid} is running on this host` } : { live: false, why: `its process ${m.pid} is gone` };
  }
  const age = probe.now - found.beatAt;
  return age < STALE_MS
    ? { live: true, why: `it ran on ${m.host} and gave a sign of life ${Math.round(age / 1000)} s ago` }
    : { live: false, why: `it ran on ${m.host}, last sign of life ${Math.round(age / 60_000)} min ago` };
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
