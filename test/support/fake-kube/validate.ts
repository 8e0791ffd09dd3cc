/** Server-side defaulting and validation, per kind, with the real field paths and messages. */
import { randomUUID } from 'node:crypto';
import type { ResourceInfo } from './resources.js';
import { type FieldCause, invalid } from './status.js';
import { isQuantity, parseQuantity } from './quantity.js';
import type { Container, Job, KubeObject, Pod, PodSpec } from './types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const required = (field: string): FieldCause => ({ field, reason: 'FieldValueRequired', message: 'Required value' });
const invalidValue = (field: string, value: unknown, why: string): FieldCause => ({
  field,
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
});

export function labelNameErrors(field: string, name: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (name.length > 63) out.push(invalidValue(field, name, 'must be no more than 63 characters'));
  if (!DNS1123_LABEL.test(name))
    out.push(
      invalidValue(
        field,
        name,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      ),
    );
  return out;
}

function subdomainErrors(field: string, name: string): FieldCause[] {
  const out: FieldCause[] = [];
  if (name.length > 253) out.push(invalidValue(field, name, 'must be no more than 253 characters'));
  if (!DNS1123_SUBDOMAIN.test(name))
    out.push(
      invalidValue(
        field,
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    );
  return out;
}

/** RBAC objects are named by any path segment (`system:auth-delegator`), as ValidateRBACName. */
const PATH_SEGMENT_NAMED = new Set(['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings']);

function pathSegmentErrors(field: string, name: string): FieldCause[] {
  if (name === '.' || name === '..') return [invalidValue(field, name, `may not be '${name}'`)];
  for (const bad of ['/', '%']) if (name.includes(bad)) return [invalidValue(field, name, `may not contain '${bad}'`)];
  return [];
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** roleRef and subjects of a RoleBinding or ClusterRoleBinding, as the RBAC validation checks them. */
function bindingErrors(r: ResourceInfo, o: KubeObject): FieldCause[] {
  const errs: FieldCause[] = [];
  const ref = o['roleRef'] as { apiGroup?: string; kind?: string; name?: string } | undefined;
  const kinds = r.plural === 'rolebindings' ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!ref?.name) errs.push(required('roleRef.name'));
  if (ref?.apiGroup !== RBAC_GROUP) errs.push({ field: 'roleRef.apiGroup', reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(ref?.apiGroup ?? '')}: supported values: "${RBAC_GROUP}"` });
  if (!kinds.includes(ref?.kind ?? '')) errs.push({ field: 'roleRef.kind', reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(ref?.kind ?? '')}: supported values: ${kinds.map((k) => `"${k}"`).join(', ')}` });
  const subjects = (o['subjects'] as Array<{ kind?: string; name?: string; namespace?: string; apiGroup?: string }> | undefined) ?? [];
  subjects.forEach((s, i) => {
    const f = `subjects[${i}]`;
    if (!s.name) errs.push(required(`${f}.name`));
    if (s.kind === 'ServiceAccount') {
      if (s.apiGroup) errs.push({ field: `${f}.apiGroup`, reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(s.apiGroup)}: supported values: ""` });
      if (!s.namespace && r.plural === 'clusterrolebindings') errs.push(required(`${f}.namespace`));
    } else if (s.kind === 'User' || s.kind === 'Group') {
      if (s.apiGroup !== RBAC_GROUP) errs.push({ field: `${f}.apiGroup`, reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(s.apiGroup ?? '')}: supported values: "${RBAC_GROUP}"` });
    } else errs.push({ field: `${f}.kind`, reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(s.kind ?? '')}: supported values: "ServiceAccount", "User", "Group"` });
  });
  return errs;
}

/** Names that must be DNS labels rather than subdomains. */
const LABEL_NAMED = new Set(['namespaces', 'jobs']);

function validateMeta(r: ResourceInfo, o: KubeObject): FieldCause[] {
  const name = o.metadata.name;
  if (!name) return [{ field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value: name or generateName is required' }];
  const errs = LABEL_NAMED.has(r.plural)
    ? labelNameErrors('metadata.name', name)
    : PATH_SEGMENT_NAMED.has(r.plural)
      ? pathSegmentErrors('metadata.name', name)
      : subdomainErrors('metadata.name', name);
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v))
      errs.push(invalidValue('metadata.labels', v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
    if (!/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k)) errs.push(invalidValue('metadata.labels', k, 'name part must consist of alphanumeric characters'));
  }
  return errs;
}

function defaultPodSpec(spec: PodSpec): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec['dnsPolicy'] ??= 'ClusterFirst';
  spec['schedulerName'] ??= 'default-scheduler';
  spec['securityContext'] ??= {};
  for (const c of spec.containers ?? []) {
    c['terminationMessagePath'] ??= '/dev/termination-log';
    c['terminationMessagePolicy'] ??= 'File';
    const tagless = c.image !== undefined && !/:[^/]+$/.test(c.image) && !c.image.includes('@');
    c['imagePullPolicy'] ??= tagless || c.image?.endsWith(':latest') ? 'Always' : 'IfNotPresent';
    c.resources ??= {};
    const lim = c.resources.limits;
    if (lim) {
      c.resources.requests ??= {};
      for (const [k, v] of Object.entries(lim)) if (c.resources.requests[k] === undefined) c.resources.requests[k] = v;
    }
  }
}

function validateContainer(c: Container, path: string, volumeNames: Set<string>): FieldCause[] {
  const errs: FieldCause[] = [];
  if (!c.name) errs.push(required(`${path}.name`));
  else errs.push(...labelNameErrors(`${path}.name`, c.name));
  if (!c.image) errs.push(required(`${path}.image`));
  for (const [i, e] of (c.env ?? []).entries()) {
    if (!e.name) errs.push(required(`${path}.env[${i}].name`));
    else if (!ENV_NAME.test(e.name)) errs.push(invalidValue(`${path}.env[${i}].name`, e.name, 'a valid environment variable name must consist of alphabetic characters, digits, \'_\', \'-\', or \'.\', and must not start with a digit'));
    if (e.value !== undefined && e.valueFrom !== undefined) errs.push(invalidValue(`${path}.env[${i}].valueFrom`, '', 'may not be specified when `value` is not empty'));
  }
  for (const kind of ['requests', 'limits'] as const)
    for (const [k, v] of Object.entries(c.resources?.[kind] ?? {}))
      if (!isQuantity(v)) errs.push(invalidValue(`${path}.resources.${kind}[${k}]`, v, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  for (const k of Object.keys(req))
    if (lim[k] !== undefined && isQuantity(req[k]) && isQuantity(lim[k]) && parseQuantity(req[k]!) > parseQuantity(lim[k]!))
      errs.push(invalidValue(`${path}.resources.requests`, String(req[k]), `must be less than or equal to ${k} limit of ${String(lim[k])}`));
  const mountPaths = new Set<string>();
  for (const [i, m] of (c.volumeMounts ?? []).entries()) {
    if (!m.mountPath) errs.push(required(`${path}.volumeMounts[${i}].mountPath`));
    // As the real API server: two mounts at one path are refused.
    else if (mountPaths.has(m.mountPath)) errs.push(invalidValue(`${path}.volumeMounts[${i}].mountPath`, m.mountPath, 'must be unique'));
    else mountPaths.add(m.mountPath);
    if (m.subPath !== undefined && (m.subPath.startsWith('/') || m.subPath.split('/').includes('..')))
      errs.push(invalidValue(`${path}.volumeMounts[${i}].subPath`, m.subPath, m.subPath.startsWith('/') ? 'must be a relative path' : "must not contain '..'"));
    if (!volumeNames.has(m.name)) errs.push({ field: `${path}.volumeMounts[${i}].name`, reason: 'FieldValueNotSupported', message: `Not found: ${JSON.stringify(m.name)}` });
  }
  return errs;
}

function validatePodSpec(spec: PodSpec | undefined, path: string, allowedRestart?: string[]): FieldCause[] {
  if (!spec) return [required(path)];
  const errs: FieldCause[] = [];
  const volumeNames = new Set<string>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    if (!v.name) errs.push(required(`${path}.volumes[${i}].name`));
    else if (volumeNames.has(v.name)) errs.push({ field: `${path}.volumes[${i}].name`, reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(v.name)}` });
    volumeNames.add(v.name);
    const sources = ['hostPath', 'persistentVolumeClaim', 'emptyDir', 'configMap', 'secret', 'projected', 'downwardAPI', 'nfs'].filter((s) => v[s] !== undefined);
    if (sources.length === 0) errs.push({ field: `${path}.volumes[${i}]`, reason: 'FieldValueRequired', message: 'Required value: must specify a volume type' });
    if (sources.length > 1) errs.push({ field: `${path}.volumes[${i}].${sources[1]}`, reason: 'FieldValueForbidden', message: 'Forbidden: may not specify more than 1 volume type' });
    if (v.hostPath && !v.hostPath.path?.startsWith('/')) errs.push(required(`${path}.volumes[${i}].hostPath.path`));
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) errs.push(required(`${path}.volumes[${i}].persistentVolumeClaim.claimName`));
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) errs.push(required(`${path}.containers`));
  const names = new Set<string>();
  for (const [i, c] of (spec.containers ?? []).entries()) {
    errs.push(...validateContainer(c, `${path}.containers[${i}]`, volumeNames));
    if (c.name && names.has(c.name)) errs.push({ field: `${path}.containers[${i}].name`, reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(c.name)}` });
    names.add(c.name);
  }
  const rp = spec.restartPolicy ?? 'Always';
  if (!['Always', 'OnFailure', 'Never'].includes(rp))
    errs.push({ field: `${path}.restartPolicy`, reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(rp)}: supported values: "Always", "OnFailure", "Never"` });
  else if (allowedRestart && !allowedRestart.includes(rp))
    errs.push({ field: `${path}.restartPolicy`, reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(rp)}: supported values: "OnFailure", "Never"` });
  return errs;
}

function defaultJob(job: Job): void {
  const uid = job.metadata.uid!;
  const spec = job.spec;
  spec.backoffLimit ??= 6;
  spec.completions ??= 1;
  spec.parallelism ??= 1;
  spec['completionMode'] ??= 'NonIndexed';
  spec.suspend ??= false;
  spec['podReplacementPolicy'] ??= 'TerminatingOrFailed';
  spec['manualSelector'] ??= false;
  spec.template.metadata ??= {};
  spec.template.metadata.labels = {
    ...(spec.template.metadata.labels ?? {}),
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': job.metadata.name!,
    'controller-uid': uid,
    'job-name': job.metadata.name!,
  };
  spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  if (!job.metadata.labels || Object.keys(job.metadata.labels).length === 0) job.metadata.labels = { ...spec.template.metadata.labels };
  if (spec.template.spec) defaultPodSpec(spec.template.spec);
  job.status ??= {};
}

/**
 * Applies defaults and validates a new object (name already resolved from generateName, uid
 * assigned). Throws a 422 Invalid StatusError.
 */
export function defaultAndValidateCreate(r: ResourceInfo, o: KubeObject): void {
  o.metadata.uid = randomUUID();
  const errs = validateMeta(r, o);
  const name = o.metadata.name ?? '';
  switch (r.plural) {
    case 'jobs': {
      const job = o as Job;
      const tmplSpec = job.spec?.template?.spec;
      if (!job.spec) errs.push(required('spec'));
      else if (!job.spec.template) errs.push(required('spec.template'));
      else {
        errs.push(...validatePodSpec(tmplSpec, 'spec.template.spec', ['OnFailure', 'Never']));
        for (const f of ['backoffLimit', 'completions', 'parallelism', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished'] as const) {
          const v = job.spec[f];
          if (v !== undefined && (typeof v !== 'number' || v < 0 || !Number.isInteger(v)))
            errs.push(invalidValue(`spec.${f}`, v, 'must be greater than or equal to 0'));
        }
        if (job.spec.activeDeadlineSeconds === 0) errs.push(invalidValue('spec.activeDeadlineSeconds', 0, 'must be greater than 0'));
      }
      if (errs.length === 0) defaultJob(job);
      break;
    }
    case 'pods': {
      const pod = o as Pod;
      if (pod.spec) defaultPodSpec(pod.spec);
      errs.push(...validatePodSpec(pod.spec, 'spec'));
      pod.status = { phase: 'Pending', qosClass: qosClass(pod.spec) };
      break;
    }
    case 'secrets': {
      const data = (o['data'] ?? {}) as Record<string, string>;
      for (const [k, v] of Object.entries(data))
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errs.push(invalidValue(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
      const sd = (o['stringData'] ?? {}) as Record<string, string>;
      for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v)).toString('base64');
      delete o['stringData'];
      if (Object.keys(data).length > 0) o['data'] = data;
      o['type'] ??= 'Opaque';
      break;
    }
    case 'configmaps': {
      for (const [k, v] of Object.entries((o['data'] ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') errs.push(invalidValue(`data[${k}]`, v, 'must be a string'));
        if (!/^[-._a-zA-Z0-9]+$/.test(k)) errs.push(invalidValue('data', k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
      }
      break;
    }
    case 'persistentvolumeclaims': {
      const spec = o['spec'] as { accessModes?: string[]; resources?: { requests?: { storage?: string } } } | undefined;
      if (!spec?.accessModes?.length) errs.push(required('spec.accessModes'));
      if (!spec?.resources?.requests?.storage) errs.push(required('spec.resources[storage]'));
      o['status'] = { phase: 'Pending' };
      break;
    }
    case 'resourcequotas': {
      const hard = ((o['spec'] as { hard?: Record<string, string> } | undefined)?.hard ?? {}) as Record<string, string>;
      for (const [k, v] of Object.entries(hard)) if (!isQuantity(v)) errs.push(invalidValue(`spec.hard[${k}]`, v, 'quantities must match the regular expression'));
      break;
    }
    case 'namespaces': {
      o['spec'] = { finalizers: ['kubernetes'] };
      o['status'] = { phase: 'Active' };
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
      break;
    }
    case 'events': {
      if (!o['involvedObject']) errs.push(required('involvedObject'));
      break;
    }
    case 'rolebindings':
    case 'clusterrolebindings':
      errs.push(...bindingErrors(r, o));
      break;
    case 'roles':
    case 'clusterroles': {
      const rules = (o['rules'] as Array<{ verbs?: string[]; resources?: string[]; nonResourceURLs?: string[] }> | undefined) ?? [];
      rules.forEach((rule, i) => {
        if (!rule.verbs?.length) errs.push(required(`rules[${i}].verbs`));
        if (r.plural === 'roles' && rule.nonResourceURLs?.length) errs.push({ field: `rules[${i}].nonResourceURLs`, reason: 'FieldValueInvalid', message: 'Invalid value: ' + JSON.stringify(rule.nonResourceURLs) + ': namespaced rules cannot apply to non-resource URLs' });
      });
      break;
    }
  }
  if (errs.length > 0) throw invalid(r, name, errs);
}

export function qosClass(spec: PodSpec | undefined): string {
  const cs = spec?.containers ?? [];
  const any = cs.some((c) => Object.keys(c.resources?.requests ?? {}).length + Object.keys(c.resources?.limits ?? {}).length > 0);
  if (!any) return 'BestEffort';
  const guaranteed = cs.every((c) =>
    ['cpu', 'memory'].every((k) => {
      const l = c.resources?.limits?.[k];
      const rq = c.resources?.requests?.[k];
      return l !== undefined && (rq === undefined || String(rq) === String(l));
    }),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const JOB_IMMUTABLE = ['template', 'selector', 'completionMode', 'completions'] as const;
const POD_MUTABLE = ['activeDeadlineSeconds', 'tolerations', 'terminationGracePeriodSeconds'];

/** Checks a replacement of `old` by `next` (spec parts only; metadata checked by the caller). */
export function validateUpdate(r: ResourceInfo, old: KubeObject, next: KubeObject): void {
  const errs: FieldCause[] = [];
  const name = old.metadata.name!;
  if ((r.plural === 'rolebindings' || r.plural === 'clusterrolebindings') && JSON.stringify(old['roleRef']) !== JSON.stringify(next['roleRef']))
    errs.push({ field: 'roleRef', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(next['roleRef'])}: cannot change roleRef` });
  if (r.plural === 'jobs') {
    const a = (old as Job).spec;
    const b = (next as Job).spec;
    for (const f of JOB_IMMUTABLE)
      if (JSON.stringify(a?.[f]) !== JSON.stringify(b?.[f])) errs.push(invalidValue(`spec.${f}`, b?.[f] ?? null, 'field is immutable'));
  }
  if (r.plural === 'pods') {
    const strip = (s: PodSpec | undefined): string =>
      JSON.stringify({
        ...s,
        ...Object.fromEntries(POD_MUTABLE.map((k) => [k, undefined])),
        containers: s?.containers.map((c) => ({ ...c, image: undefined })),
      });
    if (strip((old as Pod).spec) !== strip((next as Pod).spec))
      errs.push({
        field: 'spec',
        reason: 'FieldValueForbidden',
        message:
          'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      });
  }
  if (errs.length > 0) throw invalid(r, name, errs);
}
