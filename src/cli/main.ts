/**
 * The command line: flags -> InlineConfig -> the public API. The only module that exits the process.
 * A command's heavy modules (the engine, the loader, the cluster and S3 clients) are imported when
 * it runs, so `strand list` or `--help` loads none of them.
 */
import { RUN_ID_PATTERN } from '../api/run-id.js';
import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { resolveConfig } from '../config/config.js';
import { isRetryCount, MAX_RETRIES } from '../config/retry-settings.js';
import type { RunService } from '../api/run-service.js';
import { localPrincipal } from '../api/principal.js';
import { formatRunChange, formatRunDetail, formatRunList } from '../store/format.js';
import { UsageError, isStrandError } from '../errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { addKubernetesCommands } from './kube-commands.js';
import { addPodIoCommand } from './pod-io-command.js';
import { addSubmitCommands } from './submit/submit-command.js';
import { addUiCommands } from './ui-commands.js';
import { addServerCommand } from './server-command.js';
import { addLabCommands } from './lab-command.js';
import { addCacheCommands } from './cache-commands.js';
import { addLoginCommands } from './login-command.js';
import { refuseWithServer, serverChoice, stdio } from './server-client/server-flag.js';
import { parseDuration } from './durations.js';
import { reportError } from './report-error.js';
import type { RunFlags } from './run-command.js';
import { DEFAULT_MAX_DOCUMENT_BYTES, formatBytes, parseByteSize } from '../loader/limits.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

export { parseDuration };

function byteSize(v: string): number {
  const n = parseByteSize(v);
  if (n === undefined) throw new InvalidArgumentError('expected a size such as 32MiB, 512KiB or a number of bytes');
  return n;
}

function positiveSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  return n;
}

function expressionMemoryMb(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 16) throw new InvalidArgumentError('expected a whole number of MB, at least 16');
  return n;
}

function retryCount(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !isRetryCount(n)) throw new InvalidArgumentError(`expected a whole number from 0 to ${MAX_RETRIES}`);
  return n;
}

