/**
 * HTTP front of the fake API server: authentication (bearer token), routing of REST paths to
 * verbs, authorization (RBAC rules), injected request faults, the request log, and responses
 * in the real wire format (JSON, Status bodies on errors, chunked watches, text logs).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Api } from './api.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, KUBE_VERSION } from './discovery.js';
import type { Faults } from './faults.js';
import type { Kubelet } from './kubelet.js';
import type { FakeMetrics } from './metrics.js';
import { applyPatch } from './patch.js';
import { type AccessAttributes, type RbacRule, allowed, denialMessage } from './rbac.js';
import { API_AUDIENCES, type Authenticator, type Identity } from './authn.js';
import { ObjectAuthorizer, escalationMessage, type PolicyRule } from './rbac-objects.js';
import { type ResourceInfo, findResource, resourceByPlural } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  StatusError,
  badRequest,
  forbidden,
  internalError,
  invalid,
  methodNotAllowed,
  notFound,
  pathNotFound,
  serviceUnavailable,
  tooManyRequests,
  unauthorized,
} from './status.js';
import type { Store } from './store.js';
import type { ContainerStatus, KubeObject, Pod } from './types.js';
import { serveWatch } from './watch.js';
import type { DeleteOptions } from './api.js';

export interface RequestRecord {
  verb: string;
  /** Resource as RBAC names it, with subresource: `jobs`, `pods/log`; '' for non-resource paths. */
  resource: string;
  namespace?: string;
  name?: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** Who made the request (the user its bearer token authenticated as); absent when it had no valid token or needed none. */
  user?: string;
}

export interface ServerContext {
  api: Api;
  store: Store;
  faults: Faults;
  kubelet: Kubelet;
  /** metrics.k8s.io, when the fake runs a metrics server (otherwise its paths are 404s). */
  metrics?: FakeMetrics;
  /** Who a bearer token is (authn.ts). */
  authn: Authenticator;
  /** RBAC over stored objects, for users and ServiceAccounts (rbac-objects.ts). */
  objects: ObjectAuthorizer;
  /** The rules of the kubeconfig's user. */
  rbac: () => RbacRule[];
  watchTimeoutSeconds: number;
  bookmarkIntervalMs: number;
  openWatches: Set<ServerResponse>;
  record: (r: RequestRecord) => void;
}

interface Route {
  r: ResourceInfo;
  namespace?: string;
  name?: string;
  sub?: string;
}

