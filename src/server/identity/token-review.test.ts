import type { IncomingMessage } from 'node:http';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, type KubeApi } from '../../cluster/kube-api.js';
import { startFakeKube, type FakeKube } from '../../../test/support/fake-kube/index.js';
import { applyAsAdmin, kubeApiFor, serviceAccountToken } from '../../../test/support/lab-cluster.js';
import { serverRbacObjects } from '../members/server-rbac.js';
import { Unauthenticated } from '../server-types.js';
import { ReviewCache, tokenReviewAuthenticator } from './token-review.js';

const request = (authorization?: string): IncomingMessage => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );
}

describe('tokenReviewAuthenticator, with the server\'s own minimal rights', () => {
  let fake: FakeKube;
  let server: KubeApi;
  let memberToken: string;
  beforeAll(async () => {
    fake = await startFakeKube({ namespaces: ['strand-system', 'lab'] });
    await applyAsAdmin(fake, [...serverRbacObjects({ namespace: 'strand-system' }), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'alice', namespace: 'lab' } }]);
    server = kubeApiFor(fake, await serviceAccountToken(fake, 'strand-system', 'strand-server'), 'strand-system');
    memberToken = await serviceAccountToken(fake, 'lab', 'alice');
  });
  afterAll(async () => {
    await fake.close();
  });

  it('authenticates a token of the cluster as its user and groups', async () => {
    const authenticate = tokenReviewAuthenticator(server);
    expect(await authenticate(request(`Bearer ${memberToken}`))).toEqual({
      user: 'system:serviceaccount:lab:alice',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:lab', 'system:authenticated'],
    });
    const person = fake.addUser('bob@example.org', ['lab-members']);
    expect(await authenticate(request(`bearer ${person}`))).toEqual({ user: 'bob@example.org', groups: ['lab-members', 'system:authenticated'] });
  });

  it('rejects a garbage token, and any other scheme or shape, without saying the token', async () => {
    const authenticate = tokenReviewAuthenticator(server);
    const garbage = 'garbage-token-that-is-not-valid';
    const e = await rejection(authenticate(request(`Bearer ${garbage}`)));
    expect(e).toBeInstanceOf(Unauthenticated);
    expect(`${e.message} ${inspect(e)}`).not.toContain(garbage);
    fake.resetRequestLog();
    for (const h of [undefined, '', 'Bearer', 'Bearer ', `Basic ${memberToken}`, `Token ${memberToken}`, `Bearer ${memberToken} extra`, `Bearer\t${memberToken}`, `${memberToken}`, `Bearer "${memberToken}"`]) {
      const err = await rejection(authenticate(request(h)));
      expect(err, String(h)).toBeInstanceOf(Unauthenticated);
      expect(err.message).not.toContain(memberToken);
    }
    // None of these even reached the API server.
    expect(fake.requestCounts()['create tokenreviews']).toBeUndefined();
  });

  it('keeps answers for a short while, keyed by a digest: the cache never holds a token', async () => {
    let now = 1_000_000;
    const cache = new ReviewCache();
    const authenticate = tokenReviewAuthenticator(server, { cache, now: () => now });
    fake.resetRequestLog();
    await Promise.all([1, 2, 3].map(() => authenticate(request(`Bearer ${memberToken}`))));
    await authenticate(request(`Bearer ${memberToken}`));
    const garbage = 'another-garbage-token-0123456789';
    for (let i = 0; i < 3; i++) await rejection(authenticate(request(`Bearer ${garbage}`)));
    expect(fake.requestCounts()['create tokenreviews']).toBe(2);

    const everything = `${inspect(cache, { depth: 10, showHidden: true })} ${JSON.stringify(cache.valid.dump())} ${JSON.stringify(cache.invalid.dump())}`;
    expect(everything).not.toContain(memberToken);
    expect(everything).not.toContain(garbage);
    expect(cache.valid.dump().map(([k]) => k)).toEqual([cache.digest(memberToken)]);
    expect(cache.valid.dump()[0]![0]).toMatch(/^[0-9a-f]{64}$/);
    expect(cache.invalid.dump().map(([k]) => k)).toEqual([cache.digest(garbage)]);
    // Another cache (another start) has another key: its digests of the same token differ.
    expect(new ReviewCache().digest(memberToken)).not.toBe(cache.digest(memberToken));

    // 10 s later the invalid answer is asked again; 60 s later the valid one.
    now += 10_001;
    await rejection(authenticate(request(`Bearer ${garbage}`)));
    await authenticate(request(`Bearer ${memberToken}`));
    expect(fake.requestCounts()['create tokenreviews']).toBe(3);
    now += 50_000;
    await authenticate(request(`Bearer ${memberToken}`));
    expect(fake.requestCounts()['create tokenreviews']).toBe(4);
  });

  it('a cached answer ends with its time: an expired token is refused once its answer is old', async () => {
    let now = 0;
    const token = await serviceAccountToken(fake, 'lab', 'alice', [], 600);
    const authenticate = tokenReviewAuthenticator(server, { now: () => now });
    await authenticate(request(`Bearer ${token}`));
    fake.advanceTokenClock(601);
    // Still within its minute, the answer stands (the price of the cache).
    now += 59_000;
    expect((await authenticate(request(`Bearer ${token}`))).user).toBe('system:serviceaccount:lab:alice');
    now += 1_001;
    expect(await rejection(authenticate(request(`Bearer ${token}`)))).toBeInstanceOf(Unauthenticated);
  });

  it('is bounded in size', async () => {
    const cache = new ReviewCache(2, 2);
    const authenticate = tokenReviewAuthenticator(server, { cache });
    for (let i = 0; i < 5; i++) await rejection(authenticate(request(`Bearer garbage-${i}`)));
    expect(cache.invalid.size).toBe(2);
    expect(cache.invalid.dump().map(([k]) => k)).toEqual([cache.digest('garbage-3'), cache.digest('garbage-4')]);
  });

  it('with audiences, accepts only tokens issued for one of them', async () => {
    const authenticate = tokenReviewAuthenticator(server, { audiences: ['strand-lab'] });
    const forStrand = await serviceAccountToken(fake, 'lab', 'alice', ['strand-lab']);
    expect((await authenticate(request(`Bearer ${forStrand}`))).user).toBe('system:serviceaccount:lab:alice');
    // A token for the API server itself is not one for this server.
    expect(await rejection(authenticate(request(`Bearer ${memberToken}`)))).toBeInstanceOf(Unauthenticated);
  });

  it('a review the API server refuses is an error of its own, not a 401, and not cached', async () => {
    fake.failRequests({ status: 503, count: 1, match: { verb: 'create', resource: 'tokenreviews' } });
    const authenticate = tokenReviewAuthenticator(kubeApiFor(fake, await serviceAccountToken(fake, 'strand-system', 'strand-server'), 'strand-system'));
    const e = await rejection(authenticate(request(`Bearer ${memberToken}`)));
    expect(e).toBeInstanceOf(KubeApiError);
    expect((e as KubeApiError).status).toBe(503);
    expect(`${e.message} ${inspect(e, { depth: 6 })}`).not.toContain(memberToken);
    expect((await authenticate(request(`Bearer ${memberToken}`))).user).toBe('system:serviceaccount:lab:alice');
  });
});
