/**
 * The per-run anchor: one ConfigMap that owns (via ownerReferences) every Job of a run, so
 * `kubectl delete configmap strand-run-<id>` deletes the whole run, and that records who started
 * the run and when.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { LABELS, MANAGED_BY, anchorName, labelValue } from '../../cluster/names.js';

export function buildAnchor(
  runId: string,
  namespace: string,
  owner: string,
  info: { processId: string; startedAt: Date; ownedBy?: { apiVersion: string; kind: string; name: string; uid: string } },
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: anchorName(runId),
      namespace,
      // A submitted run's anchor belongs to its leader Job: deleting that Job deletes the run.
      ...(info.ownedBy ? { ownerReferences: [{ ...info.ownedBy }] } : {}),
      labels: {
        [LABELS.managedBy]: MANAGED_BY,
        [LABELS.run]: labelValue(runId),
        [LABELS.owner]: labelValue(owner),
      },
    },
    data: {
      runId,
      processId: info.processId,
      startedAt: info.startedAt.toISOString(),
      owner,
    },
  };
}
