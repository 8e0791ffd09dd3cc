/**
 * What a pod's (or a Job's) status means for a task. Pure: reads the objects, does no I/O.
 *
 * The order of the rules matters. A pod the node gave up on (eviction, deadline, node loss) is
 * judged by that, not by its container's exit code (a SIGKILLed process exits 137 but did not
 * fail by itself); an OOM kill is recognised from the container's terminated reason `OOMKilled`,
 * never from exit code 137 alone; a container that terminated normally is `completed` with its
 * exit code, whatever it is — the engine decides what counts as success.
 */
import type { V1ContainerStatus, V1Job, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import type { TaskReason } from '../executor.js';

export type PodVerdict =
  | { state: 'pending'; unschedulable?: string /* scheduler message */; waitingReason?: string }
  | { state: 'image_error'; reason: 'ErrImagePull' | 'ImagePullBackOff' | 'InvalidImageName' | string; image: string; message: string }
  | { state: 'running' }
  | { state: 'finished'; reason: TaskReason; exitCode: number | null; message: string; /** the pod is still waiting: it will never run */ stuck?: true };

/** Container waiting reasons meaning the image cannot be had. */
const IMAGE_ERRORS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable', 'SignatureValidationFailed']);
/** Container waiting reasons meaning the container cannot be created as specified. */
const CONFIG_ERRORS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);
/** Terminated reasons meaning the process never started (exit code belongs to the runtime). */
const START_ERRORS = new Set(['StartError', 'ContainerCannotRun']);
/** Pod status reasons meaning the node went away or refused the pod: run it elsewhere. */
const LOST_POD_REASONS = new Set(['NodeLost', 'Terminated', 'Shutdown', 'NodeShutdown', 'UnexpectedAdmissionError', 'NodeAffinity']);
/** DisruptionTarget reasons meaning the node is gone. */
const LOST_DISRUPTIONS = new Set(['DeletionByTaintManager', 'DeletionByPodGC']);
/** DisruptionTarget reasons meaning the pod was pushed out of a healthy node. */
const EVICTED_DISRUPTIONS = new Set(['TerminationByKubelet', 'EvictionByEvictionAPI', 'PreemptionByScheduler']);

function condition(pod: V1Pod, type: string): V1PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** The task's container: the first one (Strand's pods have one), by status. */
function mainStatus(pod: V1Pod): V1ContainerStatus | undefined {
  const name = pod.spec?.containers[0]?.name;
  const all = pod.status?.containerStatuses ?? [];
  return all.find((c) => c.name === name) ?? all[0];
}

function podName(pod: V1Pod): string {
  const ns = pod.metadata?.namespace;
  return `pod ${pod.metadata?.name ?? '(unnamed)'}${ns ? ` in namespace ${ns}` : ''}`;
}

function withDetail(head: string, detail: string | undefined): string {
  const d = detail?.trim();
  return d ? `${head}: ${d}` : head;
}

function finished(reason: TaskReason, exitCode: number | null, message: string): PodVerdict {
  return { state: 'finished', reason, exitCode, message };
}

/**
 * Init containers and the other containers of a pod with several (object-store mode): what
 * decides the task before its own container ends, or instead of it.
 */
