/**
 * `strand doctor --executor kubernetes`: checks, in order, everything a run needs from the
 * cluster and says what to fix. Read-only: it creates nothing but access reviews.
 */
import { access, constants, stat } from 'node:fs/promises';
import type { V1LimitRange, V1PersistentVolumeClaim, V1ResourceAttributes } from '@kubernetes/client-node';
import { VersionApi } from '../../cluster/kubernetes-client.js';
import { isForbidden, isNotFound, type KubeApi } from '../../cluster/kube-api.js';
import { REQUIRED_PERMISSIONS, permissionResource } from '../../cluster/permissions.js';
import { objectStoreChecks } from './object-store-mode/doctor-checks.js';
import type { KubernetesSettings } from './settings.js';

import type { DoctorCheck, DoctorReport } from './doctor-check.js';

export type { DoctorCheck, DoctorReport } from './doctor-check.js';

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function runDoctor(
  api: KubeApi,
  settings: KubernetesSettings,
  opts: { serviceAccountHint?: string; /** Object-store mode: checks the bucket with Strand's own credentials. */ bucketCheck?: () => Promise<void> } = {},
): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const add = (c: DoctorCheck) => checks.push(c);
  const { conn } = api;
  const ns = conn.namespace;

  // 1. Connectivity
  try {
    const v = await api.call(`get server version from ${conn.server}`, () => conn.kc.makeApiClient(VersionApi).getCode());
    add({ name: 'connection', level: 'ok', detail: `${conn.server} (context ${conn.context}${conn.inCluster ? ', in-cluster' : ''}): Kubernetes ${v.gitVersion}` });
    const minor = Number.parseInt(v.minor, 10);
    if (Number(v.major) === 1 && Number.isFinite(minor) && minor < 20) {
      add({ name: 'version', level: 'fail', detail: `Kubernetes ${v.gitVersion} is older than 1.20`, fix: 'use a cluster running Kubernetes 1.20 or newer' });
    }
  } catch (e) {
    add({
      name: 'connection',
      level: 'fail',
      detail: `cannot reach ${conn.server} (context ${conn.context}): ${msg(e)}`,
      fix: 'check KUBECONFIG / --context, the VPN, and that `kubectl version` works',
    });
    return { checks, ok: false };
  }

  // 2. Namespace
  try {
    await api.call(`get namespace ${ns}`, () => api.core.readNamespace({ name: ns }));
    add({ name: 'namespace', level: 'ok', detail: ns });
  } catch (e) {
    if (isNotFound(e)) add({ name: 'namespace', level: 'fail', detail: `namespace ${ns} does not exist`, fix: `kubectl create namespace ${ns}, or pick another with --namespace` });
    else if (isForbidden(e)) add({ name: 'namespace', level: 'warn', detail: `${ns} (not allowed to read namespaces; assumed to exist)` });
    else add({ name: 'namespace', level: 'fail', detail: `cannot read namespace ${ns}: ${msg(e)}` });
  }

  // 3. Permissions, one access review per resource and verb
  const missing: string[] = [];
  const missingOptional: string[] = [];
  for (const p of REQUIRED_PERMISSIONS) {
    const gaps = p.optional ? missingOptional : missing;
    for (const verb of p.verbs) {
      try {
        const allowed = await mayI(api, `${verb} ${permissionResource(p)}`, { namespace: ns, verb, group: p.group, resource: p.resource, ...(p.subresource ? { subresource: p.subresource } : {}) });
        if (!allowed) gaps.push(`${verb} ${permissionResource(p)}${p.group ? `.${p.group}` : ''} (to ${p.why})`);
      } catch (e) {
        gaps.push(`${verb} ${permissionResource(p)} (access review failed: ${msg(e)})`);
      }
    }
  }
  const sa = opts.serviceAccountHint ?? 'strand';
  const needed = REQUIRED_PERMISSIONS.filter((p) => !p.optional).reduce((n, p) => n + p.verbs.length, 0);
  if (missing.length === 0) add({ name: 'permissions', level: 'ok', detail: `all ${needed} needed in ${ns}` });
  else {
    add({
      name: 'permissions',
      level: 'fail',
      detail: `missing in namespace ${ns}:\n      ${missing.join('\n      ')}`,
      fix: `strand rbac --namespace ${ns} --service-account ${sa} | kubectl apply -f -   (or bind an equivalent Role to your user)`,
    });
  }
  if (missingOptional.length) {
    add({
      name: 'optional permissions',
      level: 'warn',
      detail: `missing in namespace ${ns} (runs work without them):\n      ${missingOptional.join('\n      ')}`,
      fix: `strand rbac --namespace ${ns} --service-account ${sa} | kubectl apply -f -`,
    });
  }

  // 4. Where task files live: a workspace claim and the local path that shows it, or a bucket
  const ws = settings.workspace;
  if (settings.objectStore) {
    const ranges = await api
      .call(`list LimitRanges in ${ns}`, () => api.core.listNamespacedLimitRange({ namespace: ns }))
      .then((l): V1LimitRange[] => l.items)
      .catch(() => undefined);
    for (const c of await objectStoreChecks(api, ns, settings.objectStore, opts.bucketCheck, ranges)) add(c);
  } else if (!ws) {
    add({
      name: 'workspace',
      level: 'fail',
      detail: 'kubernetes.workspace is not set in the config file',
      fix: 'create a ReadWriteMany claim (examples/kubernetes/) and set kubernetes.workspace.claimName, mountPath, localPath (docs/kubernetes.md)',
    });
  } else {
    add(await claimCheck(api, ns, 'workspace', ws.claimName, ['ReadWriteMany']));
    try {
      const st = await stat(ws.localPath);
      if (!st.isDirectory()) throw new Error('not a directory');
      await access(ws.localPath, constants.W_OK);
      add({ name: 'workspace path', level: 'ok', detail: `${ws.localPath} on this machine, ${ws.mountPath} in pods` });
    } catch (e) {
      add({
        name: 'workspace path',
        level: 'fail',
        detail: `${ws.localPath} is not a writable directory here (${msg(e)})`,
        fix: `mount the storage of claim ${ws.claimName} at ${ws.localPath} (NFS mount, or the hostPath of a one-node cluster), or set kubernetes.workspace.localPath`,
      });
    }
  }
  for (const d of settings.dataVolumes) add(await claimCheck(api, ns, `data ${d.mountPath}`, d.claimName, ['ReadOnlyMany', 'ReadWriteMany']));

  // 5. Quota and limit ranges
  let quotas: number | undefined;
  try {
    const qs = await api.call(`list ResourceQuotas in ${ns}`, () => api.core.listNamespacedResourceQuota({ namespace: ns }));
    quotas = qs.items.length;
    if (qs.items.length === 0) add({ name: 'quota', level: 'ok', detail: 'no ResourceQuota in the namespace' });
    for (const q of qs.items) {
      const hard = q.status?.hard ?? q.spec?.hard ?? {};
      const used = q.status?.used ?? {};
      const rows = Object.keys(hard).map((k) => `${k} ${used[k] ?? '0'}/${hard[k]}`);
      add({ name: `quota ${q.metadata?.name ?? ''}`, level: 'ok', detail: `${rows.join(', ')} (Strand keeps its requests within what is free)` });
    }
  } catch (e) {
    add({ name: 'quota', level: 'warn', detail: `cannot read ResourceQuotas: ${msg(e)}`, fix: 'grant list on resourcequotas (strand rbac)' });
  }
  try {
    const lrs = await api.call(`list LimitRanges in ${ns}`, () => api.core.listNamespacedLimitRange({ namespace: ns }));
    for (const lr of lrs.items) {
      for (const l of (lr.spec?.limits ?? []).filter((x) => x.type === 'Container' || x.type === 'Pod')) {
        const parts = [
          l._default ? `default limits ${JSON.stringify(l._default)}` : '',
          l.defaultRequest ? `default requests ${JSON.stringify(l.defaultRequest)}` : '',
          l.min ? `min ${JSON.stringify(l.min)}` : '',
          l.max ? `max ${JSON.stringify(l.max)}` : '',
        ].filter(Boolean);
        add({ name: `limit range ${lr.metadata?.name ?? ''}`, level: 'ok', detail: `${l.type}: ${parts.join('; ') || 'no limits'}` });
      }
    }
  } catch (e) {
    add({ name: 'limit ranges', level: 'warn', detail: `cannot read LimitRanges: ${msg(e)}` });
  }

  // 6. The optional right to read nodes: without it (and without a quota) Strand cannot tell that
  // a task asks for more than any node has, and such a task waits for ever.
  add(await nodesCheck(api, ns, quotas, opts.serviceAccountHint ?? 'strand', settings.pendingTimeoutSeconds));
  return { checks, ok: checks.every((c) => c.level !== 'fail') };
}

