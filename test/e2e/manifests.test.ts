/**
 * The example manifests and config in examples/kubernetes/ parse, name a known apiVersion/kind,
 * and agree with each other (claims bind to their volumes, strand.yaml names those claims and
 * passes Strand's own config checks). Runs in the normal unit test run.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadUserConfig } from '../../src/config/config-file.js';
import { parseKubernetesSettings } from '../../src/executor/kubernetes/settings.js';
import { parseQuantity } from './e2e-env.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/kubernetes');
const CONFIG = 'strand.yaml';
const KNOWN_KINDS: Record<string, string[]> = {
  v1: ['PersistentVolume', 'PersistentVolumeClaim', 'Secret'],
  'kind.x-k8s.io/v1alpha4': ['Cluster'],
};

type Doc = Record<string, unknown> & { apiVersion?: string; kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown> };

function docsOf(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8'));
  return docs.map((d, i) => {
    expect(d.errors.map((e) => e.message), `${file} document ${i + 1}`).toEqual([]);
    return d.toJS() as Doc;
  });
}

const yamlFiles = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const manifestFiles = yamlFiles.filter((f) => f !== CONFIG);

describe('examples/kubernetes', () => {
  it('has the documented files', () => {
    expect(yamlFiles).toEqual(
      expect.arrayContaining(['workspace-pvc-nfs.yaml', 'workspace-hostpath-kind.yaml', 'kind-cluster.yaml', 'reference-data-rox.yaml', 'minio-secret.yaml', CONFIG]),
    );
  });

  it.each(manifestFiles)('%s: every document has a known apiVersion and kind and a name where needed', (file) => {
    const docs = docsOf(file);
    expect(docs.length).toBeGreaterThan(0);
    for (const doc of docs) {
      expect(Object.keys(KNOWN_KINDS), `${file}: apiVersion`).toContain(doc.apiVersion);
      expect(KNOWN_KINDS[doc.apiVersion!], `${file}: kind`).toContain(doc.kind);
      if (doc.apiVersion === 'v1') {
        expect(doc.metadata?.name, `${file}: ${doc.kind} metadata.name`).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
        // Applied with `kubectl apply -n NS`: a namespace in the file would clash with -n.
        expect((doc.metadata as Record<string, unknown>)['namespace'], `${file}: no metadata.namespace`).toBeUndefined();
      }
    }
  });

  it.each(manifestFiles)('%s: each claim binds to the volume beside it', (file) => {
    const docs = docsOf(file);
    const pvs = new Map(docs.filter((d) => d.kind === 'PersistentVolume').map((d) => [d.metadata?.name, d.spec ?? {}]));
    for (const pvc of docs.filter((d) => d.kind === 'PersistentVolumeClaim')) {
      const spec = pvc.spec ?? {};
      const pv = pvs.get(spec['volumeName'] as string);
      expect(pv, `${file}: ${pvc.metadata?.name} volumeName`).toBeDefined();
      expect(pv!['accessModes'], `${file}: access modes`).toEqual(spec['accessModes']);
      expect(pv!['storageClassName'], `${file}: storageClassName`).toBe(spec['storageClassName']);
      const want = parseQuantity((spec['resources'] as { requests: { storage: string } }).requests.storage);
      const have = parseQuantity((pv!['capacity'] as { storage: string }).storage);
      expect(want, `${file}: claim request <= volume capacity`).toBeLessThanOrEqual(have);
    }
  });

  it('workspace claims are ReadWriteMany, the reference claim ReadOnlyMany', () => {
    const modes = (file: string, kind: string) => docsOf(file).find((d) => d.kind === kind)?.spec?.['accessModes'];
    expect(modes('workspace-pvc-nfs.yaml', 'PersistentVolumeClaim')).toEqual(['ReadWriteMany']);
    expect(modes('workspace-hostpath-kind.yaml', 'PersistentVolumeClaim')).toEqual(['ReadWriteMany']);
    expect(modes('reference-data-rox.yaml', 'PersistentVolumeClaim')).toEqual(['ReadOnlyMany']);
  });

  it('the kind cluster mounts the hostPath of the workspace volume at the same path', () => {
    const [cluster] = docsOf('kind-cluster.yaml') as [{ nodes: { extraMounts?: { hostPath: string; containerPath: string }[] }[] }];
    const mounts = cluster.nodes.flatMap((n) => n.extraMounts ?? []);
    const pv = docsOf('workspace-hostpath-kind.yaml').find((d) => d.kind === 'PersistentVolume');
    const hostPath = (pv?.spec?.['hostPath'] as { path: string }).path;
    expect(mounts).toContainEqual({ hostPath, containerPath: hostPath });
  });

  it('strand.yaml passes Strand\'s config checks and names the example claims and secret', () => {
    const cfg = loadUserConfig(path.join(DIR, CONFIG), {}, DIR);
    expect(cfg?.executor).toBe('kubernetes');
    const s = parseKubernetesSettings(cfg?.kubernetes, CONFIG, 'someone');
    const claimOf = (file: string, kind: string) => docsOf(file).find((d) => d.kind === kind)?.metadata?.name;
    expect(s.workspace?.claimName).toBe(claimOf('workspace-pvc-nfs.yaml', 'PersistentVolumeClaim'));
    expect(s.dataVolumes.map((v) => v.claimName)).toEqual([claimOf('reference-data-rox.yaml', 'PersistentVolumeClaim')]);
    const secret = docsOf('minio-secret.yaml')[0] as { metadata: { name: string }; stringData: Record<string, string> };
    for (const e of s.secretEnv) {
      expect(e.secretName).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData)).toContain(e.key);
    }
  });
});
