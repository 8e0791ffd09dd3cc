import { describe, expect, it } from 'vitest';
import { UsageError } from '../../errors.js';
import { KUBERNETES_DEFAULTS, parseKubernetesSettings, quantityToMiB } from './settings.js';

describe('parseKubernetesSettings', () => {
  it('fills defaults, with the local user as owner', () => {
    const s = parseKubernetesSettings(undefined, 'strand.yaml', 'alice');
    expect(s).toMatchObject({ owner: 'alice', defaultImage: KUBERNETES_DEFAULTS.defaultImage, maxParallel: 32, dataVolumes: [], secretEnv: [] });
    expect(s.workspace).toBeUndefined();
    expect(s.pendingTimeoutSeconds).toBeUndefined();
  });

  it('reads every section, localPath defaulting to mountPath', () => {
    const s = parseKubernetesSettings(
      {
        namespace: 'genomics',
        workspace: { claimName: 'ws', mountPath: '/workspace/' },
        dataVolumes: [{ claimName: 'ref', mountPath: '/data/ref' }],
        scratch: { medium: 'Memory', sizeLimit: '2Gi' },
        secretEnv: [{ name: 'AWS_ACCESS_KEY_ID', secretName: 'minio', key: 'accesskey' }],
        imagePullSecrets: ['regcred', { name: 'other' }],
        maxMemory: '16Gi',
        pendingTimeoutSeconds: 600,
      },
      'strand.yaml',
      'alice',
    );
    expect(s.workspace).toEqual({ claimName: 'ws', mountPath: '/workspace', localPath: '/workspace' });
    expect(s.scratch).toEqual({ medium: 'Memory', sizeLimit: '2Gi' });
    expect(s.imagePullSecrets).toEqual(['regcred', 'other']);
    expect(s.maxMemoryMiB).toBe(16 * 1024);
    expect(s.pendingTimeoutSeconds).toBe(600);
  });

  it('names the file and field of a mistake', () => {
    const bad = (raw: unknown) => () => parseKubernetesSettings(raw, 'strand.yaml', 'alice');
    expect(bad({ workspace: { mountPath: '/w' } })).toThrow('strand.yaml: kubernetes.workspace.claimName: is required');
    expect(bad({ workspace: { claimName: 'w', mountPath: 'relative' } })).toThrow('kubernetes.workspace.mountPath: expected an absolute path');
    expect(bad({ dataVolumes: [{ claimName: 'x' }] })).toThrow('kubernetes.dataVolumes[0].mountPath: is required');
    expect(bad({ maxParallel: 0 })).toThrow('kubernetes.maxParallel: expected a whole number');
    expect(bad({ maxMemory: 'lots' })).toThrow('kubernetes.maxMemory: not a memory quantity');
    expect(bad({ namspace: 'x' })).toThrow('kubernetes.namspace: unknown setting');
    expect(bad({ owner: 'Alice Smith' })).toThrow('kubernetes.owner');
    expect(bad({ scratch: { medium: 'Disk' } })).toThrow(UsageError);
  });
});

describe('quantityToMiB', () => {
  it('reads binary and decimal suffixes and bytes', () => {
    expect(quantityToMiB('512Mi')).toBe(512);
    expect(quantityToMiB('2Gi')).toBe(2048);
    expect(quantityToMiB('1G')).toBeCloseTo(953.67, 1);
    expect(quantityToMiB(1048576)).toBe(1);
    expect(quantityToMiB('x')).toBeUndefined();
  });
});
