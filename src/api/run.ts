/**
 * The public way to run a CWL document: load -> validate inputs -> engine -> executor -> outputs.
 * The CLI is a thin layer over this; tests and other programs call it directly.
 */
import { expandJobFormats } from '../model/format-iri.js';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileDigester, type DigestMemo } from '../cache/digests.js';
import { cacheTotals } from '../cache/inventory.js';
import { cacheBlocker } from '../cache/policy.js';
import { TaskCache, type TaskCacheUse } from '../cache/task-cache.js';
import type { ResolvedConfig } from '../config/config.js';
import type { Logger, RuntimeContext } from '../engine/context.js';
import type { RunEvent, RunEventSink, RunStatus } from '../engine/events.js';
import { runProcess } from '../engine/run-process.js';
import { createExecutor } from '../executor/registry.js';
import { loadDocument } from '../loader/index.js';
import { JOB_REQUIREMENTS_KEY } from '../model/requirements.js';
import type { CwlObject, Process } from '../model/types.js';
import { workflowGraph } from '../model/workflow-graph.js';
import { relocateOutputs, replaceableFrom } from '../staging/index.js';
import { CancelledError, StorageError, errorMessage } from '../errors.js';
import { RemoteData } from './remote-data.js';
import { openRunStore, type RunStore } from '../store/run-store.js';
import { newRunId } from './run-id.js';

export interface RunRequest {
  /** Path or URI of the CWL document, optionally `#id`. */
  document: string;
  /** The input object, File locations already absolute (see loader's loadJob/resolveJobObject). */
  inputs: CwlObject;
  /** Path of the job file, for the run record. */
  jobPath?: string;
  config: ResolvedConfig;
  signal?: AbortSignal;
  onEvent?: RunEventSink;
  log?: Logger;
  runId?: string;
  /** An already loaded process (skips loading `document`). */
  process?: Process;
  /** The run this one resumes (`strand run --resume`): recorded, and its cache directory used unless the config names one. */
  resumes?: { runId: string; cacheDir?: string };
}

export interface RunOutcome {
  runId: string;
  status: RunStatus;
  outputs?: CwlObject;
  error?: unknown;
  /** Whether the run is in the run store (`strand show <runId>`). */
  recorded?: boolean;
  /** The task cache the run used, if any. */
  cacheDir?: string;
}

const silentLog: Logger = { info() {}, warn() {}, debug() {} };

/** Short name of the top-level process, used as the root of step paths. */
export function rootPathFor(p: Process): string {
  const hash = p.id.lastIndexOf('#');
  if (hash >= 0) return p.id.slice(hash + 1) || 'main';
  const base = path.basename(p.sourceFile || p.id).replace(/\.(cwl|ya?ml|json)$/, '');
  return base || 'main';
}

