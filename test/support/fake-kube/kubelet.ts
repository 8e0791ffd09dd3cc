/**
 * The kubelet of `fake-node`: runs each bound pod's (single) container as a local process group
 * (command + args exec'd directly, env from values/Secrets/ConfigMaps, workingDir, volumes per
 * volumes.ts), reports Pending -> Running -> Succeeded/Failed with real containerStatuses,
 * keeps logs, stops processes on deletion (SIGTERM, SIGKILL after the grace period), and plays
 * injected faults (image pulls, OOM kills, evictions).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { Api } from './api.js';
import { isTerminal } from './api.js';
import type { EventRecorder } from './events.js';
import type { Faults } from './faults.js';
import { ContainerLog } from './pod-logs.js';
import { parseQuantity } from './quantity.js';
import { NODE_NAME, setCondition } from './scheduler.js';
import type { StoredEvent } from './store.js';
import type { Container, ContainerState, ContainerStatus, KubeObject, Pod, PodStatus } from './types.js';
import { nowIso } from './types.js';
import { type VolumeSetup, VolumeError, setUpVolumes, tearDownVolumes } from './volumes.js';
import { type ContainerExit, killRestOfContainerOnExit, terminatedState } from './container-exit.js';
import { MultiPod } from './multi-container.js';

export interface KubeletOptions {
  pvcHostPaths: Record<string, string>;
  emptyDirRoots: string[];
  /** Delay before a failed pull turns into ImagePullBackOff, and between OnFailure restarts. */
  backoffMs: number;
  /** Port the API server listens on (KUBERNETES_SERVICE_PORT inside containers). */
  apiPort: () => number;
}

type KillReason = 'OOMKilled' | 'DeadlineExceeded' | 'Evicted' | 'Deleted';

interface Runtime {
  ns: string;
  name: string;
  stage: 'starting' | 'waiting' | 'running' | 'exited';
  proc?: ChildProcess;
  log: ContainerLog;
  prevLog?: ContainerLog;
  volumes?: VolumeSetup;
  killReason?: KillReason;
  startedAt?: string;
  restartCount: number;
  timers: NodeJS.Timeout[];
  terminating: boolean;
  /** Set while the container cannot be created until a Secret/ConfigMap appears. */
  configError?: boolean;
}

const IMAGE_REF = /^(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

function fullImage(image: string): string {
  let ref = image;
  if (!/:[^/]+$/.test(ref) && !ref.includes('@')) ref += ':latest';
  const first = ref.split('/')[0]!;
  if (!ref.includes('/')) return `docker.io/library/${ref}`;
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost') return `docker.io/${ref}`;
  return ref;
}

export function expandVars(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name] : m;
  });
}


export class Kubelet {
  private readonly runtimes = new Map<string, Runtime>();
  /** Pods with init containers or several containers (multi-container.ts). */
  private readonly multis = new Map<string, MultiPod>();
  private readonly queued = new Set<string>();
  private podIpCounter = 1;
  private frozen = false;
  private stopped = false;

  constructor(
    private readonly api: Api,
    private readonly recorder: EventRecorder,
    private readonly faults: Faults,
    private readonly opts: KubeletOptions,
  ) {
    api.store.onChange((ev) => this.observe(ev));
  }

  /** The container log of a pod (current instance, or the previous one after a restart). */
  logOf(uid: string, previous = false, container?: string): ContainerLog | undefined {
    const mp = this.multis.get(uid);
    if (mp) return previous ? undefined : mp.logOf(container);
    const rt = this.runtimes.get(uid);
    return previous ? rt?.prevLog : rt?.log;
  }

  hasStarted(uid: string, container?: string): boolean {
    const mp = this.multis.get(uid);
    if (mp) return mp.hasStarted(container);
    const rt = this.runtimes.get(uid);
    return rt !== undefined && (rt.stage === 'running' || rt.stage === 'exited');
  }

