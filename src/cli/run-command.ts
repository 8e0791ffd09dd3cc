/**
 * `strand run`: flags -> config -> load the document and inputs -> runDocument -> the output object
 * on stdout and an exit code. Imported by main.ts when the command runs.
 */
import { stringifyJsonExact } from '../model/exact-json.js';
import { existsSync } from 'node:fs';
import { rootPathFor } from '../api/run.js';
import { localRunService } from '../api/run-service.js';
import { localPrincipal } from '../api/principal.js';
import { resolveConfig, type InlineConfig } from '../config/config.js';
import { loadUserConfig } from '../config/config-file.js';
import { UsageError } from '../errors.js';
import { setExpressionLimits } from '../expressions/index.js';
import { warmUpLauncher } from '../executor/local/launcher.js';
import { loadDocument, readJobFile, resolveJobObject } from '../loader/index.js';
import type { CwlObject } from '../model/types.js';
import { graphToDot, workflowGraph } from '../model/workflow-graph.js';
import { createProgressDisplay } from '../progress/progress-display.js';
import { redactDeep, redactUrls } from '../storage/redact-url.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { kubernetesOverrides, type KubernetesRunFlags } from './executor-flags.js';
import { describeInputs, missingInputsError, missingRequiredInputs, parseInputFlags, splitJobAndFlags } from './input-flags.js';
import { stderrLogger } from '../api/stderr-logger.js';
import { reportError } from './report-error.js';
import { resolveResume } from './resume.js';
import { unknownJobKeyWarnings } from './unknown-job-keys.js';
import { givenOptions, optionsAsFlags, resumedOptions, withOptions } from './run-options.js';

export interface RunFlags extends KubernetesRunFlags {
  outdir?: string;
  basedir?: string;
  tmpdirPrefix?: string;
  parallel?: number;
  noContainer?: boolean;
  container?: boolean;
  containerRuntime?: string;
  validate?: boolean;
  maxDocumentSize?: number;
  allowOutsideDocument?: boolean;
  /** The older name of allowOutsideDocument. */
  allowIncludeOutside?: boolean;
  printDot?: boolean;
  quiet?: boolean;
  debug?: boolean;
  store?: string;
  record?: boolean;
  leaveTmpdir?: boolean;
  executor?: string;
  dryRun?: boolean;
  runId?: string;
  cache?: 'off' | 'read' | 'write' | 'readwrite' | 'on';
  cachedir?: string;
  resume?: string | boolean;
  evalTimeout?: number;
  evalMemory?: number;
  retries?: number;
  onError?: 'stop' | 'continue';
}

