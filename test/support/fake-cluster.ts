/**
 * A ready-to-use "cluster" for running Strand's Kubernetes executor without one: the fake API
 * server (test/support/fake-kube) with a workspace claim bound to a local directory, optional
 * read-only data claims, and a Strand config file pointing at both.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from './fake-kube/index.js';

export interface FakeCluster {
  kube: FakeKube;
  /** Workspace directory (localPath = mountPath). */
  workspace: string;
  /** A Strand config file (`executor: kubernetes`, the `kubernetes:` section below). */
  configPath: string;
  /** The `kubernetes:` section, for building settings in-process. */
  settings: Record<string, unknown>;
  /** Environment for a `strand` child process: KUBECONFIG and STRAND_CONFIG set. */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export interface FakeClusterOptions {
  /** Read-only data claims: claim name -> host directory (mounted at the same path). */
  dataVolumes?: Record<string, string>;
  /** Extra settings merged into the `kubernetes:` section. */
  settings?: Record<string, unknown>;
  fake?: FakeKubeOptions;
}

export async function startFakeCluster(opts: FakeClusterOptions = {}): Promise<FakeCluster> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'strand-fake-cluster-'));
  const workspace = path.join(root, 'workspace');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(workspace);
  const claims: Record<string, string> = { 'strand-workspace': workspace, ...(opts.dataVolumes ?? {}) };
  const kube = await startFakeKube({
    node: { cpu: '64', memory: '256Gi', pods: 500 },
    jobBackoffBaseMs: 50,
    kubeletBackoffMs: 100,
    ...opts.fake,
    pvcHostPaths: { ...claims, ...(opts.fake?.pvcHostPaths ?? {}) },
  });
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  for (const [claim, dir] of Object.entries(claims)) {
    const rwx = claim === 'strand-workspace';
    await core.createNamespacedPersistentVolumeClaim({
      namespace: kube.namespace,
      body: {
        metadata: { name: claim },
        spec: { accessModes: [rwx ? 'ReadWriteMany' : 'ReadOnlyMany'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    void dir;
  }
  const settings: Record<string, unknown> = {
    workspace: { claimName: 'strand-workspace', mountPath: workspace, localPath: workspace },
    dataVolumes: Object.entries(opts.dataVolumes ?? {}).map(([claimName, mountPath]) => ({ claimName, mountPath })),
    requestsPerSecond: 1000,
    ...opts.settings,
  };
  const configPath = path.join(root, 'strand.yaml');
  writeFileSync(configPath, stringify({ executor: 'kubernetes', kubernetes: settings }));
  return {
    kube,
    workspace,
    configPath,
    settings,
    env: { ...process.env, KUBECONFIG: kube.kubeconfigPath, STRAND_CONFIG: configPath },
    async close() {
      await kube.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
