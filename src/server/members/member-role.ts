/**
 * What a lab member may do in their own namespace, and the names of what Strand makes there.
 *
 * The ClusterRole `strand-member` holds exactly the rights `strand submit` and the leader use
 * (cluster/permissions.ts, the same list `strand rbac` prints as a Role). It is a ClusterRole only
 * so that one definition serves every member: it grants nothing by itself, and each member's
 * namespace has a RoleBinding to it, which confines its rights to that namespace. An install
 * creates it once (`memberClusterRole()`, printed by `strand rbac --server`); the server never
 * creates or changes roles (it holds no `escalate`), it only binds this one (`bind`, by name).
 */
import { LABELS, MANAGED_BY } from '../../cluster/names.js';
import { REQUIRED_PERMISSIONS, permissionResource } from '../../cluster/permissions.js';

export const MEMBER_CLUSTER_ROLE = 'strand-member';
/** The ServiceAccount in each member's namespace whose short-lived tokens the server acts with. */
export const MEMBER_SERVICE_ACCOUNT = 'strand-member';
/** The leader pod's ServiceAccount (`strand submit --service-account`'s default). */
export const DEFAULT_LEADER_SERVICE_ACCOUNT = 'strand';
/** On a member's namespace and what is in it: which member (as a label value, hashed when needed). */
export const MEMBER_LABEL = 'strand.dev/member';
/** The exact user name, on the namespace and everything Strand makes in it. */
export const MEMBER_ANNOTATION = 'strand.dev/member';

export const RBAC_API_GROUP = 'rbac.authorization.k8s.io';

/** The RBAC objects' shapes, as plain data (the server layer does not import the client's types). */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RoleObject {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'ClusterRole' | 'Role';
  metadata: ObjectMeta;
  rules: PolicyRule[];
}

export interface Subject {
  kind: 'ServiceAccount' | 'User' | 'Group';
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface BindingObject {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  metadata: ObjectMeta;
  roleRef: { apiGroup: string; kind: 'ClusterRole' | 'Role'; name: string };
  subjects: Subject[];
}

export interface ServiceAccountObject {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: ObjectMeta;
}

export const managedLabels = (): Record<string, string> => ({ [LABELS.managedBy]: MANAGED_BY });

/** The rules of `strand-member`: every permission Strand uses in a namespace. */
export function memberRules(): PolicyRule[] {
  return REQUIRED_PERMISSIONS.map((p) => ({ apiGroups: [p.group], resources: [permissionResource(p)], verbs: [...p.verbs] }));
}

/** The ClusterRole a member's RoleBinding refers to; an install creates it once. */
export function memberClusterRole(name: string = MEMBER_CLUSTER_ROLE): RoleObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels: managedLabels() }, rules: memberRules() };
}

export const userSubject = (name: string): Subject => ({ kind: 'User', name, apiGroup: RBAC_API_GROUP });
export const serviceAccountSubject = (name: string, namespace: string): Subject => ({ kind: 'ServiceAccount', name, namespace });