function runIdArg(v: string): string {
  if (!RUN_ID_PATTERN.test(v)) throw new InvalidArgumentError('letters, digits, - _ . ; at most 63 characters');
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
        '--<input-name> flags after the document, or both (flags win). A job file key that is no input\n' +
        'of the document is warned about, with the nearest input name; an unknown flag is an error.',
    )
    .argument('[document]', 'CWL document: a path or URI, optionally with #id to pick a process from a packed file')
    .argument('[job-and-inputs...]', 'a job file (YAML/JSON) and/or --<input-name> <value> flags')
    .option('--outdir <dir>', 'where final outputs go: a directory, or s3://bucket/prefix (uploaded once all are verified; see docs/object-stores.md)', '.')
    .option('--basedir <dir>', 'base directory for relative paths in input flags', '.')
    .option('--tmpdir-prefix <prefix>', 'prefix of the run\'s scratch directory (default: $TMPDIR/strand-)')
    .option('--parallel <n>', 'cores to use at once (default: all cores)', positiveInt)
    .option('--no-container', 'ignore DockerRequirement and run tools from the host PATH')
    .option('--container-runtime <name>', 'podman, docker, or the path of a client (default: $STRAND_CONTAINER_RUNTIME, else podman if it works, else docker)')
    .option('--validate', 'validate the document (fields, versions, workflow links and types), then exit')
    .option('--max-document-size <size>', `largest CWL document, job file or $include file read, e.g. 64MiB (default ${formatBytes(DEFAULT_MAX_DOCUMENT_BYTES).replace(' ', '')})`, byteSize)
    .option(
      '--allow-outside-document',
      "let the document read host files outside its own directory tree: $include, and Files it names in " +
        'defaults, valueFrom, InitialWorkDir and secondaryFiles (refused by default, see docs/security.md; ' +
        'files in the job file or on the command line are always allowed; cwltool has no such check)',
    )
    .option('--allow-include-outside', 'the older name of --allow-outside-document (same effect)')
    .option('--print-dot', 'print the workflow graph in Graphviz dot (steps, scatter, links), then exit')
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
    .option('--eval-timeout <seconds>', 'time limit of each JavaScript expression, as in cwltool (default 20)', positiveSeconds)
    .option('--eval-memory <MB>', 'memory each JavaScript expression may use (default 512)', expressionMemoryMb)
    .optionsGroup('When a task fails:')
    .option(
      '--retries <n>',
      'run a failed task up to n more times, waiting 1s, 2s, 4s... between attempts (default 0, or retry.count in ' +
        "strand.yaml; a tool's strand:TaskRetry hint wins). Retried: a non-zero exit, a time limit, a kill by a signal, " +
        'out of memory; never: permanentFailCodes, exit 126/127, a missing image, a task that could not start (docs/failures.md)',
      retryCount,
    )
    .addOption(
      new Option(
        '--on-error <mode>',
        "stop: cancel the rest of the run at the first failure (default); continue: run every step that does not need the failed one's " +
          'outputs, then fail naming every failure and deliver the outputs that could be computed, as cwltool does',
      ).choices(['stop', 'continue']),
    )
    .optionsGroup('Task cache and resume (docs/caching.md):')
    .option(
      '--resume [run]',
      'continue a failed, cancelled or killed run (default: the latest one) with its document, inputs and ' +
        '--outdir, reusing every task that had finished; any executor (e.g. --executor kubernetes)',
    )
    .addOption(
      new Option('--cache <mode>', 'reuse finished tasks\' results and record new ones (readwrite, the default), only reuse (read), only record (write), or neither (off); $STRAND_CACHE')
        .choices(['readwrite', 'read', 'write', 'off', 'on']),
    )
    .option('--cachedir <dir>', 'where the task cache lives, as in cwltool (default: <store>/cache; on Kubernetes the workspace; $STRAND_CACHE_DIR)')
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
        '  strand run --print-dot workflow.cwl | dot -Tsvg > workflow.svg',
        '  strand run --dry-run workflow.cwl job.yml        # what would run, without running it',
        '  strand run --resume                              # continue the latest failed or killed run',
        '  strand run --resume 20260102-030405-ab12 --executor kubernetes',
        '  strand run --retries 2 --on-error continue wf.cwl job.yml   # retry flaky tasks, run all that can run',
        '  strand run --cache off workflow.cwl job.yml      # run every task, record nothing in the cache',
        '  strand cache list; strand cache clear --unused-for 30d',
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
    .action(async (document: string | undefined, rest: string[], flags: RunFlags, cmd: Command) => {
      const { runCommand } = await import('./run-command.js');
      finish(await runCommand(document, rest, flags, cmd.getOptionValueSource('outdir') === 'cli'));
    });

  program
    .command('list')
    .summary('list recorded runs, newest first')
    .option('--store <dir>', 'run store directory (default: ./.strand, or $STRAND_STORE)')
    .option('-n, --limit <n>', 'how many runs', positiveInt, 20)
    .option('--json', 'print JSON')
    .option('--server [url]', 'list your runs on a lab server instead (default: the server you logged in to first; strand login)')
    .addHelpText('after', '\nExamples:\n  strand list -n 5\n  strand list --server              # your runs on the default lab server\n  strand list --server lab --json\n')
    .action(async (flags: { store?: string; limit: number; json?: boolean; server?: string | boolean }, cmd: Command) => {
      const remote = serverChoice(flags.server);
      if (remote) {
        refuseWithServer(cmd, ['store']);
        const { remoteList } = await import('./server-client/remote-commands.js');
        await remoteList(remote.server, { limit: flags.limit, ...(flags.json ? { json: true } : {}) }, stdio());
        return finish(EXIT.ok);
      }
      const service = await runServiceForReading(flags.store);
      try {
        const runs = await service.list(localPrincipal(), { limit: flags.limit });
        process.stdout.write(flags.json ? JSON.stringify(runs, null, 2) + '\n' : formatRunList(runs) + '\n');
      } finally {
        service.close();
      }
      finish(EXIT.ok);
    });

  program
    .command('show')
    .summary('show one run: steps, task attempts, exit reasons, log paths')
    .argument('<run>', 'run id, or a unique prefix of one')
    .option('--store <dir>', 'run store directory (default: ./.strand, or $STRAND_STORE)')
    .option('--json', 'print JSON: the whole record, every attempt')
    .option('--all', 'list every task attempt (by default the first 50 that succeeded and the first 500 that did not)')
    .option('-w, --watch', 'first a line each time the run changes (status, tasks ok/failed), until it ends (as kubectl get -w)')
    .option('--server [url]', 'show a run of yours on a lab server instead: its state, times, outputs, tasks (default server: the first you logged in to)')
    .addHelpText('after', '\nExamples:\n  strand show 20261123-101500-ab12\n  strand show --watch 2026\n  strand show --server 20261123-101500-ab12        # on the default lab server (strand login)\n  strand show --server lab --json RUN\n')
    .action(async (runRef: string, flags: { store?: string; json?: boolean; all?: boolean; watch?: boolean; server?: string | boolean }, cmd: Command) => {
      const remote = serverChoice(flags.server);
      if (remote) {
        refuseWithServer(cmd, ['store', 'all']);
        const { remoteShow } = await import('./server-client/remote-commands.js');
        const ctl = new AbortController();
        process.once('SIGINT', () => ctl.abort());
        await remoteShow(remote.server, runRef, { ...(flags.json ? { json: true } : {}), ...(flags.watch ? { watch: true } : {}), signal: ctl.signal }, stdio());
        return finish(EXIT.ok);
      }
      const service = await runServiceForReading(flags.store);
      if (flags.watch) {
        const ctl = new AbortController();
        process.once('SIGINT', () => ctl.abort());
        try {
          for await (const run of service.watch(localPrincipal(), runRef, { signal: ctl.signal })) process.stdout.write(formatRunChange(run, new Date()) + '\n');
        } catch (err) {
          service.close();
          throw err;
        }
        if (ctl.signal.aborted) {
          service.close();
          return finish(EXIT.ok);
        }
      }
      // The text shows a window of the attempts: a 100,000-task run is not read whole to print 550 of them.
      const whole = flags.json || flags.all;
      let view;
      try {
        view = await service.get(localPrincipal(), runRef, whole ? {} : { attempts: SHOWN_ATTEMPTS });
      } finally {
        service.close();
      }
      const { run, notes } = view;
      const text = flags.json
        ? JSON.stringify(run, null, 2)
        : formatRunDetail(run, { exists: existsSync, ...(flags.all ? { maxOkAttempts: Infinity } : {}) }) + (notes.length ? '\n\n' + notes.join('\n') : '');
      process.stdout.write(text + '\n');
      finish(EXIT.ok);
    });

  addKubernetesCommands(program, finish);
  addPodIoCommand(program, finish);
  addSubmitCommands(program, finish);
  addUiCommands(program, finish);
  addServerCommand(program, finish);
  addLabCommands(program, finish);
  addCacheCommands(program, finish);
  addLoginCommands(program, finish);
  return program;
}

