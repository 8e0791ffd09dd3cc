/**
 * The fake kubelet's runner for pods with init containers or more than one container (the
 * single-container pods keep the path of kubelet.ts). Done as a real 1.20 kubelet does with
 * `restartPolicy: Never`:
 *  - init containers run one after the other, each only after the previous one exited 0; while
 *    they run the pod is `Pending`, condition Initialized=False (ContainersNotInitialized), the app
 *    containers wait with reason `PodInitializing`. An init container that fails fails the pod
 *    (`phase: Failed`), and the app containers never start.
 *  - then every app container starts at once; the pod is `Running` until all have exited:
 *    `Succeeded` when every one exited 0, else `Failed`. Each has its own status, log and exit.
 *  - `terminationMessagePolicy: FallbackToLogsOnError`: a container that exits non-zero gets the
 *    tail of its log (at most 80 lines, 2048 bytes) as its terminated `message`.
 *  - env from values, `valueFrom` (Secret/ConfigMap keys, fieldRef) and `envFrom` (whole Secrets
 *    or ConfigMaps, with `prefix`); a missing Secret leaves the container waiting in
 *    `CreateContainerConfigError` (this runner does not retry when it appears later).
 *  - deletion: SIGTERM to every running container, SIGKILL after the grace period; eviction,
 *    activeDeadlineSeconds and injected OOM kills (per container memory limit) as for one container.
 * Not done: restartPolicy OnFailure/Always with several containers (the pod fails as unsupported).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Api } from './api.js';
import { type ContainerExit, killRestOfContainerOnExit, terminatedState } from './container-exit.js';
import type { EventRecorder } from './events.js';
import type { Faults } from './faults.js';
import { ContainerLog } from './pod-logs.js';
import { parseQuantity } from './quantity.js';
import { NODE_NAME, setCondition } from './scheduler.js';
import type { Container, ContainerState, ContainerStatus, KubeObject, Pod, PodStatus } from './types.js';
import { nowIso } from './types.js';
import { type VolumeSetup, VolumeError, setUpVolumes, tearDownVolumes } from './volumes.js';


export interface MultiHost {
  api: Api;
  recorder: EventRecorder;
  faults: Faults;
  pvcHostPaths: Record<string, string>;
  emptyDirRoots: string[];
  backoffMs: number;
  apiPort(): number;
  /** The kubelet's own resolution of one `valueFrom` (Secret/ConfigMap keys, fieldRef). */
  resolveValueFrom(pod: Pod, vf: NonNullable<Container['env']>[number]['valueFrom']): string | undefined | { error: string };
  imageOk(image: string): boolean;
  fullImage(image: string): string;
  expandVars(s: string, env: Record<string, string>): string;
}

type Kill = 'OOMKilled' | 'DeadlineExceeded' | 'Evicted' | 'Deleted';

interface CRun {
  c: Container;
  init: boolean;
  state: ContainerState;
  proc?: ChildProcess;
  log: ContainerLog;
  startedAt?: string;
  killReason?: Kill;
  started: boolean;
}

export class MultiPod {
  readonly ns: string;
  readonly name: string;
  private readonly inits: CRun[];
  private readonly apps: CRun[];
  private volumes: VolumeSetup | undefined;
  private timers: NodeJS.Timeout[] = [];
  private terminating = false;
  private podKill: Kill | undefined;
  private over = false;
  private frozen = false;

  constructor(
    private readonly host: MultiHost,
    pod: Pod,
  ) {
    this.ns = pod.metadata.namespace!;
    this.name = pod.metadata.name!;
    const run = (c: Container, init: boolean): CRun => ({
      c,
      init,
      state: { waiting: { reason: 'PodInitializing' } },
      log: new ContainerLog(),
      started: false,
    });
    this.inits = (pod.spec.initContainers ?? []).map((c) => run(c, true));
    this.apps = pod.spec.containers.map((c) => run(c, false));
  }

  private all(): CRun[] {
    return [...this.inits, ...this.apps];
  }

  private pod(): Pod | undefined {
    return this.host.api.store.get('pods', this.ns, this.name) as Pod | undefined;
  }

  logOf(container: string | undefined): ContainerLog | undefined {
    const r = container === undefined ? this.apps[0] : this.all().find((x) => x.c.name === container);
    return r?.log;
  }

  hasStarted(container: string | undefined): boolean {
    const r = container === undefined ? this.apps[0] : this.all().find((x) => x.c.name === container);
    return r?.started ?? false;
  }