function otherContainers(pod: V1Pod, who: string): PodVerdict | undefined {
  for (const ic of pod.status?.initContainerStatuses ?? []) {
    const t = ic.state?.terminated;
    const w = ic.state?.waiting;
    if (t && t.exitCode !== 0) {
      if (t.reason === 'OOMKilled') return finished('failed', null, withDetail(`${who}: init container ${ic.name} was killed for exceeding its memory limit (OOMKilled)`, t.message));
      return finished('failed', null, withDetail(`${who}: init container ${ic.name} exited with code ${t.exitCode}`, t.message));
    }
    if (w?.reason && IMAGE_ERRORS.has(w.reason)) {
      const image = ic.image || pod.spec?.initContainers?.find((c) => c.name === ic.name)?.image || '(unknown image)';
      return { state: 'image_error', reason: w.reason, image, message: withDetail(`${who}: cannot pull image ${image} (${w.reason})`, w.message) };
    }
    if (w?.reason && CONFIG_ERRORS.has(w.reason)) {
      return { ...finished('failed', null, withDetail(`${who}: init container ${ic.name} cannot be created (${w.reason})`, w.message)), stuck: true } as PodVerdict;
    }
  }
  const main = pod.spec?.containers[0]?.name;
  for (const c of pod.status?.containerStatuses ?? []) {
    if (c.name === main) continue;
    const w = c.state?.waiting;
    if (w?.reason && IMAGE_ERRORS.has(w.reason)) {
      const image = c.image || pod.spec?.containers.find((x) => x.name === c.name)?.image || '(unknown image)';
      return { state: 'image_error', reason: w.reason, image, message: withDetail(`${who}: cannot pull image ${image} (${w.reason})`, w.message) };
    }
    if (w?.reason && CONFIG_ERRORS.has(w.reason)) {
      return { ...finished('failed', null, withDetail(`${who}: container ${c.name} cannot be created (${w.reason})`, w.message)), stuck: true } as PodVerdict;
    }
  }
  return undefined;
}

export function diagnosePod(pod: V1Pod): PodVerdict {
  const who = podName(pod);
  const phase = pod.status?.phase;
  const podReason = pod.status?.reason;
  const podMessage = pod.status?.message;
  const cs = mainStatus(pod);
  const terminated = cs?.state?.terminated;
  const waiting = cs?.state?.waiting;
  const disruption = condition(pod, 'DisruptionTarget');
  const disrupted = disruption?.status === 'True' ? disruption : undefined;
  const deleting = pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  // With several containers (the task's and Strand's upload container), the pod is over when all are.
  const several = (pod.spec?.containers.length ?? 1) > 1;
  const allTerminated = (pod.status?.containerStatuses ?? []).length >= (pod.spec?.containers.length ?? 1) && (pod.status?.containerStatuses ?? []).every((c) => c.state?.terminated);
  const over = phase === 'Failed' || phase === 'Succeeded' || (terminated !== undefined && (!several || allTerminated)) || deleting;
  const other = otherContainers(pod, who);
  if (other && (other.state !== 'finished' || other.stuck || !terminated)) return other;
  if (several && !over && terminated && (terminated.reason === 'OOMKilled' || START_ERRORS.has(terminated.reason ?? ''))) {
    // The tool's container ended abnormally while Strand's container waits for it: decide now.
    const v = terminated.reason === 'OOMKilled'
      ? finished('oom_killed', terminated.exitCode ?? null, withDetail(`${who} was killed for exceeding its memory limit (OOMKilled)`, terminated.message))
      : finished('failed', null, withDetail(`${who}: the container could not start (${terminated.reason})`, terminated.message));
    return { ...v, stuck: true } as PodVerdict;
  }

  if (over) {
    const exitCode = terminated?.exitCode ?? null;
    if (podReason === 'Evicted') {
      return finished('evicted', null, withDetail(`${who} was evicted by the kubelet`, podMessage ?? disrupted?.message));
    }
    if (podReason === 'DeadlineExceeded') {
      return finished('timed_out', null, withDetail(`${who} exceeded its time limit (DeadlineExceeded)`, podMessage));
    }
    if (terminated?.reason === 'OOMKilled') {
      return finished('oom_killed', exitCode, withDetail(`${who} was killed for exceeding its memory limit (OOMKilled)`, terminated.message));
    }
    if ((disrupted && LOST_DISRUPTIONS.has(disrupted.reason ?? '')) || LOST_POD_REASONS.has(podReason ?? '')) {
      const why = disrupted && LOST_DISRUPTIONS.has(disrupted.reason ?? '') ? disrupted.reason : podReason;
      return finished('lost', null, withDetail(`${who} was lost with its node (${why})`, podMessage ?? disrupted?.message));
    }
    if (disrupted && EVICTED_DISRUPTIONS.has(disrupted.reason ?? '')) {
      return finished('evicted', null, withDetail(`${who} was evicted (${disrupted.reason})`, disrupted.message ?? podMessage));
    }
    if (terminated && START_ERRORS.has(terminated.reason ?? '')) {
      return finished('failed', null, withDetail(`${who}: the container could not start (${terminated.reason})`, terminated.message));
    }
    if (terminated) {
      const how = terminated.signal ? `was killed by signal ${terminated.signal}` : `exited with code ${terminated.exitCode}`;
      return finished('completed', terminated.exitCode, withDetail(`${who}: the container ${how} (${terminated.reason ?? 'Terminated'})`, terminated.message));
    }
    if (deleting) {
      return finished('lost', null, `${who} was deleted before its container finished${podReason ? ` (${podReason})` : ''}`);
    }
    if (phase === 'Succeeded') return finished('completed', 0, `${who} succeeded`);
    return finished('failed', null, withDetail(`${who} failed${podReason ? ` (${podReason})` : ''}`, podMessage));
  }

  if (waiting?.reason && IMAGE_ERRORS.has(waiting.reason)) {
    const image = cs?.image || pod.spec?.containers[0]?.image || '(unknown image)';
    return {
      state: 'image_error',
      reason: waiting.reason,
      image,
      message: withDetail(`${who}: cannot pull image ${image} (${waiting.reason})`, waiting.message),
    };
  }
  if (waiting?.reason && CONFIG_ERRORS.has(waiting.reason)) {
    return { ...finished('failed', null, withDetail(`${who}: the container cannot be created (${waiting.reason})`, waiting.message)), stuck: true } as PodVerdict;
  }

  const scheduled = condition(pod, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { state: 'pending', unschedulable: scheduled.message ?? `${who} is unschedulable` };
  }
  if (cs?.state?.running) return { state: 'running' };
  if (phase === 'Running' && !waiting) return { state: 'running' };
  return waiting?.reason ? { state: 'pending', waitingReason: waiting.reason } : { state: 'pending' };
}

