/**
 * The lab server's own rights, as objects and as YAML for `strand rbac --server`. Three installs:
 *
 * - `provision` (the default): members' namespaces are made on first sign-in. A ClusterRole
 *   `strand-server` with: get and create namespaces; create TokenReviews (who a token is); create
 *   ServiceAccounts, RoleBindings, ResourceQuotas and LimitRanges (what a member's namespace
 *   holds: provision.ts); `bind` on the ClusterRole `strand-member` only, by name, so the server
 *   can bind members to it without holding its rights itself (RBAC refuses a binding to rights the
 *   writer lacks, unless it may `bind` that role); and create on `serviceaccounts/token` for the
 *   name `strand-member` only (TokenRequest). No `escalate` (it would let the server write roles
 *   with any rights), no `impersonate`, no reading of Secrets, Jobs or pods anywhere: every call
 *   for a member is made with that member's ServiceAccount token, confined to their namespace.
 *   Its limit, said plainly: RBAC cannot narrow a ClusterRoleBinding to namespaces whose names
 *   match a pattern, so a server that is taken over can bind `strand-member` (jobs, pods,
 *   configmaps, secrets create) in any namespace, kube-system included. A lab that will not
 *   accept that uses:
 * - `preprovisioned`: an administrator makes each member's namespace (`ensureMemberNamespace`
 *   run with their own rights, e.g. a `strand lab add-member` command). The server then only gets
 *   namespaces (to check they are Strand's), creates TokenReviews, and mints `strand-member`
 *   tokens: it cannot create or bind anything.
 * - one namespace (`oneNamespaceRbacObjects`): every member's runs in one fixed namespace, kept
 *   apart by the run service (each sees only their own runs), no ClusterRole at all: Roles and
 *   RoleBindings in that namespace. Checking Kubernetes tokens with TokenReview is cluster-scoped
 *   (no Role can grant it), so that install adds a ClusterRoleBinding to the built-in ClusterRole
 *   `system:auth-delegator` (create TokenReviews and SubjectAccessReviews; it creates no
 *   ClusterRole); without it (`tokenReview: false`) identity comes from elsewhere (an OIDC issuer,
 *   or the loopback token of a server on loopback).
 */
import { toYamlDocuments } from '../../cluster/manifests.js';
import {
  MEMBER_CLUSTER_ROLE,
  MEMBER_SERVICE_ACCOUNT,
  DEFAULT_LEADER_SERVICE_ACCOUNT,
  RBAC_API_GROUP,
  managedLabels,
  memberClusterRole,
  memberRules,
  serviceAccountSubject,
  type BindingObject,
  type PolicyRule,
  type RoleObject,
  type ServiceAccountObject,
} from './member-role.js';

export const SERVER_ROLE = 'strand-server';
export const DEFAULT_SERVER_SERVICE_ACCOUNT = 'strand-server';

export type ServerRbacMode = 'provision' | 'preprovisioned';

export interface ServerRbacOptions {
  /** The server's namespace (where its Deployment and ServiceAccount are). */
  namespace: string;
  /** The server's ServiceAccount; default `strand-server`. */
  serviceAccount?: string;
  /** Default `provision`. */
  mode?: ServerRbacMode;
  /** The members' ClusterRole; default `strand-member`. */
  memberClusterRole?: string;
}

export type RbacObject = RoleObject | BindingObject | ServiceAccountObject;

const tokenRule: PolicyRule = { apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: [MEMBER_SERVICE_ACCOUNT], verbs: ['create'] };
const tokenReviewRule: PolicyRule = { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] };

/** The rules of the server's ClusterRole in `mode`. */
export function serverRules(mode: ServerRbacMode = 'provision', memberRole: string = MEMBER_CLUSTER_ROLE): PolicyRule[] {
  if (mode === 'preprovisioned') return [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }, tokenReviewRule, tokenRule];
  return [
    { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'create'] },
    tokenReviewRule,
    { apiGroups: [''], resources: ['serviceaccounts', 'resourcequotas', 'limitranges'], verbs: ['create'] },
    tokenRule,
    { apiGroups: [RBAC_API_GROUP], resources: ['rolebindings'], verbs: ['create'] },
    { apiGroups: [RBAC_API_GROUP], resources: ['clusterroles'], resourceNames: [memberRole], verbs: ['bind'] },
  ];
}

/**
 * A cluster-wide install: the server's ServiceAccount, its ClusterRole and ClusterRoleBinding,
 * and the members' ClusterRole it binds people to.
 */
