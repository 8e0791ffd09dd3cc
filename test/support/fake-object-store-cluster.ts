/**
 * The fake API server with no workspace claim, a real S3 server (s3rver on loopback) with one
 * bucket, a Secret holding its credentials, and settings for `kubernetes.storage: objectStore`.
 * The pods' Strand containers run this checkout's built CLI (`npm run build` first): the fake
 * kubelet runs containers as host processes, so `image` is only a name here.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { connect } from '../../src/cluster/connection.js';
import { KubeApi } from '../../src/cluster/kube-api.js';
import { KubernetesExecutor, type KubernetesExecutorHooks } from '../../src/executor/kubernetes/kubernetes-executor.js';
import { ObjectStoreMode } from '../../src/executor/kubernetes/object-store-mode/mode.js';
import { parseKubernetesSettings } from '../../src/executor/kubernetes/settings.js';
import { S3Store } from '../../src/storage/index.js';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from './fake-kube/index.js';
import { startS3Server, type S3TestServer } from './s3-server.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** bin/strand.js of this checkout, from the sources or from dist/test/support. */
export const STRAND_BIN = [path.join(repo, 'bin', 'strand.js'), path.join(repo, '..', 'bin', 'strand.js')].find((p) => existsSync(p)) ?? path.join(repo, 'bin', 'strand.js');

export interface FakeObjectStoreCluster {
  kube: FakeKube;
  s3: S3TestServer;
  bucket: string;
  /** Strand's local work root (task directories), and where the fake's pods put their emptyDirs. */
  localRoot: string;
  podRoot: string;
  /** The `kubernetes:` section. */
  settings: Record<string, unknown>;
  /** A Strand config file (`executor: kubernetes`, that section, `storage.s3`). */
  configPath: string;
  /** Environment for a `strand` child process: KUBECONFIG, STRAND_CONFIG and the S3 credentials. */
  env: NodeJS.ProcessEnv;
  /** A fresh executor on this cluster (its own S3 client). */
  executor(over?: Record<string, unknown>, hooks?: KubernetesExecutorHooks): KubernetesExecutor;
  close(): Promise<void>;
}

export const SECRET = 'strand-s3';

/** `otherBuckets`: more buckets on the same server (not the run's). */
export async function startFakeObjectStoreCluster(opts: { fake?: FakeKubeOptions; bucket?: string; s3Host?: string; otherBuckets?: string[] } = {}): Promise<FakeObjectStoreCluster> {
  const bucket = opts.bucket ?? 'strand-test';
  const root = mkdtempSync(path.join(os.tmpdir(), 'strand-fake-os-'));
  const localRoot = path.join(root, 'local');
  const podRoot = path.join(root, 'pods');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(localRoot);
  mkdirSync(podRoot);
  const s3 = await startS3Server({ buckets: [bucket, ...(opts.otherBuckets ?? [])], ...(opts.s3Host ? { host: opts.s3Host } : {}) });
  const kube = await startFakeKube({ node: { cpu: '64', memory: '256Gi', pods: 500 }, jobBackoffBaseMs: 50, kubeletBackoffMs: 100, emptyDirRoots: [podRoot], ...opts.fake });
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: kube.namespace,
    body: { metadata: { name: SECRET }, stringData: { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey } },
  });
  const settings: Record<string, unknown> = {
    storage: 'objectStore',
    objectStore: {
      location: `s3://${bucket}/strand`,
      credentialsSecret: SECRET,
      image: 'localhost/strand:dev',
      command: [process.execPath, STRAND_BIN],
      podRoot,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
    },
    requestsPerSecond: 1000,
  };
  const configPath = path.join(root, 'strand.yaml');
  writeFileSync(configPath, stringify({ executor: 'kubernetes', kubernetes: settings, storage: { s3: s3.settings } }));
  return {
    kube,
    s3,
    bucket,
    localRoot,
    podRoot,
    settings,
    configPath,
    env: { ...process.env, ...s3.env, KUBECONFIG: kube.kubeconfigPath, STRAND_CONFIG: configPath },
    executor(over = {}, hooks = {}) {
      const s = parseKubernetesSettings({ ...settings, ...over }, 'test', 'tester');
      const api = new KubeApi(connect({ kubeconfig: kube.kubeconfigPath }), { requestsPerSecond: s.requestsPerSecond });
      const mode = new ObjectStoreMode(s, s3.settings, localRoot, new S3Store(s3.settings, { credentials: s3.credentials, retryBaseDelayMs: 20 }));
      return new KubernetesExecutor(s, api, { quotaRetryMs: 50, ...hooks }, mode);
    },
    async close() {
      await kube.close();
      await s3.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