/** Run a process to the end. Never throws for a failed run: the outcome says how it ended. */
export async function runDocument(req: RunRequest): Promise<RunOutcome> {
  const { config } = req;
  const log = req.log ?? silentLog;
  const runId = req.runId ?? newRunId();
  const process = req.process ?? (await loadDocument(req.document));

  const store = openStoreOrWarn(config, log);
  const emit: RunEventSink = (e: RunEvent) => {
    try {
      store?.record(e);
    } catch (err) {
      log.warn(`run store: ${(err as Error).message}`);
    }
    req.onEvent?.(e);
  };

  const executor = await createExecutor(config.executor, {
    parallel: config.parallel,
    ramMiB: config.ramMiB,
    containerRuntime: config.containerRuntime,
    settings: config.executorSettings,
    settingsSource: config.configFile,
    storage: config.storage,
    overrides: config.executorOverrides,
    log,
    dryRun: config.dryRun,
  });
  // A cluster executor needs task directories on its shared workspace.
  const prefix = executor.workRoot ? path.join(executor.workRoot, 'strand-') : config.tmpdirPrefix;
  let workRoot: string;
  try {
    await mkdir(path.dirname(prefix), { recursive: true });
    // A named run (restart) gets the same directory again, so adopted tasks find their work.
    workRoot = req.runId && executor.workRoot ? prefix + req.runId : await mkdtemp(prefix);
    await mkdir(workRoot, { recursive: true });
  } catch (err) {
    await executor.shutdown();
    throw err;
  }
  let cache = taskCacheFor(config, process, req, executor.workRoot, store, log);
  if (cache?.write) {
    try {
      await mkdir(cache.cache.dir, { recursive: true });
    } catch (err) {
      log.warn(`task cache ${cache.cache.dir} cannot be made (${(err as Error).message}); this run does not use it`);
      cache = undefined;
    }
  }
  const logRoot = store && config.storeDir ? path.join(config.storeDir, 'logs', runId) : path.join(workRoot, 'logs');

  const abort = new AbortController();
  const onAbort = () => abort.abort(req.signal?.reason);
  if (req.signal?.aborted) onAbort();
  else req.signal?.addEventListener('abort', onAbort, { once: true });

  store?.createRun({
    runId,
    processId: process.id,
    documentPath: req.document,
    jobPath: req.jobPath,
    outdir: config.outdir,
    workDir: workRoot,
    pid: globalThis.process.pid,
    cwd: globalThis.process.cwd(),
    executor: executor.name,
    ...(executor.detail ? { executorDetail: executor.detail } : {}),
    owner: typeof executor.detail?.owner === 'string' ? executor.detail.owner : localUser(),
    graph: workflowGraph(process, rootPathFor(process)),
    inputs: req.inputs,
    ...(cache ? { cacheDir: cache.cache.dir, cacheMode: cacheMode(cache) } : { cacheMode: 'off' }),
    ...(req.resumes ? { resumedFrom: req.resumes.runId } : {}),
  });
  emit({ type: 'run_started', runId, processId: process.id, at: new Date() });

  const ctx: RuntimeContext = {
    runId,
    executor,
    emit,
    signal: abort.signal,
    workRoot,
    logRoot,
    noContainer: config.noContainer,
    log,
    ...(cache ? { cache } : {}),
  };

  let outcome: RunOutcome;
  let remote: RemoteData | undefined;
  try {
    // s3:// and http(s):// inputs and a remote --outdir: checked before any task, inputs fetched once.
    remote = RemoteData.find(req.inputs, process, { storage: config.storage, outdir: config.outdir, signal: abort.signal });
    if (remote) {
      await remote.preflight();
      const got = await remote.fetchInputs(path.join(workRoot, 'remote-inputs'));
      if (got.files) log.info(`fetched ${got.files} remote input file(s), ${got.bytes} bytes`);
    }
    // The job's File formats as IRIs, as the process's own are (cwltool's job loader does the same).
    const inputs = expandJobFormats(remote?.inputs ?? req.inputs, process.namespaces);
    const raw = await runProcess(
      { process, inputs, path: rootPathFor(process), inheritedRequirements: [], inheritedHints: [] },
      ctx,
    );
    // A remote --outdir: outputs are relocated and verified in a local directory, then uploaded.
    const localOutdir = remote?.outdir ? await mkdtemp(config.tmpdirPrefix + 'outputs-') : config.outdir;
    await mkdir(localOutdir, { recursive: true });
    // Names in --outdir may be replaced only where an earlier run wrote what is there now.
    let outputs = await relocateOutputs(raw, localOutdir, workRoot, {
      inputs,
      replaceable: replaceableFrom(remote?.outdir ? [] : (store?.outputsWrittenTo(config.outdir) ?? [])),
      ...(cache ? { keep: [cache.cache.dir] } : {}),
    });
    if (remote?.outdir) {
      try {
        outputs = await remote.publish(outputs, localOutdir, runId, store?.outputsWrittenTo(config.outdir) ?? []);
      } catch (err) {
        if (err instanceof StorageError && err.reason !== 'exists') {
          throw new StorageError(`${err.message}; this run's results are in ${localOutdir}`, err.location, err.reason, { cause: err });
        }
        throw err;
      }
      await rm(localOutdir, { recursive: true, force: true });
    }
    outcome = { runId, status: 'success', outputs };
  } catch (err) {
    const cancelled = err instanceof CancelledError || abort.signal.aborted;
    outcome = { runId, status: cancelled ? 'cancelled' : 'failed', error: err };
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
    remote?.close();
    await executor.shutdown();
  }

  emit({
    type: 'run_finished',
    runId,
    status: outcome.status,
    at: new Date(),
    message: outcome.error ? errorMessage(outcome.error) : undefined,
    outputs: outcome.outputs,
  });
  store?.flush();
  store?.close();
  outcome.recorded = store !== undefined;
  if (cache) {
    outcome.cacheDir = cache.cache.dir;
    await reportCacheGrowth(cache, log);
  }
  if (!config.leaveTmpdir) await rm(workRoot, { recursive: true, force: true }).catch(() => undefined);
  else log.info(`intermediate files kept in ${workRoot}`);
  return outcome;
}

