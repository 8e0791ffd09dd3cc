/**
 * A member's namespace, made ready on their first sign-in (or by an administrator's command):
 * the Namespace, then in it the ServiceAccount `strand-member` (whose short-lived tokens the server
 * acts with, member-access.ts), the leader's ServiceAccount, one RoleBinding of both and of the
 * member themself to the ClusterRole `strand-member`, and the profile's ResourceQuota and
 * LimitRange. Everything carries `app.kubernetes.io/managed-by: strand`, the member label, and the
 * exact user name in an annotation: the API server's audit log names the ServiceAccount, not the
 * person, so the objects say whose they are.
 *
 * Never adopts a namespace Strand did not make: an existing namespace of that name without
 * Strand's managed-by label and this member's annotation is refused (NotPermitted, naming it).
 *
 * Idempotent and safe to race: every object is created, and one that is already there (409) is
 * left as it is, so a second sign-in changes nothing and two first sign-ins at once both succeed.
 * A changed profile is therefore not applied to namespaces that exist (an administrator's job).
 *
 * No RoleBinding lets the server mint tokens here: its own ClusterRole grants `create` on
 * `serviceaccounts/token` for the name `strand-member` only (server-rbac.ts). Such a RoleBinding
 * per namespace would not narrow what the server can do, since the server may create
 * RoleBindings in any namespace (to provision) and so could make that one anywhere too.
 */
import { RbacAuthorizationV1Api } from '../../cluster/kubernetes-client.js';
import { isConflict, isNotFound, type KubeApi } from '../../cluster/kube-api.js';
import { LABELS, MANAGED_BY, labelValue } from '../../cluster/names.js';
import { NotPermitted } from '../server-types.js';
import { DEFAULT_NAMESPACE_TEMPLATE, memberNamespaceName } from './namespace-name.js';
import {
  DEFAULT_LEADER_SERVICE_ACCOUNT,
  MEMBER_ANNOTATION,
  MEMBER_CLUSTER_ROLE,
  MEMBER_LABEL,
  MEMBER_SERVICE_ACCOUNT,
  RBAC_API_GROUP,
  serviceAccountSubject,
  userSubject,
  type BindingObject,
  type ObjectMeta,
  type ServiceAccountObject,
} from './member-role.js';

/** One LimitRange item, as the API takes it (quantities as strings). */
export interface LimitRangeItem {
  type: 'Container' | 'Pod' | 'PersistentVolumeClaim';
  default?: Record<string, string>;
  defaultRequest?: Record<string, string>;
  max?: Record<string, string>;
  min?: Record<string, string>;
  maxLimitRequestRatio?: Record<string, string>;
}

/** The lab's profile for a member's namespace (from the server's config). */
export interface MemberProfile {
  /** Default `lab-{user}` (namespace-name.ts). */
  namespaceTemplate?: string;
  /** The ClusterRole the member's RoleBinding refers to; default `strand-member`. */
  clusterRole?: string;
  /** The leader pod's ServiceAccount; default `strand`, as `strand submit`. */
  leaderServiceAccount?: string;
  /** `spec.hard` of the namespace's ResourceQuota, e.g. `{ 'requests.cpu': '8', pods: '50' }`. */
  resourceQuota?: Record<string, string>;
  /** The namespace's LimitRange items (defaults for containers that ask for nothing, maxima). */
  limitRange?: LimitRangeItem[];
}

/** Name of the RoleBinding, ResourceQuota and LimitRange Strand makes in a member's namespace. */
export const MEMBER_OBJECTS_NAME = 'strand-member';

export interface MemberNamespace {
  namespace: string;
  /** What this call created (`namespace/lab-alice`, `serviceaccount/strand-member`...); empty when all was there. */
  made: string[];
}

function meta(name: string, user: string, namespace?: string): ObjectMeta {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    labels: { [LABELS.managedBy]: MANAGED_BY, [MEMBER_LABEL]: labelValue(user) },
    annotations: { [MEMBER_ANNOTATION]: user },
  };
}

/** Everything Strand makes in a member's namespace, in the order it is made (pure). */
export function memberNamespaceObjects(
  user: string,
  namespace: string,
  profile: MemberProfile = {},
): { serviceAccounts: ServiceAccountObject[]; binding: BindingObject; quota?: object; limitRange?: object } {
  const leader = profile.leaderServiceAccount ?? DEFAULT_LEADER_SERVICE_ACCOUNT;
  const accounts = [...new Set([MEMBER_SERVICE_ACCOUNT, leader])];
  return {
    serviceAccounts: accounts.map((name) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name, user, namespace) })),
    binding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(MEMBER_OBJECTS_NAME, user, namespace),
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'ClusterRole', name: profile.clusterRole ?? MEMBER_CLUSTER_ROLE },
      subjects: [...accounts.map((a) => serviceAccountSubject(a, namespace)), userSubject(user)],
    },
    ...(profile.resourceQuota ? { quota: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta(MEMBER_OBJECTS_NAME, user, namespace), spec: { hard: { ...profile.resourceQuota } } } } : {}),
    ...(profile.limitRange
      ? { limitRange: { apiVersion: 'v1', kind: 'LimitRange', metadata: meta(MEMBER_OBJECTS_NAME, user, namespace), spec: { limits: profile.limitRange.map((l) => ({ ...l })) } } }
      : {}),
  };
}