  containerNames(): { apps: string[]; inits: string[] } {
    return { apps: this.apps.map((r) => r.c.name), inits: this.inits.map((r) => r.c.name) };
  }

  /** Running app containers (not init containers: metrics-server does not report those). */
  runningApps(): Array<{ container: string; pid: number }> {
    return this.apps.flatMap((r) => (r.proc?.pid !== undefined && r.state.running ? [{ container: r.c.name, pid: r.proc.pid }] : []));
  }

  pids(): number[] {
    return this.all().flatMap((r) => (r.proc?.pid !== undefined && r.state.running ? [r.proc.pid] : []));
  }

  start(): void {
    const pod = this.pod();
    if (!pod) return;
    if (pod.spec.restartPolicy !== 'Never') return this.unsupported('fake-kube: pods with init containers or several containers need restartPolicy Never here');
    try {
      this.volumes = setUpVolumes(pod, this.host.pvcHostPaths, this.host.emptyDirRoots);
    } catch (err) {
      if (err instanceof VolumeError && err.kind !== 'limitation') {
        const first = this.inits[0] ?? this.apps[0]!;
        first.state = { waiting: { reason: 'CreateContainerConfigError', message: err.message } };
        this.host.recorder.record(pod, 'Warning', 'Failed', `Error: ${err.message}`, 'kubelet', NODE_NAME);
        this.publish();
        return;
      }
      return this.unsupported(err instanceof Error ? err.message : String(err));
    }
    this.publish((st) => (st.startTime ??= nowIso()));
    const ads = pod.spec.activeDeadlineSeconds;
    if (ads !== undefined) {
      this.timers.push(
        setTimeout(() => {
          this.podKill = 'DeadlineExceeded';
          this.killAll('SIGKILL', 'DeadlineExceeded');
          this.settle();
        }, ads * 1000),
      );
    }
    this.next();
  }

  /** Start the next init container, or every app container once the inits are done. */
  private next(): void {
    if (this.over || this.terminating || this.frozen) return;
    const pending = this.inits.find((r) => !r.state.terminated);
    if (pending) {
      if (!pending.proc) this.launch(pending);
      return;
    }
    for (const r of this.apps) if (!r.proc && !r.state.terminated) this.launch(r);
  }

