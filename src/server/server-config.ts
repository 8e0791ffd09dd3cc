/**
 * The lab server's config file (`strand server --config lab.yaml`). Every key is checked; an
 * unknown one is an error naming the file and the key (a misspelt `quota` must not silently leave
 * a lab without quotas). Everything has a working default, so a file is needed only to change one.
 *
 *   listen: { host: 127.0.0.1, port: 8080 }     # flags --host/--port win
 *   kubeconfig: ~/.kube/config                  # the server's own connection (else KUBECONFIG,
 *                                               #   ~/.kube/config, in-cluster: as kubectl)
 *   members:
 *     namespaceTemplate: lab-{user}             # a namespace per member, made on first sign-in
 *     clusterRole: strand-member                # bound to the member in their namespace
 *     provision: true                           # false: an administrator makes the namespaces
 *     namespace: lab                            # instead: everyone's runs in this one namespace
 *     resourceQuota: { requests.cpu: "8", requests.memory: 32Gi, pods: "50" }   # spec.hard
 *     limitRange: { default: { cpu: 500m, memory: 1Gi }, max: { memory: 16Gi } } # per container
 *   leader: { image: localhost/strand:0.1.0, serviceAccount: strand, cpu: 250m, memory: 512Mi, restarts: 4 }
 *   runs:                                       # how members' runs are made: the `kubernetes:`
 *     kubernetes: { workspace: {...}, defaultImage: ... }   #   and `storage:` sections of strand.yaml
 *   limits: { attachmentBytes: 64MiB, requestBytes: 256MiB, attachments: 1000, bundleBytes: 512KiB }
 *   identity:                                   # sign-in besides Kubernetes tokens
 *     oidc: { issuerUrl: https://idp.example.org/realms/lab, clientId: strand, usernameClaim: email,
 *             usernamePrefix: "oidc:", groupsClaim: groups, groupsPrefix: "oidc:", algorithms: [RS256] }
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { UserConfigFile } from '../config/config-file.js';
import { parseStorageSettings } from '../config/storage-settings.js';
import { UsageError } from '../errors.js';
import { parseByteSize } from '../loader/limits.js';
import { algorithmsProblem, issuerUrlProblem, prefixProblem, type OidcSettings } from './identity/oidc.js';
import { DEFAULT_LIMITS, type RunRequestLimits } from './wes/run-request.js';

export interface MembersConfig {
  namespaceTemplate: string;
  /**
   * false: an administrator makes members' namespaces (strand rbac --server --preprovisioned); the
   * server only checks that a member's namespace is one Strand made for them. Default true.
   */
  provision: boolean;
  /** Every member's runs in this one namespace (strand rbac --server --one-namespace), kept apart by owner. */
  namespace?: string;
  clusterRole: string;
  /** A ResourceQuota's `spec.hard` for each member's namespace (`requests.cpu`, `pods`...), when set. */
  resourceQuota?: Record<string, string>;
  /** A LimitRange's Container item: defaults for containers that ask for nothing, and maxima. */
  limitRange?: { default?: Record<string, string>; defaultRequest?: Record<string, string>; max?: Record<string, string> };
}

export interface LeaderConfig {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  serviceAccount: string;
  cpu: string;
  memory: string;
  restarts: number;
  runAsUser?: number;
}

export interface ServerConfig {
  /** The file read, or undefined: every default. */
  file?: string;
  listen: { host: string; port: number };
  kubeconfig?: string;
  members: MembersConfig;
  leader: LeaderConfig;
  /** The `kubernetes:` and `storage:` sections members' runs use, as a Strand config file. */
  runs: UserConfigFile;
  limits: RunRequestLimits & { bundleBytes: number };
  /** Sign-in besides Kubernetes tokens: an OIDC provider's ID tokens (identity/oidc.ts). */
  identity: { oidc?: OidcSettings };
}

export const DEFAULT_PORT = 8080;

const TOP = ['listen', 'kubeconfig', 'members', 'leader', 'runs', 'limits', 'identity'];

export function defaultServerConfig(leaderImage: string): ServerConfig {
  return {
    listen: { host: '127.0.0.1', port: DEFAULT_PORT },
    members: { namespaceTemplate: 'lab-{user}', clusterRole: 'strand-member', provision: true },
    leader: { image: leaderImage, serviceAccount: 'strand', cpu: '250m', memory: '512Mi', restarts: 4 },
    runs: { path: '(the server\'s defaults)' },
    limits: { ...DEFAULT_LIMITS, bundleBytes: 512 * 1024 },
    identity: {},
  };
}

type Obj = Record<string, unknown>;