async function claimCheck(api: KubeApi, ns: string, label: string, claim: string, modes: string[]): Promise<DoctorCheck> {
  let pvc: V1PersistentVolumeClaim;
  try {
    pvc = await api.call(`get PersistentVolumeClaim ${claim}`, () => api.core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: ns }));
  } catch (e) {
    if (isNotFound(e)) {
      return { name: label, level: 'fail', detail: `claim ${claim} does not exist in namespace ${ns}`, fix: `create it (examples/kubernetes/ has manifests), then kubectl get pvc -n ${ns} ${claim}` };
    }
    return { name: label, level: 'fail', detail: `cannot read claim ${claim}: ${msg(e)}` };
  }
  const phase = pvc.status?.phase ?? 'Pending';
  const have = pvc.status?.accessModes ?? pvc.spec?.accessModes ?? [];
  if (phase !== 'Bound') {
    return { name: label, level: 'fail', detail: `claim ${claim} is ${phase}`, fix: `kubectl describe pvc -n ${ns} ${claim}: no volume matches (size, access mode, storageClassName)` };
  }
  if (!have.some((m) => modes.includes(m))) {
    return { name: label, level: 'fail', detail: `claim ${claim} is ${have.join(', ') || 'without access modes'}; needs ${modes.join(' or ')}`, fix: 'pods on several nodes must mount it at once: use an NFS (or other RWX) volume' };
  }
  return { name: label, level: 'ok', detail: `claim ${claim} Bound, ${have.join(', ')}` };
}

