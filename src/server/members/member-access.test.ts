import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, type KubeApi } from '../../cluster/kube-api.js';
import { startFakeKube, type FakeKube } from '../../../test/support/fake-kube/index.js';
import { applyAsAdmin, fakeLabServer, kubeApiFor, serviceAccountToken } from '../../../test/support/lab-cluster.js';
import { NotPermitted } from '../server-types.js';
import { tokenRequestMemberAccess } from './member-access.js';
import { oneNamespaceRbacObjects } from './server-rbac.js';

const alice = { user: 'alice', groups: ['lab'] };
const bob = { user: 'Bob@Example.org', groups: ['lab'] };

function job(name: string) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['true'] }] } } },
  };
}

const statusOf = async (p: Promise<unknown>): Promise<number | undefined> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  return e instanceof KubeApiError ? e.status : e === undefined ? 200 : -1;
};

describe('tokenRequestMemberAccess', () => {
  let fake: FakeKube;
  let server: KubeApi;
  beforeAll(async () => {
    ({ fake, server } = await fakeLabServer());
  });
  afterAll(async () => {
    await fake.close();
  });

  it("acts for a member in their namespace only: a Job there, Forbidden in another member's", async () => {
    const access = tokenRequestMemberAccess(server);
    const a = await access.forMember(alice);
    const b = await access.forMember(bob);
    expect(a.namespace).toBe('lab-alice');
    expect(b.namespace).toMatch(/^lab-bob-example-org--[a-z2-7]{20}$/);
    await a.api.call('create Job', () => a.api.batch.createNamespacedJob({ namespace: a.namespace, body: job('mine') }));
    expect(fake.getObject('jobs', 'lab-alice', 'mine')).toBeDefined();
    // The API server saw the member's ServiceAccount, not the server and not the person.
    const e = await a.api.call('create Job', () => a.api.batch.createNamespacedJob({ namespace: b.namespace, body: job('theirs') })).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(KubeApiError);
    expect((e as KubeApiError).status).toBe(403);
    expect((e as KubeApiError).kubeMessage).toContain('User "system:serviceaccount:lab-alice:strand-member" cannot create resource "jobs"');
    expect(await statusOf(a.api.call('list pods', () => a.api.core.listNamespacedPod({ namespace: b.namespace })))).toBe(403);
    // Nothing cluster-wide, nothing the member role lacks.
    expect(await statusOf(a.api.call('list namespaces', () => a.api.core.listNamespace()))).toBe(403);
    expect(await statusOf(a.api.call('list secrets', () => a.api.core.listNamespacedSecret({ namespace: a.namespace })))).toBe(403);
    expect(await statusOf(b.api.call('list jobs', () => b.api.batch.listNamespacedJob({ namespace: b.namespace })))).toBe(200);
    expect(fake.getObject('jobs', b.namespace, 'theirs')).toBeUndefined();
  });

  it('makes the namespace ready once per member, and reuses a token until 80% of its life', async () => {
    let now = Date.now();
    const access = tokenRequestMemberAccess(server, { expirationSeconds: 600, now: () => now });
    fake.resetRequestLog();
    const c1 = await access.forMember({ user: 'carol', groups: [] });
    const c2 = await access.forMember({ user: 'carol', groups: [] });
    expect(c2.api).toBe(c1.api);
    for (let i = 0; i < 3; i++) await c1.api.call('list jobs', () => c1.api.batch.listNamespacedJob({ namespace: c1.namespace }));
    // Requests at the same moment share one TokenRequest.
    await Promise.all([1, 2, 3].map(() => c2.api.call('list pods', () => c2.api.core.listNamespacedPod({ namespace: c2.namespace }))));
    let counts = fake.requestCounts();
    expect(counts['create namespaces']).toBe(1);
    expect(counts['create serviceaccounts/token']).toBe(1);
    const tokenAsk = fake.requests.find((r) => r.resource === 'serviceaccounts/token')!;
    expect(tokenAsk.path).toBe('/api/v1/namespaces/lab-carol/serviceaccounts/strand-member/token');

    // The fake's expiry is 600 s from the time it issued; ours counts from when we asked. At 79% no new token; past 80% one.
    now += 0.79 * 600_000;
    await c1.api.call('list jobs', () => c1.api.batch.listNamespacedJob({ namespace: c1.namespace }));
    expect(fake.requestCounts()['create serviceaccounts/token']).toBe(1);
    now += 0.02 * 600_000;
    await c1.api.call('list jobs', () => c1.api.batch.listNamespacedJob({ namespace: c1.namespace }));
    counts = fake.requestCounts();
    expect(counts['create serviceaccounts/token']).toBe(2);
    expect(counts['create namespaces']).toBe(1);
  });

  it('a refreshed token keeps a long-lived client working after the first token expired', async () => {
    let now = Date.now();
    const access = tokenRequestMemberAccess(server, { now: () => now });
    const d = await access.forMember({ user: 'dana', groups: [] });
    await d.api.call('list jobs', () => d.api.batch.listNamespacedJob({ namespace: d.namespace }));
    fake.advanceTokenClock(601);
    now += 601_000;
    await d.api.call('list jobs', () => d.api.batch.listNamespacedJob({ namespace: d.namespace }));
  });

  it('watches and log streams go with the member\'s token too (the options client-node builds for them)', async () => {
    const access = tokenRequestMemberAccess(server);
    const h = await access.forMember({ user: 'hana', groups: [] });
    // client-node's Watch and Log build their request from applyToFetchOptions: ask it, then watch.
    const init = (await h.api.conn.kc.applyToFetchOptions({})) as { headers: Record<string, string> };
    const watch = async (ns: string) => {
      const ctl = new AbortController();
      const res = await fetch(`${fake.url}/apis/batch/v1/namespaces/${ns}/jobs?watch=true`, { headers: init.headers, signal: ctl.signal });
      return { res, stop: () => ctl.abort() };
    };
    const mine = await watch(h.namespace);
    expect(mine.res.status).toBe(200);
    await h.api.call('create Job', () => h.api.batch.createNamespacedJob({ namespace: h.namespace, body: job('watched') }));
    const reader = mine.res.body!.getReader();
    const first = JSON.parse(new TextDecoder().decode((await reader.read()).value).split('\n')[0]!) as { type: string; object: { metadata: { name: string } } };
    expect(`${first.type} ${first.object.metadata.name}`).toBe('ADDED watched');
    mine.stop();
    const theirs = await watch('lab-alice');
    expect(theirs.res.status).toBe(403);
    theirs.stop();
  });

  it('refuses principals that may not be members, and does not remember failures', async () => {
    const access = tokenRequestMemberAccess(server, { mayBeMember: (p) => p.groups.includes('lab') });
    await expect(access.forMember({ user: 'eve', groups: [] })).rejects.toThrow(NotPermitted);
    expect(fake.getObject('namespaces', '', 'lab-eve')).toBeUndefined();

    await applyAsAdmin(fake, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lab-frank' } }]);
    const open = tokenRequestMemberAccess(server);
    await expect(open.forMember({ user: 'frank', groups: [] })).rejects.toThrow(/lab-frank exists and was not made by Strand/);
    fake.resetRequestLog();
    await expect(open.forMember({ user: 'frank', groups: [] })).rejects.toThrow(NotPermitted);
    expect(fake.requestCounts()['create namespaces']).toBe(1);
  });

  it('never puts a token in what it says', async () => {
    const access = tokenRequestMemberAccess(server);
    const g = await access.forMember({ user: 'gina', groups: [] });
    await g.api.call('list jobs', () => g.api.batch.listNamespacedJob({ namespace: g.namespace }));
    const e = (await g.api.call('list secrets', () => g.api.core.listNamespacedSecret({ namespace: g.namespace })).catch((err: unknown) => err)) as KubeApiError;
    // The member client's kubeconfig holds no token: it is asked for at each request.
    expect(JSON.stringify(g.api.conn.kc.users)).not.toMatch(/token/i);
    expect(`${e.message} ${e.kubeMessage} ${JSON.stringify(e)}`).not.toMatch(/sa-[A-Za-z0-9_-]{20,}/);
  });
});

describe('tokenRequestMemberAccess in a one-namespace install (no ClusterRole)', () => {
  let fake: FakeKube;
  afterAll(async () => {
    await fake.close();
  });

  it('every member acts in the one namespace with strand-member, and the server may mint only that token', async () => {
    fake = await startFakeKube({ namespaces: ['lab'] });
    const objects = oneNamespaceRbacObjects({ namespace: 'lab' });
    expect(objects.filter((o) => o.kind === 'ClusterRole')).toEqual([]);
    await applyAsAdmin(fake, objects);
    const server = kubeApiFor(fake, await serviceAccountToken(fake, 'lab', 'strand-server'), 'lab');
    const access = tokenRequestMemberAccess(server, { fixedNamespace: 'lab' });
    const a = await access.forMember(alice);
    expect(a.namespace).toBe('lab');
    await a.api.call('create Job', () => a.api.batch.createNamespacedJob({ namespace: 'lab', body: job('in-lab') }));
    expect(await statusOf(a.api.call('create Job', () => a.api.batch.createNamespacedJob({ namespace: 'default', body: job('elsewhere') })))).toBe(403);
    expect(fake.listObjects('namespaces').map((n) => n.metadata.name)).not.toContain('lab-alice');
    // The server itself: the token of strand-member, nothing else (not the leader's).
    expect(await statusOf(server.call('token', () => server.core.createNamespacedServiceAccountToken({ name: 'strand', namespace: 'lab', body: { spec: { audiences: [] } } })))).toBe(403);
    expect(await statusOf(server.call('jobs', () => server.batch.listNamespacedJob({ namespace: 'lab' })))).toBe(403);
    // And checks tokens through the auth-delegator binding.
    const review = await server.call('review', () => server.authn.createTokenReview({ body: { spec: { token: 'garbage' } } }));
    expect(review.status?.authenticated).toBeFalsy();
  });
});
