/**
 * `strand submit` (run the Strand process itself as a Job in the cluster), `strand cancel`, and the
 * hidden `strand leader` that the submitted Job runs. The cluster code is imported lazily.
 * See docs/leader-in-cluster.md.
 */
import { RUN_ID_PATTERN } from '../../api/run-id.js';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { resolveConfig } from '../../config/config.js';
import { isRetryCount, MAX_RETRIES } from '../../config/retry-settings.js';
import { UsageError } from '../../errors.js';
import type { CwlObject } from '../../model/types.js';
import { redactUrls } from '../../storage/redact-url.js';
import { EXIT } from '../exit-codes.js';
import { kubernetesOverrides, type KubernetesRunFlags } from '../executor-flags.js';
import { missingInputsError, missingRequiredInputs } from '../input-flags.js';
import { refuseWithServer, serverChoice, stdio } from '../server-client/server-flag.js';

const version = (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The image `strand submit` uses without --image: what scripts/strand-image.sh and the Dockerfile tag. */
export const DEFAULT_IMAGE = `localhost/strand:${version}`;

interface SubmitFlags extends KubernetesRunFlags {
  outdir?: string;
  runId?: string;
  store?: string;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  serviceAccount: string;
  setupRbac?: boolean;
  leaderCpu: string;
  leaderMemory: string;
  leaderRestarts: number;
  runAsUser?: number;
  bundleLimit: number;
  cache?: 'off' | 'read' | 'write' | 'readwrite' | 'on';
  retries?: number;
  onError?: 'stop' | 'continue';
  /** false with --no-container. */
  container?: boolean;
  quiet?: boolean;
  server?: string | boolean;
  /** With --server: wait for the end, print the outputs (cwl-runner). */
  wait?: boolean;
}

/** Options of strand submit that a lab server decides itself (refused with --server). */
const LOCAL_SUBMIT_ONLY = [
  'outdir', 'runId', 'store', 'config', 'context', 'namespace', 'maxParallel', 'pendingTimeout', 'maxMemory', 'owner', 'container',
  'image', 'imagePullPolicy', 'serviceAccount', 'setupRbac', 'leaderCpu', 'leaderMemory', 'leaderRestarts', 'runAsUser', 'bundleLimit',
];

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
};
const retryCount = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !isRetryCount(n)) throw new InvalidArgumentError(`expected a whole number from 0 to ${MAX_RETRIES}`);
  return n;
};
const wholeNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};
const duration = (v: string) => {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('expected a duration like 600, 90s, 10m or 2h');
  return Math.max(1, Math.round(Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1)));
};
const runIdArg = (v: string) => {
  if (!RUN_ID_PATTERN.test(v)) throw new InvalidArgumentError('letters, digits, - _ . ; at most 63 characters');
  return v;
};

