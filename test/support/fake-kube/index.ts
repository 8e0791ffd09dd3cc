/**
 * A fake Kubernetes API server for tests: the real wire protocol over HTTP on 127.0.0.1, a
 * simulated control plane (Job controller, scheduler, garbage collector, one node whose
 * kubelet runs containers as local processes) and fault injection. See README.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type ServerResponse, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Api } from './api.js';
import { EventRecorder } from './events.js';
import { type ImageMatcher, type ImagePullFailure, type PodPredicate, type RequestFault, Faults, imageMatcher } from './faults.js';
import { GarbageCollector } from './gc.js';
import { JobController, jobFinished } from './job-controller.js';
import { Kubelet } from './kubelet.js';
import { FakeMetrics } from './metrics.js';
import { writeKubeconfig } from './kubeconfig.js';
import { ALLOW_ALL, type RbacRule } from './rbac.js';
import { Authenticator } from './authn.js';
import { BOOTSTRAP_CLUSTER_ROLES, ObjectAuthorizer } from './rbac-objects.js';
import { resourceByPlural } from './resources.js';
import { NODE_NAME, Scheduler, makeNode } from './scheduler.js';
import { type RequestRecord, createHandler } from './server.js';
import { Store } from './store.js';
import type { Job, KubeObject, Pod } from './types.js';
import { setCondition } from './scheduler.js';

export type { RequestRecord } from './server.js';
export type { RbacRule } from './rbac.js';
export type { ImagePullFailure, ImageMatcher, PodPredicate, RequestFault } from './faults.js';
export type { KubeObject, Pod, Job } from './types.js';

export interface FakeKubeOptions {
  /** Node allocatable (default cpu '4', memory '8Gi', pods 110). */
  node?: { cpu?: string; memory?: string; pods?: number };
  /** Host directory backing each PersistentVolumeClaim by claim name; such claims are Bound. */
  pvcHostPaths?: Record<string, string>;
  /** Where emptyDir mountPaths may be created (default: the OS temp dir). */
  emptyDirRoots?: string[];
  /** Default namespace written to the kubeconfig (created if missing). Default 'default'. */
  namespace?: string;
  /** Extra namespaces to create at start. */
  namespaces?: string[];
  /** Watch events kept for resuming watches (default 1000). */
  historyLimit?: number;
  /** Job controller back-off base after a failed pod (real: 10000 ms). Default 10000. */
  jobBackoffBaseMs?: number;
  /** Delay before ErrImagePull turns into ImagePullBackOff and between OnFailure restarts. Default 1000. */
  kubeletBackoffMs?: number;
  /** Retry delay for pod creation refused by admission (quota). Default 1000. */
  createRetryMs?: number;
  /** Behave like Kubernetes < 1.21: ttlSecondsAfterFinished is ignored. */
  ignoreTtlSecondsAfterFinished?: boolean;
  /** Watch timeout when the client gives no timeoutSeconds (default 1800). */
  watchTimeoutSeconds?: number;
  /** Interval between BOOKMARK events on watches that allow them (default 5000; real ~60000). */
  bookmarkIntervalMs?: number;
  /** How long after loseNode() the node lifecycle controller fails and deletes its pods (default 500). */
  nodeLossEvictionMs?: number;
  /** RBAC rules (default: everything allowed). */
  rbac?: RbacRule[];
  /**
   * Serve metrics.k8s.io as metrics-server does (metrics.ts), scraping running containers every
   * `scrapeIntervalMs` (default 1000; real: 15-60 s). Default off: a 404, as on the k8s rig.
   */
  metrics?: { scrapeIntervalMs?: number };
}

export interface FakeKube {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly token: string;
  readonly namespace: string;
  /** Every API request, in order of completion. */
  readonly requests: RequestRecord[];
  /** Requests counted by `"<verb> <resource>"`, e.g. `"create jobs"`, `"get pods/log"`, `"watch pods"`. */
  requestCounts(): Record<string, number>;
  resetRequestLog(): void;
  /** Most Jobs that existed unfinished at the same time. */
  readonly peakActiveJobs: number;
  activeJobs(): number;

  /** Direct access to stored objects (no HTTP, no auth), for assertions. */
  getObject(plural: string, namespace: string, name: string): KubeObject | undefined;
  listObjects(plural: string, namespace?: string): KubeObject[];
  /** Logs of a pod's container as the kubelet kept them. */
  podLogs(namespace: string, name: string): string | undefined;
  /** Pids of container processes now running. */
  runningPids(): number[];
  /** Pid of a pod's running container process, if it is running. */
  containerPid(namespace: string, podName: string): number | undefined;

