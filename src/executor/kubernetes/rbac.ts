/**
 * The Role and RoleBinding Strand needs in its namespace, as YAML to apply with kubectl.
 */
import type { V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { toYamlDocuments } from './manifests.js';
import { MANAGED_BY, LABELS } from './names.js';
import { REQUIRED_PERMISSIONS, permissionResource } from './permissions.js';

export function rbacManifests(opts: { namespace: string; serviceAccount: string; name?: string }): string {
  const name = opts.name ?? 'strand';
  const labels = { [LABELS.managedBy]: MANAGED_BY };
  const rules: V1PolicyRule[] = REQUIRED_PERMISSIONS.map((p) => ({
    apiGroups: [p.group],
    resources: [permissionResource(p)],
    verbs: [...p.verbs],
  }));
  const role: V1Role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name, namespace: opts.namespace, labels },
    rules,
  };
  const binding: V1RoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace: opts.namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: opts.serviceAccount, namespace: opts.namespace }],
  };
  const header = [
    `What Strand needs in namespace "${opts.namespace}", for ServiceAccount "${opts.serviceAccount}".`,
    'Apply with:  kubectl apply -f <this file>',
    '(or pipe the command that printed this into:  kubectl apply -f -)',
    '',
    ...REQUIRED_PERMISSIONS.map((p) => `${p.group || 'core'} ${permissionResource(p)} [${p.verbs.join(', ')}]: ${p.why}`),
  ].join('\n');
  return toYamlDocuments([role, binding], header);
}
