/** A tiny RBAC authorizer: Role-like rules answering requests and SelfSubjectAccessReviews. */

export interface RbacRule {
  verbs: string[];
  /** API groups; '' is the core group; '*' all. */
  apiGroups: string[];
  /** Resources, with subresources as `pods/log`; '*' all. */
  resources: string[];
  /** Namespaces the rule applies to; omitted: all (a ClusterRole binding). */
  namespaces?: string[];
  resourceNames?: string[];
}

export interface AccessAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export const ALLOW_ALL: RbacRule[] = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }];

const has = (list: string[] | undefined, v: string): boolean => list === undefined || list.includes('*') || list.includes(v);

export function allowed(rules: RbacRule[], a: AccessAttributes): boolean {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return rules.some(
    (r) =>
      has(r.verbs, a.verb) &&
      has(r.apiGroups, a.group) &&
      (has(r.resources, res) || (!a.subresource && r.resources.includes(`${a.resource}/*`))) &&
      (r.namespaces === undefined || (a.namespace !== undefined && r.namespaces.includes(a.namespace))) &&
      (r.resourceNames === undefined || r.resourceNames.length === 0 || (a.name !== undefined && r.resourceNames.includes(a.name))),
  );
}

/** The reason text of a 403 for a request the rules do not allow. */
export function denialMessage(user: string, a: AccessAttributes): string {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace !== undefined ? ` in the namespace "${a.namespace}"` : ' at the cluster scope';
  return `User "${user}" cannot ${a.verb} resource "${res}" in API group "${a.group}"${where}`;
}
