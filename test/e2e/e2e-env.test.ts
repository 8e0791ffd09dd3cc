/** Unit tests of the e2e harness's environment detection (runs in the normal unit test run). */
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type E2eFs, clusterHints, fakeConfigYaml, kubeconfigFiles, loadKubeConfig, namespaceFor, parseQuantity, planE2e, probeCluster, stepFromLabel, withDefaultImage } from './e2e-env.js';

function fsWith(files: Record<string, string>, homedir = '/home/u'): E2eFs {
  return {
    exists: (p) => p in files,
    readText: (p) => {
      const t = files[p];
      if (t === undefined) throw new Error(`ENOENT ${p}`);
      return t;
    },
    homedir,
  };
}

describe('planE2e', () => {
  it('skips with a message saying what to set when STRAND_E2E_CONFIG is missing', () => {
    const plan = planE2e({}, fsWith({}));
    expect(plan.kind).toBe('skip');
    expect(plan.kind === 'skip' && plan.reason).toMatch(/STRAND_E2E_CONFIG is not set.*STRAND_E2E_FAKE=1/);
  });

  it('uses the fake API server when STRAND_E2E_FAKE=1, with or without an image', () => {
    expect(planE2e({ STRAND_E2E_FAKE: '1' }, fsWith({}))).toEqual({ kind: 'fake' });
    expect(planE2e({ STRAND_E2E_FAKE: '1', STRAND_E2E_IMAGE: 'vc:1' }, fsWith({}))).toEqual({ kind: 'fake', image: 'vc:1' });
  });

  it('skips when the config file does not exist', () => {
    const plan = planE2e({ STRAND_E2E_CONFIG: '/x/strand.yaml' }, fsWith({}));
    expect(plan).toEqual({ kind: 'skip', reason: 'STRAND_E2E_CONFIG=/x/strand.yaml: no such file' });
  });

  it('skips when no kubeconfig exists', () => {
    const plan = planE2e({ STRAND_E2E_CONFIG: '/c.yaml' }, fsWith({ '/c.yaml': 'executor: kubernetes\n' }));
    expect(plan).toEqual({ kind: 'skip', reason: 'no cluster configured: KUBECONFIG is not set and ~/.kube/config does not exist' });
    const plan2 = planE2e({ STRAND_E2E_CONFIG: '/c.yaml', KUBECONFIG: '/nope' }, fsWith({ '/c.yaml': '' }));
    expect(plan2.kind === 'skip' && plan2.reason).toMatch(/KUBECONFIG=\/nope/);
  });

  it('finds ~/.kube/config, KUBECONFIG lists and the config file\'s kubeconfig', () => {
    const files = { '/c.yaml': 'kubernetes: { namespace: ns1, context: lab }\n', '/home/u/.kube/config': '', '/k1': '', '/k2': '' };
    expect(planE2e({ STRAND_E2E_CONFIG: '/c.yaml', STRAND_E2E_IMAGE: 'img' }, fsWith(files))).toEqual({
      kind: 'cluster',
      configPath: '/c.yaml',
      kubeconfigFiles: ['/home/u/.kube/config'],
      hints: { namespace: 'ns1', context: 'lab' },
      image: 'img',
    });
    const plan = planE2e({ STRAND_E2E_CONFIG: '/c.yaml', KUBECONFIG: '/k1:/missing:/k2' }, fsWith(files));
    expect(plan.kind === 'cluster' && plan.kubeconfigFiles).toEqual(['/k1', '/k2']);
    const own = planE2e({ STRAND_E2E_CONFIG: '/d.yaml' }, fsWith({ '/d.yaml': 'kubernetes: { kubeconfig: ~/lab.yaml }', '/home/u/lab.yaml': '' }));
    expect(own.kind === 'cluster' && own.kubeconfigFiles).toEqual(['/home/u/lab.yaml']);
  });

  it('skips on a config file that is not YAML', () => {
    const plan = planE2e({ STRAND_E2E_CONFIG: '/c.yaml' }, fsWith({ '/c.yaml': 'a: [' }));
    expect(plan.kind === 'skip' && plan.reason).toMatch(/^STRAND_E2E_CONFIG=\/c.yaml: not valid YAML/);
  });
});