  // Faults
  failRequests(f: RequestFault): void;
  dropWatches(): void;
  compactHistory(): void;
  evictPod(name: string, namespace?: string): void;
  deletePod(name: string, namespace?: string): void;
  loseNode(): void;
  restoreNode(): void;
  imagePullFails(image: ImageMatcher, kind: ImagePullFailure): void;
  oomKillBelow(mebibytes: number | undefined): void;
  unschedulable(pred: PodPredicate, message?: string): void;
  setRbac(rules: RbacRule[]): void;
  clearFaults(): void;

  // Identities (authn.ts): the kubeconfig's user is authorized by `rbac`, these by stored RBAC objects.
  /** A user with a static bearer token (as a token file gives); returns the token. */
  addUser(user: string, groups?: string[]): string;
  /** Moves the clock that TokenRequest tokens expire by (tokens live at least 10 minutes). */
  advanceTokenClock(seconds: number): void;
  /** A kubeconfig file (in the fake's directory) for the same server with another bearer token. */
  kubeconfigFor(token: string, namespace: string): string;

  close(): Promise<void>;
}

export async function startFakeKube(opts: FakeKubeOptions = {}): Promise<FakeKube> {
  const store = new Store(opts.historyLimit ?? 1000);
  const api = new Api(store);
  const recorder = new EventRecorder(api);
  const faults = new Faults();
  const defaultNs = opts.namespace ?? 'default';
  for (const ns of new Set(['default', 'kube-system', defaultNs, ...(opts.namespaces ?? [])]))
    api.create(resourceByPlural('namespaces'), '', { metadata: { name: ns } });
  for (const role of BOOTSTRAP_CLUSTER_ROLES) api.create(resourceByPlural('clusterroles'), '', role);
  store.create('nodes', makeNode(opts.node?.cpu ?? '4', opts.node?.memory ?? '8Gi', opts.node?.pods ?? 110));
  const pvcHostPaths = opts.pvcHostPaths ?? {};
  // Claims with a backing host directory are bound as soon as they exist.
  store.onChange((ev) => {
    if (ev.plural !== 'persistentvolumeclaims' || ev.type !== 'ADDED') return;
    const claim = ev.object.metadata.name!;
    if (!pvcHostPaths[claim]) return;
    setImmediate(() => {
      const pvc = store.get('persistentvolumeclaims', ev.namespace, claim);
      if (!pvc || pvc.metadata.uid !== ev.object.metadata.uid) return;
      const spec = pvc['spec'] as { accessModes?: string[]; resources?: { requests?: { storage?: string } } };
      pvc['spec'] = { ...spec, volumeName: `pv-${claim}`, storageClassName: (spec as Record<string, unknown>)['storageClassName'] ?? 'fake-hostpath' };
      pvc['status'] = { phase: 'Bound', accessModes: spec.accessModes, capacity: { storage: spec.resources?.requests?.storage } };
      api.updateInternal('persistentvolumeclaims', pvc);
    });
  });

  let port = 0;
  const kubelet = new Kubelet(api, recorder, faults, {
    pvcHostPaths,
    emptyDirRoots: opts.emptyDirRoots ?? [tmpdir()],
    backoffMs: opts.kubeletBackoffMs ?? 1000,
    apiPort: () => port,
  });
  const scheduler = new Scheduler(api, recorder, faults);
  const gc = new GarbageCollector(api);
  const jobs = new JobController(api, recorder, {
    backoffBaseMs: opts.jobBackoffBaseMs ?? 10_000,
    ignoreTtl: opts.ignoreTtlSecondsAfterFinished ?? false,
    createRetryMs: opts.createRetryMs ?? 1000,
  });

  // Peak of concurrently unfinished Jobs.
  let peak = 0;
  const unfinished = new Set<string>();
  store.onChange((ev) => {
    if (ev.plural !== 'jobs') return;
    const uid = ev.object.metadata.uid!;
    if (ev.type === 'DELETED' || jobFinished(ev.object as Job)) unfinished.delete(uid);
    else unfinished.add(uid);
    peak = Math.max(peak, unfinished.size);
  });

  let rbac = opts.rbac ?? ALLOW_ALL;
  const requests: RequestRecord[] = [];
  const token = randomBytes(24).toString('hex');
  const user = 'fake-kube-user';
  const openWatches = new Set<ServerResponse>();
  const metrics = opts.metrics
    ? new FakeMetrics(kubelet, (ns, name) => store.get('pods', ns, name)?.metadata.labels ?? (store.get('pods', ns, name) ? {} : undefined), opts.metrics.scrapeIntervalMs ?? 1000)
    : undefined;
  const authn = new Authenticator(store, token, user);
  const handler = createHandler({
    api,
    store,
    faults,
    kubelet,
    ...(metrics ? { metrics } : {}),
    authn,
    objects: new ObjectAuthorizer(store),
    rbac: () => rbac,
    watchTimeoutSeconds: opts.watchTimeoutSeconds ?? 1800,
    bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 5000,
    openWatches,
    record: (r) => requests.push(r),
  });
  const server: Server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('fake-kube: no address');
  port = addr.port;
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'fake-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  writeKubeconfig(kubeconfigPath, { server: url, token, namespace: defaultNs, user });

  const podRes = resourceByPlural('pods');
  let nodeLossTimer: NodeJS.Timeout | undefined;

  const setNodeReady = (ready: boolean): void => {
    const node = store.get('nodes', '', NODE_NAME)!;
    const st = node['status'] as { conditions?: Parameters<typeof setCondition>[0] };
    st.conditions = setCondition(
      st.conditions,
      ready
        ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
        : { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' },
    );
    node['spec'] = ready
      ? {}
      : { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: new Date().toISOString() }, { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] };
    api.updateInternal('nodes', node);
  };

  const fake: FakeKube = {
    url,
    kubeconfigPath,
    token,
    namespace: defaultNs,
    requests,
    requestCounts() {
      const out: Record<string, number> = {};
      for (const r of requests) {
        const k = `${r.verb} ${r.resource}`;
        out[k] = (out[k] ?? 0) + 1;
      }
      return out;
    },
    resetRequestLog() {
      requests.length = 0;
    },
    get peakActiveJobs() {
      return peak;
    },
    activeJobs: () => unfinished.size,
    getObject: (plural, ns, name) => store.get(plural, ns, name),
    listObjects: (plural, ns) => store.list(plural, ns),
    podLogs(ns, name) {
      const p = store.get('pods', ns, name);
      return p ? kubelet.logOf(p.metadata.uid!)?.text() : undefined;
    },
    runningPids: () => kubelet.runningPids(),
    containerPid(ns, name) {
      const p = store.get('pods', ns, name);
      return p ? kubelet.pidOf(p.metadata.uid!) : undefined;
    },
    failRequests(f) {
      faults.requestFaults.push({ ...f });
    },
    dropWatches() {
      for (const res of openWatches) res.socket?.destroy();
      openWatches.clear();
    },
    compactHistory() {
      store.compact();
    },
    evictPod(name, ns = defaultNs) {
      if (!kubelet.evict(ns, name)) throw new Error(`fake-kube: pod ${ns}/${name} is not running on ${NODE_NAME}`);
    },
    deletePod(name, ns = defaultNs) {
      api.delete(podRes, ns, name, {});
    },
    loseNode() {
      kubelet.freeze();
      setNodeReady(false);
      // The node lifecycle controller marks the pods, then they are failed and deleted.
      nodeLossTimer = setTimeout(() => {
        for (const p of store.list('pods') as Pod[]) {
          if (p.spec.nodeName !== NODE_NAME) continue;
          const st = p.status ?? {};
          st.conditions = setCondition(st.conditions, { type: 'Ready', status: 'False', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
          st.conditions = setCondition(st.conditions, { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' });
          if (st.phase !== 'Succeeded' && st.phase !== 'Failed') st.phase = 'Failed';
          p.status = st;
          api.updateInternal('pods', p);
          store.remove('pods', p.metadata.namespace!, p.metadata.name!);
        }
      }, opts.nodeLossEvictionMs ?? 500);
    },
    restoreNode() {
      if (nodeLossTimer) clearTimeout(nodeLossTimer);
      kubelet.thaw();
      setNodeReady(true);
    },
    imagePullFails(image, kind) {
      faults.imagePull.push({ match: imageMatcher(image), kind });
    },
    oomKillBelow(mib) {
      faults.oomBelowMiB = mib;
    },
    unschedulable(pred, message) {
      faults.unschedulable.push({
        pred,
        message: message ?? "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..",
      });
      scheduler.kick();
    },
    setRbac(rules) {
      rbac = rules;
    },
    addUser: (name, groups = []) => authn.addUser(name, groups),
    advanceTokenClock: (seconds) => authn.advanceClock(seconds),
    kubeconfigFor(tok, namespace) {
      const file = join(dir, `kubeconfig-${randomBytes(6).toString('hex')}.yaml`);
      writeKubeconfig(file, { server: url, token: tok, namespace, user: 'fake-kube-token' });
      return file;
    },
    clearFaults() {
      faults.requestFaults = [];
      faults.imagePull = [];
      faults.oomBelowMiB = undefined;
      faults.unschedulable = [];
      rbac = opts.rbac ?? ALLOW_ALL;
      scheduler.kick();
    },
    async close() {
      if (nodeLossTimer) clearTimeout(nodeLossTimer);
      jobs.stop();
      scheduler.stop();
      gc.stop();
      kubelet.stop();
      metrics?.close();
      for (const res of openWatches) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fake;
}
