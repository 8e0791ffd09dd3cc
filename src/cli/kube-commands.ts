/**
 * Housekeeping commands around the Kubernetes executor: doctor, rbac, clean, logs. The cluster
 * code is imported lazily so `strand --help` stays fast.
 */
import { existsSync } from 'node:fs';
import { access, constants, mkdir } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { resolveConfig } from '../config/config.js';
import { UsageError } from '../errors.js';
import type { ExecutorOptions } from '../executor/executor.js';
import { openRunStore } from '../store/run-store.js';
import { EXIT } from './exit-codes.js';
import { refuseWithServer, serverChoice, stdio } from './server-client/server-flag.js';

interface ClusterFlags {
  config?: string;
  context?: string;
  namespace?: string;
}

async function userConfig(file: string | undefined) {
  const { loadUserConfig } = await import('../config/config-file.js');
  return loadUserConfig(file);
}

async function clusterOptions(flags: ClusterFlags): Promise<ExecutorOptions> {
  const file = await userConfig(flags.config);
  return {
    settings: file?.kubernetes,
    settingsSource: file?.path ?? 'flags',
    overrides: { context: flags.context, namespace: flags.namespace },
  };
}

const withClusterFlags = (c: Command) =>
  c
    .option('--config <file>', 'config file (default: $STRAND_CONFIG, ./strand.yaml, ~/.config/strand/config.yaml)')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .option('--namespace <name>', "namespace (default: the context's namespace, else default)");

