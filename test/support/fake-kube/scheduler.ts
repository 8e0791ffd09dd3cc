/**
 * The one node (`fake-node`) and a scheduler for it: fits pod requests into the node's
 * allocatable cpu/memory/pods, marks pods that do not fit Unschedulable with a FailedScheduling
 * event, and binds the ones that fit (retrying whenever pods change).
 */
import type { Api } from './api.js';
import { isTerminal } from './api.js';
import type { EventRecorder } from './events.js';
import type { Faults } from './faults.js';
import { parseQuantity } from './quantity.js';
import { type Condition, type KubeObject, type Pod, nowIso } from './types.js';

export const NODE_NAME = 'fake-node';

export function makeNode(cpu: string, memory: string, pods: number): KubeObject {
  const res = { cpu, memory, pods: String(pods), 'ephemeral-storage': '100Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: NODE_NAME, labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch } },
    spec: {},
    status: {
      capacity: res,
      allocatable: res,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastTransitionTime: nowIso(), lastHeartbeatTime: nowIso() }],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: NODE_NAME },
      ],
      nodeInfo: { kubeletVersion: 'v1.29.0', containerRuntimeVersion: 'fake://1.0', operatingSystem: 'linux', architecture: 'amd64' },
    },
  };
}

export function nodeReady(node: KubeObject | undefined): boolean {
  const conds = (node?.['status'] as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

const podRequest = (pod: Pod, res: string): number =>
  pod.spec.containers.reduce((a, c) => a + parseQuantity(c.resources?.requests?.[res] ?? 0), 0);

export function setCondition(conds: Condition[] | undefined, c: Condition): Condition[] {
  const list = [...(conds ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const prev = list[i];
  const next: Condition = { lastProbeTime: null, ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime! : nowIso() };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

const PREEMPTION_SUFFIX = ' preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..';

export class Scheduler {
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly api: Api,
    private readonly recorder: EventRecorder,
    private readonly faults: Faults,
  ) {
    api.store.onChange((ev) => {
      if (ev.plural === 'pods' || ev.plural === 'nodes' || ev.plural === 'persistentvolumeclaims') this.kick();
    });
  }

  stop(): void {
    this.stopped = true;
  }

  kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.run();
    });
  }

  private run(): void {
    const node = this.api.store.get('nodes', '', NODE_NAME);
    const pods = this.api.store.list('pods', undefined, (p) => !isTerminal(p as Pod)) as Pod[];
    const pending = pods
      .filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp && !isTerminal(p))
      .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    if (pending.length === 0) return;
    const bound = pods.filter((p) => p.spec.nodeName === NODE_NAME && !isTerminal(p));
    const alloc = ((node?.['status'] as { allocatable?: Record<string, string> } | undefined)?.allocatable ?? {}) as Record<string, string>;
    const used = { cpu: 0, memory: 0, pods: bound.length };
    for (const p of bound) {
      used.cpu += podRequest(p, 'cpu');
      used.memory += podRequest(p, 'memory');
    }
    for (const pod of pending) {
      const why = this.unfit(pod, node, alloc, used);
      if (why) {
        this.markUnschedulable(pod, why);
        continue;
      }
      used.cpu += podRequest(pod, 'cpu');
      used.memory += podRequest(pod, 'memory');
      used.pods += 1;
      this.bind(pod);
    }
  }

  private unfit(pod: Pod, node: KubeObject | undefined, alloc: Record<string, string>, used: { cpu: number; memory: number; pods: number }): string | undefined {
    const injected = this.faults.unschedulableMessage(pod);
    if (injected) return injected;
    for (const v of pod.spec.volumes ?? []) {
      const claim = v.persistentVolumeClaim?.claimName;
      if (!claim) continue;
      const pvc = this.api.store.get('persistentvolumeclaims', pod.metadata.namespace!, claim);
      if (!pvc) return `0/1 nodes are available: persistentvolumeclaim "${claim}" not found.${PREEMPTION_SUFFIX}`;
      if ((pvc['status'] as { phase?: string } | undefined)?.phase !== 'Bound')
        return `0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.${PREEMPTION_SUFFIX}`;
    }
    if (!node || !nodeReady(node))
      return `0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..`;
    const sel = (pod.spec['nodeSelector'] ?? {}) as Record<string, string>;
    const labels = node.metadata.labels ?? {};
    if (Object.entries(sel).some(([k, v]) => labels[k] !== v))
      return `0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..`;
    const reasons: string[] = [];
    if (used.cpu + podRequest(pod, 'cpu') > parseQuantity(alloc['cpu'] ?? 0) + 1e-9) reasons.push('1 Insufficient cpu');
    if (used.memory + podRequest(pod, 'memory') > parseQuantity(alloc['memory'] ?? 0)) reasons.push('1 Insufficient memory');
    if (used.pods + 1 > parseQuantity(alloc['pods'] ?? 110)) reasons.push('1 Too many pods');
    if (reasons.length === 0) return undefined;
    return `0/1 nodes are available: ${reasons.join(', ')}.${PREEMPTION_SUFFIX}`;
  }

  private markUnschedulable(pod: Pod, message: string): void {
    const st = pod.status ?? {};
    const prev = st.conditions?.find((c) => c.type === 'PodScheduled');
    if (!(prev && prev.status === 'False' && prev.message === message)) {
      st.conditions = setCondition(st.conditions, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message });
      pod.status = st;
      this.api.updateInternal('pods', pod);
    }
    this.recorder.record(pod, 'Warning', 'FailedScheduling', message, 'default-scheduler');
  }

  private bind(pod: Pod): void {
    pod.spec.nodeName = NODE_NAME;
    const st = pod.status ?? {};
    st.conditions = setCondition(st.conditions, { type: 'PodScheduled', status: 'True' });
    pod.status = st;
    this.api.updateInternal('pods', pod);
    this.recorder.record(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${NODE_NAME}`, 'default-scheduler');
  }
}
