import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { type FakeKube, startFakeKube } from './index.js';
import { apiError, clientsFor, type Clients, shellJob } from './test-helpers.js';

/** TokenRequest, TokenReview and RBAC over stored objects, as a real API server serves them. */
describe('fake-kube: tokens and RBAC objects', () => {
  let fake: FakeKube;
  let c: Clients;
  let rbac: k8s.RbacAuthorizationV1Api;
  let authn: k8s.AuthenticationV1Api;
  const clientFor = (token: string, ns: string) => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(fake.kubeconfigFor(token, ns));
    return { core: kc.makeApiClient(k8s.CoreV1Api), batch: kc.makeApiClient(k8s.BatchV1Api), rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api), authz: kc.makeApiClient(k8s.AuthorizationV1Api) };
  };
  const tokenOf = async (ns: string, name: string, spec: Partial<k8s.V1TokenRequestSpec> = {}) =>
    (await c.core.createNamespacedServiceAccountToken({ name, namespace: ns, body: { spec: { audiences: [], ...spec } } })).status!.token;

  beforeAll(async () => {
    fake = await startFakeKube({ namespaces: ['team-a', 'team-b'] });
    c = clientsFor(fake);
    rbac = c.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    authn = c.kc.makeApiClient(k8s.AuthenticationV1Api);
    await c.core.createNamespacedServiceAccount({ namespace: 'team-a', body: { metadata: { name: 'worker' } } });
    await rbac.createClusterRole({ body: { metadata: { name: 'job-runner' }, rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'list'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: 'team-a',
      body: {
        metadata: { name: 'worker-runs-jobs' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'job-runner' },
        subjects: [{ kind: 'ServiceAccount', name: 'worker', namespace: 'team-a' }],
      },
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('TokenRequest: a token for an existing ServiceAccount, with its expiry; 404 for a missing one; 422 under 10 minutes', async () => {
    const before = Date.now();
    const tr = await c.core.createNamespacedServiceAccountToken({ name: 'worker', namespace: 'team-a', body: { spec: { audiences: [], expirationSeconds: 600 } } });
    expect(tr.kind).toBe('TokenRequest');
    expect(tr.status?.token).toMatch(/^\S{20,}$/);
    const exp = new Date(tr.status!.expirationTimestamp).getTime();
    expect(exp).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 599_000);
    expect(exp).toBeLessThanOrEqual(Date.now() + 600_000);
    expect(tr.spec.audiences).toEqual(['https://kubernetes.default.svc.cluster.local']);

    const missing = await apiError(c.core.createNamespacedServiceAccountToken({ name: 'nobody', namespace: 'team-a', body: { spec: { audiences: [] } } }));
    expect(missing.code).toBe(404);
    expect((missing.body as { message: string }).message).toBe('serviceaccounts "nobody" not found');

    const short = await apiError(c.core.createNamespacedServiceAccountToken({ name: 'worker', namespace: 'team-a', body: { spec: { audiences: [], expirationSeconds: 599 } } }));
    expect(short.code).toBe(422);
    expect((short.body as { message: string }).message).toContain('may not specify a duration less than 10 minutes');
  });

  it('a ServiceAccount token acts as system:serviceaccount:<ns>:<name>, with its RoleBindings only', async () => {
    const me = clientFor(await tokenOf('team-a', 'worker'), 'team-a');
    await me.batch.createNamespacedJob({ namespace: 'team-a', body: shellJob('by-worker', 'true') });
    const other = await apiError(me.batch.createNamespacedJob({ namespace: 'team-b', body: shellJob('by-worker', 'true') }));
    expect(other.code).toBe(403);
    expect((other.body as { message: string }).message).toBe(
      // The name of an object being created is not part of the authorization, nor of the message.
      'jobs.batch is forbidden: User "system:serviceaccount:team-a:worker" cannot create resource "jobs" in API group "batch" in the namespace "team-b"',
    );
    // Not granted: deleting Jobs, reading Secrets.
    expect((await apiError(me.batch.deleteNamespacedJob({ name: 'by-worker', namespace: 'team-a' }))).code).toBe(403);
    expect((await apiError(me.core.listNamespacedSecret({ namespace: 'team-a' }))).code).toBe(403);
    // SelfSubjectAccessReview answers for this identity.
    const ssar = await me.authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb: 'create', group: 'batch', resource: 'jobs', namespace: 'team-b' } } } });
    expect(ssar.status?.allowed).toBe(false);
  });

  it('TokenReview: the user and groups of a valid token; not authenticated for garbage, an expired token, a deleted ServiceAccount', async () => {
    const token = await tokenOf('team-a', 'worker');
    const ok = await authn.createTokenReview({ body: { spec: { token } } });
    expect(ok.status).toMatchObject({
      authenticated: true,
      user: { username: 'system:serviceaccount:team-a:worker', groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'] },
      audiences: ['https://kubernetes.default.svc.cluster.local'],
    });
    expect(ok.status?.user?.uid).toBe(fake.getObject('serviceaccounts', 'team-a', 'worker')!.metadata.uid);

    const garbage = await authn.createTokenReview({ body: { spec: { token: 'not-a-token' } } });
    expect(garbage.status?.authenticated).toBeFalsy();
    expect(garbage.status?.user?.username).toBeUndefined();

    const empty = await apiError(authn.createTokenReview({ body: { spec: { token: '' } } }));
    expect(empty.code).toBe(400);

    const wrongAudience = await authn.createTokenReview({ body: { spec: { token, audiences: ['https://elsewhere'] } } });
    expect(wrongAudience.status?.authenticated).toBeFalsy();
    const forStrand = await tokenOf('team-a', 'worker', { audiences: ['strand'] });
    expect((await authn.createTokenReview({ body: { spec: { token: forStrand, audiences: ['strand'] } } })).status?.authenticated).toBe(true);
    // A token for another audience does not work on the API server.
    expect((await apiError(clientFor(forStrand, 'team-a').batch.listNamespacedJob({ namespace: 'team-a' }))).code).toBe(401);

    const user = fake.addUser('alice@example.org', ['lab']);
    expect((await authn.createTokenReview({ body: { spec: { token: user } } })).status?.user).toMatchObject({ username: 'alice@example.org', groups: ['lab', 'system:authenticated'] });
  });

  it('tokens expire, and die with their ServiceAccount', async () => {
    await c.core.createNamespacedServiceAccount({ namespace: 'team-a', body: { metadata: { name: 'short-lived' } } });
    const token = await tokenOf('team-a', 'short-lived', { expirationSeconds: 600 });
    const api = clientFor(token, 'team-a');
    expect((await apiError(api.core.listNamespacedSecret({ namespace: 'team-a' }))).code).toBe(403); // authenticated, not allowed
    fake.advanceTokenClock(601);
    expect((await apiError(api.core.listNamespacedSecret({ namespace: 'team-a' }))).code).toBe(401);
    expect((await authn.createTokenReview({ body: { spec: { token } } })).status?.authenticated).toBeFalsy();

    const again = await tokenOf('team-a', 'short-lived');
    await c.core.deleteNamespacedServiceAccount({ name: 'short-lived', namespace: 'team-a' });
    await c.core.createNamespacedServiceAccount({ namespace: 'team-a', body: { metadata: { name: 'short-lived' } } });
    // Same name, new uid: the old token is not its token.
    expect((await authn.createTokenReview({ body: { spec: { token: again } } })).status?.authenticated).toBeFalsy();
  });

  it('who may create TokenReviews and TokenRequests is decided by RBAC, resourceNames included', async () => {
    await c.core.createNamespacedServiceAccount({ namespace: 'team-b', body: { metadata: { name: 'server' } } });
    await c.core.createNamespacedServiceAccount({ namespace: 'team-b', body: { metadata: { name: 'member' } } });
    await c.core.createNamespacedServiceAccount({ namespace: 'team-b', body: { metadata: { name: 'other' } } });
    const serverToken = await tokenOf('team-b', 'server');
    const server = clientFor(serverToken, 'team-b');
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(fake.kubeconfigFor(serverToken, 'team-b'));
    const asServer = kc.makeApiClient(k8s.AuthenticationV1Api);
    expect((await apiError(asServer.createTokenReview({ body: { spec: { token: 'x' } } }))).code).toBe(403);
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'server-delegates' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
        subjects: [{ kind: 'ServiceAccount', name: 'server', namespace: 'team-b' }],
      },
    });
    expect((await asServer.createTokenReview({ body: { spec: { token: 'x' } } })).status?.authenticated).toBeFalsy();

    await rbac.createNamespacedRole({ namespace: 'team-b', body: { metadata: { name: 'mint-member' }, rules: [{ apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: ['member'], verbs: ['create'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: 'team-b',
      body: { metadata: { name: 'mint-member' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'mint-member' }, subjects: [{ kind: 'ServiceAccount', name: 'server' }] },
    });
    const minted = await server.core.createNamespacedServiceAccountToken({ name: 'member', namespace: 'team-b', body: { spec: { audiences: [] } } });
    expect(minted.status?.token).toBeTruthy();
    const refused = await apiError(server.core.createNamespacedServiceAccountToken({ name: 'other', namespace: 'team-b', body: { spec: { audiences: [] } } }));
    expect(refused.code).toBe(403);
    expect((refused.body as { message: string }).message).toContain('cannot create resource "serviceaccounts/token" in API group "" in the namespace "team-b"');
  });

  it('refuses RoleBindings that would grant rights the writer lacks, unless it may bind that role', async () => {
    await c.core.createNamespacedServiceAccount({ namespace: 'team-b', body: { metadata: { name: 'binder' } } });
    await rbac.createClusterRole({ body: { metadata: { name: 'binder' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] }] } });
    await rbac.createClusterRoleBinding({
      body: { metadata: { name: 'binder' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'binder' }, subjects: [{ kind: 'ServiceAccount', name: 'binder', namespace: 'team-b' }] },
    });
    const binder = clientFor(await tokenOf('team-b', 'binder'), 'team-b');
    const binding = (name: string, role: string): k8s.V1RoleBinding => ({
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
      subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }],
    });
    const e = await apiError(binder.rbac.createNamespacedRoleBinding({ namespace: 'team-b', body: binding('escalate', 'job-runner') }));
    expect(e.code).toBe(403);
    expect((e.body as { message: string }).message).toContain('is attempting to grant RBAC permissions not currently held');
    // With bind on exactly that ClusterRole it may.
    await rbac.createClusterRole({ body: { metadata: { name: 'bind-job-runner' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['job-runner'], verbs: ['bind'] }] } });
    await rbac.createClusterRoleBinding({
      body: { metadata: { name: 'bind-job-runner' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'bind-job-runner' }, subjects: [{ kind: 'ServiceAccount', name: 'binder', namespace: 'team-b' }] },
    });
    await binder.rbac.createNamespacedRoleBinding({ namespace: 'team-b', body: binding('granted', 'job-runner') });
    expect((await apiError(binder.rbac.createNamespacedRoleBinding({ namespace: 'team-b', body: binding('other-role', 'system:auth-delegator') }))).code).toBe(403);
    // Rights it holds itself it may grant without bind (its own role).
    await binder.rbac.createNamespacedRoleBinding({ namespace: 'team-b', body: binding('same-rights', 'binder') });
    // The binding takes effect for its user.
    const mallory = clientFor(fake.addUser('mallory'), 'team-b');
    await mallory.batch.createNamespacedJob({ namespace: 'team-b', body: shellJob('by-mallory', 'true') });
    expect((await apiError(mallory.batch.createNamespacedJob({ namespace: 'team-a', body: shellJob('by-mallory', 'true') }))).code).toBe(403);
  });

  it('validates RBAC objects as the API server does', async () => {
    const bad = await apiError(
      rbac.createClusterRoleBinding({ body: { metadata: { name: 'bad' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' }, subjects: [{ kind: 'ServiceAccount', name: 'a' }] } }),
    );
    expect(bad.code).toBe(422);
    expect((bad.body as { message: string }).message).toMatch(/roleRef\.kind: Unsupported value: "Role".*subjects\[0\]\.namespace: Required value/);
    expect((await rbac.readClusterRole({ name: 'system:auth-delegator' })).rules?.[0]?.resources).toEqual(['tokenreviews']);
  });
});
