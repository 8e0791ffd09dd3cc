import { describe, expect, it } from 'vitest';
import { parseKubernetesSettings } from '../../executor/kubernetes/settings.js';
import { leaderKubernetesSettings, leaderStorageSettings, objectStoreOutdir, outdirInPods, podPathLocally, runRootFor } from './plan.js';

const ws = { localPath: '/mnt/ws', mountPath: '/workspace' };

describe('submitted run paths and settings', () => {
  it('places the run under <workspace>/strand-submit/<run>', () => {
    expect(runRootFor('/workspace', 'r1')).toBe('/workspace/strand-submit/r1');
  });

  it('takes --outdir on the workspace as this machine or pods see it, and nothing else', () => {
    expect(outdirInPods('/mnt/ws/results', ws)).toBe('/workspace/results');
    expect(outdirInPods('/workspace/results', ws)).toBe('/workspace/results');
    expect(outdirInPods('/home/alice/results', ws)).toBeUndefined();
    expect(outdirInPods('/mnt/wsx', ws)).toBeUndefined();
    expect(podPathLocally('/workspace/strand-submit/r1/out', ws)).toBe('/mnt/ws/strand-submit/r1/out');
    expect(podPathLocally('/elsewhere', ws)).toBe('/elsewhere');
  });

  it("gives the leader the submitter's settings, in-cluster, in the submitter's namespace, workspace where the pod mounts it", () => {
    const raw = {
      kubeconfig: '/home/alice/.kube/lab',
      context: 'lab',
      namespace: 'ignored',
      defaultImage: 'debian:stable-slim',
      workspace: { claimName: 'ws', mountPath: '/workspace', localPath: '/mnt/ws' },
      maxParallel: 8,
    };
    const out = leaderKubernetesSettings(raw, { maxParallel: 4, owner: undefined, pendingTimeoutSeconds: 60 }, 'genomics');
    expect(out).toEqual({
      namespace: 'genomics',
      defaultImage: 'debian:stable-slim',
      workspace: { claimName: 'ws', mountPath: '/workspace', localPath: '/workspace' },
      maxParallel: 4,
      pendingTimeoutSeconds: 60,
    });
    // What the leader's executor parses.
    const s = parseKubernetesSettings(out, 'the run plan', 'strand');
    expect({ kubeconfig: s.kubeconfig, ns: s.namespace, ws: s.workspace, max: s.maxParallel }).toEqual({
      kubeconfig: undefined,
      ns: 'genomics',
      ws: { claimName: 'ws', mountPath: '/workspace', localPath: '/workspace' },
      max: 4,
    });
  });

  it('without a workspace: outputs beside the run in the bucket; the S3 settings travel, a local profile does not', () => {
    expect(objectStoreOutdir('lab', 'strand', 'r1')).toBe('s3://lab/strand/strand-submit/r1/out');
    expect(objectStoreOutdir('lab', '', 'r1')).toBe('s3://lab/strand-submit/r1/out');
    expect(leaderStorageSettings({ s3: { endpoint: 'http://minio:9000', forcePathStyle: true, profile: 'lab' } })).toEqual({ s3: { endpoint: 'http://minio:9000', forcePathStyle: true } });
    expect(leaderStorageSettings({ s3: { profile: 'lab' } })).toBeUndefined();
    expect(leaderStorageSettings(undefined)).toBeUndefined();
  });
});