function parseResourcePath(segs: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs[1] === 'v1') {
    group = '';
    version = 'v1';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis' && segs.length >= 4) {
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;
  let ns: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    ns = rest[1];
    rest = rest.slice(2);
  }
  const r = findResource(group, version, rest[0] ?? '');
  if (!r || rest.length > 3) return undefined;
  if (r.namespaced === false && ns !== undefined) return undefined;
  if (r.namespaced && ns === undefined && rest.length > 1) return undefined;
  const route: Route = { r };
  if (ns !== undefined) route.namespace = ns;
  if (rest[1] !== undefined) route.name = rest[1];
  if (rest[2] !== undefined) {
    if (!(r.subresources ?? []).includes(rest[2])) return undefined;
    route.sub = rest[2];
  }
  return route;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function verbOf(method: string, route: Route | undefined, q: URLSearchParams): string {
  const watch = q.get('watch') === 'true' || q.get('watch') === '1';
  switch (method) {
    case 'GET':
      if (watch) return 'watch';
      return route?.name !== undefined ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return route?.name !== undefined ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

const intParam = (q: URLSearchParams, k: string): number | undefined => {
  const v = q.get(k);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid value for ${k}: ${v}`);
  return n;
};

export function createHandler(ctx: ServerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const segs = url.pathname.split('/').filter((s) => s.length > 0).map(decodeURIComponent);
    const route = parseResourcePath(segs);
    const verb = verbOf(req.method ?? 'GET', route, url.searchParams);
    const rec: RequestRecord = {
      verb,
      resource: route ? (route.sub ? `${route.r.plural}/${route.sub}` : route.r.plural) : segs[0] === 'apis' && segs[1] === 'metrics.k8s.io' ? 'pods.metrics.k8s.io' : '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams.entries()),
      status: 0,
    };
    if (route?.namespace !== undefined) rec.namespace = route.namespace;
    if (route?.name !== undefined) rec.name = route.name;
    let recorded = false;
    const record = (): void => {
      if (recorded) return;
      recorded = true;
      rec.status = res.statusCode;
      ctx.record(rec);
    };
    res.on('finish', record);
    res.on('close', record);
    handle(ctx, req, res, segs, route, verb, url.searchParams, rec).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const se = err instanceof StatusError ? err : internalError(err instanceof Error ? err.message : String(err));
      sendJson(res, se.status.code, se.status, se.headers);
    });
  };
}

async function handle(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, segs: string[], route: Route | undefined, verb: string, q: URLSearchParams, rec: RequestRecord): Promise<void> {
  const open = ['version', 'healthz', 'livez', 'readyz'];
  let id: Identity | undefined;
  if (!(segs.length === 1 && open.includes(segs[0]!))) {
    // The bearer scheme is matched case-insensitively, as the API server's bearer authenticator does.
    const m = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const auth = m ? ctx.authn.authenticate(m[1]!) : undefined;
    if (!auth?.ok) throw unauthorized();
    id = auth.identity;
    rec.user = id.user;
  }
  if (route) {
    const f = ctx.faults.takeRequestFault(verb, route.r.plural, route.namespace);
    if (f) {
      if (f.status === 429) throw tooManyRequests(f.retryAfterSeconds ?? 1);
      if (f.status === 500) throw internalError('injected fault: etcdserver: request timed out');
      throw serviceUnavailable('the server is currently unable to handle the request');
    }
  }
  if (!route && segs[0] === 'apis' && segs[1] === 'metrics.k8s.io' && ctx.metrics) return serveMetrics(ctx, id!, req, res, segs, q);
  if (!route) return serveNonResource(ctx, req, res, segs);
  const { r } = route;
  if (!r.verbs.includes(verb) && !(route.sub && (verb === 'get' || verb === 'update' || verb === 'patch'))) throw methodNotAllowed();
  // serviceaccounts/<name>/token serves create only (TokenRequest).
  if (route.sub === 'token' && verb !== 'create') throw methodNotAllowed();
  const who = id!;
  // Every authenticated user may ask what it may do (system:basic-user).
  const isSsar = r.plural === 'selfsubjectaccessreviews';
  if (!isSsar) {
    const attrs = { verb, group: r.group, resource: r.plural, subresource: route.sub, namespace: route.namespace, name: route.name };
    if (!authorize(ctx, who, attrs)) throw forbidden(r, route.name, denialMessage(who.user, attrs));
  }
  const ns = route.namespace ?? '';
  const name = route.name;
  const body = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' || req.method === 'DELETE' ? await readBody(req) : '';
  switch (verb) {
    case 'get':
      if (route.sub === 'log') return serveLog(ctx, res, ns, name!, q);
      return sendJson(res, 200, ctx.api.get(r, ns, name!));
    case 'list':
      return sendJson(
        res,
        200,
        ctx.api.list(r, route.namespace, {
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
          limit: intParam(q, 'limit'),
          continue: q.get('continue') ?? undefined,
        }),
      );
    case 'watch': {
      const ls = parseLabelSelector(q.get('labelSelector') ?? undefined);
      const fsText = [q.get('fieldSelector'), name !== undefined ? `metadata.name=${name}` : null].filter((x) => x).join(',');
      const fs = parseFieldSelector(fsText || undefined, r.plural);
      return serveWatch(
        ctx.store,
        res,
        {
          r,
          namespace: route.namespace,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          selector: (o) => ls(o) && fs(o),
          allowBookmarks: q.get('allowWatchBookmarks') === 'true',
          timeoutSeconds: intParam(q, 'timeoutSeconds') ?? ctx.watchTimeoutSeconds,
          bookmarkIntervalMs: ctx.bookmarkIntervalMs,
        },
        ctx.openWatches,
      );
    }
    case 'create': {
      const obj = parseJson(body);
      if (isSsar) return sendJson(res, 201, selfSubjectAccessReview(ctx, who, obj));
      if (r.plural === 'tokenreviews') return sendJson(res, 201, tokenReview(ctx, obj));
      if (route.sub === 'token') return sendJson(res, 201, tokenRequest(ctx, ns, name!, obj));
      checkEscalation(ctx, who, r, ns, obj);
      const created = ctx.api.create(r, ns, obj, { dryRun: q.get('dryRun') === 'All' });
      return sendJson(res, 201, created);
    }
    case 'update': {
      const obj = parseJson(body);
      checkEscalation(ctx, who, r, ns, obj);
      return sendJson(res, 200, ctx.api.replace(r, ns, name!, obj, route.sub));
    }
    case 'patch': {
      const patch = parseJson(body);
      const ct = req.headers['content-type'] ?? '';
      const out = ctx.api.patch(
        r,
        ns,
        name!,
        (cur) => {
          const next = applyPatch(ct, cur, patch) as KubeObject;
          checkEscalation(ctx, who, r, ns, next);
          return next;
        },
        route.sub,
      );
      return sendJson(res, 200, out);
    }
    case 'delete': {
      const opts = deleteOptions(q, body);
      const result = ctx.api.delete(r, ns, name!, opts);
      const headers: Record<string, string> = {};
      if (result.warnings.length > 0) headers['Warning'] = result.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
      return sendJson(res, result.code, result.body, headers);
    }
    case 'deletecollection': {
      const opts = deleteOptions(q, body);
      return sendJson(res, 200, ctx.api.deleteCollection(r, ns, { ...opts, labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined }));
    }
    default:
      throw methodNotAllowed();
  }
}

function deleteOptions(q: URLSearchParams, body: string): DeleteOptions {
  const fromBody = body.trim() ? (parseJson(body) as DeleteOptions & { orphanDependents?: boolean }) : {};
  const opts: DeleteOptions = {};
  const pp = q.get('propagationPolicy') ?? fromBody.propagationPolicy;
  if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
  else if (q.get('orphanDependents') === 'true' || fromBody.orphanDependents === true) opts.propagationPolicy = 'Orphan';
  const g = intParam(q, 'gracePeriodSeconds') ?? fromBody.gracePeriodSeconds;
  if (g !== undefined) opts.gracePeriodSeconds = g;
  if (fromBody.preconditions) opts.preconditions = fromBody.preconditions;
  return opts;
}

/** The kubeconfig's user by the fake's rules; anyone else by the stored RBAC objects. */
function authorize(ctx: ServerContext, id: Identity, a: AccessAttributes): boolean {
  return id.authorizer === 'rules' ? allowed(ctx.rbac(), a) : ctx.objects.allowed(id, a);
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const RBAC_PLURALS = new Set(['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings']);

/**
 * The RBAC registry's escalation check: a role may be written by who holds `escalate` on it or
 * every right it grants; a binding by who holds `bind` on its role or every right the role grants
 * (in the binding's namespace; cluster-wide for a ClusterRoleBinding).
 */
function checkEscalation(ctx: ServerContext, id: Identity, r: ResourceInfo, ns: string, obj: unknown): void {
  if (!RBAC_PLURALS.has(r.plural) || typeof obj !== 'object' || obj === null) return;
  const o = obj as { metadata?: { name?: string }; rules?: PolicyRule[]; roleRef?: { apiGroup?: string; kind?: string; name?: string } };
  const scope = r.namespaced ? ns : undefined;
  const holds = (a: AccessAttributes): boolean => authorize(ctx, id, a);
  const name = o.metadata?.name;
  let missing: PolicyRule[];
  if (r.plural === 'roles' || r.plural === 'clusterroles') {
    if (holds({ verb: 'escalate', group: RBAC_GROUP, resource: r.plural, ...(scope !== undefined ? { namespace: scope } : {}), ...(name ? { name } : {}) })) return;
    missing = ObjectAuthorizer.uncovered(o.rules ?? [], holds, scope);
  } else {
    const ref = o.roleRef;
    const refResource = ref?.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
    if (ref?.name && holds({ verb: 'bind', group: RBAC_GROUP, resource: refResource, ...(scope !== undefined ? { namespace: scope } : {}), name: ref.name })) return;
    missing = ObjectAuthorizer.uncovered(ctx.objects.referencedRules(ref, scope), holds, scope);
  }
  if (missing.length > 0) throw forbidden(r, name, escalationMessage(id, missing));
}

/** What the API server answers to a TokenReview: the token's user, or not authenticated. */
function tokenReview(ctx: ServerContext, body: unknown): unknown {
  const b = (body ?? {}) as { kind?: string; spec?: { token?: string; audiences?: string[] } };
  if (b.kind !== undefined && b.kind !== 'TokenReview') throw badRequest(`the API version in the data does not match the expected API version (authentication.k8s.io/v1)`);
  const token = b.spec?.token ?? '';
  if (!token) throw badRequest('token is required for TokenReview in authentication');
  const wanted = b.spec?.audiences?.length ? b.spec.audiences : API_AUDIENCES;
  const a = ctx.authn.authenticate(token, wanted);
  const status = a.ok
    ? {
        authenticated: true,
        user: { username: a.identity.user, ...(a.identity.uid ? { uid: a.identity.uid } : {}), groups: a.identity.groups },
        audiences: a.audiences,
      }
    : { user: {}, ...(a.error ? { error: a.error } : {}) };
  // The real API server answers with the request object, spec (and its token) included.
  return { kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: b.spec, status };
}

const TOKEN_REQUEST: ResourceInfo = { group: 'authentication.k8s.io', version: 'v1', plural: 'tokenrequests', singular: 'tokenrequest', kind: 'TokenRequest', namespaced: true, verbs: ['create'] };

/**
 * POST serviceaccounts/<name>/token: a token of that ServiceAccount (404 when it does not exist),
 * for `spec.audiences` (empty: the API server's own), valid `spec.expirationSeconds` (default
 * 3600; 422 below 600 or above 2^32, as the validation of 1.20). boundObjectRef is not supported.
 */
function tokenRequest(ctx: ServerContext, ns: string, name: string, body: unknown): unknown {
  const sa = ctx.api.get(resourceByPlural('serviceaccounts'), ns, name);
  const b = (body ?? {}) as { kind?: string; spec?: { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: unknown } };
  if (b.kind !== undefined && b.kind !== 'TokenRequest') throw badRequest(`the API version in the data does not match the expected API version (authentication.k8s.io/v1)`);
  const exp = b.spec?.expirationSeconds ?? 3600;
  if (!Number.isInteger(exp) || exp < 600)
    throw invalid(TOKEN_REQUEST, name, [{ field: 'spec.expirationSeconds', reason: 'FieldValueInvalid', message: `Invalid value: ${exp}: may not specify a duration less than 10 minutes` }]);
  if (exp > 2 ** 32)
    throw invalid(TOKEN_REQUEST, name, [{ field: 'spec.expirationSeconds', reason: 'FieldValueInvalid', message: `Invalid value: ${exp}: may not specify a duration larger than 2^32 seconds` }]);
  if (b.spec?.boundObjectRef) throw badRequest('fake-kube: boundObjectRef is not supported');
  const audiences = b.spec?.audiences?.length ? b.spec.audiences : API_AUDIENCES;
  const issued = ctx.authn.issue(ns, name, sa.metadata.uid!, exp, audiences);
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace: ns, creationTimestamp: null },
    spec: { audiences, expirationSeconds: exp, boundObjectRef: null },
    status: { token: issued.token, expirationTimestamp: new Date(Math.floor(issued.expiresAtMs / 1000) * 1000).toISOString().replace('.000Z', 'Z') },
  };
}

function selfSubjectAccessReview(ctx: ServerContext, id: Identity, body: unknown): unknown {
  const b = body as { spec?: { resourceAttributes?: Record<string, string>; nonResourceAttributes?: Record<string, string> } };
  const ra = b.spec?.resourceAttributes;
  let ok = true;
  if (ra) {
    ok = authorize(ctx, id, {
      verb: ra['verb'] ?? '',
      group: ra['group'] ?? '',
      resource: ra['resource'] ?? '',
      subresource: ra['subresource'] || undefined,
      namespace: ra['namespace'] || undefined,
      name: ra['name'] || undefined,
    });
  }
  const status: Record<string, unknown> = { allowed: ok };
  if (ok) status['reason'] = 'RBAC: allowed by fake-kube rules';
  return { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec: b.spec ?? {}, status };
}

/** What metrics-server serves of PodMetrics (for RBAC and messages; not a stored resource). */
const POD_METRICS: ResourceInfo = { group: 'metrics.k8s.io', version: 'v1beta1', plural: 'pods', singular: 'pod', kind: 'PodMetrics', namespaced: true, verbs: ['get', 'list'] };

/** GET /apis/metrics.k8s.io/v1beta1[/namespaces/NS]/pods[/NAME], as metrics-server answers. */
function serveMetrics(ctx: ServerContext, id: Identity, req: IncomingMessage, res: ServerResponse, segs: string[], q: URLSearchParams): void {
  const metrics = ctx.metrics!;
  if (segs.length === 3 && segs[2] === 'v1beta1') {
    return sendJson(res, 200, {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: 'metrics.k8s.io/v1beta1',
      resources: [
        { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
        { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
      ],
    });
  }
  if (segs[2] !== 'v1beta1') throw pathNotFound();
  let rest = segs.slice(3);
  let ns: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    ns = rest[1];
    rest = rest.slice(2);
  }
  if (rest[0] !== 'pods' || rest.length > 2) throw pathNotFound();
  if (req.method !== 'GET') throw methodNotAllowed();
  const name = rest[1];
  const verb = name === undefined ? 'list' : 'get';
  const attrs = { verb, group: POD_METRICS.group, resource: 'pods', namespace: ns, name };
  if (!authorize(ctx, id, attrs)) throw forbidden(POD_METRICS, name, denialMessage(id.user, attrs));
  if (name !== undefined) {
    const item = ns !== undefined ? metrics.get(ns, name) : undefined;
    if (!item) throw notFound({ ...POD_METRICS, plural: 'podmetrics' }, name);
    return sendJson(res, 200, item);
  }
  const selector = parseLabelSelector(q.get('labelSelector') ?? undefined);
  const items = metrics.list(ns, (labels) => selector({ metadata: { labels } } as KubeObject));
  sendJson(res, 200, { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: { selfLink: `/${segs.join('/')}` }, items });
}

function serveNonResource(_ctx: ServerContext, req: IncomingMessage, res: ServerResponse, segs: string[]): void {
  const path = segs.join('/');
  if (req.method !== 'GET') throw methodNotAllowed();
  if (path === 'version') return sendJson(res, 200, KUBE_VERSION);
  if (path === 'healthz' || path === 'livez' || path === 'readyz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
    return;
  }
  if (path === 'api') return sendJson(res, 200, apiVersions(req.headers.host ?? '127.0.0.1'));
  if (path === 'apis') return sendJson(res, 200, apiGroupList());
  if (path === 'api/v1') return sendJson(res, 200, apiResourceList('', 'v1'));
  if (segs[0] === 'apis' && segs.length === 2) {
    const g = apiGroup(segs[1]!);
    if (g) return sendJson(res, 200, g);
  }
  if (segs[0] === 'apis' && segs.length === 3) {
    const l = apiResourceList(segs[1]!, segs[2]!);
    if (l) return sendJson(res, 200, l);
  }
  throw pathNotFound();
}

function serveLog(ctx: ServerContext, res: ServerResponse, ns: string, name: string, q: URLSearchParams): void {
  const pod = ctx.api.get(findResource('', 'v1', 'pods')!, ns, name) as Pod;
  const cname = pod.spec.containers[0]!.name;
  const want = q.get('container') ?? undefined;
  const inits = (pod.spec.initContainers ?? []).map((c) => c.name);
  // As a real API server: several containers need `container`; init containers may be named.
  if (!want && pod.spec.containers.length > 1)
    throw badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${pod.spec.containers.map((c) => c.name).join(' ')}]${inits.length ? ` or one of the init containers: [${inits.join(' ')}]` : ''}`,
    );
  if (want && !pod.spec.containers.some((c) => c.name === want) && !inits.includes(want)) throw badRequest(`container ${want} is not valid for pod ${name}`);
  const previous = q.get('previous') === 'true';
  const log = ctx.kubelet.logOf(pod.metadata.uid!, previous, want);
  if (previous && !log) throw badRequest(`previous terminated container "${want ?? cname}" in pod "${name}" not found`);
  if (!log || !ctx.kubelet.hasStarted(pod.metadata.uid!, want)) {
    const initStatuses = (pod.status as Record<string, unknown> | undefined)?.['initContainerStatuses'] as ContainerStatus[] | undefined;
    const all = [...(pod.status?.containerStatuses ?? []), ...(initStatuses ?? [])];
    const waiting = (all.find((c) => c.name === (want ?? cname)) ?? pod.status?.containerStatuses?.[0])?.state.waiting?.reason ?? 'ContainerCreating';
    throw badRequest(`container "${want ?? cname}" in pod "${name}" is waiting to start: ${waiting}`);
  }
  const timestamps = q.get('timestamps') === 'true';
  const fmt = (l: { ts: string; text: string }): string => (timestamps ? `${l.ts} ${l.text}` : l.text);
  let lines = log.lines.slice();
  const since = intParam(q, 'sinceSeconds');
  if (since !== undefined) lines = lines.filter((l) => Date.parse(l.ts) >= Date.now() - since * 1000);
  const tail = intParam(q, 'tailLines');
  if (tail !== undefined && tail >= 0) lines = lines.slice(Math.max(0, lines.length - tail));
  let text = lines.map(fmt).join('');
  const limitBytes = intParam(q, 'limitBytes');
  if (limitBytes !== undefined) text = Buffer.from(text).subarray(0, limitBytes).toString('utf8');
  const follow = q.get('follow') === 'true';
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  if (text) res.write(text);
  if (!follow || log.ended) {
    res.end();
    return;
  }
  const off = log.follow((line) => {
    if (line === null) res.end();
    else res.write(fmt(line));
  });
  res.on('close', off);
}