export function addSubmitCommands(program: Command, finish: (code: number) => void): void {
  program
    .command('submit')
    .summary('run a workflow with Strand itself in the cluster (a Job), detached from this machine')
    .description(
      [
        'Run a CWL workflow with the leader inside the Kubernetes cluster: the Strand',
        'process itself runs as a Job (strand-leader-<run>) from the Strand image, with',
        'a ServiceAccount and in-cluster configuration, and starts the tasks as Jobs of',
        'their own. This machine only submits: Ctrl-C, closing the laptop or losing the',
        'network do not stop the run. If the leader pod dies, its Job starts another,',
        'which adopts the task Jobs still there (no task runs twice).',
        '',
        "What travels with the run (a ConfigMap): the workflow's files and the input",
        'files not on the workspace, up to --bundle-limit in all; the job itself (its',
        'URLs may carry credentials) in a Secret the leader pod alone mounts. Inputs on the',
        'workspace (under kubernetes.workspace.localPath) or on a data volume are used',
        'in place; larger ones must be put there. Outputs go to --outdir on the',
        'workspace (default <workspace>/strand-submit/<run>/out).',
        '',
        'Without a workspace (kubernetes.storage: objectStore): inputs are s3:// objects',
        'or small local files, outputs go to --outdir s3://bucket/prefix (default beside',
        "the run's files in the bucket), and the leader gets the bucket's credentials",
        'from the objectStore credentialsSecret, by reference.',
        '',
        'Needs, in the namespace: the settings `strand run --executor kubernetes` uses',
        '(a workspace claim, or objectStore), the Strand image (--image), and a',
        'ServiceAccount (--service-account, default strand) bound to the Role that',
        '`strand rbac` prints;',
        '--setup-rbac creates them (if you may manage RBAC there).',
        '',
        'Prints the run id on stdout. Follow with `strand show RUN` and',
        '`strand logs RUN -f`; cancel with `strand cancel RUN` (or kubectl delete job',
        'strand-leader-<run>: every task Job goes with it).',
        '',
        'With --server (a lab server, strand server; sign in first with strand login):',
        'the run is sent to the server over GA4GH WES instead, and the server makes the',
        'leader Job in your namespace there. The workflow\'s files and the local files the',
        'job names are attached (keeping their layout, named relative to the directory',
        'that holds them all), within the limits of the server (its service-info);',
        's3:// and https:// inputs are left for the run to fetch. --cache, --retries and',
        '--on-error are passed on; the cluster options are the server\'s to decide.',
      ].join('\n'),
    )
    .argument('<document>', 'CWL document: a path, optionally with #id to pick a process from a packed file')
    .argument('[job]', 'job file (YAML/JSON)')
    .option('--outdir <dir>', 'where outputs go: a directory on the workspace (as this machine or pods see it), or s3://bucket/prefix without one')
    .option('--run-id <id>', 'name the run (default: a new id)', runIdArg)
    .option('--store <dir>', 'run store directory that records the submission (default: ./.strand, or $STRAND_STORE)')
    .option('--config <file>', 'config file (default: $STRAND_CONFIG, ./strand.yaml, ~/.config/strand/config.yaml)')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .option('--namespace <name>', "namespace (default: the context's namespace, else default)")
    .option('--max-parallel <n>', 'task Jobs in flight at once (default 32)', positiveInt)
    .option('--pending-timeout <duration>', 'fail a task whose pod stays unschedulable this long, e.g. 10m', duration)
    .option('--max-memory <quantity>', 'OOM-killed tasks retry with doubled memory up to this (default 64Gi)')
    .option('--owner <name>', 'strand.dev/owner label on the Jobs (default: your user name)')
    .addOption(
      new Option('--cache <mode>', "the task cache on the workspace, as for strand run: readwrite (the default), read, write or off; $STRAND_CACHE (docs/caching.md)")
        .choices(['readwrite', 'read', 'write', 'off', 'on']),
    )
    .option('--retries <n>', 'run a failed task up to n more times, as for strand run (docs/failures.md)', retryCount)
    .addOption(new Option('--on-error <mode>', 'stop (default) or continue: run every step that does not need a failed one, as for strand run').choices(['stop', 'continue']))
    .option('--no-container', 'ignore DockerRequirement: every task runs in kubernetes.defaultImage, as for strand run (or noContainer: true in strand.yaml)')
    .optionsGroup('The leader:')
    .option('--image <ref>', 'the Strand image (see the Dockerfile, scripts/strand-image.sh)', DEFAULT_IMAGE)
    .addOption(new Option('--image-pull-policy <policy>', 'of the leader pod (default: the cluster\'s)').choices(['Always', 'IfNotPresent', 'Never']))
    .option('--service-account <name>', 'ServiceAccount of the leader pod', 'strand')
    .option('--setup-rbac', 'create the ServiceAccount and the Role/RoleBinding of `strand rbac` if missing')
    .option('--leader-cpu <quantity>', 'CPU request of the leader pod', '250m')
    .option('--leader-memory <quantity>', 'memory request and limit of the leader pod', '512Mi')
    .option('--leader-restarts <n>', 'leader pods the Job may start again after one dies', wholeNumber, 4)
    .option('--run-as-user <uid>', 'user id of the leader pod (it must be able to write the workspace; default: the image\'s, 10001)', wholeNumber)
    .option('--bundle-limit <bytes>', 'bytes of input files that may travel with the run', positiveInt, 512 * 1024)
    .option('--quiet', 'print only the run id')
    .optionsGroup('A lab server:')
    .option('--server [url]', 'send the run to a lab server over WES (default: the server you logged in to first; strand login)')
    .option('--wait', 'with --server: wait for the run to end and print its output object, as cwl-runner does (exit 0 if it completed, else 1)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  strand submit --setup-rbac examples/hello/wordcount.cwl examples/hello/job.yml',
        '  strand submit --namespace lab --image registry.example.org/strand:0.1.0 wf.cwl job.yml',
        '  strand show RUN            # state as the leader publishes it (steps, tasks done/total)',
        '  strand logs RUN -f         # the leader\'s log, followed across leader restarts',
        '  strand logs RUN main/step  # task logs of one step, from the cluster',
        '  strand cancel RUN          # delete the leader Job and with it every task Job',
        '  strand submit --server wf.cwl job.yml              # to the default lab server (strand login)',
        '  strand submit --server lab --retries 2 wf.cwl job.yml',
        '  strand submit --server --wait wf.cwl job.yml > outputs.json   # as a cwl-runner',
        '  strand show --server RUN; strand logs --server RUN -f; strand cancel --server RUN',
        '',
        'See docs/leader-in-cluster.md.',
      ].join('\n'),
    )
    .action(async (document: string, jobFile: string | undefined, flags: SubmitFlags, cmd: Command) => {
      const remote = serverChoice(flags.server);
      if (remote) {
        refuseWithServer(cmd, LOCAL_SUBMIT_ONLY);
        const { remoteSubmit } = await import('../server-client/remote-commands.js');
        const submitted = await remoteSubmit(
          remote.server,
          {
            document,
            ...(jobFile !== undefined ? { jobFile } : {}),
            ...(flags.cache !== undefined ? { cache: flags.cache } : {}),
            ...(flags.retries !== undefined ? { retries: flags.retries } : {}),
            ...(flags.onError !== undefined ? { onError: flags.onError } : {}),
            ...(flags.quiet ? { quiet: true } : {}),
            ...(flags.wait ? { wait: true, signal: interruptSignal() } : {}),
          },
          stdio(),
        );
        return finish(submitted.exitCode ?? EXIT.ok);
      }
      if (flags.wait) throw new UsageError('--wait goes with --server (a submitted run is followed with strand show --watch RUN)');
      finish(await submitCommand(document, jobFile, flags));
    });

  program
    .command('cancel')
    .summary('cancel a submitted run (deletes its leader Job and so its task Jobs)')
    .argument('<run>', 'run id, or a unique prefix of one')
    .option('--store <dir>', 'run store directory (default: ./.strand, or $STRAND_STORE)')
    .option('--server [url]', 'cancel a run of yours on a lab server instead (default: the server you logged in to first)')
    .addHelpText('after', '\nExamples:\n  strand cancel 20261123-101500-ab12\n  strand cancel --server 20261123-101500-ab12      # on the default lab server\n')
    .action(async (runRef: string, flags: { store?: string; server?: string | boolean }, cmd: Command) => {
      const remote = serverChoice(flags.server);
      if (remote) {
        refuseWithServer(cmd, ['store']);
        const { remoteCancel } = await import('../server-client/remote-commands.js');
        await remoteCancel(remote.server, runRef, stdio());
        return finish(EXIT.ok);
      }
      const { localRunService } = await import('../../api/run-service.js');
      const { localPrincipal } = await import('../../api/principal.js');
      const service = localRunService({ storeDir: storeDirFor(flags.store) });
      try {
        const { said } = await service.cancel(localPrincipal(), runRef);
        process.stderr.write(said + '\n');
      } finally {
        service.close();
      }
      finish(EXIT.ok);
    });

  program
    .command('leader', { hidden: true })
    .description('the Strand process of a submitted run, in its leader pod (started by strand submit)')
    .option('--bundle <dir>', 'where the bundle ConfigMap is mounted')
    .action(async (flags: { bundle?: string }) => {
      finish(await leaderCommand(flags.bundle));
    });
}