describe('helpers', () => {
  it('clusterHints ignores everything but kubeconfig, context and namespace', () => {
    expect(clusterHints('executor: kubernetes\nkubernetes:\n  namespace: g\n  owner: a\n')).toEqual({ namespace: 'g' });
    expect(clusterHints('')).toEqual({});
  });

  it('kubeconfigFiles prefers KUBECONFIG over ~/.kube/config', () => {
    const fs = fsWith({ '/a': '', '/home/u/.kube/config': '' });
    expect(kubeconfigFiles({ KUBECONFIG: '/a' }, fs)).toEqual(['/a']);
    expect(kubeconfigFiles({}, fs)).toEqual(['/home/u/.kube/config']);
  });

  it('parseQuantity reads cpu and memory quantities', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('2')).toBe(2);
    expect(parseQuantity('256Mi')).toBe(256 * 2 ** 20);
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('12Qi')).toBeNaN();
    expect(parseQuantity(undefined)).toBeNaN();
  });

  it('stepFromLabel finds the step in label values made from step paths', () => {
    const steps = ['words', 'lines', 'count', 'keep_top'];
    expect(stepFromLabel('keep_top', steps)).toBe('keep_top');
    expect(stepFromLabel('main-keep_top-3fa2c01b9d', steps)).toBe('keep_top');
    expect(stepFromLabel('main-words-0a1b2c3d4e', steps)).toBe('words');
    expect(stepFromLabel('main-wordsmith-0a1b', steps)).toBeUndefined();
    expect(stepFromLabel('main-call-abc', ['call', 'merge'])).toBe('call');
  });

  it('fakeConfigYaml and withDefaultImage write config Strand can read', () => {
    const text = fakeConfigYaml({ workspaceDir: '/tmp/ws x', claimName: 'strand-workspace', namespace: 'default' });
    const cfg = parse(text) as { executor: string; kubernetes: { workspace: Record<string, string> } };
    expect(cfg.executor).toBe('kubernetes');
    expect(cfg.kubernetes.workspace).toEqual({ claimName: 'strand-workspace', mountPath: '/tmp/ws x', localPath: '/tmp/ws x' });
    const vc = parse(withDefaultImage(text, 'vc:1')) as { kubernetes: { defaultImage: string; workspace: unknown } };
    expect(vc.kubernetes.defaultImage).toBe('vc:1');
    expect(vc.kubernetes.workspace).toEqual(cfg.kubernetes.workspace);
  });
});

describe('kubeconfig and probe', () => {
  const kcText = (server: string) => `
apiVersion: v1
kind: Config
clusters: [ { name: c, cluster: { server: "${server}" } } ]
users: [ { name: u, user: { token: t } } ]
contexts:
  - { name: a, context: { cluster: c, user: u, namespace: team } }
  - { name: b, context: { cluster: c, user: u } }
current-context: a
`;

  it('namespaceFor: config file, else context, else default', () => {
    const kc = new KubeConfig();
    kc.loadFromString(kcText('http://127.0.0.1:1'));
    expect(namespaceFor(kc, 'x')).toBe('x');
    expect(namespaceFor(kc, undefined)).toBe('team');
    kc.setCurrentContext('b');
    expect(namespaceFor(kc, undefined)).toBe('default');
  });

  it('loadKubeConfig rejects an unknown context', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/e2e-env-`);
    writeFileSync(`${dir}/config`, kcText('http://127.0.0.1:1'));
    expect(loadKubeConfig([`${dir}/config`], 'b').getCurrentContext()).toBe('b');
    expect(() => loadKubeConfig([`${dir}/config`], 'nope')).toThrow();
    rmSync(dir, { recursive: true, force: true });
  });

  it('probeCluster explains an unreachable server', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(kcText('http://127.0.0.1:1'));
    expect(await probeCluster(kc, 3000)).toMatch(/^cluster http:\/\/127.0.0.1:1 (is not reachable|did not answer)/);
  });
});
