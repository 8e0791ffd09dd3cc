/**
 * The public way to run a CWL document: load -> validate inputs -> engine -> executor -> outputs.
 * The CLI is a thin layer over this; tests and other programs call it directly.
 */
import { expandJobFormats } from '../model/format-iri.js';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DigestMemo } from '../cache/digests.js';
import { cacheTotals } from '../cache/inventory.js';
import { cacheBlocker } from '../cache/policy.js';
import { taskWindowFor } from '../engine/tool/task-window.js';
import { closeRunCache, openRunCache } from '../cache/run-cache.js';
import type { TaskCacheUse } from '../cache/task-cache.js';
import type { ResolvedConfig } from '../config/config.js';
import type { Logger, RuntimeContext } from '../engine/context.js';
import type { RunEventSink, RunStatus } from '../engine/events.js';
import { checkDocumentLiterals } from '../engine/document-literals.js';
import { runProcess } from '../engine/run-process.js';
import { maskError, maskingStream } from '../engine/secrets.js';
import { createExecutor } from '../executor/registry.js';
import { loadDocument } from '../loader/index.js';
import { JOB_REQUIREMENTS_KEY } from '../model/requirements.js';
import type { CwlObject, Process } from '../model/types.js';
import { workflowGraph } from '../model/workflow-graph.js';
import { CancelledError, OutputsNotDeliveredError, errorMessage } from '../errors.js';
import { DocumentPaths, isInside } from '../staging/index.js';
import { RemoteData } from './remote-data.js';
import { redactDeep, redactUrl } from '../storage/redact-url.js';
import type { RunOptions } from '../store/run-store.js';
import type { RunRecorder } from './guarded-store.js';
import { deliverOutputs, deliverPartialOutputs } from './deliver-outputs.js';
import { newRunId } from './run-id.js';
import { localUserName } from './principal.js';
import { openRunRecording } from './run-recording.js';
import { markTaskDirs } from './run-files-marker.js';

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
  /**
   * Let the document name files outside its directory tree (--allow-outside-document): defaults,
   * valueFrom, InitialWorkDir, secondaryFiles (staging/document-paths.ts). Off by default.
   */
  allowOutsideDocument?: boolean;
  /** An already loaded process (skips loading `document`). */
  process?: Process;
  /** The run this one resumes (`strand run --resume`): recorded, and its cache directory used unless the config names one. */
  resumes?: { runId: string; cacheDir?: string };
  /** The options that shaped the run, recorded with it for `--resume` (store/run-store.ts RunOptions). */
  options?: RunOptions;
  /** Who the run is recorded as owned by (run-service.ts: the principal that started it); else the executor's owner or the local user. */
  owner?: string;
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
  /** Why the run store's record of this run is incomplete (a write failed); its outputs were delivered all the same. */
  recordIncomplete?: string;
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
  const runId = req.runId ?? newRunId();
  const process = req.process ?? (await loadDocument(req.document));
  const { secrets, log, store, emit } = openRunRecording({ config, process, inputs: req.inputs, log: req.log ?? silentLog, onEvent: req.onEvent });

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
    ...(config.dryRun ? { output: maskingStream(secrets, globalThis.process.stdout) } : {}),
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
  // On a cluster's workspace: marked as this run's, so `strand clean` can remove it if the run is killed.
  const unmark = executor.workRoot ? await markTaskDirs(workRoot, runId, executor.detail, log) : undefined;
  const cache = await taskCacheFor(config, process, req, executor, store, log);
  const logRoot = store && config.storeDir ? path.join(config.storeDir, 'logs', runId) : path.join(workRoot, 'logs');

  const abort = new AbortController();
  const onAbort = () => abort.abort(req.signal?.reason);
  if (req.signal?.aborted) onAbort();
  else req.signal?.addEventListener('abort', onAbort, { once: true });

  store?.createRun({
    runId,
    processId: process.id,
    documentPath: redactUrl(req.document),
    jobPath: req.jobPath !== undefined ? redactUrl(req.jobPath) : undefined,
    outdir: config.outdir,
    workDir: workRoot,
    pid: globalThis.process.pid,
    cwd: globalThis.process.cwd(),
    executor: executor.name,
    ...(executor.detail ? { executorDetail: executor.detail } : {}),
    owner: typeof executor.detail?.owner === 'string' ? executor.detail.owner : (req.owner ?? localUserName()),
    graph: workflowGraph(process, rootPathFor(process)),
    inputs: redactDeep(secrets.mask(req.inputs)),
    ...(cache ? { cacheDir: cache.cache.dir, cacheMode: cacheMode(cache) } : { cacheMode: 'off' }),
    ...(req.resumes ? { resumedFrom: req.resumes.runId } : {}),
    ...(req.runId ? { restart: true } : {}),
    ...(req.options ? { options: req.options } : {}),
  });
  emit({ type: 'run_started', runId, processId: process.id, at: new Date() });
  store?.keepAlive(runId);

  const documentPaths = new DocumentPaths({ document: process.sourceFile, allowAnywhere: req.allowOutsideDocument === true });
  const window = taskWindowFor(executor);
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
    secrets,
    documentPaths,
    retry: config.retry,
    onError: config.onError,
    ...(window ? { taskWindow: window } : {}),
  };

  let outcome: RunOutcome;
  let remote: RemoteData | undefined;
  let inputs: CwlObject = req.inputs;
  const delivery = () => ({ inputs, outdir: config.outdir, tmpdirPrefix: config.tmpdirPrefix, workRoot, runId, remote, store, cacheDir: cache?.cache.dir });
  try {
    // s3:// and http(s):// inputs and a remote --outdir: checked before any task, inputs fetched once.
    const readsInPlace = executor.readsInPlace?.bind(executor);
    remote = RemoteData.find(req.inputs, process, { storage: config.storage, outdir: config.outdir, signal: abort.signal, ...(readsInPlace ? { readsInPlace } : {}) });
    if (remote) {
      await remote.preflight();
      const got = await remote.fetchInputs(path.join(workRoot, 'remote-inputs'));
      if (got.files) log.info(`fetched ${got.files} remote input file(s), ${got.bytes} bytes`);
      if (got.inPlace.files) log.info(`${got.inPlace.files} s3:// input file(s), ${got.inPlace.bytes} bytes, are read by the tasks in place (not fetched here)`);
    }
    // The job's File formats as IRIs, as the process's own are (cwltool's job loader does the same).
    inputs = expandJobFormats(remote?.inputs ?? req.inputs, process.namespaces);
    // Files the document names literally: refused before any task runs (the engine checks them again where used).
    // This run's copies of remote defaults (the process itself is never changed: it may be shared).
    if (remote?.defaults.size) ctx.defaults = remote.defaults;
    await checkDocumentLiterals(process, inputs, documentPaths, remote?.defaults);
    const raw = await runProcess(
      { process, inputs, path: rootPathFor(process), inheritedRequirements: [], inheritedHints: [] },
      ctx,
    );
    const outputs = await deliverOutputs({ raw, ...delivery() });
    outcome = { runId, status: 'success', outputs };
  } catch (err) {
    const cancelled = err instanceof CancelledError || abort.signal.aborted;
    // --on-error continue: what could be computed is delivered all the same (as cwltool does).
    const partial = cancelled ? undefined : await deliverPartialOutputs(err, delivery(), log);
    outcome = { runId, status: cancelled ? 'cancelled' : 'failed', error: maskError(secrets, err), ...(partial ? { outputs: partial } : {}) };
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
    remote?.close();
    await executor.shutdown();
    unmark?.();
    if (cache) await closeRunCache(cache);
  }

  emit({
    type: 'run_finished',
    runId,
    status: outcome.status,
    at: new Date(),
    message: outcome.error ? errorMessage(outcome.error) : undefined,
    outputs: outcome.outputs,
  });
  store?.close();
  outcome.recorded = store !== undefined;
  if (store?.failure !== undefined) outcome.recordIncomplete = store.failure;
  if (cache) {
    outcome.cacheDir = cache.cache.dir;
    await reportCacheGrowth(cache, log);
  }
  // Outputs that could not be delivered stay where their tasks made them: the run's directory is kept.
  const holdsOutputs = outcome.error instanceof OutputsNotDeliveredError && outcome.error.sources.some((p) => isInside(p, workRoot));
  if (!config.leaveTmpdir && !holdsOutputs) await rm(workRoot, { recursive: true, force: true }).catch(() => undefined);
  else log.info(`intermediate files kept in ${workRoot}`);
  return outcome;
}

