/**
 * A lab on the fake API server, for the lab server's identity and member tests: the members'
 * ClusterRole and the server's own RBAC applied by the administrator (the fake's kubeconfig
 * user), and a KubeApi that acts as the server's ServiceAccount with a TokenRequest token, so
 * that what the server does is checked against exactly the rights `strand rbac --server` prints.
 */
import * as k8s from '@kubernetes/client-node';
import { connect } from '../../src/cluster/connection.js';
import { KubeApi } from '../../src/cluster/kube-api.js';
import { serverRbacObjects } from '../../src/server/members/server-rbac.js';
import { startFakeKube, type FakeKube } from './fake-kube/index.js';

export const FAST: ConstructorParameters<typeof KubeApi>[1] = { requestsPerSecond: 1000, maxRetries: 0 };

/** A KubeApi on the fake with `token` (the administrator's when absent). */
export function kubeApiFor(fake: FakeKube, token?: string, namespace = 'default'): KubeApi {
  const file = token === undefined ? fake.kubeconfigPath : fake.kubeconfigFor(token, namespace);
  return new KubeApi(connect({ kubeconfig: file, namespace }, {}), FAST);
}

/** Create each object with the administrator's rights, by its kind. */
export async function applyAsAdmin(fake: FakeKube, objects: object[]): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(fake.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  for (const o of objects as Array<{ kind: string; metadata: { name: string; namespace?: string } }>) {
    const namespace = o.metadata.namespace ?? '';
    const body = o as never;
    switch (o.kind) {
      case 'Namespace':
        await core.createNamespace({ body });
        break;
      case 'ServiceAccount':
        await core.createNamespacedServiceAccount({ namespace, body });
        break;
      case 'ClusterRole':
        await rbac.createClusterRole({ body });
        break;
      case 'ClusterRoleBinding':
        await rbac.createClusterRoleBinding({ body });
        break;
      case 'Role':
        await rbac.createNamespacedRole({ namespace, body });
        break;
      case 'RoleBinding':
        await rbac.createNamespacedRoleBinding({ namespace, body });
        break;
      default:
        throw new Error(`applyAsAdmin: no case for ${o.kind}`);
    }
  }
}

/** A TokenRequest token of ServiceAccount `name` in `namespace`, asked by the administrator. */
export async function serviceAccountToken(fake: FakeKube, namespace: string, name: string, audiences: string[] = [], expirationSeconds = 86_400): Promise<string> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(fake.kubeconfigPath);
  const tr = await kc.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({ name, namespace, body: { spec: { audiences, expirationSeconds } } });
  return tr.status!.token;
}

/**
 * A fake API server with the rights of `strand rbac --server --namespace <namespace>` applied,
 * and a KubeApi acting as the server's ServiceAccount there (a TokenRequest token).
 */
export async function fakeLabServer(namespace = 'strand-system'): Promise<{ fake: FakeKube; server: KubeApi }> {
  const fake = await startFakeKube({ namespaces: [namespace] });
  await applyAsAdmin(fake, serverRbacObjects({ namespace }));
  return { fake, server: kubeApiFor(fake, await serviceAccountToken(fake, namespace, 'strand-server'), namespace) };
}