export function formatDoctorReport(r: DoctorReport): string {
  const mark = { ok: '✓', warn: '!', fail: '✗' } as const;
  const lines = r.checks.map((c) => `${mark[c.level]} ${c.name}: ${c.detail}`);
  const fixes = r.checks.filter((c) => c.fix && c.level !== 'ok');
  if (fixes.length > 0) {
    lines.push('', 'What to fix:');
    for (const c of fixes) lines.push(`  - ${c.name}: ${c.fix}`);
  }
  lines.push('', r.ok ? 'Ready to run: strand run --executor kubernetes <workflow> <job>' : 'Not ready: fix the ✗ lines above (docs/kubernetes.md explains each).');
  return lines.join('\n');
}

async function nodesCheck(api: KubeApi, ns: string, quotas: number | undefined, sa: string, pendingTimeoutSeconds: number | undefined): Promise<DoctorCheck> {
  let allowed: boolean;
  try {
    allowed = await mayI(api, 'list nodes', { verb: 'list', group: '', resource: 'nodes' });
  } catch (e) {
    return { name: 'nodes', level: 'warn', detail: `cannot review the right to list nodes: ${msg(e)}` };
  }
  if (allowed) return { name: 'nodes', level: 'ok', detail: 'may list nodes: a task too big for every node fails at once' };
  const fix = `strand rbac --namespace ${ns} --service-account ${sa} --nodes | kubectl apply -f -   (a cluster administrator: it makes a ClusterRole)`;
  if (pendingTimeoutSeconds !== undefined) {
    return { name: 'nodes', level: 'ok', detail: `may not list nodes (optional): a task too big for every node fails after pendingTimeoutSeconds (${pendingTimeoutSeconds} s)` };
  }
  if (quotas !== undefined && quotas > 0) {
    return { name: 'nodes', level: 'ok', detail: 'may not list nodes (optional): the ResourceQuota bounds what a task may ask for', fix };
  }
  return {
    name: 'nodes',
    level: 'warn',
    detail: 'may not list nodes, and the namespace has no ResourceQuota: a task asking for more than any node has waits for ever (the scheduler keeps it Pending)',
    fix: `${fix}; or set kubernetes.pendingTimeoutSeconds / --pending-timeout`,
  };
}

/** One SelfSubjectAccessReview: may this identity do `attrs`? (`what` names it in errors.) */
async function mayI(api: KubeApi, what: string, attrs: V1ResourceAttributes): Promise<boolean> {
  const r = await api.call(`review access to ${what}`, () =>
    api.authz.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attrs } } }),
  );
  return r.status?.allowed === true;
}

