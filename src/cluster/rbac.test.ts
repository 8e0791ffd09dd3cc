import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { toYamlDocuments } from './manifests.js';
import { REQUIRED_PERMISSIONS } from './permissions.js';
import { rbacManifests } from './rbac.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function parse(text: string): Array<Record<string, unknown>> {
  const docs = parseAllDocuments(text);
  for (const d of docs) expect(d.errors).toEqual([]);
  return docs.map((d) => d.toJS() as Record<string, unknown>);
}

describe('rbacManifests', () => {
  const text = rbacManifests({ namespace: 'genomics', serviceAccount: 'strand-runner' });
  const [role, binding, ...rest] = parse(text);

  it('starts with a comment saying how to apply it', () => {
    expect(text.startsWith('# ')).toBe(true);
    expect(text.split('---')[0]).toContain('kubectl apply -f');
  });

  it('is a Role and a RoleBinding, nothing else', () => {
    expect(rest).toEqual([]);
    expect(role).toMatchObject({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'strand', namespace: 'genomics' } });
    expect(binding).toMatchObject({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'strand', namespace: 'genomics' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'strand' },
      subjects: [{ kind: 'ServiceAccount', name: 'strand-runner', namespace: 'genomics' }],
    });
  });

  it('grants every required permission', () => {
    const rules = (role?.['rules'] ?? []) as Rule[];
    expect(REQUIRED_PERMISSIONS.length).toBeGreaterThanOrEqual(8);
    for (const p of REQUIRED_PERMISSIONS) {
      const resource = p.subresource ? `${p.resource}/${p.subresource}` : p.resource;
      for (const verb of p.verbs) {
        const ok = rules.some((r) => r.apiGroups.includes(p.group) && r.resources.includes(resource) && r.verbs.includes(verb));
        expect(ok, `${p.group}/${resource} ${verb}`).toBe(true);
      }
    }
    // Spot checks against the agreed list.
    const has = (group: string, resource: string, verb: string) =>
      rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    expect(has('batch', 'jobs', 'deletecollection')).toBe(true);
    expect(has('', 'pods/log', 'get')).toBe(true);
    expect(has('', 'configmaps', 'create')).toBe(true);
    expect(has('', 'persistentvolumeclaims', 'list')).toBe(true);
    expect(has('', 'secrets', 'get')).toBe(false);
  });

  it('takes another name', () => {
    const [r, b] = parse(rbacManifests({ namespace: 'ns', serviceAccount: 'sa', name: 'strand-alice' }));
    expect((r?.['metadata'] as { name: string }).name).toBe('strand-alice');
    expect((b?.['roleRef'] as { name: string }).name).toBe('strand-alice');
  });

  it('gives every permission a reason', () => {
    for (const p of REQUIRED_PERMISSIONS) expect(p.why.length).toBeGreaterThan(10);
  });
});

describe('toYamlDocuments', () => {
  it('writes documents separated by --- after comment lines, leaving out undefined fields', () => {
    const text = toYamlDocuments([{ a: 1, skip: undefined }, { b: { c: 'x: y' } }], 'line one\n\nline three');
    expect(text.startsWith('# line one\n#\n# line three\n---\n')).toBe(true);
    expect(parse(text)).toEqual([{ a: 1 }, { b: { c: 'x: y' } }]);
  });

  it('writes no header when none is given', () => {
    expect(toYamlDocuments([{ a: 1 }])).toBe('---\na: 1\n');
  });

  it('binds users and groups too (lab clusters give each member a namespace)', () => {
    const [, b] = parse(rbacManifests({ namespace: 'alice', users: ['alice'], groups: ['lab'] }));
    expect(b).toMatchObject({
      subjects: [
        { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' },
        { kind: 'Group', name: 'lab', apiGroup: 'rbac.authorization.k8s.io' },
      ],
    });
    expect(() => rbacManifests({ namespace: 'x' })).toThrow(/at least one/);
  });
});
