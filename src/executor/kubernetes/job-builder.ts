/**
 * TaskSpec -> batch/v1 Job, as a pure function (no I/O).
 *
 * The Job runs the task's argv through `/bin/sh -c` (never the image's entrypoint): the script
 * changes to the working directory and `exec`s the argv with the CWL stdin/stdout/stderr
 * redirections, so the files named by `stdout:`/`stderr:` exist even when empty. Paths in argv,
 * env, workDir and the redirections are translated to the pod's view by `ctx.paths`.
 *
 * Kubernetes expands `$(VAR)` in `command`, `args` and env values; every `$` that could start
 * such a reference (or the `$$` escape) is doubled, so the task sees exactly its own strings.
 */
import type {
  V1Container,
  V1EnvVar,
  V1Job,
  V1PodSecurityContext,
  V1PodSpec,
  V1ResourceRequirements,
  V1Toleration,
} from '@kubernetes/client-node';
import { InputError, UsageError } from '../../errors.js';
import type { TaskSpec } from '../executor.js';
import { ANNOTATIONS, LABELS, MANAGED_BY, jobName, labelValue } from '../../cluster/names.js';
import type { PathMap } from './path-map.js';
import { quantityToMiB, type KubernetesSettings } from './settings.js';
import { isUnder, taskMounts } from './storage-mounts.js';

export interface JobBuildContext {
  settings: KubernetesSettings;
  namespace: string;
  /** ownerReference target (a v1 ConfigMap). */
  anchor: { name: string; uid: string };
  /** Host -> pod paths (already includes staged inputs). */
  paths: PathMap;
  /** Override of spec.resources.ramMiB (OOM retries double it). */
  memoryMiB?: number;
  /** Executor attempt (goes into the name and labels). */
  attempt: number;
  /** Host directory in the workspace where unredirected stdout/stderr are also written (as stdout.log/stderr.log). */
  logDir?: string;
  /** Inputs that are symbolic links -> what to show in their place (InputStager.resolveLinks). */
  links?: ReadonlyMap<string, string>;
  /** Where links in the task's own directory point (InputStager.linkTargetsIn). */
  linkedFromWorkDir?: ReadonlySet<string>;
}

/** A path the task needs that no volume of the pod shows. */
export class InvisiblePathError extends InputError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** The container's name in every task pod. */
export const TASK_CONTAINER = 'task';


