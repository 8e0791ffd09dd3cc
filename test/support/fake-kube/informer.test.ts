import { afterEach, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { type FakeKube, type FakeKubeOptions, startFakeKube } from './index.js';
import { clientsFor, eventually, jobCondition, shellJob } from './test-helpers.js';

describe('fake-kube: the client informer (list + watch) works against the fake', () => {
  let fake: FakeKube | undefined;
  afterEach(async () => {
    await fake?.close();
  });

  async function informerOn(opts: FakeKubeOptions): Promise<{ fake: FakeKube; informer: k8s.Informer<k8s.V1Job>; seen: string[]; errors: unknown[] }> {
    fake = await startFakeKube(opts);
    const c = clientsFor(fake);
    const informer = k8s.makeInformer(c.kc, '/apis/batch/v1/namespaces/default/jobs', () => c.batch.listNamespacedJob({ namespace: 'default' }));
    const seen: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (j: k8s.V1Job) => seen.push(`add ${j.metadata?.name}`));
    informer.on('update', (j: k8s.V1Job) => {
      if (jobCondition(j, 'Complete') && !seen.includes(`complete ${j.metadata?.name}`)) seen.push(`complete ${j.metadata?.name}`);
    });
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    await c.batch.createNamespacedJob({ namespace: 'default', body: shellJob('inf1', 'true') });
    await eventually(() => (seen.includes('complete inf1') ? true : undefined), 'inf1 complete via informer');
    expect(seen[0]).toBe('add inf1');
    return { fake, informer, seen, errors };
  }

  it('relists after the server ends a watch and its resourceVersion was compacted (410)', async () => {
    const { fake: f, informer, seen } = await informerOn({ watchTimeoutSeconds: 1 });
    f.compactHistory();
    // The watch times out after 1s; the informer resumes from its old resourceVersion, gets 410, relists.
    await eventually(() => ((f.requestCounts()['list jobs'] ?? 0) >= 2 ? true : undefined), 'relist');
    await clientsFor(f).batch.createNamespacedJob({ namespace: 'default', body: shellJob('inf2', 'true') });
    await eventually(() => (seen.includes('complete inf2') ? true : undefined), 'inf2 complete after relist');
    await informer.stop();
  });

  it('reports an error when watches are dropped abruptly', async () => {
    const { fake: f, informer, errors } = await informerOn({});
    f.dropWatches();
    await eventually(() => (errors.length > 0 ? true : undefined), 'error reported');
    await informer.stop();
  });
});