/** The task cache never shrinks by itself: say what this run added, and warn when the whole is big. */
async function reportCacheGrowth(use: TaskCacheUse, log: Logger): Promise<void> {
  if (!use.added?.entries) return;
  const totals = await cacheTotals(use.cache.dir, use.added).catch(() => undefined);
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  const size = totals ? `${totals.exact ? '' : 'about '}${totals.bytes >= 2 ** 30 ? gib(totals.bytes) : mib(totals.bytes)}` : '';
  const whole = totals ? `; it holds ${totals.entries} entries, ${size}` : '';
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
 * The task cache of this run (cache/run-cache.ts: its directory, scope and key). None when the mode
 * is off, when there is nowhere to keep it, when its key cannot be used, or when a tool of the run
 * changes its inputs in place.
 */
async function taskCacheFor(
  config: ResolvedConfig,
  process: Process,
  req: RunRequest,
  executor: { workRoot?: string | undefined; sharedRoot?: string | undefined; detail?: Record<string, unknown> | undefined },
  store: RunRecorder | undefined,
  log: Logger,
): Promise<TaskCacheUse | undefined> {
  if (config.cacheMode === 'off') return undefined;
  const blocked = cacheBlocker(process, req.inputs[JOB_REQUIREMENTS_KEY]);
  if (blocked) {
    log.info(`task cache off for this run: ${blocked}`);
    return undefined;
  }
  const memo: DigestMemo | undefined = store
    ? { fileDigest: (p) => store.fileDigest(p), rememberFileDigest: (d) => store.rememberFileDigest(d) }
    : undefined;
  const namespace = executor.workRoot && typeof executor.detail?.namespace === 'string' ? executor.detail.namespace : undefined;
  try {
    const opened = await openRunCache({
      mode: config.cacheMode,
      ...(config.cacheDir ? { baseDir: config.cacheDir } : {}),
      ...(req.resumes?.cacheDir && !config.cacheDir ? { resumedDir: req.resumes.cacheDir } : {}),
      storeDir: config.storeDir,
      ...(executor.workRoot ? { executorWorkRoot: executor.workRoot } : {}),
      ...(executor.sharedRoot ? { sharedRoot: executor.sharedRoot } : {}),
      ...(namespace ? { namespace } : {}),
      ...(config.cacheScope ? { scope: config.cacheScope } : {}),
      shared: config.cacheShared,
      ...(config.cacheKeyFile ? { keyFile: config.cacheKeyFile } : {}),
      ...(memo ? { memo } : {}),
    });
    if (!opened) return undefined;
    for (const n of opened.notes) log.info(n);
    for (const w of opened.warnings) log.warn(w);
    return opened.use;
  } catch (err) {
    log.warn(`task cache off for this run: ${(err as Error).message}`);
    return undefined;
  }
}