/** Single-quoted for POSIX sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Protects `s` from Kubernetes' `$(VAR)` expansion (`$$` is the escape for `$`). */
export function escapeKubeVars(s: string): string {
  return s.replace(/\$(?=[$(])/g, '$$$$');
}

function cpuQuantity(cores: number): string {
  const milli = Math.max(1, Math.ceil(cores * 1000 - 1e-9));
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

function mebibytes(mib: number): string {
  return `${Math.max(1, Math.ceil(mib - 1e-9))}Mi`;
}

/** MiB of the task's memory its tmpdir takes when scratch is memory-backed (else 0). */
export function memoryScratchMiB(tmpdirMiB: number, settings: Pick<KubernetesSettings, 'scratch'>): number {
  if (settings.scratch?.medium !== 'Memory') return 0;
  const limit = settings.scratch.sizeLimit !== undefined ? quantityToMiB(settings.scratch.sizeLimit) : undefined;
  return limit ?? tmpdirMiB;
}

export function resourcesFor(spec: TaskSpec, ctx: Pick<JobBuildContext, 'memoryMiB' | 'settings'>): V1ResourceRequirements {
  const r = spec.resources;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (r.cores > 0) requests['cpu'] = cpuQuantity(r.cores);
  if (r.coresMax !== undefined && r.coresMax > 0) limits['cpu'] = cpuQuantity(Math.max(r.coresMax, r.cores));

  // A memory-backed scratch (scratch.medium: Memory) holds runtime.tmpdir in the container's
  // memory: its size (sizeLimit, else tmpdirMin) is added to the memory asked for, and it is no
  // longer node disk.
  const inMemory = memoryScratchMiB(r.tmpdirMiB, ctx.settings);
  const memory = ctx.memoryMiB ?? r.ramMiB;
  if (memory > 0 || inMemory > 0) {
    // An OOM retry scales the limit by the same factor as the request, never past maxMemory.
    const factor = ctx.memoryMiB !== undefined && r.ramMiB > 0 ? ctx.memoryMiB / r.ramMiB : 1;
    let limit = (r.ramMaxMiB ?? r.ramMiB) * factor;
    if (factor !== 1) limit = Math.min(limit, ctx.settings.maxMemoryMiB);
    requests['memory'] = mebibytes(memory + inMemory);
    limits['memory'] = mebibytes(Math.max(memory, limit) + inMemory);
  }

  const disk = (inMemory > 0 ? 0 : r.tmpdirMiB) + r.outdirMiB;
  if (disk > 0) requests['ephemeral-storage'] = mebibytes(disk);

  if (r.gpus !== undefined && r.gpus > 0) {
    const gpus = String(Math.ceil(r.gpus));
    requests['nvidia.com/gpu'] = gpus;
    limits['nvidia.com/gpu'] = gpus;
  }
  return {
    ...(Object.keys(requests).length ? { requests } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

/**
 * The shell script run as `/bin/sh -c <script> strand-task <argv...>`.
 *
 * It changes to the working directory, reports a missing command plainly (exit 127 with
 * `strand: command not found: X` in the pod log), and runs the argv with the CWL redirections. A
 * stream the tool does not redirect goes both to the pod log (kubectl logs) and, when `logDir` is
 * given, to `<logDir>/stdout.log` / `stderr.log` through a FIFO and `tee`. The shell stays as the
 * pod's first process to pass SIGTERM on to the task (a shell as PID 1 would ignore it) and, being
 * PID 1, to every other process of the container.
 */
export function taskScript(spec: TaskSpec, paths: PathMap, workDir: string, logDir?: string, doneFile?: string): string {
  const q = (p: string) => shellQuote(paths.map(p));
  const lines = ['f='];
  if (doneFile !== undefined) {
    // Object-store mode: on any exit, leave the outputs readable to Strand's upload container
    // (another user) and write the exit status, which that container waits for.
    lines.push(
      `sd=${shellQuote(doneFile)} sw=${shellQuote(workDir)} sl=${shellQuote(logDir !== undefined ? paths.map(logDir) : workDir)}`,
      `trap 'rc=$?; chmod -R a+rX "$sw" "$sl" 2>/dev/null; echo $rc > "$sd.tmp" && mv "$sd.tmp" "$sd"' EXIT`,
    );
  }
  lines.push(
    `cd ${shellQuote(workDir)} || exit 1`,
    'command -v "$1" >/dev/null 2>&1 || { echo "strand: command not found: $1" >&2; exit 127; }',
  );
  const stdin = spec.stdin !== undefined ? q(spec.stdin) : '/dev/null';
  let stdout = spec.stdout !== undefined ? q(spec.stdout) : undefined;
  let stderr = spec.stderr !== undefined ? q(spec.stderr) : undefined;
  if (logDir !== undefined && (stdout === undefined || stderr === undefined)) {
    const L = q(logDir);
    lines.push(`mkdir -p ${L} || exit 1`, 'f="${TMPDIR:-/tmp}/.strand-$$"; rm -f "$f.o" "$f.e"; mkfifo "$f.o" "$f.e" || exit 1');
    if (stdout === undefined) {
      lines.push(`tee ${L}/stdout.log <"$f.o" &`);
      stdout = '"$f.o"';
    }
    if (stderr === undefined) {
      lines.push(`tee ${L}/stderr.log <"$f.e" >&2 &`);
      stderr = '"$f.e"';
    }
  }
  lines.push(
    // As the pod's PID 1, pass the signal to every process of the container (kill -1 spares PID 1):
    // the task's own children too, which keep the log FIFOs open and would otherwise hold the pod
    // in Terminating for the whole grace period. Outside a PID namespace only the task is signalled.
    "trap 'kill -TERM $c 2>/dev/null; [ $$ -eq 1 ] && kill -TERM -1 2>/dev/null' TERM INT",
    `"$@" <${stdin}${stdout !== undefined ? ` >${stdout}` : ''}${stderr !== undefined ? ` 2>${stderr}` : ''} &`,
    'c=$!',
    'wait $c; rc=$?',
    'while kill -0 $c 2>/dev/null; do wait $c; rc=$?; done',
    'wait',
    '[ -n "$f" ] && rm -f "$f.o" "$f.e"',
    'exit $rc',
  );
  return lines.join('\n');
}

function visibleRoots(settings: KubernetesSettings): string[] {
  return [settings.workspace?.mountPath ?? '', ...settings.dataVolumes.map((v) => v.mountPath)].filter((p) => p !== '');
}

function invisible(spec: TaskSpec, what: string, hostPath: string, podPath: string, settings: KubernetesSettings): InvisiblePathError {
  const roots = visibleRoots(settings).join(', ');
  const mapped = podPath === hostPath ? '' : ` (pods would see it as ${podPath})`;
  return new InvisiblePathError(
    hostPath,
    `kubernetes: ${what} ${hostPath} of step ${spec.stepPath} (task ${spec.taskId}) is not visible in pods${mapped}: ` +
      `pods see only ${roots} (kubernetes.workspace and kubernetes.dataVolumes). ` +
      `Move it into the workspace or add a data volume that holds it.`,
  );
}

export function buildTaskJob(spec: TaskSpec, ctx: JobBuildContext): V1Job {
  const { settings, paths } = ctx;
  const ws = settings.workspace;
  if (!ws) {
    throw new UsageError(
      'kubernetes: `kubernetes.workspace` must be configured (a ReadWriteMany PersistentVolumeClaim: ' +
        'claimName, mountPath, and localPath when Strand sees it elsewhere) so tasks can share their files',
    );
  }

  const roots = visibleRoots(settings);
  for (const m of spec.mounts) {
    const podPath = paths.map(m.hostPath);
    if (!roots.some((root) => isUnder(podPath, root))) throw invisible(spec, 'input', m.hostPath, podPath, settings);
    if (!m.readOnly && !isUnder(podPath, ws.mountPath)) throw invisible(spec, 'writable path', m.hostPath, podPath, settings);
  }
  const workDir = paths.map(spec.workDir);
  if (!isUnder(workDir, ws.mountPath)) throw invisible(spec, 'working directory', spec.workDir, workDir, settings);

  const { volumes, volumeMounts } = taskMounts(spec, settings, paths, ctx.logDir, ctx.links, ctx.linkedFromWorkDir);

  const container: V1Container = {
    name: TASK_CONTAINER,
    image: spec.image ?? settings.defaultImage,
    command: taskCommand(spec, paths, workDir, ctx.logDir),
    workingDir: workDir,
    env: taskEnv(spec, settings, paths),
    resources: resourcesFor(spec, ctx),
    volumeMounts,
  };
  return wrapInJob(spec, ctx, { containers: [container], volumes });
}

/** `/bin/sh -c <taskScript> strand-task <argv...>`, escaped for Kubernetes' `$(VAR)` expansion. */
export function taskCommand(spec: TaskSpec, paths: PathMap, workDir: string, logDir?: string, doneFile?: string): string[] {
  return ['/bin/sh', '-c', taskScript(spec, paths, workDir, logDir, doneFile), 'strand-task', ...spec.argv.map((a) => paths.mapText(a))].map(escapeKubeVars);
}

/** The task's environment: its own variables (paths mapped), then `secretEnv` by Secret reference. */
export function taskEnv(spec: TaskSpec, settings: KubernetesSettings, paths: PathMap): V1EnvVar[] {
  const secretNames = new Set(settings.secretEnv.map((s) => s.name));
  return [
    // A Secret-backed variable replaces a plain one of the same name; its value never appears.
    ...Object.entries(spec.env)
      .filter(([name]) => !secretNames.has(name))
      .map(([name, value]) => ({ name, value: escapeKubeVars(paths.mapText(value)) })),
    ...settings.secretEnv.map((s) => ({ name: s.name, valueFrom: { secretKeyRef: { name: s.secretName, key: s.key } } })),
  ];
}

/**
 * The Job around a pod spec: name, labels, annotations, the anchor as owner, backoffLimit 0, the
 * time limit, and the pod-level settings (node selector, tolerations, service account, ...).
 */
export function wrapInJob(spec: TaskSpec, ctx: Pick<JobBuildContext, 'settings' | 'namespace' | 'anchor' | 'attempt'>, pod: Pick<V1PodSpec, 'containers' | 'volumes' | 'initContainers'>): V1Job {
  const { settings } = ctx;
  const labels: Record<string, string> = {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.run]: labelValue(spec.runId),
    [LABELS.step]: labelValue(spec.stepPath),
    [LABELS.owner]: labelValue(settings.owner),
    [LABELS.task]: labelValue(spec.taskId),
    [LABELS.attempt]: String(ctx.attempt),
  };
  const annotations: Record<string, string> = {
    [ANNOTATIONS.taskId]: spec.taskId,
    [ANNOTATIONS.stepPath]: spec.stepPath,
  };

  const podSpec: V1PodSpec = {
    restartPolicy: 'Never',
    enableServiceLinks: false,
    // A task never talks to the Kubernetes API: no service-account token in its file system, so a
    // tool cannot read it, nor name it as an output (docs/security.md, "Confinement of files").
    automountServiceAccountToken: false,
    ...(pod.initContainers && pod.initContainers.length > 0 ? { initContainers: pod.initContainers } : {}),
    containers: pod.containers,
    ...(pod.volumes ? { volumes: pod.volumes } : {}),
  };
  if (Object.keys(settings.nodeSelector).length > 0) podSpec.nodeSelector = { ...settings.nodeSelector };
  if (settings.tolerations.length > 0) podSpec.tolerations = settings.tolerations.map((t) => ({ ...t }) as V1Toleration);
  if (settings.serviceAccountName !== undefined) podSpec.serviceAccountName = settings.serviceAccountName;
  if (settings.imagePullSecrets.length > 0) podSpec.imagePullSecrets = settings.imagePullSecrets.map((name) => ({ name }));
  if (settings.priorityClassName !== undefined) podSpec.priorityClassName = settings.priorityClassName;
  if (settings.securityContext !== undefined) podSpec.securityContext = { ...settings.securityContext } as V1PodSecurityContext;

  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(spec.runId, spec.taskId, ctx.attempt),
      namespace: ctx.namespace,
      labels,
      annotations,
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ConfigMap', name: ctx.anchor.name, uid: ctx.anchor.uid, blockOwnerDeletion: true, controller: false },
      ],
    },
    spec: {
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
      ...(spec.timeLimitSeconds !== undefined && spec.timeLimitSeconds > 0
        ? { activeDeadlineSeconds: Math.ceil(spec.timeLimitSeconds) }
        : {}),
      template: {
        metadata: { labels: { ...labels }, annotations: { ...annotations } },
        spec: podSpec,
      },
    },
  };
}
