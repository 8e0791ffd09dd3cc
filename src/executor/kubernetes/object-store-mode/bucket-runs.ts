/**
 * A run's objects in the bucket (`<prefix>/runs/<run>/`) carry a marker object of their own,
 * `<prefix>/runs/<run>/strand-run.json` (who, from where, a heartbeat rewritten every minute), so
 * `strand clean` can remove what a killed run left there, and only that: a prefix without the
 * marker, or anything outside `<prefix>/runs/`, is never listed for removal. Outputs a run
 * delivered (`--outdir s3://...`, a submitted run's `strand-submit/<run>/out`) are outside it.
 */
import os from 'node:os';
import type { S3Store } from '../../../storage/index.js';
import { HEARTBEAT_MS, liveness, type FoundMarker, type LivenessProbe, type RunIdentity, type RunMarker } from '../../run-marker.js';
import { getJson, putJson } from './json-objects.js';
import { runPrefix } from './layout.js';
import type { ObjectStoreSettings } from './settings.js';

export const BUCKET_MARKER = 'strand-run.json';

interface BucketMarker extends RunMarker {
  heartbeatAt: string;
}

/** Put the run's marker in the bucket and rewrite it every HEARTBEAT_MS; returns what stops that. */
export async function markBucketRun(store: S3Store, settings: ObjectStoreSettings, who: RunIdentity, everyMs = HEARTBEAT_MS): Promise<() => void> {
  const prefix = runPrefix(settings, who.runId);
  const createdAt = new Date().toISOString();
  const marker = (): BucketMarker => ({
    strand: 'run-files',
    version: 1,
    kind: 'bucket',
    runId: who.runId,
    dir: prefix,
    ino: 0,
    ...(who.owner !== undefined ? { owner: who.owner } : {}),
    ...(who.namespace !== undefined ? { namespace: who.namespace } : {}),
    ...(who.leaderJob !== undefined ? { leaderJob: who.leaderJob } : {}),
    host: os.hostname(),
    pid: process.pid,
    createdAt,
    heartbeatAt: new Date().toISOString(),
  });
  const loc = { scheme: 's3' as const, bucket: settings.bucket, key: `${prefix}/${BUCKET_MARKER}` };
  await putJson(store, loc, marker());
  const t = setInterval(() => void putJson(store, loc, marker()).catch(() => undefined), everyMs);
  t.unref();
  return () => clearInterval(t);
}

export interface BucketRunVerdict {
  /** s3://bucket/<prefix>/runs/<run>/ */
  where: string;
  runId: string;
  keys: string[];
  remove: boolean;
  why: string;
}

function isBucketMarker(m: unknown, runId: string, prefix: string): m is BucketMarker {
  const r = m as Partial<BucketMarker> | null;
  return (
    typeof r === 'object' && r !== null && r.strand === 'run-files' && r.kind === 'bucket' && r.runId === runId && r.dir === prefix &&
    typeof r.host === 'string' && typeof r.pid === 'number' && typeof r.heartbeatAt === 'string'
  );
}

/** The runs under `<prefix>/runs/` with a marker, judged, and (unless `dryRun`) removed when over. */
export async function cleanBucketRuns(
  store: S3Store,
  settings: ObjectStoreSettings,
  filter: { runId?: string; owner?: string },
  probe: LivenessProbe,
  opts: { dryRun?: boolean } = {},
): Promise<BucketRunVerdict[]> {
  const base = [settings.prefix, 'runs'].filter((p) => p !== '').join('/') + '/';
  const byRun = new Map<string, string[]>();
  for await (const o of store.list({ scheme: 's3', bucket: settings.bucket, key: base })) {
    const runId = o.key.slice(base.length).split('/')[0];
    if (!runId || o.key === base + runId) continue;
    byRun.set(runId, [...(byRun.get(runId) ?? []), o.key]);
  }
  const out: BucketRunVerdict[] = [];
  for (const [runId, keys] of byRun) {
    if (filter.runId !== undefined && runId !== filter.runId) continue;
    const prefix = runPrefix(settings, runId);
    if (!keys.includes(`${prefix}/${BUCKET_MARKER}`)) continue;
    const m = await getJson(store, { scheme: 's3', bucket: settings.bucket, key: `${prefix}/${BUCKET_MARKER}` }).catch(() => undefined);
    if (!isBucketMarker(m, runId, prefix)) continue;
    if (filter.owner !== undefined && m.owner !== filter.owner) continue;
    const found: FoundMarker = { dir: prefix, marker: m, beatAt: Date.parse(m.heartbeatAt) };
    const l = liveness(found, probe);
    out.push({ where: `s3://${settings.bucket}/${prefix}/`, runId, keys, remove: !l.live, why: l.why });
  }
  if (!opts.dryRun) for (const v of out) if (v.remove) await store.deleteKeys(settings.bucket, v.keys);
  return out.sort((a, b) => a.where.localeCompare(b.where));
}