  private observe(ev: StoredEvent): void {
    if (ev.plural === 'secrets' || ev.plural === 'configmaps') {
      for (const [uid, rt] of this.runtimes)
        if (rt.configError && rt.ns === ev.namespace) {
          rt.configError = false;
          setImmediate(() => this.retry(uid));
        }
      return;
    }
    if (ev.plural !== 'pods') return;
    const pod = ev.object as Pod;
    if (pod.spec.nodeName !== NODE_NAME) return;
    if (ev.type === 'DELETED') {
      const mp = this.multis.get(pod.metadata.uid!);
      if (mp) {
        this.multis.delete(pod.metadata.uid!);
        mp.gone();
        return;
      }
      const rt = this.runtimes.get(pod.metadata.uid!);
      if (!rt) return;
      this.runtimes.delete(pod.metadata.uid!);
      rt.timers.forEach(clearTimeout);
      rt.terminating = true;
      this.signal(rt, 'SIGKILL');
      if (rt.volumes) tearDownVolumes(rt.volumes);
      rt.log.end();
      return;
    }
    this.later(pod.metadata.uid!, pod.metadata.namespace!, pod.metadata.name!);
  }

  private later(uid: string, ns: string, name: string): void {
    if (this.queued.has(uid) || this.stopped) return;
    this.queued.add(uid);
    setImmediate(() => {
      this.queued.delete(uid);
      if (this.stopped || this.frozen) return;
      const pod = this.api.store.get('pods', ns, name) as Pod | undefined;
      if (pod && pod.metadata.uid === uid) this.sync(pod);
    });
  }

  private sync(pod: Pod): void {
    const uid = pod.metadata.uid!;
    if ((pod.spec.initContainers ?? []).length > 0 || pod.spec.containers.length > 1) return this.syncMulti(pod);
    const rt = this.runtimes.get(uid);
    if (pod.metadata.deletionTimestamp) {
      if (rt && rt.proc && rt.stage === 'running') {
        if (!rt.terminating) {
          rt.terminating = true;
          rt.killReason ??= 'Deleted';
          this.recorder.record(pod, 'Normal', 'Killing', `Stopping container ${pod.spec.containers[0]!.name}`, 'kubelet', NODE_NAME);
          this.signal(rt, 'SIGTERM');
          const grace = pod.metadata.deletionGracePeriodSeconds ?? 30;
          rt.timers.push(setTimeout(() => this.signal(rt, 'SIGKILL'), grace * 1000));
        }
        return; // the exit handler removes the pod
      }
      this.api.removePod(pod.metadata.namespace!, pod.metadata.name!);
      return;
    }
    if (isTerminal(pod) || rt) return;
    const fresh: Runtime = { ns: pod.metadata.namespace!, name: pod.metadata.name!, stage: 'starting', log: new ContainerLog(), restartCount: 0, timers: [], terminating: false };
    this.runtimes.set(uid, fresh);
    this.start(pod, fresh);
  }

  private syncMulti(pod: Pod): void {
    const uid = pod.metadata.uid!;
    let mp = this.multis.get(uid);
    if (pod.metadata.deletionTimestamp) {
      if (mp) mp.terminate(pod.metadata.deletionGracePeriodSeconds ?? 30);
      else this.api.removePod(pod.metadata.namespace!, pod.metadata.name!);
      return;
    }
    if (mp || isTerminal(pod)) return;
    mp = new MultiPod(
      {
        api: this.api,
        recorder: this.recorder,
        faults: this.faults,
        pvcHostPaths: this.opts.pvcHostPaths,
        emptyDirRoots: this.opts.emptyDirRoots,
        backoffMs: this.opts.backoffMs,
        apiPort: this.opts.apiPort,
        resolveValueFrom: (p, vf) => this.resolveValueFrom(p, vf),
        imageOk: (image) => IMAGE_REF.test(image),
        fullImage,
        expandVars,
      },
      pod,
    );
    this.multis.set(uid, mp);
    mp.start();
  }

  /** Container names of a pod run by the multi-container runner (for the log endpoint). */
  containerNamesOf(uid: string): { apps: string[]; inits: string[] } | undefined {
    return this.multis.get(uid)?.containerNames();
  }

  /** Reads the pod, lets `fn` change its status, writes it back (no-op if the pod is gone). */
  private updateStatus(rt: Runtime, fn: (st: PodStatus, pod: Pod) => void): Pod | undefined {
    const pod = this.api.store.get('pods', rt.ns, rt.name) as Pod | undefined;
    if (!pod) return undefined;
    const st = pod.status ?? {};
    fn(st, pod);
    pod.status = st;
    return this.api.updateInternal('pods', pod) as Pod;
  }