function localUser(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER;
  }
}

/** The task cache never shrinks by itself: say what this run added, and warn when the whole is big. */
async function reportCacheGrowth(use: TaskCacheUse, log: Logger): Promise<void> {
  if (!use.added?.entries) return;
  const totals = await cacheTotals(use.cache.dir).catch(() => undefined);
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const whole = totals ? `; it holds ${totals.entries} entries, ${totals.bytes >= 2 ** 30 ? gib(totals.bytes) : mib(totals.bytes)}` : '';
  log.info(`task cache ${use.cache.dir}: ${use.added.entries} new entries (${mib(use.added.bytes)})${whole}`);
  const limit = Number(globalThis.process.env.STRAND_CACHE_WARN_GIB ?? 20) * 2 ** 30;
  if (totals && totals.bytes > limit) {
    log.warn(`the task cache ${use.cache.dir} holds ${gib(totals.bytes)}: see strand cache list; strand cache clear --unused-for 30d removes what no run reused for a month`);
  }
}

function cacheMode(use: TaskCacheUse): 'read' | 'write' | 'readwrite' {
  return use.read && use.write ? 'readwrite' : use.read ? 'read' : 'write';
}

/**
 * The task cache of this run: --cachedir, else the resumed run's, else `<store>/cache` (on a
 * cluster, on its shared workspace, so pods see cached results in place). None when the mode is
 * off, when there is nowhere to keep it, or when a tool of the run changes its inputs in place.
 */
function taskCacheFor(
  config: ResolvedConfig,
  process: Process,
  req: RunRequest,
  executorWorkRoot: string | undefined,
  store: RunStore | undefined,
  log: Logger,
): TaskCacheUse | undefined {
  if (config.cacheMode === 'off') return undefined;
  const dir =
    config.cacheDir ??
    req.resumes?.cacheDir ??
    (executorWorkRoot ? path.join(executorWorkRoot, 'task-cache') : config.storeDir ? path.join(config.storeDir, 'cache') : undefined);
  if (dir === undefined) return undefined;
  const blocked = cacheBlocker(process, req.inputs[JOB_REQUIREMENTS_KEY]);
  if (blocked) {
    log.info(`task cache off for this run: ${blocked}`);
    return undefined;
  }
  const memo: DigestMemo | undefined = store
    ? {
        fileDigest: (p) => {
          try {
            return store.fileDigest(p);
          } catch {
            return undefined;
          }
        },
        rememberFileDigest: (d) => {
          try {
            store.rememberFileDigest(d);
          } catch {
            // A checksum not remembered is computed again next time.
          }
        },
      }
    : undefined;
  return {
    cache: new TaskCache(dir, new FileDigester(memo)),
    read: config.cacheMode === 'read' || config.cacheMode === 'readwrite',
    write: config.cacheMode === 'write' || config.cacheMode === 'readwrite',
  };
}

function openStoreOrWarn(config: ResolvedConfig, log: Logger): RunStore | undefined {
  if (config.storeDir === false) return undefined;
  try {
    return openRunStore(config.storeDir);
  } catch (err) {
    log.warn(`run store at ${config.storeDir} unavailable (${(err as Error).message}); this run is not recorded`);
    return undefined;
  }
}

