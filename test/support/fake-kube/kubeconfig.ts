/** Writes a kubeconfig that points the real client at the fake server. */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigParams {
  server: string;
  token: string;
  namespace: string;
  user: string;
}

/**
 * Plain HTTP on loopback: @kubernetes/client-node only accepts an `http:` server when the cluster
 * has `insecure-skip-tls-verify: true` (otherwise it throws "HTTP protocol is not allowed when
 * skipTLSVerify is not set or false").
 */
export function kubeconfigYaml(p: KubeconfigParams): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake-kube', cluster: { server: p.server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: p.user, user: { token: p.token } }],
    contexts: [{ name: 'fake-kube', context: { cluster: 'fake-kube', user: p.user, namespace: p.namespace } }],
    'current-context': 'fake-kube',
    preferences: {},
  });
}

export function writeKubeconfig(path: string, p: KubeconfigParams): void {
  writeFileSync(path, kubeconfigYaml(p), { mode: 0o600 });
}