/** The task attempts `strand show` lists without --all: what went well is summarised after 50. */
const SHOWN_ATTEMPTS = { ok: 50, other: 500 };

/** The run service over the store `dir` names (the local user sees every run of a store it can open). */
async function runServiceForReading(dir: string | undefined): Promise<RunService> {
  const config = resolveConfig({ storeDir: dir });
  if (config.storeDir === false) throw new UsageError('the run store is turned off (STRAND_STORE=off)');
  const { localRunService } = await import('../api/run-service.js');
  return localRunService({ storeDir: config.storeDir });
}


/** `--server RUN` read as the default server and RUN (server-client/server-flag.ts); argv unchanged without --server. */
async function withServerFlagSeparated(argv: string[]): Promise<string[]> {
  if (!argv.includes('--server')) return argv;
  const { separateServerFlag, isServerWord } = await import('./server-client/server-flag.js');
  const { credentialsPath, readCredentials } = await import('./server-client/credentials.js');
  let names: string[] = [];
  try {
    names = readCredentials(credentialsPath()).servers.map((s) => s.name);
  } catch {
    // A file that may not be used is said when the command opens it.
  }
  return separateServerFlag(argv, (w) => isServerWord(w, names));
}

/** Entry point: parse `argv` (without node and script), run, exit with the right code. */
export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  const finish = (code: number) => {
    process.stdout.write('', () => process.exit(code));
  };
  try {
    await buildProgram(finish).parseAsync(await withServerFlagSeparated(argv), { from: 'user' });
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
