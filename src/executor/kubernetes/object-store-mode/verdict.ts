/**
 * How a pod of the object-store mode ended, beyond its tool's container (pure): the tool may
 * have exited, but its outputs exist only if the upload container finished. An upload that
 * failed by itself (its own error, e.g. access denied) fails the task with that message; an upload
 * cut short by the pod's end (deleted, evicted, node lost: killed by a signal) is a lost pod,
 * which the executor retries.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { PodVerdict } from '../diagnose.js';
import { UPLOAD_CONTAINER } from './pod-builder.js';

export function uploadVerdict(v: PodVerdict, pod: V1Pod | undefined): PodVerdict {
  if (v.state !== 'finished' || v.reason !== 'completed') return v;
  const who = `pod ${pod?.metadata?.name ?? '?'}`;
  const up = pod?.status?.containerStatuses?.find((c) => c.name === UPLOAD_CONTAINER);
  const t = up?.state?.terminated;
  const deleting = pod?.metadata?.deletionTimestamp !== undefined && pod?.metadata?.deletionTimestamp !== null;
  if (t?.exitCode === 0) return v;
  const killed = t === undefined || t.signal !== undefined || t.exitCode === 137 || t.exitCode === 143 || deleting;
  if (killed) {
    return { state: 'finished', reason: 'lost', exitCode: null, message: `${who} ended before its outputs were uploaded${deleting ? ' (the pod was deleted)' : t ? ` (upload container exited with code ${t.exitCode})` : ''}` };
  }
  const msg = (t.message ?? '').trim().split('\n').filter((l) => l.trim() !== '').slice(-3).join('; ');
  return { state: 'finished', reason: 'failed', exitCode: null, message: `${who}: uploading the outputs failed${msg ? `: ${msg}` : ` (exit code ${t.exitCode})`}` };
}
