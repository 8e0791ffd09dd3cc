/**
 * `kubernetes.storage: objectStore` and its `kubernetes.objectStore:` section: task pods share no
 * volume; each gets its inputs from a bucket into an emptyDir and puts its outputs back there.
 *
 *   kubernetes:
 *     storage: objectStore            # default: workspace (needs kubernetes.workspace)
 *     objectStore:
 *       location: s3://lab-bucket/strand   # where runs keep their task files (one prefix per run)
 *       credentialsSecret: strand-s3       # Secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, given to
 *                                          # Strand's own containers by envFrom (never a value in the spec)
 *       image: registry.example/strand:0.1.0   # the Strand image (Dockerfile); default localhost/strand:<version>
 *       endpoint: http://minio.lab:9000    # how pods reach the store, when not as Strand does (storage.s3.endpoint)
 *       region: us-east-1                  # default: storage.s3.region
 *       forcePathStyle: true               # default: storage.s3.forcePathStyle
 *       keepIntermediate: false            # keep runs/<run>/ in the bucket after the run (default: deleted)
 *
 * Parsed here, beside the mode's code; every error names the field.
 */
import { UsageError } from '../../../errors.js';

export type StorageModeName = 'workspace' | 'objectStore';

export interface ObjectStoreSettings {
  bucket: string;
  /** Key prefix without leading or trailing slash ('' for the bucket's root). */
  prefix: string;
  credentialsSecret?: string;
  image: string;
  /** The command that runs Strand in `image`. */
  command: string[];
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /**
   * Where pods put the run's work root: default the very path Strand uses on this machine, so
   * every path a tool sees (argv, files that name paths) is the one Strand gave it. With
   * `podRoot`, each pod uses `<podRoot>/<job name>` instead (the fake API server runs pods as
   * host processes, which cannot share Strand's own directories).
   */
  podRoot?: string;
  keepIntermediate: boolean;
  /** Resources of Strand's own containers in each pod (stage-in and upload). */
  helperResources: { requests: Record<string, string>; limits: Record<string, string> };
}

/**
 * Requests and limits for CPU and memory, so that a namespace with a `requests.cpu` or
 * `limits.memory` quota admits the pod (a container that does not name them is refused there).
 * The CPU request is named but zero: the upload container waits beside the tool and works only
 * once the tool has exited, and its request adds to the tool's, so any more would make a tool
 * that asks for a whole node's CPU unschedulable (seen on the rig: coresMin 2 on a 2-CPU node).
 * Stage-in runs before the tool, as an init container. A LimitRange's min and max are applied
 * per run (helper-resources.ts).
 */
export const DEFAULT_HELPER_RESOURCES: ObjectStoreSettings['helperResources'] = {
  requests: { cpu: '0', memory: '64Mi' },
  limits: { cpu: '1', memory: '256Mi' },
};

/** `s3://bucket/some/prefix/` -> { bucket, prefix: 'some/prefix' }. */
export function parseBucketLocation(loc: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(loc);
  if (!m) return undefined;
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

export function parseStorageMode(raw: unknown, source: string): StorageModeName | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === 'workspace' || raw === 'objectStore') return raw;
  throw new UsageError(`${source}: kubernetes.storage: expected "workspace" or "objectStore", got ${JSON.stringify(raw)}`);
}

export function parseObjectStoreSettings(raw: unknown, source: string, version: string): ObjectStoreSettings {
  const at = (f: string) => `${source}: kubernetes.objectStore.${f}`;
  if (raw === undefined || raw === null) throw new UsageError(`${source}: kubernetes.objectStore: is required with kubernetes.storage: objectStore (at least location: s3://bucket/prefix)`);
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${source}: kubernetes.objectStore: expected a mapping`);
  const o = raw as Record<string, unknown>;
  const known = ['location', 'credentialsSecret', 'image', 'command', 'endpoint', 'region', 'forcePathStyle', 'podRoot', 'keepIntermediate', 'helperResources'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new UsageError(`${at(k)}: unknown setting (known: ${known.join(', ')})`);
  const str = (f: string): string | undefined => {
    const v = o[f];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') throw new UsageError(`${at(f)}: expected a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  };
  const location = str('location');
  if (!location) throw new UsageError(`${at('location')}: is required (s3://bucket/prefix)`);
  const loc = parseBucketLocation(location);
  if (!loc) throw new UsageError(`${at('location')}: expected s3://bucket[/prefix] with a valid bucket name, got "${location}"`);
  let command = ['strand'];
  if (o['command'] !== undefined) {
    const c = o['command'];
    if (!Array.isArray(c) || c.length === 0 || !c.every((x) => typeof x === 'string' && x !== '')) throw new UsageError(`${at('command')}: expected a list of strings, e.g. [strand]`);
    command = c as string[];
  }
  const bool = (f: string): boolean | undefined => {
    const v = o[f];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new UsageError(`${at(f)}: expected true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const podRoot = str('podRoot');
  if (podRoot !== undefined && !podRoot.startsWith('/')) throw new UsageError(`${at('podRoot')}: expected an absolute path, got "${podRoot}"`);
  const endpoint = str('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) throw new UsageError(`${at('endpoint')}: expected http(s)://host[:port], got "${endpoint}"`);
  let helperResources: ObjectStoreSettings['helperResources'] = DEFAULT_HELPER_RESOURCES;
  const hr = o['helperResources'];
  if (hr !== undefined && hr !== null) {
    if (typeof hr !== 'object' || Array.isArray(hr)) throw new UsageError(`${at('helperResources')}: expected { requests, limits }`);
    const h = hr as Record<string, unknown>;
    helperResources = {
      requests: (h['requests'] as Record<string, string> | undefined) ?? {},
      limits: (h['limits'] as Record<string, string> | undefined) ?? {},
    };
  }
  const s: ObjectStoreSettings = {
    bucket: loc.bucket,
    prefix: loc.prefix,
    image: str('image') ?? `localhost/strand:${version}`,
    command,
    keepIntermediate: bool('keepIntermediate') ?? false,
    helperResources,
  };
  const secret = str('credentialsSecret');
  if (secret !== undefined) s.credentialsSecret = secret;
  if (endpoint !== undefined) s.endpoint = endpoint.replace(/\/+$/, '');
  const region = str('region');
  if (region !== undefined) s.region = region;
  const fps = bool('forcePathStyle');
  if (fps !== undefined) s.forcePathStyle = fps;
  if (podRoot !== undefined) s.podRoot = podRoot.replace(/\/+$/, '') || '/';
  return s;
}