  private env(pod: Pod, c: Container): { vars: Record<string, string> } | { error: string } {
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: this.name,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(this.host.apiPort()),
    };
    for (const ef of (c['envFrom'] as Array<{ prefix?: string; secretRef?: { name: string; optional?: boolean }; configMapRef?: { name: string; optional?: boolean } }> | undefined) ?? []) {
      const ref = ef.secretRef ?? ef.configMapRef;
      if (!ref) continue;
      const isSecret = ef.secretRef !== undefined;
      const obj = this.host.api.store.get(isSecret ? 'secrets' : 'configmaps', this.ns, ref.name) as (KubeObject & { data?: Record<string, string> }) | undefined;
      if (!obj) {
        if (ref.optional) continue;
        return { error: `${isSecret ? 'secret' : 'configmap'} "${ref.name}" not found` };
      }
      for (const [k, v] of Object.entries(obj.data ?? {})) env[(ef.prefix ?? '') + k] = isSecret ? Buffer.from(v, 'base64').toString('utf8') : v;
    }
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = this.host.expandVars(e.value, env);
      else if (e.valueFrom) {
        const r = this.host.resolveValueFrom(pod, e.valueFrom);
        if (typeof r === 'object') return r;
        if (r !== undefined) env[e.name] = r;
      } else env[e.name] = '';
    }
    return { vars: env };
  }

  private launch(r: CRun): void {
    const pod = this.pod();
    if (!pod) return;
    const c = r.c;
    const image = c.image ?? '';
    const pull = this.host.faults.imagePullFailure(image);
    if (pull || !this.host.imageOk(image)) {
      const reason = !this.host.imageOk(image) || pull === 'InvalidImageName' ? 'InvalidImageName' : 'ErrImagePull';
      const full = this.host.fullImage(image);
      const message =
        reason === 'InvalidImageName'
          ? `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": invalid reference format`
          : `rpc error: code = NotFound desc = failed to pull and unpack image "${full}": failed to resolve reference "${full}": ${full}: not found`;
      r.state = { waiting: { reason, message } };
      this.host.recorder.record(pod, 'Warning', 'Failed', `Error: ${reason}`, 'kubelet', NODE_NAME);
      if (pull === 'ImagePullBackOff')
        this.timers.push(
          setTimeout(() => {
            r.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` } };
            this.publish();
          }, this.host.backoffMs),
        );
      this.publish();
      return;
    }
    const env = this.env(pod, c);
    if ('error' in env) {
      r.state = { waiting: { reason: 'CreateContainerConfigError', message: env.error } };
      this.host.recorder.record(pod, 'Warning', 'Failed', `Error: ${env.error}`, 'kubelet', NODE_NAME);
      this.publish();
      return;
    }
    const vars = env.vars;
    if (!c.command || c.command.length === 0) return this.unsupported(`fake-kube: container "${c.name}" has no command; the fake kubelet cannot run an image's entrypoint`);
    const argv = [...c.command, ...(c.args ?? [])].map((a) => this.host.expandVars(a, vars));
    const cwd = c.workingDir ?? '/';
    try {
      mkdirSync(cwd, { recursive: true });
    } catch {
      // spawn reports it
    }
    let proc: ChildProcess;
    try {
      proc = spawn(argv[0]!, argv.slice(1), { cwd, env: vars, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      return this.exited(r, { startError: err instanceof Error ? err.message : String(err) });
    }
    r.proc = proc;
    killRestOfContainerOnExit(proc);
    let startError: string | undefined;
    proc.on('error', (err) => {
      startError = `failed to create containerd task: OCI runtime create failed: exec: "${argv[0]}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'executable file not found in $PATH' : err.message}: unknown`;
    });
    proc.stdout?.on('data', (d: Buffer) => r.log.write(d));
    proc.stderr?.on('data', (d: Buffer) => r.log.write(d));
    proc.on('spawn', () => {
      r.started = true;
      r.startedAt = nowIso();
      r.state = { running: { startedAt: r.startedAt } };
      this.host.recorder.record(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet', NODE_NAME);
      this.publish();
      const memLimit = c.resources?.limits?.['memory'];
      const oom = this.host.faults.oomBelowMiB;
      if (oom !== undefined && memLimit !== undefined && parseQuantity(memLimit) < oom * 2 ** 20) {
        r.killReason = 'OOMKilled';
        setImmediate(() => signal(r, 'SIGKILL'));
      }
    });
    proc.on('close', (code, sig) => {
      r.proc = undefined;
      r.log.end();
      if (startError) this.exited(r, { startError });
      else this.exited(r, { code, signal: sig });
    });
  }

  private exited(r: CRun, how: ContainerExit): void {
    if (this.frozen) return;
    const finishedAt = nowIso();
    const terminated = terminatedState(how, r.killReason, r.startedAt ?? finishedAt, finishedAt, `fake://${this.ns}-${this.name}-${r.c.name}`, () =>
      r.c['terminationMessagePolicy'] === 'FallbackToLogsOnError' ? logTail(r.log.text()) : undefined,
    );
    const exitCode = terminated.exitCode;
    r.state = { terminated };
    if (r.init && exitCode !== 0) {
      // restartPolicy Never: a failed init container fails the pod; nothing else starts.
      this.over = true;
    }
    this.settle();
    if (!this.over) this.next();
  }

  /** Decide the pod's phase from its containers and publish it; remove the pod when it was being deleted. */
  private settle(): void {
    const initsFailed = this.inits.some((r) => r.state.terminated && r.state.terminated.exitCode !== 0);
    const appsDone = this.apps.every((r) => r.state.terminated);
    const running = this.all().some((r) => r.proc);
    if (initsFailed || (appsDone && this.inits.every((r) => r.state.terminated))) this.over = true;
    if (this.podKill && !running) this.over = true;
    this.publish();
    if (this.over && !running) {
      this.timers.forEach(clearTimeout);
      this.timers = [];
      const pod = this.pod();
      if (pod?.metadata.deletionTimestamp) this.host.api.removePod(this.ns, this.name);
    }
  }

  private publish(extra?: (st: PodStatus) => void): void {
    const pod = this.pod();
    if (!pod) return;
    const st = pod.status ?? {};
    extra?.(st);
    st.hostIP ??= '127.0.0.1';
    st.startTime ??= nowIso();
    const status = (r: CRun): ContainerStatus => {
      const live = r.state.running !== undefined;
      const cs: ContainerStatus = { name: r.c.name, image: r.c.image ?? '', imageID: '', ready: live, started: live, restartCount: 0, state: r.state, lastState: {} };
      if (r.state.running || r.state.terminated) {
        cs.imageID = `${this.host.fullImage(r.c.image ?? '')}@sha256:${'0'.repeat(64)}`;
        cs.containerID = `fake://${this.ns}-${this.name}-${r.c.name}`;
      }
      return cs;
    };
    if (this.inits.length > 0) st['initContainerStatuses'] = this.inits.map(status);
    st.containerStatuses = this.apps.map(status);
    const initsDone = this.inits.every((r) => r.state.terminated?.exitCode === 0);
    const initFailed = this.inits.some((r) => r.state.terminated && r.state.terminated.exitCode !== 0);
    const unready = this.apps.filter((r) => !r.state.running).map((r) => r.c.name);
    st.conditions = setCondition(
      st.conditions,
      initsDone
        ? { type: 'Initialized', status: 'True' }
        : { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${this.inits.filter((r) => r.state.terminated?.exitCode !== 0).map((r) => r.c.name).join(' ')}]` },
    );
    const ready = unready.length === 0 ? { status: 'True' as const } : { status: 'False' as const, reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
    st.conditions = setCondition(st.conditions, { type: 'Ready', ...ready });
    st.conditions = setCondition(st.conditions, { type: 'ContainersReady', ...ready });
    const allOk = this.apps.every((r) => r.state.terminated?.exitCode === 0 && !r.killReason);
    if (this.over && !this.all().some((r) => r.proc)) st.phase = initFailed || !allOk || this.podKill ? 'Failed' : 'Succeeded';
    else if (this.podKill && !this.all().some((r) => r.proc)) st.phase = 'Failed';
    else st.phase = this.apps.some((r) => r.started) ? 'Running' : 'Pending';
    if (this.podKill === 'DeadlineExceeded') {
      st.reason = 'DeadlineExceeded';
      st.message = 'Pod was active on the node longer than the specified deadline';
    }
    if (this.podKill === 'Evicted') {
      st.reason = 'Evicted';
      st.message = 'The node was low on resource: memory.';
      st.conditions = setCondition(st.conditions, { type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet', message: 'The node was low on resource: memory.' });
    }
    pod.status = st;
    this.host.api.updateInternal('pods', pod);
  }

  private unsupported(message: string): void {
    this.over = true;
    const pod = this.pod();
    if (!pod) return;
    pod.status = { ...(pod.status ?? {}), phase: 'Failed', reason: 'FakeKubeUnsupported', message, startTime: pod.status?.startTime ?? nowIso() };
    this.host.api.updateInternal('pods', pod);
  }

  private killAll(sig: NodeJS.Signals, why: Kill): void {
    for (const r of this.all()) {
      if (!r.proc) continue;
      r.killReason ??= why;
      signal(r, sig);
    }
  }

  /** The pod has a deletionTimestamp: stop its containers gracefully, then it goes. */
  terminate(graceSeconds: number): void {
    if (this.terminating) return;
    this.terminating = true;
    const pod = this.pod();
    if (!this.all().some((r) => r.proc)) {
      this.timers.forEach(clearTimeout);
      this.host.api.removePod(this.ns, this.name);
      return;
    }
    if (pod) this.host.recorder.record(pod, 'Normal', 'Killing', `Stopping containers ${this.apps.map((r) => r.c.name).join(', ')}`, 'kubelet', NODE_NAME);
    this.over = true;
    this.killAll('SIGTERM', 'Deleted');
    this.timers.push(setTimeout(() => this.killAll('SIGKILL', 'Deleted'), graceSeconds * 1000));
  }

  evict(): void {
    this.podKill = 'Evicted';
    this.over = true;
    if (!this.all().some((r) => r.proc)) return this.settle();
    this.killAll('SIGKILL', 'Evicted');
  }

  /** The pod object is gone (or the node/kubelet stops): kill everything, tidy up. */
  gone(): void {
    this.timers.forEach(clearTimeout);
    this.over = true;
    this.frozen = true;
    this.killAll('SIGKILL', 'Deleted');
    for (const r of this.all()) r.log.end();
    if (this.volumes) tearDownVolumes(this.volumes);
  }

  freeze(): void {
    this.frozen = true;
    this.timers.forEach(clearTimeout);
    this.killAll('SIGKILL', 'Deleted');
  }
}

function signal(r: CRun, sig: NodeJS.Signals): void {
  const pid = r.proc?.pid;
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      r.proc?.kill(sig);
    } catch {
      // gone
    }
  }
}

/** What FallbackToLogsOnError takes from the log: the last 80 lines, at most 2048 bytes. */
export function logTail(text: string): string {
  const lines = text.replace(/\n$/, '').split('\n').slice(-80).join('\n');
  const b = Buffer.from(lines);
  return b.length <= 2048 ? lines : b.subarray(b.length - 2048).toString('utf8');
}