/** Whether an existing namespace is the one Strand made for `user`. */
export function isMembersNamespace(ns: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }, user: string): boolean {
  return ns.metadata?.labels?.[LABELS.managedBy] === MANAGED_BY && ns.metadata?.annotations?.[MEMBER_ANNOTATION] === user;
}

/** Create, and take 409 AlreadyExists as "there": true when this call made it. */
async function createIfMissing(api: KubeApi, what: string, create: () => Promise<unknown>): Promise<boolean> {
  try {
    await api.call(`create ${what}`, create);
    return true;
  } catch (err) {
    if (isConflict(err)) return false;
    throw err;
  }
}

/** Reads `namespace` and checks it is the one Strand made for `user` (NotPermitted otherwise). */
async function verifyNamespace(serverApi: KubeApi, namespace: string, user: string, missing: string): Promise<void> {
  const existing = await serverApi
    .call(`get Namespace ${namespace}`, () => serverApi.core.readNamespace({ name: namespace }))
    .catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
  if (!existing) throw new NotPermitted(missing);
  if (!isMembersNamespace(existing, user)) {
    throw new NotPermitted(
      `namespace ${namespace} exists and was not made by Strand for ${JSON.stringify(user)} (it lacks the label ${LABELS.managedBy}=${MANAGED_BY} ` +
        `or the annotation ${MEMBER_ANNOTATION} with this user name); Strand never takes over a namespace it did not make: ` +
        'an administrator renames or removes it, or changes the namespace template',
    );
  }
  if (existing.status?.phase === 'Terminating') throw new NotPermitted(`namespace ${namespace} of ${JSON.stringify(user)} is being deleted; sign in again once it is gone`);
}

/**
 * For a server that may not provision (server-rbac.ts `preprovisioned`): `user`'s namespace, if an
 * administrator made it with ensureMemberNamespace; NotPermitted naming why otherwise. Only reads
 * the Namespace (what is inside is the administrator's).
 */
export async function checkMemberNamespace(serverApi: KubeApi, user: string, profile: MemberProfile = {}): Promise<MemberNamespace> {
  const namespace = memberNamespaceName(user, profile.namespaceTemplate ?? DEFAULT_NAMESPACE_TEMPLATE);
  await verifyNamespace(serverApi, namespace, user, `namespace ${namespace} of ${JSON.stringify(user)} does not exist: an administrator makes it (this server does not make namespaces)`);
  return { namespace, made: [] };
}

/**
 * Make `user`'s namespace ready (see the module comment), with the server's client `serverApi`.
 * Rejects with NotPermitted when the namespace exists and is not Strand's for this user, or is
 * being deleted; with the KubeApiError of a call the server may not make (its RBAC).
 */
export async function ensureMemberNamespace(serverApi: KubeApi, user: string, profile: MemberProfile = {}): Promise<MemberNamespace> {
  const namespace = memberNamespaceName(user, profile.namespaceTemplate ?? DEFAULT_NAMESPACE_TEMPLATE);
  const made: string[] = [];
  const core = serverApi.core;
  const created = await createIfMissing(serverApi, `Namespace ${namespace}`, () => core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: meta(namespace, user) } }));
  if (created) made.push(`namespace/${namespace}`);
  // Deleted between the create and the get: the next sign-in makes it again.
  else await verifyNamespace(serverApi, namespace, user, `namespace ${namespace} of ${JSON.stringify(user)} is being deleted; sign in again in a minute`);

  const objects = memberNamespaceObjects(user, namespace, profile);
  for (const sa of objects.serviceAccounts) {
    if (await createIfMissing(serverApi, `ServiceAccount ${sa.metadata.name} in namespace ${namespace}`, () => core.createNamespacedServiceAccount({ namespace, body: sa })))
      made.push(`serviceaccount/${sa.metadata.name}`);
  }
  const rbac = serverApi.conn.kc.makeApiClient(RbacAuthorizationV1Api);
  if (
    await createIfMissing(serverApi, `RoleBinding ${MEMBER_OBJECTS_NAME} in namespace ${namespace}`, () =>
      rbac.createNamespacedRoleBinding({ namespace, body: objects.binding }),
    )
  )
    made.push(`rolebinding/${MEMBER_OBJECTS_NAME}`);
  if (objects.quota) {
    const body = objects.quota;
    if (await createIfMissing(serverApi, `ResourceQuota ${MEMBER_OBJECTS_NAME} in namespace ${namespace}`, () => core.createNamespacedResourceQuota({ namespace, body })))
      made.push(`resourcequota/${MEMBER_OBJECTS_NAME}`);
  }
  if (objects.limitRange) {
    const body = objects.limitRange;
    if (await createIfMissing(serverApi, `LimitRange ${MEMBER_OBJECTS_NAME} in namespace ${namespace}`, () => core.createNamespacedLimitRange({ namespace, body })))
      made.push(`limitrange/${MEMBER_OBJECTS_NAME}`);
  }
  return { namespace, made };
}
