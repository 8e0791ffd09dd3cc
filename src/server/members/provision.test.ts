import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, type KubeApi } from '../../cluster/kube-api.js';
import type { FakeKube } from '../../../test/support/fake-kube/index.js';
import { applyAsAdmin, fakeLabServer, kubeApiFor, serviceAccountToken } from '../../../test/support/lab-cluster.js';
import { NotPermitted } from '../server-types.js';
import { memberNamespaceName, userHash } from './namespace-name.js';
import { checkMemberNamespace, ensureMemberNamespace, type MemberProfile } from './provision.js';
import { serverRbacObjects } from './server-rbac.js';

const profile: MemberProfile = {
  resourceQuota: { 'requests.cpu': '4', 'requests.memory': '8Gi', pods: '20' },
  limitRange: [{ type: 'Container', defaultRequest: { cpu: '100m', memory: '128Mi' }, default: { cpu: '1', memory: '1Gi' } }],
};

/** Every object of these kinds in `ns`, as `kind/name`, sorted. */
function objectsIn(fake: FakeKube, ns: string): string[] {
  return ['serviceaccounts', 'rolebindings', 'roles', 'resourcequotas', 'limitranges', 'configmaps', 'secrets', 'jobs', 'pods']
    .flatMap((p) => fake.listObjects(p, ns).map((o) => `${p}/${o.metadata.name}`))
    .sort();
}