export function addKubernetesCommands(program: Command, finish: (code: number) => void): void {
  withClusterFlags(
    program
      .command('doctor')
      .summary('check that runs can work here: cluster, permissions, workspace, quota')
      .description(
        'Check what a run needs and print what to fix. With --executor kubernetes: connectivity,\n' +
          'the namespace, every permission Strand uses (SelfSubjectAccessReview), the workspace claim\n' +
          '(bound? ReadWriteMany?) and where this machine sees it, data claims, ResourceQuota and\n' +
          'LimitRange. In object-store mode (kubernetes.storage: objectStore) instead of the workspace:\n' +
          'the bucket, the credentials Secret of the pods, the helper image and its resources.\n' +
          'Exit 0 when ready, 1 otherwise.',
      )
      .addOption(new Option('--executor <name>', 'which executor to check').choices(['local', 'kubernetes']))
      .option('--service-account <name>', 'service account to suggest in the RBAC fix', 'strand')
      .addHelpText('after', '\nExamples:\n  strand doctor --executor kubernetes\n  strand doctor --executor kubernetes --context lab --namespace genomics\n'),
  ).action(async (flags: ClusterFlags & { executor?: string; serviceAccount: string }) => {
    const file = await userConfig(flags.config);
    const executor = flags.executor ?? file?.executor ?? 'local';
    if (executor === 'local') {
      const config = resolveConfig({});
      const store = config.storeDir;
      if (store !== false) {
        await mkdir(store, { recursive: true });
        await access(store, constants.W_OK);
      }
      process.stdout.write(
        `✓ local executor: nothing to set up (tasks run as host processes, ${config.parallel} cores)\n` +
          `✓ run store: ${store === false ? 'off (STRAND_STORE=off)' : `${store} is writable`}\n`,
      );
      return finish(EXIT.ok);
    }
    const { openKubeSession } = await import('../executor/kubernetes/session.js');
    const { runDoctor, formatDoctorReport } = await import('../executor/kubernetes/doctor.js');
    const s = openKubeSession(await clusterOptions(flags));
    // Object-store mode: the bucket, reached as a run reaches it from here (storage.s3 of the config file).
    let bucketCheck: (() => Promise<void>) | undefined;
    if (s.settings.objectStore && file?.storage?.s3) {
      const { S3Store } = await import('../storage/index.js');
      const bucket = s.settings.objectStore.bucket;
      const s3 = new S3Store(file.storage.s3);
      bucketCheck = () => s3.checkBucket(bucket).finally(() => s3.close());
    }
    const report = await runDoctor(s.api, s.settings, { serviceAccountHint: flags.serviceAccount, ...(bucketCheck ? { bucketCheck } : {}) });
    process.stdout.write(formatDoctorReport(report) + '\n');
    finish(report.ok ? EXIT.ok : EXIT.failed);
  });

  program
    .command('rbac')
    .summary('print the minimal Role and RoleBinding Strand needs')
    .description('Print YAML for a Role with exactly the permissions Strand uses and a RoleBinding to service accounts, users or groups.')
    .requiredOption('--namespace <name>', 'namespace the Role is for')
    .option('--service-account <name>', 'service account to bind (Strand in a pod, or a CI token); repeatable', collect, [])
    .option('--user <name>', 'user to bind (a lab member with their own namespace); repeatable', collect, [])
    .option('--group <name>', 'group to bind; repeatable', collect, [])
    .option('--name <name>', 'name of the Role and RoleBinding', 'strand')
    .option('--nodes', 'also the optional cluster-wide right to read nodes (a ClusterRole; for a cluster administrator to apply): a task too big for any node then fails at once instead of waiting')
    .option('--server', "instead: the lab server's own rights (strand server), for its ServiceAccount in --namespace (default strand-server), and the members' ClusterRole")
    .option('--preprovisioned', 'with --server: members\' namespaces are made by an administrator, so the server creates and binds nothing')
    .option('--one-namespace', 'with --server: every member\'s runs in --namespace itself; Roles only, no ClusterRole')
    .addHelpText(
      'after',
      [
        '',
        'At least one of --service-account, --user, --group (but for --server).',
        'Examples:',
        '  strand rbac --namespace genomics --service-account strand | kubectl apply -f -',
        '  strand rbac --namespace alice --user alice | kubectl apply -f -',
        '  strand rbac --server --namespace strand-system | kubectl apply -f -      # the lab server (docs/lab-server.md)',
        '',
      ].join('\n'),
    )
    .action(async (flags: { namespace: string; serviceAccount: string[]; user: string[]; group: string[]; name: string; nodes?: boolean; server?: boolean; preprovisioned?: boolean; oneNamespace?: boolean }) => {
      if (flags.server) {
        const { serverRbacYaml, oneNamespaceRbacYaml } = await import('../server/members/server-rbac.js');
        const sa = flags.serviceAccount[0];
        process.stdout.write(
          flags.oneNamespace
            ? oneNamespaceRbacYaml({ namespace: flags.namespace, ...(sa ? { serviceAccount: sa } : {}) })
            : serverRbacYaml({ namespace: flags.namespace, ...(sa ? { serviceAccount: sa } : {}), mode: flags.preprovisioned ? 'preprovisioned' : 'provision' }),
        );
        return finish(EXIT.ok);
      }
      if (flags.preprovisioned || flags.oneNamespace) {
        process.stderr.write('strand rbac: --preprovisioned and --one-namespace go with --server\n');
        return finish(EXIT.usage);
      }
      if (flags.serviceAccount.length + flags.user.length + flags.group.length === 0) {
        process.stderr.write('strand rbac: name who to bind: --service-account, --user or --group\n');
        return finish(EXIT.usage);
      }
      const { rbacManifests } = await import('../cluster/rbac.js');
      process.stdout.write(
        rbacManifests({ namespace: flags.namespace, serviceAccounts: flags.serviceAccount, users: flags.user, groups: flags.group, name: flags.name, nodes: flags.nodes === true }),
      );
      finish(EXIT.ok);
    });

  withClusterFlags(
    program
      .command('clean')
      .summary("delete what Strand left of runs that are over: Jobs, pods, anchors, workspace folders")
      .description(
        [
          'Delete Jobs (with their pods, foreground propagation) and run anchors that',
          'Strand left in the namespace, chosen by label: a run, an owner, and/or only',
          'finished Jobs. At least one filter is needed.',
          '',
          'Then what Strand made for those runs outside the cluster, once a run is over',
          '(its process gone, on this host; its leader Job finished or deleted, for',
          'strand submit; else no heartbeat for 10 minutes):',
          '  - on the workspace (kubernetes.workspace.localPath): task directories',
          '    (runs/strand-*), input copies (.strand-staged/<run>), a submitted run\'s',
          '    folder (strand-submit/<run>) except out/, its outputs;',
          '  - in object-store mode: the run\'s objects (<location>/runs/<run>/) and',
          '    its task directories on this machine.',
          'Only folders and prefixes holding the marker Strand wrote for them',
          '(.strand-run.json, strand-run.json) are removed, never by name alone. Links',
          'inside are removed, never followed. The task cache (runs/task-cache), the',
          'outputs and anything else stay. A run still going keeps its files.',
          '--dry-run lists what would go, and what stays and why.',
        ].join('\n'),
      )
      .option('--run <id>', 'one run')
      .option('--owner <name>', 'everything of one owner (strand.dev/owner)')
      .option('--finished', 'only Jobs that have finished, and the folders of runs that are over')
      .option('--dry-run', 'list what would be deleted (and what is kept, and why)')
      .option('--store <dir>', "run store that records submitted runs (default: ./.strand, or $STRAND_STORE): a finished leader Job goes only once its run's end is recorded there")
      .addHelpText('after', '\nExamples:\n  strand clean --run 20261123-101500-ab12\n  strand clean --owner alice --finished\n  strand clean --finished --dry-run\n'),
  ).action(async (flags: ClusterFlags & { run?: string; owner?: string; finished?: boolean; dryRun?: boolean; store?: string }) => {
    if (flags.run === undefined && flags.owner === undefined && !flags.finished) {
      throw new UsageError('strand clean needs --run, --owner or --finished (it never deletes everything by default)');
    }
    const { openKubeSession } = await import('../executor/kubernetes/session.js');
    const { cleanRuns } = await import('../executor/kubernetes/cleanup.js');
    const file = await userConfig(flags.config);
    const s = openKubeSession({ settings: file?.kubernetes, settingsSource: file?.path ?? 'flags', overrides: { context: flags.context, namespace: flags.namespace } });
    const filter = { ...(flags.run !== undefined ? { runId: flags.run } : {}), ...(flags.owner !== undefined ? { owner: flags.owner } : {}) };
    const r = await cleanRuns(s.api, s.namespace, { ...filter, finished: flags.finished ?? false }, { dryRun: flags.dryRun ?? false });
    const verb = flags.dryRun ? 'would delete' : 'deleted';
    for (const j of r.jobs) process.stdout.write(`${verb} job/${j}\n`);
    for (const a of r.anchors) process.stdout.write(`${verb} configmap/${a}\n`);
    const { cleanLeaderJobs } = await import('../executor/kubernetes/cleanup.js');
    const leaders = await cleanLeaderJobs(s.api, s.namespace, filter, recordedIn(flags.store), { dryRun: flags.dryRun ?? false });
    for (const j of leaders.deleted) process.stdout.write(`${verb} job/${j} (a submitted run's leader, finished; its end is in the run store)\n`);
    for (const k of leaders.kept) process.stdout.write(`kept job/${k.job}: ${k.why}\n`);
    const { dirs, objects } = await cleanRunFiles(s, file, filter, flags.dryRun ?? false);
    for (const d of dirs) {
      const except = d.kept.length ? ` (keeping ${d.kept.map((k) => `${k}/`).join(', ')}: the run's outputs)` : '';
      process.stdout.write(d.remove ? `${verb} dir/${d.dir}${except}: run ${d.runId} is over (${d.why})\n` : `kept dir/${d.dir}: run ${d.runId} goes on (${d.why})\n`);
    }
    for (const o of objects) {
      process.stdout.write(o.remove ? `${verb} ${o.where} (${o.keys.length} objects): run ${o.runId} is over (${o.why})\n` : `kept ${o.where}: run ${o.runId} goes on (${o.why})\n`);
    }
    const n = dirs.filter((d) => d.remove).length;
    const bucket = s.settings.objectStore ? ` and ${objects.filter((o) => o.remove).length} run(s) in the bucket` : '';
    process.stdout.write(`${verb} ${r.jobs.length + leaders.deleted.length} Job(s) and ${r.anchors.length} run anchor(s) in namespace ${s.namespace}, ${n} run folder(s)${bucket}\n`);
    finish(EXIT.ok);
  });

  program
    .command('logs')
    .summary("print a run's task logs (-f follows running tasks on the cluster)")
    .description(
      "Print the stdout/stderr logs of a run's tasks, from the run store's log files. With -f, or while a\n" +
        'Kubernetes run is still going, stream the logs of its pods instead (each line prefixed by its task).\n' +
        "A submitted run (strand submit): the leader pod's log (-f follows it, across leader restarts), or with\n" +
        "a step, the logs of that step's task pods.",
    )
    .argument('<run>', 'run id, or a unique prefix of one')
    .argument('[step]', 'only tasks of this step path (e.g. main/call_variants)')
    .option('-f, --follow', 'follow the logs of running tasks')
    .option('--store <dir>', 'run store directory (default: ./.strand, or $STRAND_STORE)')
    .option('--tail <n>', 'only the last n lines of each log', (v) => Number(v))
    .option('--server [url]', "a run of yours on a lab server instead: its log from the server (-f: read again until the run ends)")
    .addHelpText('after', '\nExamples:\n  strand logs 20261123-101500-ab12\n  strand logs 2026 main/call_variants -f\n  strand logs --server 20261123-101500-ab12 -f      # on the default lab server (strand login)\n')
    .action(async (runRef: string, step: string | undefined, flags: { follow?: boolean; store?: string; tail?: number; server?: string | boolean }, cmd: Command) => {
      const remote = serverChoice(flags.server);
      if (remote) {
        refuseWithServer(cmd, ['store', 'tail']);
        if (step !== undefined) throw new UsageError('strand logs --server prints the whole run\'s log: a step cannot be picked over WES yet');
        const { remoteLogs } = await import('./server-client/remote-commands.js');
        const ctl = new AbortController();
        process.once('SIGINT', () => ctl.abort());
        await remoteLogs(
          remote.server,
          runRef,
          { follow: flags.follow ?? false, signal: ctl.signal, write: (chunk) => new Promise<void>((resolve) => (process.stdout.write(chunk) ? resolve() : process.stdout.once('drain', () => resolve()))) },
          stdio(),
        );
        return finish(EXIT.ok);
      }
      const config = resolveConfig({ storeDir: flags.store });
      if (config.storeDir === false) throw new UsageError('the run store is turned off (STRAND_STORE=off)');
      const { localRunService } = await import('../api/run-service.js');
      const { localPrincipal } = await import('../api/principal.js');
      const service = localRunService({ storeDir: config.storeDir });
      const ctl = new AbortController();
      process.once('SIGINT', () => ctl.abort());
      let said: string[];
      try {
        ({ said } = await service.logs(localPrincipal(), runRef, process.stdout, { ...(step !== undefined ? { step } : {}), follow: flags.follow ?? false, signal: ctl.signal, ...(flags.tail !== undefined ? { tail: flags.tail } : {}) }));
      } finally {
        service.close();
      }
      for (const line of said) process.stderr.write(line + '\n');
      finish(EXIT.ok);
    });
}