export function loadServerConfig(file: string | undefined, leaderImage: string): ServerConfig {
  const config = defaultServerConfig(leaderImage);
  if (file === undefined) return config;
  const abs = path.resolve(file);
  let raw: unknown;
  try {
    raw = parse(readFileSync(abs, 'utf8'));
  } catch (err) {
    throw new UsageError(`${abs}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not valid YAML: ${(err as Error).message}`}`);
  }
  if (raw === null || raw === undefined) return { ...config, file: abs };
  const at = (key: string) => `${abs}: ${key}`;
  const top = mapping(raw, abs, TOP);
  const listen = top.listen === undefined ? {} : mapping(top.listen, at('listen'), ['host', 'port']);
  if (listen.host !== undefined) config.listen.host = text(listen.host, at('listen.host'));
  if (listen.port !== undefined) config.listen.port = port(listen.port, at('listen.port'));
  if (top.kubeconfig !== undefined) config.kubeconfig = path.resolve(path.dirname(abs), text(top.kubeconfig, at('kubeconfig')));

  if (top.members !== undefined) {
    const m = mapping(top.members, at('members'), ['namespaceTemplate', 'clusterRole', 'provision', 'namespace', 'resourceQuota', 'limitRange']);
    if (m.provision !== undefined) {
      if (typeof m.provision !== 'boolean') throw new UsageError(`${at('members.provision')}: expected true or false`);
      config.members.provision = m.provision;
    }
    if (m.namespace !== undefined) {
      const ns = text(m.namespace, at('members.namespace'));
      if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(ns)) throw new UsageError(`${at('members.namespace')}: not a namespace name (a DNS label): ${JSON.stringify(ns)}`);
      config.members.namespace = ns;
    }
    if (m.namespaceTemplate !== undefined) {
      const t = text(m.namespaceTemplate, at('members.namespaceTemplate'));
      if (!t.includes('{user}')) throw new UsageError(`${at('members.namespaceTemplate')}: must contain {user} (e.g. lab-{user})`);
      if (!/^[a-z0-9-]*\{user\}[a-z0-9-]*$/.test(t)) throw new UsageError(`${at('members.namespaceTemplate')}: only a-z, 0-9 and - around {user}, not ${JSON.stringify(t)}`);
      config.members.namespaceTemplate = t;
    }
    if (m.clusterRole !== undefined) config.members.clusterRole = text(m.clusterRole, at('members.clusterRole'));
    if (m.resourceQuota !== undefined) config.members.resourceQuota = quantities(m.resourceQuota, at('members.resourceQuota'));
    if (m.limitRange !== undefined) {
      const l = mapping(m.limitRange, at('members.limitRange'), ['default', 'defaultRequest', 'max']);
      config.members.limitRange = Object.fromEntries(Object.entries(l).map(([k, v]) => [k, quantities(v, at(`members.limitRange.${k}`))]));
    }
  }

  if (top.leader !== undefined) {
    const l = mapping(top.leader, at('leader'), ['image', 'imagePullPolicy', 'serviceAccount', 'cpu', 'memory', 'restarts', 'runAsUser']);
    if (l.image !== undefined) config.leader.image = text(l.image, at('leader.image'));
    if (l.imagePullPolicy !== undefined) {
      const v = text(l.imagePullPolicy, at('leader.imagePullPolicy'));
      if (v !== 'Always' && v !== 'IfNotPresent' && v !== 'Never') throw new UsageError(`${at('leader.imagePullPolicy')}: Always, IfNotPresent or Never, not ${JSON.stringify(v)}`);
      config.leader.imagePullPolicy = v;
    }
    if (l.serviceAccount !== undefined) config.leader.serviceAccount = text(l.serviceAccount, at('leader.serviceAccount'));
    if (l.cpu !== undefined) config.leader.cpu = quantity(l.cpu, at('leader.cpu'));
    if (l.memory !== undefined) config.leader.memory = quantity(l.memory, at('leader.memory'));
    if (l.restarts !== undefined) config.leader.restarts = whole(l.restarts, at('leader.restarts'));
    if (l.runAsUser !== undefined) config.leader.runAsUser = whole(l.runAsUser, at('leader.runAsUser'));
  }

  if (top.runs !== undefined) {
    const r = mapping(top.runs, at('runs'), ['kubernetes', 'storage']);
    const k = r.kubernetes === undefined ? undefined : mapping(r.kubernetes, at('runs.kubernetes'));
    if (k && (k.namespace !== undefined || k.kubeconfig !== undefined || k.context !== undefined)) {
      throw new UsageError(`${at('runs.kubernetes')}: namespace, kubeconfig and context are not set here: each member's runs go to their own namespace, through the server's connection`);
    }
    config.runs = {
      path: abs,
      ...(k ? { kubernetes: k } : {}),
      ...(r.storage !== undefined ? { storage: parseStorageSettings(r.storage, abs) } : {}),
    };
  } else config.runs = { path: abs };

  if (top.limits !== undefined) {
    const l = mapping(top.limits, at('limits'), ['attachmentBytes', 'requestBytes', 'attachments', 'fieldBytes', 'bundleBytes']);
    if (l.attachmentBytes !== undefined) config.limits.fileBytes = bytes(l.attachmentBytes, at('limits.attachmentBytes'));
    if (l.requestBytes !== undefined) config.limits.totalBytes = bytes(l.requestBytes, at('limits.requestBytes'));
    if (l.attachments !== undefined) config.limits.files = whole(l.attachments, at('limits.attachments'));
    if (l.fieldBytes !== undefined) config.limits.fieldBytes = bytes(l.fieldBytes, at('limits.fieldBytes'));
    if (l.bundleBytes !== undefined) config.limits.bundleBytes = bytes(l.bundleBytes, at('limits.bundleBytes'));
  }

  if (top.identity !== undefined) {
    const i = mapping(top.identity, at('identity'), ['oidc']);
    if (i.oidc !== undefined) config.identity.oidc = oidcSettings(i.oidc, at);
  }
  return { ...config, file: abs };
}

const OIDC_KEYS = ['issuerUrl', 'clientId', 'usernameClaim', 'usernamePrefix', 'groupsClaim', 'groupsPrefix', 'algorithms'];

/** identity.oidc: issuerUrl and clientId required; the rest as Kubernetes' --oidc-* flags. */
function oidcSettings(v: unknown, at: (key: string) => string): OidcSettings {
  const o = mapping(v, at('identity.oidc'), OIDC_KEYS);
  const where = (k: string) => at(`identity.oidc.${k}`);
  if (o.issuerUrl === undefined) throw new UsageError(`${where('issuerUrl')}: required (the provider's issuer URL, as in its tokens' iss)`);
  if (o.clientId === undefined) throw new UsageError(`${where('clientId')}: required (the client id tokens are issued for, their aud)`);
  const issuerUrl = text(o.issuerUrl, where('issuerUrl'));
  const urlProblem = issuerUrlProblem(issuerUrl);
  if (urlProblem) throw new UsageError(`${where('issuerUrl')}: ${urlProblem}: ${JSON.stringify(issuerUrl)}`);
  const settings: OidcSettings = { issuerUrl, clientId: text(o.clientId, where('clientId')) };
  for (const k of ['usernameClaim', 'groupsClaim'] as const) {
    if (o[k] !== undefined) settings[k] = text(o[k], where(k));
  }
  for (const k of ['usernamePrefix', 'groupsPrefix'] as const) {
    if (o[k] === undefined) continue;
    // An empty prefix is written "" (or, as Kubernetes, "-" for the username).
    if (typeof o[k] !== 'string') throw new UsageError(`${where(k)}: expected a string`);
    const problem = prefixProblem(o[k]);
    if (problem) throw new UsageError(`${where(k)}: ${problem}`);
    settings[k] = o[k];
  }
  if (o.algorithms !== undefined) {
    if (!Array.isArray(o.algorithms) || !o.algorithms.every((a): a is string => typeof a === 'string')) {
      throw new UsageError(`${where('algorithms')}: expected a list such as [RS256, ES256]`);
    }
    const problem = algorithmsProblem(o.algorithms);
    if (problem) throw new UsageError(`${where('algorithms')}: ${problem}`);
    settings.algorithms = [...o.algorithms];
  }
  return settings;
}

function mapping(v: unknown, where: string, known?: string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`${where}: expected a mapping`);
  if (known) {
    for (const k of Object.keys(v)) if (!known.includes(k)) throw new UsageError(`${where}: ${k}: unknown setting (known: ${known.join(', ')})`);
  }
  return v as Obj;
}

function text(v: unknown, where: string): string {
  if (typeof v !== 'string' || v === '') throw new UsageError(`${where}: expected a non-empty string`);
  return v;
}

function whole(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new UsageError(`${where}: expected a whole number`);
  return v;
}

function port(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new UsageError(`${where}: expected a port number (0 to 65535; 0 picks a free one)`);
  return v;
}

/** A Kubernetes quantity (`500m`, `2`, `1Gi`), written as a string or a number. */
function quantity(v: unknown, where: string): string {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(s)) {
    throw new UsageError(`${where}: expected a Kubernetes quantity such as 500m, 2, 1Gi, not ${JSON.stringify(v)}`);
  }
  return s;
}

/** A map of resource names to quantities (`cpu: 500m`, `pods: 50`). */
function quantities(v: unknown, where: string): Record<string, string> {
  const m = mapping(v, where);
  return Object.fromEntries(
    Object.entries(m).map(([k, x]) => {
      if (!/^[a-z0-9]([a-z0-9./-]*[a-z0-9])?$/.test(k)) throw new UsageError(`${where}: ${JSON.stringify(k)} is not a resource name`);
      return [k, quantity(x, `${where}.${k}`)];
    }),
  );
}

function bytes(v: unknown, where: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? parseByteSize(v) : undefined;
  if (n === undefined || !Number.isInteger(n) || n < 1) throw new UsageError(`${where}: expected a size such as 64MiB or a number of bytes`);
  return n;
}