/** For a Job whose pod is gone: DeadlineExceeded -> timed_out etc. */
export function diagnoseJob(job: V1Job): { state: 'active' } | { state: 'finished'; reason: TaskReason; message: string } {
  const who = `Job ${job.metadata?.name ?? '(unnamed)'}${job.metadata?.namespace ? ` in namespace ${job.metadata.namespace}` : ''}`;
  const conds = job.status?.conditions ?? [];
  const isTrue = (type: string) => conds.find((c) => c.type === type && c.status === 'True');
  const failed = isTrue('Failed') ?? isTrue('FailureTarget');
  if (failed) {
    switch (failed.reason) {
      case 'DeadlineExceeded':
        return { state: 'finished', reason: 'timed_out', message: withDetail(`${who} exceeded its activeDeadlineSeconds (DeadlineExceeded)`, failed.message) };
      default:
        return { state: 'finished', reason: 'failed', message: withDetail(`${who} failed${failed.reason ? ` (${failed.reason})` : ''}`, failed.message) };
    }
  }
  const complete = isTrue('Complete') ?? isTrue('SuccessCriteriaMet');
  if (complete) return { state: 'finished', reason: 'completed', message: `${who} completed` };
  if (job.metadata?.deletionTimestamp) return { state: 'finished', reason: 'lost', message: `${who} was deleted before it finished` };
  return { state: 'active' };
}

/**
 * The gist of a kubelet's image pull message, which wraps the runtime's error several times
 * (`rpc error: code = Unknown desc = failed to pull and unpack image "x": failed to resolve
 * reference "x": failed to do request: Head "https://...": dial tcp 127.0.0.1:9: connect:
 * connection refused`): the innermost cause, or the message cut short.
 */
export function pullFailure(message: string): string {
  const inner = /(dial tcp \S+: connect: [^"]+|\S+: not found|manifest unknown[^"]*|pull access denied[^"]*|unauthorized[^"]*|no such host[^"]*|x509:[^"]*|Back-off pulling image "[^"]*"|invalid reference format)\s*$/i.exec(message.trim());
  if (inner?.[1]) return inner[1].trim();
  const m = message.replace(/^.*?desc = /, '').trim();
  return m.length > 160 ? `${m.slice(0, 157)}...` : m;
}
