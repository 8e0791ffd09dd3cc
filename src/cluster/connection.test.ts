import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { connect } from './connection.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'strand-conn-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Ctx {
  name: string;
  cluster: string;
  user?: string;
  namespace?: string;
}

function kubeconfig(
  file: string,
  o: { clusters?: Array<{ name: string; server: string }>; contexts?: Ctx[]; current?: string; users?: string[] },
): string {
  const p = path.join(dir, file);
  mkdirSync(path.dirname(p), { recursive: true });
  const lines = ['apiVersion: v1', 'kind: Config'];
  lines.push('clusters:');
  for (const c of o.clusters ?? []) lines.push(`- name: ${c.name}`, '  cluster:', `    server: ${c.server}`);
  if ((o.clusters ?? []).length === 0) lines[lines.length - 1] = 'clusters: []';
  lines.push('users:');
  for (const u of o.users ?? ['u']) lines.push(`- name: ${u}`, '  user:', `    token: tok-${u}`);
  lines.push('contexts:');
  for (const c of o.contexts ?? []) {
    lines.push(`- name: ${c.name}`, '  context:', `    cluster: ${c.cluster}`, `    user: ${c.user ?? 'u'}`);
    if (c.namespace) lines.push(`    namespace: ${c.namespace}`);
  }
  if ((o.contexts ?? []).length === 0) lines[lines.length - 1] = 'contexts: []';
  if (o.current) lines.push(`current-context: ${o.current}`);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

/** An environment with nothing: a HOME without .kube, no KUBECONFIG, not in a pod. */
const bareEnv = (): NodeJS.ProcessEnv => ({ HOME: path.join(dir, 'home') });
const noServiceAccount = () => path.join(dir, 'no-sa');

describe('connect', () => {
  it('uses an explicit kubeconfig file and its current context and namespace', () => {
    const f = kubeconfig('a.yaml', {
      clusters: [{ name: 'c1', server: 'https://c1.example:6443' }, { name: 'c2', server: 'https://c2.example:6443' }],
      contexts: [{ name: 'one', cluster: 'c1', namespace: 'genomics' }, { name: 'two', cluster: 'c2' }],
      current: 'one',
    });
    const c = connect({ kubeconfig: f }, bareEnv(), noServiceAccount());
    expect(c).toMatchObject({ context: 'one', namespace: 'genomics', server: 'https://c1.example:6443', inCluster: false });
    expect(c.kc.getCurrentContext()).toBe('one');
    expect(c.kc.getCurrentCluster()?.server).toBe('https://c1.example:6443');
  });

  it('--context selects another context; its namespace or "default" applies; --namespace wins', () => {
    const f = kubeconfig('a.yaml', {
      clusters: [{ name: 'c1', server: 'https://c1:6443' }, { name: 'c2', server: 'https://c2:6443' }],
      contexts: [{ name: 'one', cluster: 'c1', namespace: 'genomics' }, { name: 'two', cluster: 'c2' }],
      current: 'one',
    });
    const two = connect({ kubeconfig: f, context: 'two' }, bareEnv(), noServiceAccount());
    expect(two).toMatchObject({ context: 'two', namespace: 'default', server: 'https://c2:6443' });
    expect(two.kc.getCurrentCluster()?.server).toBe('https://c2:6443');
    expect(connect({ kubeconfig: f, namespace: 'lab' }, bareEnv(), noServiceAccount()).namespace).toBe('lab');
  });

  it('an unknown context is a UsageError listing the available ones', () => {
    const f = kubeconfig('a.yaml', {
      clusters: [{ name: 'c1', server: 'https://c1:6443' }],
      contexts: [{ name: 'one', cluster: 'c1' }, { name: 'two', cluster: 'c1' }],
      current: 'one',
    });
    let err: unknown;
    try {
      connect({ kubeconfig: f, context: 'three' }, bareEnv(), noServiceAccount());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('"three"');
    expect((err as Error).message).toContain('one, two');
  });

  it('a kubeconfig without current-context asks for --context', () => {
    const f = kubeconfig('a.yaml', { clusters: [{ name: 'c1', server: 'https://c1:6443' }], contexts: [{ name: 'one', cluster: 'c1' }] });
    expect(() => connect({ kubeconfig: f }, bareEnv(), noServiceAccount())).toThrow(/no current-context.*--context.*one/);
  });

  it('a context naming an undefined cluster is reported', () => {
    const f = kubeconfig('a.yaml', { clusters: [], contexts: [{ name: 'one', cluster: 'ghost' }], current: 'one' });
    expect(() => connect({ kubeconfig: f }, bareEnv(), noServiceAccount())).toThrow(/cluster "ghost"/);
  });

  it('a missing explicit kubeconfig is a UsageError naming it', () => {
    const missing = path.join(dir, 'nope.yaml');
    expect(() => connect({ kubeconfig: missing }, bareEnv(), noServiceAccount())).toThrow(UsageError);
    expect(() => connect({ kubeconfig: missing }, bareEnv(), noServiceAccount())).toThrow(missing);
  });

  it('merges KUBECONFIG files like kubectl: first definition and first current-context win, missing files skipped', () => {
    const a = kubeconfig('a.yaml', {
      clusters: [{ name: 'shared', server: 'https://from-a:6443' }],
      contexts: [{ name: 'ctx-a', cluster: 'shared', namespace: 'ns-a' }],
      current: 'ctx-a',
    });
    const b = kubeconfig('b.yaml', {
      clusters: [{ name: 'shared', server: 'https://from-b:6443' }, { name: 'only-b', server: 'https://only-b:6443' }],
      contexts: [{ name: 'ctx-b', cluster: 'only-b' }, { name: 'ctx-a', cluster: 'only-b' }],
      current: 'ctx-b',
    });
    const env = { ...bareEnv(), KUBECONFIG: [path.join(dir, 'missing.yaml'), a, b].join(path.delimiter) };
    const c = connect({}, env, noServiceAccount());
    expect(c).toMatchObject({ context: 'ctx-a', namespace: 'ns-a', server: 'https://from-a:6443' });
    const cb = connect({ context: 'ctx-b' }, env, noServiceAccount());
    expect(cb).toMatchObject({ context: 'ctx-b', server: 'https://only-b:6443', namespace: 'default' });
  });

  it('falls back to ~/.kube/config when KUBECONFIG is not set', () => {
    kubeconfig('home/.kube/config', { clusters: [{ name: 'h', server: 'https://home:6443' }], contexts: [{ name: 'home', cluster: 'h', namespace: 'mine' }], current: 'home' });
    const c = connect({}, bareEnv(), noServiceAccount());
    expect(c).toMatchObject({ context: 'home', namespace: 'mine', server: 'https://home:6443', inCluster: false });
  });

  it('uses the in-cluster service account when there is no kubeconfig', () => {
    const sa = path.join(dir, 'sa');
    mkdirSync(sa);
    writeFileSync(path.join(sa, 'token'), 'sa-token');
    writeFileSync(path.join(sa, 'namespace'), 'pipelines\n');
    writeFileSync(path.join(sa, 'ca.crt'), 'not really a cert');
    const env = { ...bareEnv(), KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const c = connect({}, env, sa);
    expect(c).toMatchObject({ inCluster: true, namespace: 'pipelines', server: 'https://10.0.0.1:443', context: 'in-cluster' });
    expect(c.kc.getCurrentCluster()?.caFile).toBe(path.join(sa, 'ca.crt'));
    expect(c.kc.getCurrentUser()?.authProvider).toEqual({ name: 'tokenFile', config: { tokenFile: path.join(sa, 'token') } });
    expect(connect({ namespace: 'other' }, env, sa).namespace).toBe('other');
    // IPv6 service hosts are bracketed.
    expect(connect({}, { ...env, KUBERNETES_SERVICE_HOST: 'fd00::1' }, sa).server).toBe('https://[fd00::1]:443');
  });

  it('prefers a kubeconfig over the service account', () => {
    const sa = path.join(dir, 'sa');
    mkdirSync(sa);
    writeFileSync(path.join(sa, 'token'), 'sa-token');
    kubeconfig('home/.kube/config', { clusters: [{ name: 'h', server: 'https://home:6443' }], contexts: [{ name: 'home', cluster: 'h' }], current: 'home' });
    const c = connect({}, { ...bareEnv(), KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(c).toMatchObject({ inCluster: false, context: 'home' });
  });

  it('with no configuration at all, says where it looked and how to fix it', () => {
    let err: unknown;
    try {
      connect({}, bareEnv(), noServiceAccount());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const m = (err as Error).message;
    expect(m).toContain('$KUBECONFIG (not set)');
    expect(m).toContain(path.join(dir, 'home', '.kube', 'config'));
    expect(m).toContain('KUBERNETES_SERVICE_HOST is not set');
    expect(m).toMatch(/Set KUBECONFIG.*--context.*in a pod/);
  });

  it('a KUBECONFIG naming only missing files is reported (no silent localhost:8080)', () => {
    const env = { ...bareEnv(), KUBECONFIG: path.join(dir, 'missing.yaml') };
    expect(() => connect({}, env, noServiceAccount())).toThrow(/KUBECONFIG=.*missing\.yaml/);
  });

  it('an unparsable kubeconfig is a UsageError naming the file', () => {
    const f = path.join(dir, 'bad.yaml');
    writeFileSync(f, 'clusters: [ {name: x, cluster: {}} ]\ncontexts: "nope"\n');
    expect(() => connect({ kubeconfig: f }, bareEnv(), noServiceAccount())).toThrow(UsageError);
  });
});
