import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { loadServerConfig } from './server-config.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'strand-server-config-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const file = (text: string) => {
  const f = path.join(dir, 'lab.yaml');
  writeFileSync(f, text);
  return f;
};
const refused = (text: string) => {
  try {
    loadServerConfig(file(text), 'img');
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('the lab server config file', () => {
  it('has working defaults without a file: loopback, lab-{user}, the given leader image', () => {
    const c = loadServerConfig(undefined, 'localhost/strand:9');
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.members).toEqual({ namespaceTemplate: 'lab-{user}', clusterRole: 'strand-member', provision: true });
    expect(c.leader.image).toBe('localhost/strand:9');
  });

  it('reads every section, resolving the kubeconfig against the file', () => {
    const c = loadServerConfig(
      file(`listen: { host: 0.0.0.0, port: 9443 }
kubeconfig: kube/admin.conf
members:
  namespaceTemplate: team-{user}
  provision: false
  resourceQuota: { requests.cpu: 8, requests.memory: 32Gi, pods: "50" }
  limitRange: { default: { cpu: 500m, memory: 1Gi }, max: { memory: 16Gi } }
leader: { image: reg/strand:1, cpu: 500m, restarts: 2, imagePullPolicy: Never }
runs:
  kubernetes: { workspace: { claimName: strand-workspace, mountPath: /ws }, defaultImage: debian:stable }
limits: { attachmentBytes: 1MiB, bundleBytes: 100000 }
`),
      'img',
    );
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 9443 });
    expect(c.kubeconfig).toBe(path.join(dir, 'kube/admin.conf'));
    expect(c.members.provision).toBe(false);
    expect(c.members.resourceQuota).toEqual({ 'requests.cpu': '8', 'requests.memory': '32Gi', pods: '50' });
    expect(c.members.limitRange).toEqual({ default: { cpu: '500m', memory: '1Gi' }, max: { memory: '16Gi' } });
    expect(c.leader).toMatchObject({ image: 'reg/strand:1', cpu: '500m', restarts: 2, imagePullPolicy: 'Never', serviceAccount: 'strand' });
    expect(c.runs.kubernetes).toEqual({ workspace: { claimName: 'strand-workspace', mountPath: '/ws' }, defaultImage: 'debian:stable' });
    expect(c.limits.fileBytes).toBe(1024 * 1024);
    expect(c.limits.bundleBytes).toBe(100000);
  });

  it('names the file and key of every mistake', () => {
    const f = path.join(dir, 'lab.yaml');
    expect(refused('member: {}\n')).toBe(`${f}: member: unknown setting (known: listen, kubeconfig, members, leader, runs, limits, identity)`);
    expect(refused('members: { quotas: {} }\n')).toContain(`${f}: members: quotas: unknown setting`);
    expect(refused('members: { namespaceTemplate: lab }\n')).toContain('must contain {user}');
    expect(refused('members: { namespaceTemplate: "Lab_{user}" }\n')).toContain('only a-z, 0-9 and -');
    expect(refused('members: { resourceQuota: { requests.cpu: lots } }\n')).toContain(`${f}: members.resourceQuota.requests.cpu: expected a Kubernetes quantity`);
    expect(refused('members: { limitRange: { maximum: {} } }\n')).toContain('members.limitRange: maximum: unknown setting');
    expect(refused('listen: { port: 70000 }\n')).toContain('listen.port: expected a port number');
    expect(refused('runs: { kubernetes: { namespace: shared } }\n')).toContain('each member\'s runs go to their own namespace');
    expect(refused('leader: { imagePullPolicy: Sometimes }\n')).toContain('leader.imagePullPolicy: Always, IfNotPresent or Never');
    expect(refused('limits: { attachmentBytes: huge }\n')).toContain('limits.attachmentBytes: expected a size');
    expect(refused('listen: [1]\n')).toContain('listen: expected a mapping');
    expect(refused('members: { provision: no-thanks }\n')).toContain('members.provision: expected true or false');
    expect(refused('members: { namespace: Lab_1 }\n')).toContain('members.namespace: not a namespace name');
  });

  it('has no OIDC sign-in unless identity.oidc is given', () => {
    expect(loadServerConfig(undefined, 'img').identity).toEqual({});
    expect(loadServerConfig(file('identity: {}\n'), 'img').identity).toEqual({});
  });

  it('reads identity.oidc key by key, leaving the defaults to the authenticator', () => {
    const c = loadServerConfig(
      file(`identity:
  oidc:
    issuerUrl: https://idp.example.org/realms/lab
    clientId: strand
    usernameClaim: email
    usernamePrefix: ""
    groupsClaim: roles
    groupsPrefix: "oidc:"
    algorithms: [RS256, PS256]
`),
      'img',
    );
    expect(c.identity.oidc).toEqual({
      issuerUrl: 'https://idp.example.org/realms/lab',
      clientId: 'strand',
      usernameClaim: 'email',
      usernamePrefix: '',
      groupsClaim: 'roles',
      groupsPrefix: 'oidc:',
      algorithms: ['RS256', 'PS256'],
    });
    const loopback = loadServerConfig(file('identity: { oidc: { issuerUrl: "http://127.0.0.1:5556/dex", clientId: strand } }\n'), 'img');
    expect(loopback.identity.oidc).toEqual({ issuerUrl: 'http://127.0.0.1:5556/dex', clientId: 'strand' });
  });

  it('refuses an identity.oidc that could not sign anyone in safely, naming the key', () => {
    const f = path.join(dir, 'lab.yaml');
    const oidc = (rest: string) => `identity: { oidc: { issuerUrl: "https://idp.example.org", clientId: strand${rest} } }\n`;
    expect(refused('identity: { saml: {} }\n')).toBe(`${f}: identity: saml: unknown setting (known: oidc)`);
    expect(refused(oidc(', userClaim: email'))).toContain(`${f}: identity.oidc: userClaim: unknown setting`);
    expect(refused('identity: { oidc: { clientId: strand } }\n')).toContain(`${f}: identity.oidc.issuerUrl: required`);
    expect(refused('identity: { oidc: { issuerUrl: "https://idp.example.org" } }\n')).toContain(`${f}: identity.oidc.clientId: required`);
    expect(refused('identity: { oidc: { issuerUrl: "http://idp.example.org", clientId: strand } }\n')).toContain('identity.oidc.issuerUrl: must be https (plain http only to 127.0.0.1, ::1 or localhost)');
    expect(refused('identity: { oidc: { issuerUrl: "https://idp.example.org/?tenant=1", clientId: strand } }\n')).toContain('identity.oidc.issuerUrl: must not have a query or fragment');
    expect(refused('identity: { oidc: { issuerUrl: "https://idp.example.org", clientId: "" } }\n')).toContain('identity.oidc.clientId: expected a non-empty string');
    expect(refused(oidc(', usernamePrefix: "system:"'))).toContain('identity.oidc.usernamePrefix: must not begin with system:');
    expect(refused(oidc(', groupsPrefix: 7'))).toContain('identity.oidc.groupsPrefix: expected a string');
    expect(refused(oidc(', algorithms: [RS256, HS256]'))).toContain('identity.oidc.algorithms: HS256: not allowed');
    expect(refused(oidc(', algorithms: [none]'))).toContain('identity.oidc.algorithms: none: not allowed');
    expect(refused(oidc(', algorithms: []'))).toContain('identity.oidc.algorithms: must name at least one algorithm');
    expect(refused(oidc(', algorithms: RS256'))).toContain('identity.oidc.algorithms: expected a list');
  });
});