export async function runCommand(documentArg: string | undefined, restArg: string[], givenFlags: RunFlags, outdirGiven: boolean): Promise<number> {
  let flags = givenFlags;
  let document = documentArg;
  let rest = restArg;
  let resumeRef = typeof flags.resume === 'string' ? flags.resume : undefined;
  // `strand run --resume wf.cwl job.yml`: the value is the document, not a run id.
  if (resumeRef !== undefined && (existsSync(resumeRef) || /\.(cwl|ya?ml|json)(#.*)?$/.test(resumeRef))) {
    if (document !== undefined) rest = [document, ...rest];
    document = resumeRef;
    resumeRef = undefined;
  }
  const resuming = flags.resume !== undefined && flags.resume !== false;
  if (resuming && (flags.cache === 'off' || flags.cache === 'write')) throw new UsageError(`--resume reuses the task cache: it cannot be used with --cache ${flags.cache}`);
  if (resuming && flags.dryRun) throw new UsageError('--resume and --dry-run cannot be used together');
  const inlineOf = (flags: RunFlags): InlineConfig => ({
    outdir: flags.outdir,
    basedir: flags.basedir,
    tmpdirPrefix: flags.tmpdirPrefix,
    parallel: flags.parallel,
    noContainer: flags.container === false,
    containerRuntime: flags.containerRuntime,
    executor: flags.executor,
    // A dry run leaves nothing behind, not even a record.
    storeDir: flags.record === false || flags.dryRun ? false : flags.store,
    leaveTmpdir: flags.leaveTmpdir,
    quiet: flags.quiet,
    debug: flags.debug,
    dryRun: flags.dryRun,
    cache: flags.cache,
    cacheDir: flags.cachedir,
    executorOverrides: kubernetesOverrides(flags),
    retries: flags.retries,
    onError: flags.onError,
  });
  const userConfig = loadUserConfig(flags.config);
  let config = resolveConfig(inlineOf(flags), process.env, process.cwd(), userConfig);
  // Resuming a recorded run: its document, inputs, outdir, cache and options, unless given again here.
  const plan = resuming && document === undefined ? resolveResume(config.storeDir, resumeRef) : undefined;
  let options = givenOptions(flags);
  if (plan) {
    document = plan.document;
    options = resumedOptions(plan.run.options, options);
    if (plan.run.options && Object.keys(plan.run.options).length > 0) {
      flags = withOptions(flags, options);
      config = resolveConfig(inlineOf(flags), process.env, process.cwd(), userConfig);
    }
    if (!outdirGiven && plan.run.outdir) config = { ...config, outdir: plan.run.outdir };
  }
  setExpressionLimits({
    ...(flags.evalTimeout !== undefined ? { timeoutMs: flags.evalTimeout * 1000 } : {}),
    ...(flags.evalMemory !== undefined ? { memoryMb: flags.evalMemory } : {}),
  });
  if (document === undefined) throw new UsageError("missing the CWL document to run (or --resume [run] to continue a run)");
  if (resuming && config.cacheMode === 'off') throw new UsageError('--resume reuses the task cache, which is off ($STRAND_CACHE=off)');
  const asksForHelp = rest.includes('--help') || rest.includes('-h');
  // The local executor starts its tasks through the process launcher: start it while loading.
  if (config.executor === 'local' && !flags.validate && !flags.printDot && !asksForHelp && !config.dryRun) warmUpLauncher();
  const log = stderrLogger(config);
  const allowOutsideDocument = flags.allowOutsideDocument === true || flags.allowIncludeOutside === true;
  const limits = { maxDocumentBytes: flags.maxDocumentSize, allowIncludeOutside: allowOutsideDocument };
  const process_ = await loadDocument(document, { ...limits, onWarning: (m) => log.warn(m) });
  if (flags.validate) {
    process.stdout.write(`${document} is valid CWL (${process_.class} ${process_.id})\n`);
    return EXIT.ok;
  }
  if (flags.printDot) {
    process.stdout.write(graphToDot(workflowGraph(process_, rootPathFor(process_))));
    return EXIT.ok;
  }
  if (asksForHelp) {
    process.stdout.write(redactUrls(describeInputs(process_)) + '\n');
    return EXIT.ok;
  }
  const { jobFile: jobArg, flags: inputFlags } = splitJobAndFlags(rest);
  for (const w of plan?.warnings ?? []) log.warn(w);
  if (plan?.run.options && Object.keys(plan.run.options).length > 0) log.info(`run ${plan.run.id} ran with ${optionsAsFlags(plan.run.options)}; so does this one, unless given otherwise`);
  // A resumed run takes the recorded input object (or its job file, for runs recorded without one).
  const jobFile = jobArg ?? (plan && plan.inputs === undefined ? plan.run.jobPath : undefined);
  const job = jobFile ? await readJobFile(jobFile, limits) : undefined;
  for (const w of job ? unknownJobKeyWarnings(process_, job) : []) log.warn(w);
  let inputs: CwlObject = job?.inputs ?? plan?.inputs ?? {};
  const fromFlags = parseInputFlags(inputFlags, process_, config.basedir);
  inputs = { ...inputs, ...resolveJobObject(fromFlags, config.basedir) };
  const missing = missingRequiredInputs(process_, inputs);
  if (missing.length) throw missingInputsError(missing, document);

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      log.warn(`${sig}: cancelling the run, stopping its tasks (press Ctrl-C again to exit at once)`);
      controller.abort(new Error(sig));
    } else {
      process.exit(EXIT.cancelled);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = createProgressDisplay(process.stderr, { quiet: config.quiet });
  const service = localRunService({ storeDir: config.storeDir });
  const started = service.start(localPrincipal(), {
    document,
    inputs,
    jobPath: jobFile,
    config,
    process: process_,
    allowOutsideDocument,
    signal: controller.signal,
    onEvent: (e) => progress.onEvent(e),
    log,
    ...(flags.runId ? { runId: flags.runId } : {}),
    ...(plan ? { resumes: { runId: plan.run.id, ...(plan.run.cacheDir ? { cacheDir: plan.run.cacheDir } : {}) } } : {}),
    ...(Object.keys(options).length > 0 ? { options } : {}),
  });
  const outcome = await started.done;
  progress.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  // A run that could not start (its executor, its work directory) fails as an error of the command.
  if (outcome.notStarted) throw outcome.error;

  if (config.dryRun && config.executor !== 'local') {
    log.warn(
      'dry run: printed the run anchor and the Jobs of the tasks whose inputs exist now; ' +
        'steps that need outputs of earlier steps are not reached',
    );
    return EXIT.ok;
  }
  if (config.dryRun && outcome.status !== 'failed') {
    // Stopped where a task would have run (cancelled), or finished without any (expressions only).
    log.warn(
      'dry run: printed the tasks whose inputs exist now (command, working directory, image); nothing was run ' +
        'and no file was written; steps that need outputs of earlier steps are not reached',
    );
    return EXIT.ok;
  }
  if (plan) log.info(`run ${outcome.runId} resumes run ${plan.run.id}`);
  // The run's results do not depend on its record: a store that failed is said, not fatal.
  const incomplete = outcome.recordIncomplete
    ? `the run store could not record all of run ${outcome.runId} (${outcome.recordIncomplete}); strand show and --resume may not know how it ended`
    : undefined;
  if (outcome.status === 'success') {
    process.stdout.write(stringifyJsonExact(redactDeep(outcome.outputs ?? {}), 4) + '\n');
    if (incomplete) log.warn(`${incomplete}; its outputs were delivered`);
    log.info(`run ${outcome.runId} finished: success`);
    return EXIT.ok;
  }
  // --on-error continue delivers what could be computed, and prints it as cwltool does.
  if (outcome.outputs) process.stdout.write(stringifyJsonExact(redactDeep(outcome.outputs), 4) + '\n');
  reportError(outcome.error, config.debug);
  if (incomplete) log.warn(incomplete);
  // Only a recorded run can be shown.
  const see = outcome.recorded && !incomplete ? `; see: strand show ${outcome.runId}` : '';
  process.stderr.write(`[strand] run ${outcome.runId} ${outcome.status}${see}\n`);
  return outcome.status === 'cancelled' ? EXIT.cancelled : exitCodeFor(outcome.error);
}
