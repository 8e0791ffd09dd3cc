/**
 * The Role and RoleBinding Strand needs in its namespace, as YAML to apply with kubectl.
 */
import type { V1ClusterRole, V1ClusterRoleBinding, V1PolicyRule, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import { toYamlDocuments } from './manifests.js';
import { MANAGED_BY, LABELS } from './names.js';
import { REQUIRED_PERMISSIONS, permissionResource } from './permissions.js';

export interface RbacSubjects {
  serviceAccounts?: string[];
  users?: string[];
  groups?: string[];
}

/** Who is bound, in words (for the header). */
function describeSubjects(s: RbacSubjects): string {
  const parts = [
    ...(s.serviceAccounts ?? []).map((n) => `ServiceAccount "${n}"`),
    ...(s.users ?? []).map((n) => `user "${n}"`),
    ...(s.groups ?? []).map((n) => `group "${n}"`),
  ];
  return parts.join(', ');
}

export function rbacManifests(opts: { namespace: string; serviceAccount?: string; name?: string; nodes?: boolean } & RbacSubjects): string {
  const { role, binding, who } = rbacObjects(opts);
  const nodes = opts.nodes ? nodeReaderObjects({ ...opts, ...who }) : [];
  const header = [
    `What Strand needs in namespace "${opts.namespace}", for ${describeSubjects(who)}.`,
    'Apply with:  kubectl apply -f <this file>',
    '(or pipe the command that printed this into:  kubectl apply -f -)',
    '',
    ...REQUIRED_PERMISSIONS.map((p) => `${p.group || 'core'} ${permissionResource(p)} [${p.verbs.join(', ')}]: ${p.why}`),
    ...(opts.nodes ? ['', NODES_WHY, 'This part is cluster-wide (a ClusterRole): a cluster administrator applies it.'] : []),
  ].join('\n');
  return toYamlDocuments([role, binding, ...nodes], header);
}

const NODES_WHY =
  'core nodes [get, list] (cluster-wide, optional): see what the nodes can hold, so that a task asking for more than any node has fails at once instead of waiting for ever in a namespace without a ResourceQuota';

/**
 * The optional cluster-wide right to read nodes (`strand rbac --nodes`): a ClusterRole that may
 * only get and list nodes, and a ClusterRoleBinding to the same subjects.
 */
export function nodeReaderObjects(opts: { namespace: string; name?: string } & RbacSubjects): [V1ClusterRole, V1ClusterRoleBinding] {
  const name = `${opts.name ?? 'strand'}-node-reader`;
  const labels = { [LABELS.managedBy]: MANAGED_BY };
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${name}-${opts.namespace}`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [
        ...(opts.serviceAccounts ?? []).map((n) => ({ kind: 'ServiceAccount', name: n, namespace: opts.namespace })),
        ...(opts.users ?? []).map((n) => ({ kind: 'User', name: n, apiGroup: 'rbac.authorization.k8s.io' })),
        ...(opts.groups ?? []).map((n) => ({ kind: 'Group', name: n, apiGroup: 'rbac.authorization.k8s.io' })),
      ],
    },
  ];
}

/** The Role with exactly the permissions Strand uses, and its RoleBinding to the subjects. */
export function rbacObjects(opts: { namespace: string; serviceAccount?: string; name?: string } & RbacSubjects): { role: V1Role; binding: V1RoleBinding; who: RbacSubjects } {
  const serviceAccounts = [...(opts.serviceAccount ? [opts.serviceAccount] : []), ...(opts.serviceAccounts ?? [])];
  const who: RbacSubjects = { serviceAccounts, users: opts.users ?? [], groups: opts.groups ?? [] };
  if (serviceAccounts.length + who.users!.length + who.groups!.length === 0) throw new Error('rbac: name at least one service account, user or group to bind');
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
    subjects: [
      ...serviceAccounts.map((n) => ({ kind: 'ServiceAccount', name: n, namespace: opts.namespace })),
      ...who.users!.map((n) => ({ kind: 'User', name: n, apiGroup: 'rbac.authorization.k8s.io' })),
      ...who.groups!.map((n) => ({ kind: 'Group', name: n, apiGroup: 'rbac.authorization.k8s.io' })),
    ],
  };
  return { role, binding, who };
}
