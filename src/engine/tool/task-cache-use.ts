/**
 * A CommandLineTool attempt and the task cache: reuse a cached result instead of running the task,
 * or put a finished task's output directory into the cache. The key is computed by
 * task-cache-key.ts; the entries are kept by src/cache/task-cache.ts.
 */
import path from 'node:path';
import type { TaskCacheUse } from '../../cache/task-cache.js';
import type { CwlObject, CwlValue } from '../../model/types.js';
import { locationFromPath } from '../../staging/index.js';
import type { RuntimeContext } from '../context.js';
import type { TaskRef } from '../events.js';

export interface ReuseRequest {
  use: TaskCacheUse;
  key: string;
  ref: TaskRef;
  /** Whether the cached exit code is a success for this tool (its successCodes may differ). */
  succeeds: (exitCode: number) => boolean;
  /** The time limit in force, in seconds: an entry that took longer is not reused. */
  timeLimitSeconds?: number;
  /** Collect the tool's outputs from a cached output directory (with this run's inputs). */
  collect: (entry: string, exitCode: number) => Promise<CwlObject>;
}

/** The outputs of a cached result, or undefined when there is none that may be used. */
export async function reuseCachedResult(req: ReuseRequest, ctx: RuntimeContext): Promise<CwlObject | undefined> {
  const { use, key, ref } = req;
  const found = await use.cache.lookup(key);
  if ('miss' in found) {
    const warned = (use.warned ??= new Set());
    if (found.miss === 'unsigned') {
      // Entries made before Strand signed them: said once per run, not once per task.
      if (!warned.has('unsigned')) {
        warned.add('unsigned');
        ctx.log.warn(`the task cache ${use.cache.dir} holds results cached before Strand signed its entries: they are not reused (their tasks run again); strand cache clear removes them`);
      }
    } else if ((found.miss === 'broken' || found.miss === 'forged') && !warned.has(key)) {
      warned.add(key);
      ctx.log.warn(`${ref.taskId}: the cached result is not used: ${found.reason}; running the task again`);
    }
    return undefined;
  }
  const { entry, manifest } = found.hit;
  if (!req.succeeds(manifest.exitCode)) return undefined;
  if (req.timeLimitSeconds !== undefined && manifest.durationMs !== undefined && manifest.durationMs > req.timeLimitSeconds * 1000) return undefined;
  let outputs: CwlObject;
  try {
    outputs = await req.collect(entry, manifest.exitCode);
  } catch (err) {
    ctx.log.debug(`${ref.taskId}: cached result in ${entry} does not give this tool's outputs (${(err as Error).message}); running the task`);
    return undefined;
  }
  ctx.emit({
    type: 'task_reused',
    at: new Date(),
    exitCode: manifest.exitCode,
    cacheKey: key,
    reusedFrom: { key, entry, runId: manifest.origin.runId, taskId: manifest.origin.taskId, attempt: manifest.origin.attempt },
    ...ref,
  });
  ctx.log.debug(`${ref.taskId}: reused ${entry} (made by run ${manifest.origin.runId}, task ${manifest.origin.taskId})`);
  return outputs;
}

export interface PublishOutputsRequest {
  use: TaskCacheUse;
  key: string;
  keyText: string;
  ref: TaskRef;
  toolId: string;
  outdir: string;
  exitCode: number;
  durationMs?: number;
  outputs: CwlObject;
}

/** Put the task's output directory into the cache; returns the outputs, pointing into the entry when the directory moved there. */
export async function publishOutputs(req: PublishOutputsRequest, ctx: RuntimeContext): Promise<CwlObject> {
  const known = new Map<string, string>();
  collectChecksums(req.outputs, known);
  let result;
  try {
    result = await req.use.cache.publish({
      key: req.key,
      keyText: req.keyText,
      outdir: req.outdir,
      exitCode: req.exitCode,
      ...(req.durationMs !== undefined ? { durationMs: req.durationMs } : {}),
      origin: { runId: req.ref.runId, taskId: req.ref.taskId, stepPath: req.ref.stepPath, attempt: req.ref.attempt, toolId: req.toolId },
      known,
    });
  } catch (err) {
    ctx.log.warn(`${req.ref.taskId}: could not cache its result in ${req.use.cache.dir}: ${(err as Error).message}`);
    return req.outputs;
  }
  if ('skipped' in result) {
    ctx.log.debug(`${req.ref.taskId}: not cached: ${result.skipped}`);
    return req.outputs;
  }
  const added = (req.use.added ??= { entries: 0, bytes: 0 });
  added.entries++;
  added.bytes += result.bytes;
  ctx.emit({ type: 'task_cached', at: new Date(), cacheKey: req.key, entry: result.entry, ...req.ref });
  return result.moved ? (movePaths(req.outputs, req.outdir, result.entry) as CwlObject) : req.outputs;
}

function inside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir + path.sep);
}

function collectChecksums(v: CwlValue, into: Map<string, string>): void {
  if (Array.isArray(v)) v.forEach((x) => collectChecksums(x, into));
  else if (typeof v === 'object' && v !== null) {
    if (v.class === 'File' && typeof v.path === 'string' && typeof v.checksum === 'string' && v.checksum.startsWith('sha1$')) into.set(v.path, v.checksum);
    for (const x of Object.values(v)) if (x !== undefined) collectChecksums(x, into);
  }
}

/** The value with every path under `from` moved under `to` (path, location, dirname), in listings and secondaryFiles too. */
export function movePaths(v: CwlValue, from: string, to: string): CwlValue {
  if (Array.isArray(v)) return v.map((x) => movePaths(x, from, to));
  if (typeof v !== 'object' || v === null) return v;
  const o: CwlObject = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = movePaths(x, from, to);
  if ((o.class === 'File' || o.class === 'Directory') && typeof o.path === 'string' && inside(o.path, from)) {
    o.path = to + o.path.slice(from.length);
    o.location = locationFromPath(o.path);
    if (typeof o.dirname === 'string') o.dirname = path.dirname(o.path);
  }
  return o;
}
