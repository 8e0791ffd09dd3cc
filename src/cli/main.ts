/**
 * The command line: flags -> InlineConfig -> the public API. The only module that exits the process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runDocument, errorMessage } from '../api/run.js';
import { resolveConfig, type InlineConfig } from '../config/config.js';
import { loadUserConfig } from '../config/config-file.js';
import { loadDocument, loadJob, resolveJobObject } from '../loader/index.js';
import { warmUpLauncher } from '../executor/local/launcher.js';
import { createProgressDisplay } from '../progress/progress-display.js';
import { openRunStore } from '../store/run-store.js';
import { formatRunDetail, formatRunList } from '../store/format.js';
import { UsageError, isStrandError } from '../errors.js';
import type { CwlObject } from '../model/types.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { describeInputs, missingInputsError, missingRequiredInputs, parseInputFlags, splitJobAndFlags } from './input-flags.js';
import { addKubernetesCommands } from './kube-commands.js';
import { addPodIoCommand } from './pod-io-command.js';
import { SUBMITTED_EXECUTOR } from './submit/follow.js';
import { submittedDetail, withSubmittedSummaries } from './submit/follow-cli.js';
import { addSubmitCommands } from './submit/submit-command.js';
import { stderrLogger } from './logger.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

interface RunFlags {
  outdir?: string;
  basedir?: string;
  tmpdirPrefix?: string;
  parallel?: number;
  noContainer?: boolean;
  container?: boolean;
  containerRuntime?: string;
  validate?: boolean;
  quiet?: boolean;
  debug?: boolean;
  store?: string;
  record?: boolean;
  leaveTmpdir?: boolean;
  executor?: string;
  config?: string;
  context?: string;
  namespace?: string;
  maxParallel?: number;
  pendingTimeout?: number;
  maxMemory?: string;
  owner?: string;
  dryRun?: boolean;
  runId?: string;
}

/** `90`, `90s`, `10m`, `2h` -> seconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration like 600, 90s, 10m or 2h');
  const n = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (n < 1) throw new InvalidArgumentError('expected at least one second');
  return Math.round(n);
}

function runIdArg(v: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(v)) throw new InvalidArgumentError('letters, digits, - _ . ; at most 63 characters');
  return v;
}

function buildProgram(finish: (code: number) => void): Command {
  const program = new Command('strand')
    .description(
      'Run CWL v1.2 workflows on this machine or on a Kubernetes cluster with the same workflow file.\n' +
        'Every run is recorded in a local run store (.strand/ by default): see `strand list` and `strand show`.',
    )
    .version(version, '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('run')
    .summary('run a CWL workflow or tool')
    .description(
      'Run a CWL CommandLineTool, ExpressionTool or Workflow. The output object is printed as JSON on\n' +
        'stdout; logs and progress go to stderr. Inputs come from a job file (YAML or JSON), from\n' +
        '--<input-name> flags after the document, or both (flags win).',
    )
    .argument('<document>', 'CWL document: a path or URI, optionally with #id to pick a process from a packed file')
    .argument('[job-and-inputs...]', 'a job file (YAML/JSON) and/or --<input-name> <value> flags')
    .option('--outdir <dir>', 'where final outputs go: a directory, or s3://bucket/prefix (uploaded once all are verified; see docs/object-stores.md)', '.')
    .option('--basedir <dir>', 'base directory for relative paths in input flags', '.')
    .option('--tmpdir-prefix <prefix>', 'prefix of the run\'s scratch directory (default: $TMPDIR/strand-)')
    .option('--parallel <n>', 'cores to use at once (default: all cores)', positiveInt)
    .option('--no-container', 'ignore DockerRequirement and run tools from the host PATH')
    .option('--container-runtime <name>', 'podman, docker, or the path of a client (default: $STRAND_CONTAINER_RUNTIME, else podman if it works, else docker)')
    .option('--validate', 'validate the document (fields, versions, workflow links and types), then exit')
    .option('--quiet', 'only print warnings and errors on stderr')
    .option('--debug', 'print debug logs and stack traces')
    .option('--store <dir>', 'run store directory (default: ./.strand, or $STRAND_STORE)')
    .option('--no-record', 'do not record this run in the run store')
    .option('--leave-tmpdir', 'keep intermediate files after the run')
    .addOption(new Option('--executor <name>', 'where tasks run (default: local, or `executor:` in the config file)').choices(['local', 'kubernetes']))
    .option('--config <file>', 'config file (default: $STRAND_CONFIG, ./strand.yaml, ~/.config/strand/config.yaml)')
    .option(
      '--dry-run',
      'run nothing, write no file: print what would run for the tasks whose inputs exist now\n' +
        '(local: command line, working directory, image; Kubernetes: the Job manifests)',
    )
    .option('--run-id <id>', 'name the run; restarting with the same id adopts its Kubernetes Jobs that still exist', runIdArg)
    .optionsGroup('Kubernetes executor:')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .option('--namespace <name>', "namespace (default: the context's namespace, else default)")
    .option('--max-parallel <n>', 'Jobs in flight at once (default 32)', positiveInt)
    .option('--pending-timeout <duration>', 'fail a task whose pod stays unschedulable this long, e.g. 10m (default: wait)', parseDuration)
    .option('--max-memory <quantity>', 'OOM-killed tasks retry with doubled memory up to this (default 64Gi)')
    .option('--owner <name>', 'strand.dev/owner label on Jobs (default: your user name)')
    .passThroughOptions()
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  strand run examples/hello/wordcount.cwl examples/hello/job.yml',
        '  strand run --outdir results tool.cwl --reads sample.bam --threads 4',
        '  strand run tool.cwl --help        # list the inputs a tool takes',
        '  strand run --outdir s3://lab-results/run1 wf.cwl job.yml   # s3:// and https:// inputs work too',
        '  strand run --validate workflow.cwl',
        '  strand run --dry-run workflow.cwl job.yml        # what would run, without running it',
        '  strand run --executor kubernetes --namespace lab wf.cwl job.yml   # see docs/kubernetes.md',
        '  strand run --executor kubernetes --dry-run wf.cwl job.yml > jobs.yaml',
        '',
        'Object stores: s3://bucket/key Files and Directories and http(s):// Files may be inputs (job file,',
        'defaults, --<input> flags); endpoint, region and profile come from the AWS chain or `storage.s3` in',
        'strand.yaml (docs/object-stores.md). A cluster without a shared volume: `kubernetes.storage: objectStore`',
        'with `kubernetes.objectStore: { location: s3://bucket/prefix, credentialsSecret, image }`: task pods',
        'fetch their inputs from the bucket and upload their outputs (docs/cloud-cluster-without-shared-storage.md).',
        '',
        'Exit codes: 0 success, 1 failure, 2 bad usage, 33 unsupported requirement, 130 cancelled.',
      ].join('\n'),
    )
    .action(async (document: string, rest: string[], flags: RunFlags) => {
      finish(await runCommand(document, rest, flags));
    });

  program
    .command('list')
    .summary('list recorded runs, newest first')
    .option('--store <dir>', 'run store directory (default: ./.strand, or $STRAND_STORE)')
    .option('-n, --limit <n>', 'how many runs', positiveInt, 20)
    .option('--json', 'print JSON')
    .action(async (flags: { store?: string; limit: number; json?: boolean }) => {
      const store = openStoreForReading(flags.store);
      // Submitted runs (strand submit): their state comes from the cluster.
      const runs = await withSubmittedSummaries(store, resolveConfig({ storeDir: flags.store }).storeDir as string, store.listRuns({ limit: flags.limit }));
      store.close();
      process.stdout.write(flags.json ? JSON.stringify(runs, null, 2) + '\n' : formatRunList(runs) + '\n');
      finish(EXIT.ok);
    });

  program
    .command('show')
    .summary('show one run: steps, task attempts, exit reasons, log paths')
    .argument('<run>', 'run id, or a unique prefix of one')
    .option('--store <dir>', 'run store directory (default: ./.strand, or $STRAND_STORE)')
    .option('--json', 'print JSON')
    .action(async (runRef: string, flags: { store?: string; json?: boolean }) => {
      const store = openStoreForReading(flags.store);
      let run = store.getRun(runRef);
      if (!run) {
        store.close();
        throw new UsageError(`no run "${runRef}" in the run store (see strand list)`);
      }
      let extra: string[] = [];
      if (run.executor === SUBMITTED_EXECUTOR) ({ run, lines: extra } = await submittedDetail(store, resolveConfig({ storeDir: flags.store }).storeDir as string, run));
      store.close();
      const text = flags.json ? JSON.stringify(run, null, 2) : formatRunDetail(run, { exists: existsSync }) + (extra.length ? '\n\n' + extra.join('\n') : '');
      process.stdout.write(text + '\n');
      finish(EXIT.ok);
    });

  addKubernetesCommands(program, finish);
  addPodIoCommand(program, finish);
  addSubmitCommands(program, finish);
  return program;
}

function openStoreForReading(dir: string | undefined) {
  const config = resolveConfig({ storeDir: dir });
  if (config.storeDir === false) throw new UsageError('the run store is turned off (STRAND_STORE=off)');
  return openRunStore(config.storeDir);
}

async function runCommand(document: string, rest: string[], flags: RunFlags): Promise<number> {
  const inline: InlineConfig = {
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
    executorOverrides: {
      context: flags.context,
      namespace: flags.namespace,
      maxParallel: flags.maxParallel,
      pendingTimeoutSeconds: flags.pendingTimeout,
      maxMemory: flags.maxMemory,
      owner: flags.owner,
    },
  };
  const config = resolveConfig(inline, process.env, process.cwd(), loadUserConfig(flags.config));
  const asksForHelp = rest.includes('--help') || rest.includes('-h');
  // The local executor starts its tasks through the process launcher: start it while loading.
  if (config.executor === 'local' && !flags.validate && !asksForHelp && !config.dryRun) warmUpLauncher();
  const log = stderrLogger(config);
  const process_ = await loadDocument(document, { onWarning: (m) => log.warn(m) });
  if (flags.validate) {
    process.stdout.write(`${document} is valid CWL (${process_.class} ${process_.id})\n`);
    return EXIT.ok;
  }
  if (asksForHelp) {
    process.stdout.write(describeInputs(process_) + '\n');
    return EXIT.ok;
  }
  const { jobFile, flags: inputFlags } = splitJobAndFlags(rest);
  let inputs: CwlObject = jobFile ? await loadJob(jobFile) : {};
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
  const outcome = await runDocument({
    document,
    inputs,
    jobPath: jobFile,
    config,
    process: process_,
    signal: controller.signal,
    onEvent: (e) => progress.onEvent(e),
    log,
    ...(flags.runId ? { runId: flags.runId } : {}),
  });
  progress.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

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
  if (outcome.status === 'success') {
    process.stdout.write(JSON.stringify(outcome.outputs ?? {}, null, 4) + '\n');
    log.info(`run ${outcome.runId} finished: success`);
    return EXIT.ok;
  }
  reportError(outcome.error, config.debug);
  // Only a recorded run can be shown.
  const see = outcome.recorded ? `; see: strand show ${outcome.runId}` : '';
  process.stderr.write(`[strand] run ${outcome.runId} ${outcome.status}${see}\n`);
  return outcome.status === 'cancelled' ? EXIT.cancelled : exitCodeFor(outcome.error);
}

function reportError(err: unknown, debug: boolean): void {
  process.stderr.write(`strand: error: ${errorMessage(err)}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
}

/** Entry point: parse `argv` (without node and script), run, exit with the right code. */
export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  const finish = (code: number) => {
    process.stdout.write('', () => process.exit(code));
  };
  try {
    await buildProgram(finish).parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      finish(ok ? EXIT.ok : EXIT.usage);
      return;
    }
    reportError(err, debug);
    if (isStrandError(err) && err.code === 'usage') process.stderr.write('(run strand --help for usage)\n');
    finish(exitCodeFor(err));
  }
}
