/**
 * What a Warning Event about one of the run's Jobs or pods means for its task (pure).
 *
 * Some refusals happen after the Job was accepted and show nowhere but in Events: the Job
 * controller cannot create the pod (a LimitRange whose max is below the request, an admission
 * webhook, a missing ServiceAccount: `FailedCreate` on the Job), or the pod can never be placed or
 * started (a claim or Secret that does not exist). Those fail the task with the cluster's words.
 * A quota refusal is news only: room comes back when other pods finish.
 */
import type { CoreV1Event } from '@kubernetes/client-node';

export type EventNews = { kind: 'refused'; message: string } | { kind: 'note'; message: string };

/** Which of the run's Jobs an Event is about (pods are named `<job>-<5 random characters>`). */
export function jobOfEvent(ev: CoreV1Event): string | undefined {
  const o = ev.involvedObject;
  if (o.kind === 'Job') return o.name;
  if (o.kind === 'Pod' && o.name) return o.name.replace(/-[a-z0-9]{5}$/, '');
  return undefined;
}

const NOT_FOUND = /\b(persistentvolumeclaim|secret|configmap|serviceaccount)s? "[^"]+" not found/i;

export function eventNews(ev: CoreV1Event): EventNews | undefined {
  if (ev.type !== 'Warning') return undefined;
  const what = `${ev.involvedObject.kind} ${ev.involvedObject.name}`;
  const message = (ev.message ?? '').trim();
  const said = `${what}: ${ev.reason}: ${message}`;
  switch (ev.reason) {
    case 'FailedCreate':
      if (/exceeded quota/i.test(message)) return { kind: 'note', message: `${said}; waiting for room in the quota` };
      return { kind: 'refused', message: `the cluster refused to create the pod of ${said}` };
    case 'FailedScheduling':
      if (NOT_FOUND.test(message)) return { kind: 'refused', message: `the pod cannot be scheduled: ${said}` };
      return undefined; // the pod's PodScheduled condition says the same, and is followed already
    case 'FailedMount':
    case 'FailedAttachVolume':
      if (NOT_FOUND.test(message)) return { kind: 'refused', message: `a volume of the pod does not exist: ${said}` };
      return { kind: 'note', message: said };
    default:
      return undefined;
  }
}
