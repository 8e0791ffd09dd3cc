/** Discovery documents: /version, /api, /apis, /api/v1, /apis/<group>/<version>. */
import { RESOURCES, groupVersion } from './resources.js';

export const KUBE_VERSION = { major: '1', minor: '29', gitVersion: 'v1.29.0', gitCommit: 'fake', gitTreeState: 'clean', buildDate: '2024-01-01T00:00:00Z', goVersion: 'go1.21.5', compiler: 'gc', platform: 'linux/amd64' };

export function apiVersions(host: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }] };
}

export function apiGroupList(): unknown {
  const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))];
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups.map((g) => {
      const v = RESOURCES.find((r) => r.group === g)!.version;
      const gv = { groupVersion: `${g}/${v}`, version: v };
      return { name: g, versions: [gv], preferredVersion: gv };
    }),
  };
}

export function apiGroup(group: string): unknown | undefined {
  const r = RESOURCES.find((x) => x.group === group);
  if (!r) return undefined;
  const gv = { groupVersion: `${group}/${r.version}`, version: r.version };
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [gv], preferredVersion: gv };
}

export function apiResourceList(group: string, version: string): unknown | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources = rs.flatMap((r) => [
    { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, ...(r.shortNames ? { shortNames: r.shortNames } : {}) },
    ...(r.subresources ?? []).map((s) => ({
      name: `${r.plural}/${s}`,
      singularName: '',
      namespaced: r.namespaced,
      // As the real discovery: pods/log is a Pod, serviceaccounts/token a TokenRequest (create only).
      ...(s === 'token' ? { group: 'authentication.k8s.io', version: 'v1' } : {}),
      kind: s === 'log' ? 'Pod' : s === 'token' ? 'TokenRequest' : r.kind,
      verbs: s === 'log' ? ['get'] : s === 'token' ? ['create'] : ['get', 'patch', 'update'],
    })),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(rs[0]!), resources };
}