function storeDirFor(dir: string | undefined): string {
  const config = resolveConfig({ storeDir: dir });
  if (config.storeDir === false) throw new UsageError('the run store is turned off (STRAND_STORE=off)');
  return config.storeDir;
}

async function submitCommand(document: string, jobFile: string | undefined, flags: SubmitFlags): Promise<number> {
  const { loadUserConfig } = await import('../../config/config-file.js');
  const { loadDocument, readJobFile } = await import('../../loader/index.js');
  const { unknownJobKeyWarnings } = await import('../unknown-job-keys.js');
  const config = loadUserConfig(flags.config);
  const storeDir = storeDirFor(flags.store);

  // The document (validated here, so a broken workflow never reaches the cluster) and its files.
  const used = new Set<string>();
  const process_ = await loadDocument(document, { files: used, onWarning: (m) => process.stderr.write(`[strand] warning: ${m}\n`) });
  const hash = document.lastIndexOf('#');
  const mainFile = path.resolve(hash > 0 ? document.slice(0, hash) : document);
  const jobRead = jobFile ? await readJobFile(jobFile) : undefined;
  for (const w of jobRead ? unknownJobKeyWarnings(process_, jobRead) : []) process.stderr.write(`[strand] warning: ${w}\n`);
  const inputs: CwlObject = jobRead?.inputs ?? {};
  const missing = missingRequiredInputs(process_, inputs);
  if (missing.length) throw missingInputsError(missing, document);

  const say = (m: string) => {
    if (!flags.quiet) process.stderr.write(`${redactUrls(m)}\n`);
  };
  const { localRunService } = await import('../../api/run-service.js');
  const { localPrincipal } = await import('../../api/principal.js');
  const service = localRunService({ storeDir });
  const run = await service.submit(
    localPrincipal(),
    {
      document,
      process: process_,
      documentFiles: [mainFile, ...[...used].filter((f) => f !== mainFile)],
      inputs,
      ...(jobFile ? { jobPath: jobFile } : {}),
      ...(flags.outdir !== undefined ? { outdir: flags.outdir } : {}),
      ...(flags.runId ? { runId: flags.runId } : {}),
      ...(config ? { config } : {}),
      overrides: kubernetesOverrides(flags),
      leader: {
        image: flags.image,
        ...(flags.imagePullPolicy ? { imagePullPolicy: flags.imagePullPolicy } : {}),
        serviceAccount: flags.serviceAccount,
        ...(flags.setupRbac ? { setupRbac: true } : {}),
        cpu: flags.leaderCpu,
        memory: flags.leaderMemory,
        restarts: flags.leaderRestarts,
        ...(flags.runAsUser !== undefined ? { runAsUser: flags.runAsUser } : {}),
      },
      bundleLimit: flags.bundleLimit,
      run: { cache: flags.cache, retries: flags.retries, onError: flags.onError, ...(flags.container === false ? { noContainer: true } : {}) },
      cwd: process.cwd(),
    },
    { info: (m) => say(`[strand] ${m}`), warn: (m) => process.stderr.write(`[strand] warning: ${redactUrls(m)}\n`) },
  ).finally(() => service.close());
  process.stdout.write(`${run.runId}\n`);
  say(
    [
      `[strand] submitted run ${run.runId} to namespace ${run.namespace}: job/${run.job} (image ${run.image}, service account ${run.serviceAccount})`,
      `[strand]   packed ${run.packedFiles} file(s), ${run.packedBytes} bytes${run.inPlace ? `; used in place: ${run.inPlace} input(s)` : ''}`,
      `[strand]   outputs: ${run.outdir}${run.outdir !== run.outdirInPods ? ` (pods: ${run.outdirInPods})` : ''}`,
      `[strand]   follow:  strand show ${run.runId}   |   strand logs ${run.runId} -f`,
      `[strand]   cancel:  strand cancel ${run.runId}   (or kubectl -n ${run.namespace} delete job ${run.job})`,
      '[strand] the run goes on without this machine: Ctrl-C here or closing it does not stop it',
    ].join('\n'),
  );
  return EXIT.ok;
}