/**
 * What `strand clean` removes besides Kubernetes objects: the run folders Strand made on the
 * workspace (or the object-store mode's local work root), and in object-store mode the runs'
 * objects in the bucket (reached with the config file's storage.s3, as a run reaches it).
 */
async function cleanRunFiles(
  s: { api: import('../cluster/kube-api.js').KubeApi; namespace: string; settings: import('../executor/kubernetes/settings.js').KubernetesSettings },
  file: Awaited<ReturnType<typeof userConfig>>,
  filter: { runId?: string; owner?: string },
  dryRun: boolean,
) {
  const { cleanRunDirs, clusterProbe, workspaceRunParents } = await import('../executor/kubernetes/workspace-clean.js');
  const parents: string[] = [];
  if (s.settings.objectStore) parents.push((await import('../executor/kubernetes/object-store-mode/mode.js')).localWorkRoot());
  else if (s.settings.workspace) {
    if (!existsSync(s.settings.workspace.localPath)) {
      process.stderr.write(`the workspace ${s.settings.workspace.localPath} is not seen from this machine: its run folders were not looked at\n`);
    } else parents.push(...workspaceRunParents(s.settings.workspace.localPath));
  }
  const dirs = await cleanRunDirs(s.api, s.namespace, parents, filter, { dryRun });
  if (!s.settings.objectStore) return { dirs, objects: [] };
  const { S3Store } = await import('../storage/index.js');
  const { cleanBucketRuns } = await import('../executor/kubernetes/object-store-mode/bucket-runs.js');
  const store = new S3Store(file?.storage?.s3 ?? {});
  try {
    const objects = await cleanBucketRuns(store, s.settings.objectStore, filter, await clusterProbe(s.api, s.namespace), { dryRun });
    return { dirs, objects };
  } finally {
    store.close();
  }
}

/**
 * Whether a submitted run's end is kept in the local run store (then its finished leader Job, and
 * the status ConfigMap it owns, may go): undefined when it is, else why not.
 */
function recordedIn(storeFlag: string | undefined): (runId: string) => string | undefined {
  const config = resolveConfig({ storeDir: storeFlag });
  return (runId) => {
    const hint = `strand show ${runId} records it (from where it was submitted), or kubectl delete job strand-leader-${runId}`;
    if (config.storeDir === false || !existsSync(config.storeDir)) return `no run store here records run ${runId}'s end: ${hint}`;
    const store = openRunStore(config.storeDir);
    try {
      const run = store.getRun(runId);
      if (!run || run.id !== runId) return `run ${runId} is not in the run store ${config.storeDir}: ${hint}`;
      if (run.status === 'running') return `run ${runId}'s end is not recorded in ${config.storeDir} yet: ${hint}`;
      return undefined;
    } finally {
      store.close();
    }
  };
}

/** Commander option collector for repeatable flags. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