export function serverRbacObjects(opts: ServerRbacOptions): RbacObject[] {
  const sa = opts.serviceAccount ?? DEFAULT_SERVER_SERVICE_ACCOUNT;
  const memberRole = opts.memberClusterRole ?? MEMBER_CLUSTER_ROLE;
  const labels = managedLabels();
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: opts.namespace, labels } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: SERVER_ROLE, labels }, rules: serverRules(opts.mode, memberRole) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: SERVER_ROLE, labels },
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'ClusterRole', name: SERVER_ROLE },
      subjects: [serviceAccountSubject(sa, opts.namespace)],
    },
    memberClusterRole(memberRole),
  ];
}

export interface OneNamespaceRbacOptions {
  /** The one namespace: the server's and every member's runs. */
  namespace: string;
  serviceAccount?: string;
  leaderServiceAccount?: string;
  /** Bind the server to the built-in `system:auth-delegator` to check Kubernetes tokens; default true. */
  tokenReview?: boolean;
}

/** A one-namespace install: Roles and RoleBindings only, and optionally the auth-delegator binding. */
export function oneNamespaceRbacObjects(opts: OneNamespaceRbacOptions): RbacObject[] {
  const ns = opts.namespace;
  const sa = opts.serviceAccount ?? DEFAULT_SERVER_SERVICE_ACCOUNT;
  const leader = opts.leaderServiceAccount ?? DEFAULT_LEADER_SERVICE_ACCOUNT;
  const labels = managedLabels();
  const accounts = [...new Set([sa, MEMBER_SERVICE_ACCOUNT, leader])];
  const objects: RbacObject[] = [
    ...accounts.map((name): ServiceAccountObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels } })),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: MEMBER_CLUSTER_ROLE, namespace: ns, labels }, rules: memberRules() },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: MEMBER_CLUSTER_ROLE, namespace: ns, labels },
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'Role', name: MEMBER_CLUSTER_ROLE },
      subjects: [...new Set([MEMBER_SERVICE_ACCOUNT, leader])].map((n) => serviceAccountSubject(n, ns)),
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: SERVER_ROLE, namespace: ns, labels }, rules: [tokenRule] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: SERVER_ROLE, namespace: ns, labels },
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'Role', name: SERVER_ROLE },
      subjects: [serviceAccountSubject(sa, ns)],
    },
  ];
  if (opts.tokenReview !== false) {
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${SERVER_ROLE}-${ns}-auth-delegator`, labels },
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [serviceAccountSubject(sa, ns)],
    });
  }
  return objects;
}

/** `strand rbac --server`: the objects of `serverRbacObjects` as YAML, with what each right is for. */
export function serverRbacYaml(opts: ServerRbacOptions): string {
  const mode = opts.mode ?? 'provision';
  const header = [
    `What the Strand lab server needs (${mode === 'provision' ? 'it makes members\' namespaces on first sign-in' : 'members\' namespaces are made by an administrator'}),`,
    `running as ServiceAccount "${opts.serviceAccount ?? DEFAULT_SERVER_SERVICE_ACCOUNT}" in namespace "${opts.namespace}". Apply with: kubectl apply -f <this file>`,
    '',
    'namespaces get: check a member\'s namespace is one Strand made for them',
    ...(mode === 'provision' ? ['namespaces create: make a member\'s namespace on first sign-in'] : []),
    'tokenreviews create: learn who a request\'s Kubernetes token is',
    `serviceaccounts/token create, only "${MEMBER_SERVICE_ACCOUNT}": short-lived tokens to act for a member in their namespace`,
    ...(mode === 'provision'
      ? [
          'serviceaccounts, rolebindings, resourcequotas, limitranges create: what a member\'s namespace holds',
          `clusterroles bind, only "${opts.memberClusterRole ?? MEMBER_CLUSTER_ROLE}": bind members to it without holding its rights`,
        ]
      : []),
    `ClusterRole "${opts.memberClusterRole ?? MEMBER_CLUSTER_ROLE}": what a member may do in their own namespace (the rights of strand submit).`,
  ].join('\n');
  return toYamlDocuments(serverRbacObjects(opts), header);
}

/** `strand rbac --server --one-namespace`: the objects of `oneNamespaceRbacObjects` as YAML. */
export function oneNamespaceRbacYaml(opts: OneNamespaceRbacOptions): string {
  const header = [
    `What the Strand lab server needs to run every member's runs in namespace "${opts.namespace}": no ClusterRole.`,
    `serviceaccounts/token create, only "${MEMBER_SERVICE_ACCOUNT}": short-lived tokens to act in the namespace`,
    ...(opts.tokenReview !== false
      ? ['A ClusterRoleBinding to the built-in ClusterRole system:auth-delegator: TokenReview (who a Kubernetes token is) is cluster-scoped.']
      : ['No TokenReview: members sign in with OIDC ID tokens (or the loopback token).']),
  ].join('\n');
  return toYamlDocuments(oneNamespaceRbacObjects(opts), header);
}