describe('ensureMemberNamespace, with the server\'s own minimal rights', () => {
  let fake: FakeKube;
  let server: KubeApi;
  beforeAll(async () => {
    ({ fake, server } = await fakeLabServer());
  });
  afterAll(async () => {
    await fake.close();
  });

  it('makes the namespace and exactly what a member needs in it, labelled and annotated with the user name', async () => {
    const user = 'alice@example.org';
    const got = await ensureMemberNamespace(server, user, profile);
    const ns = memberNamespaceName(user);
    expect(got).toEqual({
      namespace: ns,
      made: [`namespace/${ns}`, 'serviceaccount/strand-member', 'serviceaccount/strand', 'rolebinding/strand-member', 'resourcequota/strand-member', 'limitrange/strand-member'],
    });
    const nsObj = fake.getObject('namespaces', '', ns)!;
    expect(Object.keys(nsObj.metadata.labels!).sort()).toEqual(['app.kubernetes.io/managed-by', 'kubernetes.io/metadata.name', 'strand.dev/member']);
    expect(nsObj.metadata.labels!['app.kubernetes.io/managed-by']).toBe('strand');
    // A label value cannot hold '@': the user name's label is made valid, with a hash of it.
    expect(nsObj.metadata.labels!['strand.dev/member']).toMatch(/^alice-example\.org-[0-9a-f]{10}$/);
    expect(nsObj.metadata.annotations).toEqual({ 'strand.dev/member': user });
    expect(objectsIn(fake, ns)).toEqual(['limitranges/strand-member', 'resourcequotas/strand-member', 'rolebindings/strand-member', 'serviceaccounts/strand', 'serviceaccounts/strand-member']);
    const rb = fake.getObject('rolebindings', ns, 'strand-member')!;
    expect(rb['roleRef']).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'strand-member' });
    expect(rb['subjects']).toEqual([
      { kind: 'ServiceAccount', name: 'strand-member', namespace: ns },
      { kind: 'ServiceAccount', name: 'strand', namespace: ns },
      { kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' },
    ]);
    for (const key of ['serviceaccounts/strand-member', 'rolebindings/strand-member', 'resourcequotas/strand-member', 'limitranges/strand-member']) {
      const [plural, name] = key.split('/') as [string, string];
      const o = fake.getObject(plural, ns, name)!;
      expect(o.metadata.annotations, key).toEqual({ 'strand.dev/member': user });
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by'], key).toBe('strand');
    }
    expect((fake.getObject('resourcequotas', ns, 'strand-member')!['spec'] as { hard: unknown }).hard).toEqual(profile.resourceQuota);
    // The member can act there as themself too (the RoleBinding names the user).
    const own = kubeApiFor(fake, fake.addUser(user), ns);
    await own.core.listNamespacedPod({ namespace: ns });
  });

  it('is idempotent: a second sign-in changes nothing', async () => {
    const ns = memberNamespaceName('alice@example.org');
    const versions = () => objectsIn(fake, ns).map((k) => fake.getObject(k.split('/')[0]!, ns, k.split('/')[1]!)!.metadata.resourceVersion);
    const before = versions();
    const nsVersion = fake.getObject('namespaces', '', ns)!.metadata.resourceVersion;
    expect(await ensureMemberNamespace(server, 'alice@example.org', profile)).toEqual({ namespace: ns, made: [] });
    expect(versions()).toEqual(before);
    expect(fake.getObject('namespaces', '', ns)!.metadata.resourceVersion).toBe(nsVersion);
  });

  it('two first sign-ins at once both succeed, and make each object once', async () => {
    const [a, b] = await Promise.all([ensureMemberNamespace(server, 'bob', profile), ensureMemberNamespace(server, 'bob', profile)]);
    expect(a.namespace).toBe('lab-bob');
    expect(b.namespace).toBe('lab-bob');
    expect([...a.made, ...b.made].sort()).toEqual(
      ['namespace/lab-bob', 'serviceaccount/strand-member', 'serviceaccount/strand', 'rolebinding/strand-member', 'resourcequota/strand-member', 'limitrange/strand-member'].sort(),
    );
    expect(objectsIn(fake, 'lab-bob')).toHaveLength(5);
  });

  it('never adopts a namespace Strand did not make for this user', async () => {
    await applyAsAdmin(fake, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lab-carol' } }]);
    const e = await ensureMemberNamespace(server, 'carol').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(NotPermitted);
    expect((e as Error).message).toContain('namespace lab-carol exists and was not made by Strand for "carol"');
    expect(objectsIn(fake, 'lab-carol')).toEqual([]);

    // Labelled by Strand, but for someone else (here: a hand-made look-alike).
    await applyAsAdmin(fake, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lab-dave', labels: { 'app.kubernetes.io/managed-by': 'strand' }, annotations: { 'strand.dev/member': 'Dave' } } },
    ]);
    await expect(ensureMemberNamespace(server, 'dave')).rejects.toThrow(/namespace lab-dave exists and was not made by Strand for "dave"/);
    expect(objectsIn(fake, 'lab-dave')).toEqual([]);
    // Dave himself gets a namespace of his own, not that one.
    expect((await ensureMemberNamespace(server, 'Dave')).namespace).toBe(`lab-dave--${userHash('Dave')}`);
  });

  it('the server may provision but not act in a member\'s namespace, nor bind other roles', async () => {
    const forbidden = async (p: Promise<unknown>) => {
      const e = await p.catch((err: unknown) => err);
      expect(e).toBeInstanceOf(KubeApiError);
      expect((e as KubeApiError).status).toBe(403);
    };
    await forbidden(server.call('list secrets', () => server.core.listNamespacedSecret({ namespace: 'lab-bob' })));
    await forbidden(server.call('list jobs', () => server.batch.listNamespacedJob({ namespace: 'lab-bob' })));
    await forbidden(server.call('delete namespace', () => server.core.deleteNamespace({ name: 'lab-bob' })));
    await forbidden(server.call('token', () => server.core.createNamespacedServiceAccountToken({ name: 'strand', namespace: 'lab-bob', body: { spec: { audiences: [] } } })));
    await applyAsAdmin(fake, [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'everything' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] }]);
    const { RbacAuthorizationV1Api } = await import('../../cluster/kubernetes-client.js');
    const rbac = server.conn.kc.makeApiClient(RbacAuthorizationV1Api);
    await forbidden(
      server.call('bind', () =>
        rbac.createNamespacedRoleBinding({
          namespace: 'lab-bob',
          body: { metadata: { name: 'x' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'everything' }, subjects: [{ kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' }] },
        }),
      ),
    );
  });

  it('with the preprovisioned rights the server cannot make namespaces', async () => {
    await applyAsAdmin(fake, [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'strand-server-pre', namespace: 'strand-system' } },
      ...serverRbacObjects({ namespace: 'strand-system', serviceAccount: 'strand-server-pre', mode: 'preprovisioned' })
        .filter((o) => o.kind !== 'ServiceAccount' && o.metadata.name !== 'strand-member')
        .map((o) => ({ ...o, metadata: { ...o.metadata, name: `${o.metadata.name}-pre` }, ...('roleRef' in o ? { roleRef: { ...o.roleRef, name: `${o.roleRef.name}-pre` } } : {}) })),
    ]);
    const pre = kubeApiFor(fake, await serviceAccountToken(fake, 'strand-system', 'strand-server-pre'), 'strand-system');
    const e = await ensureMemberNamespace(pre, 'erin').catch((err: unknown) => err);
    expect((e as KubeApiError).status).toBe(403);
    expect((e as KubeApiError).what).toBe('create Namespace lab-erin');
    await expect(checkMemberNamespace(pre, 'erin')).rejects.toThrow(/namespace lab-erin of "erin" does not exist: an administrator makes it/);
    // Made by an administrator (with the same function and their own rights), the server finds it ready.
    await ensureMemberNamespace(kubeApiFor(fake), 'erin');
    expect(await checkMemberNamespace(pre, 'erin')).toEqual({ namespace: 'lab-erin', made: [] });
    await expect(checkMemberNamespace(pre, 'carol')).rejects.toThrow(NotPermitted);
  });
});