  private containerStatus(c: Container, rt: Runtime, state: ContainerState, lastState: ContainerState = {}): ContainerStatus {
    const running = state.running !== undefined;
    const cs: ContainerStatus = {
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: running,
      started: running,
      restartCount: rt.restartCount,
      state,
      lastState,
    };
    if (state.running || state.terminated) {
      cs.imageID = `${fullImage(c.image ?? '')}@sha256:${'0'.repeat(64)}`;
      cs.containerID = `fake://${rt.ns}-${rt.name}-${rt.restartCount}`;
    }
    return cs;
  }

  private setWaiting(rt: Runtime, reason: string, message?: string): void {
    rt.stage = 'waiting';
    this.updateStatus(rt, (st, pod) => {
      const c = pod.spec.containers[0]!;
      const prev = st.containerStatuses?.[0];
      st.phase = 'Pending';
      st.hostIP ??= '127.0.0.1';
      st.startTime ??= nowIso();
      st.conditions = setCondition(st.conditions, { type: 'Initialized', status: 'True' });
      st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${c.name}]` });
      st.conditions = setCondition(st.conditions, { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${c.name}]` });
      st.containerStatuses = [this.containerStatus(c, rt, { waiting: message !== undefined ? { reason, message } : { reason } }, prev?.lastState ?? {})];
    });
  }

  /** Ends the pod as Failed because the fake cannot do what it asks (not a Kubernetes behaviour). */
  private failUnsupported(rt: Runtime, message: string): void {
    rt.stage = 'exited';
    this.updateStatus(rt, (st, pod) => {
      const c = pod.spec.containers[0]!;
      st.phase = 'Failed';
      st.reason = 'FakeKubeUnsupported';
      st.message = message;
      st.startTime ??= nowIso();
      st.containerStatuses = [this.containerStatus(c, rt, { terminated: { exitCode: 128, reason: 'StartError', message, finishedAt: nowIso() } })];
    });
  }

  private start(pod: Pod, rt: Runtime): void {
    if (pod.spec.containers.length !== 1 || (pod.spec.initContainers ?? []).length > 0)
      return this.failUnsupported(rt, 'fake-kube: the fake kubelet runs pods with exactly one container and no initContainers');
    const c = pod.spec.containers[0]!;
    const image = c.image ?? '';
    if (rt.restartCount === 0 && rt.stage === 'starting') this.setWaiting(rt, 'ContainerCreating');
    // Image
    const injected = this.faults.imagePullFailure(image);
    if (injected === 'InvalidImageName' || !IMAGE_REF.test(image)) {
      const msg = `Failed to apply default image tag "${image}": couldn't parse image reference "${image}": invalid reference format`;
      this.setWaiting(rt, 'InvalidImageName', msg);
      this.recorder.record(pod, 'Warning', 'InspectFailed', msg, 'kubelet', NODE_NAME);
      this.recorder.record(pod, 'Warning', 'Failed', 'Error: InvalidImageName', 'kubelet', NODE_NAME);
      return;
    }
    if (injected) {
      const full = fullImage(image);
      const msg = `rpc error: code = NotFound desc = failed to pull and unpack image "${full}": failed to resolve reference "${full}": ${full}: not found`;
      this.recorder.record(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, 'kubelet', NODE_NAME);
      this.setWaiting(rt, 'ErrImagePull', msg);
      this.recorder.record(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${msg}`, 'kubelet', NODE_NAME);
      this.recorder.record(pod, 'Warning', 'Failed', 'Error: ErrImagePull', 'kubelet', NODE_NAME);
      if (injected === 'ImagePullBackOff')
        rt.timers.push(
          setTimeout(() => {
            if (!this.runtimes.has(pod.metadata.uid!)) return;
            this.setWaiting(rt, 'ImagePullBackOff', `Back-off pulling image "${image}"`);
            this.recorder.record(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`, 'kubelet', NODE_NAME);
            this.recorder.record(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff', 'kubelet', NODE_NAME);
          }, this.opts.backoffMs),
        );
      return;
    }
    // Environment
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: pod.metadata.name!,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(this.opts.apiPort()),
    };
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env[e.name] = expandVars(e.value, env);
      else if (e.valueFrom) {
        const r = this.resolveValueFrom(pod, e.valueFrom);
        if (typeof r === 'object') {
          this.setWaiting(rt, 'CreateContainerConfigError', r.error);
          rt.configError = true;
          this.recorder.record(pod, 'Warning', 'Failed', `Error: ${r.error}`, 'kubelet', NODE_NAME);
          return;
        }
        if (r !== undefined) env[e.name] = r;
      } else env[e.name] = '';
    }
    // Volumes
    try {
      rt.volumes ??= setUpVolumes(pod, this.opts.pvcHostPaths, this.opts.emptyDirRoots);
    } catch (err) {
      if (err instanceof VolumeError && err.kind === 'config') {
        this.setWaiting(rt, 'CreateContainerConfigError', err.message);
        this.recorder.record(pod, 'Warning', 'Failed', `Error: ${err.message}`, 'kubelet', NODE_NAME);
        rt.stage = 'waiting';
        return;
      }
      if (err instanceof VolumeError && err.kind === 'mount') {
        this.recorder.record(pod, 'Warning', 'FailedMount', err.message, 'kubelet', NODE_NAME);
        rt.stage = 'waiting';
        rt.timers.push(setTimeout(() => this.retry(pod.metadata.uid!), this.opts.backoffMs));
        return;
      }
      return this.failUnsupported(rt, err instanceof Error ? err.message : String(err));
    }
    if (!c.command || c.command.length === 0)
      return this.failUnsupported(rt, `fake-kube: container "${c.name}" has no command; the fake kubelet cannot run an image's entrypoint`);
    const argv = [...c.command, ...(c.args ?? [])].map((a) => expandVars(a, env));
    const cwd = c.workingDir ?? '/';
    try {
      mkdirSync(cwd, { recursive: true });
    } catch {
      // spawn reports the failure
    }
    this.recorder.record(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, 'kubelet', NODE_NAME);
    this.recorder.record(pod, 'Normal', 'Created', `Created container ${c.name}`, 'kubelet', NODE_NAME);
    this.launch(pod, rt, c, argv, cwd, env);
  }

  private retry(uid: string): void {
    const rt = this.runtimes.get(uid);
    if (!rt || this.frozen) return;
    const pod = this.api.store.get('pods', rt.ns, rt.name) as Pod | undefined;
    if (!pod || pod.metadata.deletionTimestamp || isTerminal(pod)) return;
    rt.stage = 'starting';
    this.start(pod, rt);
  }

  private resolveValueFrom(pod: Pod, vf: NonNullable<Container['env']>[number]['valueFrom']): string | undefined | { error: string } {
    const ns = pod.metadata.namespace!;
    const ref = vf?.secretKeyRef ?? vf?.configMapKeyRef;
    if (vf?.fieldRef) {
      const p = vf.fieldRef.fieldPath;
      if (p === 'metadata.name') return pod.metadata.name;
      if (p === 'metadata.namespace') return ns;
      if (p === 'metadata.uid') return pod.metadata.uid;
      if (p === 'spec.nodeName') return NODE_NAME;
      if (p === 'status.hostIP' || p === 'status.podIP') return '127.0.0.1';
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(p);
      if (m) return pod.metadata[m[1] as 'labels' | 'annotations']?.[m[2]!] ?? '';
      return { error: `unsupported fieldPath: ${p}` };
    }
    if (!ref) return undefined;
    const isSecret = vf?.secretKeyRef !== undefined;
    const obj = this.api.store.get(isSecret ? 'secrets' : 'configmaps', ns, ref.name) as (KubeObject & { data?: Record<string, string> }) | undefined;
    if (!obj) return ref.optional ? undefined : { error: `${isSecret ? 'secret' : 'configmap'} "${ref.name}" not found` };
    const raw = obj.data?.[ref.key];
    if (raw === undefined) return ref.optional ? undefined : { error: `couldn't find key ${ref.key} in ${isSecret ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}` };
    return isSecret ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  }

  private launch(pod: Pod, rt: Runtime, c: Container, argv: string[], cwd: string, env: Record<string, string>): void {
    let proc: ChildProcess;
    try {
      proc = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      return this.exited(rt, c, { startError: err instanceof Error ? err.message : String(err) });
    }
    rt.proc = proc;
    killRestOfContainerOnExit(proc);
    let startError: string | undefined;
    proc.on('error', (err) => {
      startError = `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${argv[0]}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'executable file not found in $PATH' : err.message}: unknown`;
    });
    proc.stdout?.on('data', (d: Buffer) => rt.log.write(d));
    proc.stderr?.on('data', (d: Buffer) => rt.log.write(d));
    proc.on('close', (code, signal) => {
      rt.proc = undefined;
      rt.log.end();
      rt.timers.forEach(clearTimeout);
      rt.timers = [];
      if (startError) this.exited(rt, c, { startError });
      else this.exited(rt, c, { code, signal });
    });
    proc.on('spawn', () => {
      rt.stage = 'running';
      rt.startedAt = nowIso();
      this.recorder.record(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet', NODE_NAME);
      const updated = this.updateStatus(rt, (st) => {
        st.phase = 'Running';
        st.hostIP = '127.0.0.1';
        st['hostIPs'] = [{ ip: '127.0.0.1' }];
        st.podIP ??= `10.244.0.${this.podIpCounter++ % 250 + 2}`;
        st['podIPs'] = [{ ip: st.podIP }];
        st.startTime ??= nowIso();
        st.conditions = setCondition(st.conditions, { type: 'Initialized', status: 'True' });
        st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'True' });
        st.conditions = setCondition(st.conditions, { type: 'ContainersReady', status: 'True' });
        st.containerStatuses = [this.containerStatus(c, rt, { running: { startedAt: rt.startedAt! } }, st.containerStatuses?.[0]?.lastState ?? {})];
      });
      if (!updated) return;
      const memLimit = c.resources?.limits?.['memory'];
      if (this.faults.oomBelowMiB !== undefined && memLimit !== undefined && parseQuantity(memLimit) < this.faults.oomBelowMiB * 2 ** 20) {
        rt.killReason = 'OOMKilled';
        setImmediate(() => this.signal(rt, 'SIGKILL'));
      }
      const ads = pod.spec.activeDeadlineSeconds;
      if (ads !== undefined) {
        const started = Date.parse(updated.status?.startTime ?? nowIso());
        rt.timers.push(
          setTimeout(() => {
            rt.killReason = 'DeadlineExceeded';
            this.signal(rt, 'SIGKILL');
          }, Math.max(0, started + ads * 1000 - Date.now())),
        );
      }
    });
  }

  private signal(rt: Runtime, sig: NodeJS.Signals): void {
    const pid = rt.proc?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        rt.proc?.kill(sig);
      } catch {
        // already gone
      }
    }
  }

  private exited(rt: Runtime, c: Container, how: ContainerExit): void {
    if (this.frozen || this.stopped) return;
    const finishedAt = nowIso();
    const terminated = terminatedState(how, rt.killReason, rt.startedAt ?? finishedAt, finishedAt, `fake://${rt.ns}-${rt.name}-${rt.restartCount}`);
    const exitCode = terminated.exitCode;
    const pod = this.api.store.get('pods', rt.ns, rt.name) as Pod | undefined;
    if (!pod) return;
    const restart =
      pod.spec.restartPolicy !== 'Never' &&
      (pod.spec.restartPolicy === 'Always' || exitCode !== 0) &&
      !rt.terminating &&
      rt.killReason !== 'DeadlineExceeded' &&
      rt.killReason !== 'Evicted';
    if (restart) {
      rt.stage = 'waiting';
      this.updateStatus(rt, (st) => {
        st.containerStatuses = [
          this.containerStatus(c, rt, { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${c.name} pod=${rt.name}_${rt.ns}(${pod.metadata.uid})` } }, { terminated }),
        ];
        st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${c.name}]` });
        st.conditions = setCondition(st.conditions, { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${c.name}]` });
      });
      this.recorder.record(pod, 'Warning', 'BackOff', 'Back-off restarting failed container', 'kubelet', NODE_NAME);
      rt.timers.push(
        setTimeout(() => {
          rt.restartCount++;
          rt.prevLog = rt.log;
          rt.log = new ContainerLog();
          this.retry(pod.metadata.uid!);
        }, this.opts.backoffMs),
      );
      return;
    }
    rt.stage = 'exited';
    this.updateStatus(rt, (st) => {
      st.phase = exitCode === 0 && !rt.killReason ? 'Succeeded' : 'Failed';
      const notReady = rt.killReason ? 'PodFailed' : st.phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed';
      st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'False', reason: notReady });
      st.conditions = setCondition(st.conditions, { type: 'ContainersReady', status: 'False', reason: notReady });
      if (rt.killReason === 'DeadlineExceeded') {
        st.reason = 'DeadlineExceeded';
        st.message = 'Pod was active on the node longer than the specified deadline';
      }
      if (rt.killReason === 'Evicted') {
        st.reason = 'Evicted';
        st.message = 'The node was low on resource: memory.';
        st.conditions = setCondition(st.conditions, { type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet', message: 'The node was low on resource: memory.' });
      }
      st.containerStatuses = [this.containerStatus(c, rt, { terminated }, st.containerStatuses?.[0]?.lastState ?? {})];
    });
    if (pod.metadata.deletionTimestamp) this.api.removePod(rt.ns, rt.name);
  }

  /** Evicts a pod as the kubelet does under memory pressure. Returns false if it is not on this node. */
  evict(ns: string, name: string): boolean {
    const pod = this.api.store.get('pods', ns, name) as Pod | undefined;
    if (!pod || pod.spec.nodeName !== NODE_NAME || isTerminal(pod)) return false;
    const mp = this.multis.get(pod.metadata.uid!);
    if (mp) {
      this.recorder.record(pod, 'Warning', 'Evicted', 'The node was low on resource: memory.', 'kubelet', NODE_NAME);
      mp.evict();
      return true;
    }
    const rt = this.runtimes.get(pod.metadata.uid!);
    this.recorder.record(pod, 'Warning', 'Evicted', 'The node was low on resource: memory.', 'kubelet', NODE_NAME);
    if (rt?.proc && rt.stage === 'running') {
      rt.killReason = 'Evicted';
      this.signal(rt, 'SIGKILL');
      return true;
    }
    if (rt) {
      rt.timers.forEach(clearTimeout);
      rt.stage = 'exited';
    }
    pod.status = {
      ...(pod.status ?? {}),
      phase: 'Failed',
      reason: 'Evicted',
      message: 'The node was low on resource: memory.',
      conditions: setCondition(pod.status?.conditions, { type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet', message: 'The node was low on resource: memory.' }),
    };
    this.api.updateInternal('pods', pod);
    return true;
  }

  /** The node is gone: its processes die with it and nothing is reported any more. */
  freeze(): void {
    this.frozen = true;
    for (const mp of this.multis.values()) mp.freeze();
    for (const rt of this.runtimes.values()) {
      rt.timers.forEach(clearTimeout);
      this.signal(rt, 'SIGKILL');
    }
  }

  thaw(): void {
    this.frozen = false;
    for (const [uid, mp] of this.multis) {
      this.multis.delete(uid);
      mp.gone();
    }
    for (const [uid, rt] of this.runtimes) {
      this.runtimes.delete(uid);
      if (rt.volumes) tearDownVolumes(rt.volumes);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const mp of this.multis.values()) mp.gone();
    this.multis.clear();
    for (const rt of this.runtimes.values()) {
      rt.timers.forEach(clearTimeout);
      rt.terminating = true;
      this.signal(rt, 'SIGKILL');
      if (rt.volumes) tearDownVolumes(rt.volumes);
      rt.log.end();
    }
    this.runtimes.clear();
  }

  pidOf(uid: string): number | undefined {
    const mp = this.multis.get(uid);
    if (mp) return mp.pids()[0];
    const rt = this.runtimes.get(uid);
    return rt?.stage === 'running' ? rt.proc?.pid : undefined;
  }

  /** Running containers with their pid (each leads its own process group), for the metrics server. */
  runningContainers(): Array<{ ns: string; name: string; container: string; pid: number }> {
    const out: Array<{ ns: string; name: string; container: string; pid: number }> = [];
    for (const mp of this.multis.values()) for (const c of mp.runningApps()) out.push({ ns: mp.ns, name: mp.name, ...c });
    for (const rt of this.runtimes.values()) {
      if (rt.stage !== 'running' || rt.proc?.pid === undefined) continue;
      const pod = this.api.store.get('pods', rt.ns, rt.name) as Pod | undefined;
      const container = pod?.spec.containers[0]?.name;
      if (container) out.push({ ns: rt.ns, name: rt.name, container, pid: rt.proc.pid });
    }
    return out;
  }

  /** Pids of running containers (for tests that check processes are really stopped). */
  runningPids(): number[] {
    const multi = [...this.multis.values()].flatMap((mp) => mp.pids());
    return [...multi, ...[...this.runtimes.values()].flatMap((rt) => (rt.proc?.pid !== undefined && rt.stage === 'running' ? [rt.proc.pid] : []))];
  }
}
