/**
 * The RBAC authorizer of a real API server, over the Roles, ClusterRoles, RoleBindings and
 * ClusterRoleBindings stored in the fake: for users added with `addUser` and ServiceAccount
 * tokens (authn.ts). A request is allowed when a rule of a role bound to the user (by name, a
 * group, or as a ServiceAccount) matches its verb, API group, resource (`res/sub`, `*`, `*\/sub`)
 * and name (resourceNames); RoleBindings count in their namespace only. Writing a role or a
 * binding is also checked for escalation, as the RBAC registry does: a binding needs `bind` on
 * its role or every right the role grants (in that namespace), a role needs `escalate` or every
 * right it grants.
 */
import type { AccessAttributes } from './rbac.js';
import type { Identity } from './authn.js';
import type { Store } from './store.js';
import type { KubeObject } from './types.js';

export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
  apiGroup?: string;
}

interface RoleRef {
  apiGroup?: string;
  kind?: string;
  name?: string;
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** ClusterRoles every cluster has (bootstrap policy) that the lab server's RBAC refers to. */
export const BOOTSTRAP_CLUSTER_ROLES: KubeObject[] = [
  {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: { name: 'system:auth-delegator', labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
    rules: [
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    ],
  } as KubeObject,
];

function subjectMatches(s: Subject, id: Identity, bindingNs: string | undefined): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === id.user;
    case 'Group':
      return s.name !== undefined && id.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNs;
      return ns !== undefined && id.user === `system:serviceaccount:${ns}:${s.name}`;
    }
    default:
      return false;
  }
}

const has = (list: string[] | undefined, v: string): boolean => (list ?? []).includes('*') || (list ?? []).includes(v);

function resourceMatches(rule: PolicyRule, resource: string, sub: string | undefined): boolean {
  const combined = sub ? `${resource}/${sub}` : resource;
  return (rule.resources ?? []).some((r) => r === '*' || r === combined || (sub !== undefined && r === `*/${sub}`));
}

export function ruleAllows(rule: PolicyRule, a: AccessAttributes): boolean {
  return (
    has(rule.verbs, a.verb) &&
    has(rule.apiGroups, a.group) &&
    resourceMatches(rule, a.resource, a.subresource) &&
    ((rule.resourceNames ?? []).length === 0 || (a.name !== undefined && rule.resourceNames!.includes(a.name)))
  );
}

export class ObjectAuthorizer {
  constructor(private readonly store: Store) {}

  private roleRules(ref: RoleRef | undefined, bindingNs: string | undefined): PolicyRule[] {
    if (!ref || ref.apiGroup !== RBAC_GROUP || !ref.name) return [];
    const role =
      ref.kind === 'ClusterRole'
        ? this.store.get('clusterroles', '', ref.name)
        : ref.kind === 'Role' && bindingNs !== undefined
          ? this.store.get('roles', bindingNs, ref.name)
          : undefined;
    return ((role?.['rules'] as PolicyRule[] | undefined) ?? []).slice();
  }

  /** Every rule that applies to `id` in `namespace` (undefined: cluster-scoped requests). */
  rulesFor(id: Identity, namespace: string | undefined): PolicyRule[] {
    const out: PolicyRule[] = [];
    for (const b of this.store.list('clusterrolebindings')) {
      if (((b['subjects'] as Subject[] | undefined) ?? []).some((s) => subjectMatches(s, id, undefined))) out.push(...this.roleRules(b['roleRef'] as RoleRef, undefined));
    }
    if (namespace !== undefined) {
      for (const b of this.store.list('rolebindings', namespace)) {
        if (((b['subjects'] as Subject[] | undefined) ?? []).some((s) => subjectMatches(s, id, namespace))) out.push(...this.roleRules(b['roleRef'] as RoleRef, namespace));
      }
    }
    return out;
  }

  allowed(id: Identity, a: AccessAttributes): boolean {
    return this.rulesFor(id, a.namespace).some((r) => ruleAllows(r, a));
  }

  /**
   * The rules of `wanted` that `holds` does not cover (empty: no escalation). Each verb, group,
   * resource and name of a wanted rule must be allowed as written (a wildcard only by a wildcard).
   */
  static uncovered(wanted: PolicyRule[], holds: (a: AccessAttributes) => boolean, namespace: string | undefined): PolicyRule[] {
    const missing: PolicyRule[] = [];
    for (const rule of wanted) {
      if ((rule.nonResourceURLs ?? []).length > 0 && (rule.resources ?? []).length === 0) {
        missing.push(rule);
        continue;
      }
      const names = (rule.resourceNames ?? []).length > 0 ? rule.resourceNames! : [undefined];
      const ok = (rule.verbs ?? []).every((verb) =>
        (rule.apiGroups ?? []).every((group) =>
          (rule.resources ?? []).every((res) => {
            const [resource, subresource] = res.split('/', 2) as [string, string | undefined];
            return names.every((name) => holds({ verb, group, resource, ...(subresource ? { subresource } : {}), ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}) }));
          }),
        ),
      );
      if (!ok) missing.push(rule);
    }
    return missing;
  }

  /** The rules a binding's roleRef grants (for the escalation check), as stored now. */
  referencedRules(ref: RoleRef | undefined, bindingNs: string | undefined): PolicyRule[] {
    return this.roleRules(ref, bindingNs);
  }
}

/** As the RBAC registry words an escalation refusal. */
export function escalationMessage(id: Identity, missing: PolicyRule[]): string {
  const rules = missing.map((r) => `{APIGroups:${JSON.stringify(r.apiGroups ?? [])}, Resources:${JSON.stringify(r.resources ?? [])}, ResourceNames:${JSON.stringify(r.resourceNames ?? [])}, Verbs:${JSON.stringify(r.verbs ?? [])}}`);
  return `user "${id.user}" (groups=${JSON.stringify(id.groups)}) is attempting to grant RBAC permissions not currently held:\n${rules.join('\n')}`;
}
