/**
 * `strand lab add-member`: an administrator makes a member's namespace ahead of their first
 * sign-in, with their own kubeconfig and the server config's profile (the fake API server).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { built, runStrand } from '../support/strand-cli.js';
import { memberNamespaceName } from '../../src/server/members/namespace-name.js';

describe.skipIf(!built)('strand lab add-member', () => {
  let fake: FakeKube;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    fake = await startFakeKube();
    dir = mkdtempSync(path.join(os.tmpdir(), 'strand-lab-add-'));
    writeFileSync(path.join(dir, 'lab.yaml'), 'members:\n  namespaceTemplate: team-{user}\n  resourceQuota: { pods: "20" }\n');
    env = { ...process.env, KUBECONFIG: fake.kubeconfigPath };
  });
  afterAll(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes the namespace with the profile of the config file; a second time changes nothing', async () => {
    const user = 'system:serviceaccount:people:bob';
    const ns = memberNamespaceName(user, 'team-{user}');
    const first = await runStrand(['lab', 'add-member', user, '--config', 'lab.yaml'], { cwd: dir, env });
    expect(first.stderr).toContain('made for');
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toBe(ns);
    const made = fake.listObjects('namespaces', '').find((o) => o.metadata.name === ns);
    expect(made?.metadata.annotations?.['strand.dev/member']).toBe(user);
    expect(fake.listObjects('resourcequotas', ns).map((q) => (q as { spec?: { hard?: unknown } }).spec?.hard)).toEqual([{ pods: '20' }]);
    const again = await runStrand(['lab', 'add-member', user, '--config', 'lab.yaml'], { cwd: dir, env });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('was already there');
  });

  it('refuses a namespace of that name that Strand did not make, and leaves it alone', async () => {
    const admin = await runStrand(['lab', 'add-member', 'carol', '--config', 'lab.yaml'], { cwd: dir, env: { ...env } });
    expect(admin.code).toBe(0);
    // dave's namespace name is taken by one made by hand.
    await fetch(`${fake.url}/api/v1/namespaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-dave' } }),
    });
    const r = await runStrand(['lab', 'add-member', 'dave', '--config', 'lab.yaml'], { cwd: dir, env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('team-dave');
    expect(fake.listObjects('serviceaccounts', 'team-dave').map((o) => o.metadata.name)).not.toContain('strand-member');
  });
});