async function leaderCommand(bundle: string | undefined): Promise<number> {
  const { BUNDLE_MOUNT, PLAN_KEY, LEADER_ENV, JOB_MOUNT, JOB_KEY } = await import('../../cluster/leader-manifests.js');
  const mount = bundle ?? BUNDLE_MOUNT;
  const { jobFileOf, readPlan, runLeader } = await import('../../api/submitted/leader-run.js');
  const plan = readPlan(mount, PLAN_KEY);
  const namespace = process.env[LEADER_ENV.namespace];
  if (!namespace) throw new UsageError(`${LEADER_ENV.namespace} is not set: strand leader runs in the pod strand submit makes`);
  // Pod deletion: stop this process only. The task Jobs stay; the next leader pod adopts them.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      process.stderr.write(`[strand] ${sig}: the leader stops; the run's task Jobs stay, and the next leader pod of job/${process.env[LEADER_ENV.jobName] ?? '?'} adopts them\n`);
      process.exit(143);
    });
  }
  // The cache key Secret's file is 0444 in this pod (the image's user could not read 0400): use a 0600 copy.
  const { CACHE_KEY_MOUNT, CACHE_KEY_ITEM } = await import('../../cluster/leader-manifests.js');
  if (process.env.STRAND_CACHE_KEY_FILE === path.join(CACHE_KEY_MOUNT, CACHE_KEY_ITEM)) {
    const { privateKeyCopy } = await import('../../api/submitted/leader-key.js');
    const copy = await privateKeyCopy(process.env.STRAND_CACHE_KEY_FILE, os.tmpdir());
    if (copy) process.env.STRAND_CACHE_KEY_FILE = copy;
  }
  const { openKubeSession } = await import('../../executor/kubernetes/session.js');
  const { StatusPublisher } = await import('../../cluster/leader-api.js');
  const session = openKubeSession({ settings: plan.kubernetes, settingsSource: 'the run plan', overrides: { namespace } });
  const conn = session.api.conn;
  process.stderr.write(`[strand] cluster ${conn.server} (${conn.inCluster ? 'in-cluster service account' : `context ${conn.context}`}), namespace ${namespace}\n`);
  const publisher = new StatusPublisher(session.api, namespace, plan.runId, plan.publishIntervalMs, (m) => process.stderr.write(`[strand] warning: ${m}\n`));
  // Any end of the run is the leader's success (the run's status is in what it published): only a
  // leader that could not finish its work exits non-zero, so that its Job starts another.
  await runLeader(
    plan,
    mount,
    {
      namespace,
      ...(process.env[LEADER_ENV.jobName] ? { jobName: process.env[LEADER_ENV.jobName] } : {}),
      ...(process.env[LEADER_ENV.jobUid] ? { jobUid: process.env[LEADER_ENV.jobUid] } : {}),
      ...(process.env[LEADER_ENV.pod] ? { pod: process.env[LEADER_ENV.pod] } : {}),
    },
    publisher,
    (bundleDir) => jobFileOf(plan, bundleDir, JOB_MOUNT, JOB_KEY),
  );
  return EXIT.ok;
}

/** Aborted at the first Ctrl-C (or SIGTERM): a wait stops, the run on the server goes on. */
function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort());
  return ac.signal;
}
