import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { rbacObjects } from '../../cluster/rbac.js';
import { memberClusterRole } from './member-role.js';
import { oneNamespaceRbacObjects, oneNamespaceRbacYaml, serverRbacObjects, serverRbacYaml, serverRules, type RbacObject } from './server-rbac.js';

const rulesOf = (objects: RbacObject[]) => objects.flatMap((o) => ('rules' in o && o.metadata.name !== 'strand-member' ? o.rules : []));

describe('the lab server\'s own RBAC', () => {
  it('never holds impersonate, escalate or wildcards; bind and token minting only by name', () => {
    for (const mode of ['provision', 'preprovisioned'] as const) {
      const rules = serverRules(mode);
      const flat = JSON.stringify(rules);
      expect(flat).not.toMatch(/impersonate|escalate|"\*"/);
      for (const r of rules) {
        if (r.verbs.includes('bind')) expect(r).toEqual({ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['strand-member'], verbs: ['bind'] });
        if (r.resources.includes('serviceaccounts/token')) expect(r.resourceNames).toEqual(['strand-member']);
        // Nothing read or written of what runs hold (Jobs, pods, ConfigMaps, Secrets).
        expect(r.resources.filter((x) => /jobs|pods|configmaps|secrets/.test(x))).toEqual([]);
      }
    }
    // Preprovisioned: only reads namespaces, reviews tokens, mints strand-member's.
    expect(serverRules('preprovisioned').find((r) => r.resources.includes('namespaces'))!.verbs).toEqual(['get']);
    expect(serverRules('preprovisioned').flatMap((r) => r.resources).sort()).toEqual(['namespaces', 'serviceaccounts/token', 'tokenreviews']);
  });

  it('the members\' ClusterRole has exactly the rights strand rbac gives strand submit', () => {
    const role = rbacObjects({ namespace: 'x', serviceAccounts: ['s'] }).role;
    expect(memberClusterRole().rules).toEqual(role.rules);
    expect(serverRbacObjects({ namespace: 'strand-system' }).find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'strand-member')).toEqual(memberClusterRole());
  });

  it('prints YAML that reads back as the same objects', () => {
    const yaml = serverRbacYaml({ namespace: 'strand-system' });
    expect(yaml).toMatch(/^# What the Strand lab server needs/);
    expect(parseAllDocuments(yaml).map((d) => d.toJS() as unknown)).toEqual(JSON.parse(JSON.stringify(serverRbacObjects({ namespace: 'strand-system' }))));
    const one = oneNamespaceRbacYaml({ namespace: 'lab', tokenReview: false });
    expect(parseAllDocuments(one).map((d) => (d.toJS() as { kind: string }).kind)).not.toContain('ClusterRoleBinding');
  });

  it('a one-namespace install makes no ClusterRole, and binds the built-in auth-delegator only for TokenReview', () => {
    const objects = oneNamespaceRbacObjects({ namespace: 'lab' });
    expect(objects.filter((o) => o.kind === 'ClusterRole')).toEqual([]);
    expect(objects.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => ('roleRef' in o ? o.roleRef.name : ''))).toEqual(['system:auth-delegator']);
    expect(oneNamespaceRbacObjects({ namespace: 'lab', tokenReview: false }).some((o) => o.kind === 'ClusterRoleBinding')).toBe(false);
    expect(rulesOf(objects)).toEqual([{ apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: ['strand-member'], verbs: ['create'] }]);
  });
});
