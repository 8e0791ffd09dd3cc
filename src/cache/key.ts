/**
 * The task cache key: a sha256 over what decides a task's result, with the paths that differ from
 * run to run (the task's own directories, where its inputs were staged) replaced by stable names.
 * Pure: the caller gathers the material (see docs/caching.md for what is in it and why).
 */
import { createHash } from 'node:crypto';

/** Bump when the key's material or its meaning changes: old entries are then never matched. */
export const KEY_VERSION = 'strand-task-cache-1';

export interface KeyInput {
  /** How the command line names this input after normalisation (e.g. `$INPUTS/stg1/reads.bam`). */
  name: string;
  /** sha1 of a File's bytes, a digest of a Directory's tree, or a remote object's ETag. */
  checksum: string;
  size: number;
}

/** A file or link the task's output directory holds before the task starts (InitialWorkDir). */
export interface KeyWorkDirEntry {
  path: string;
  kind: 'file' | 'dir' | 'link';
  /** Checksum of a file's contents (paths inside normalised), or a link's normalised target. */
  value?: string;
}

export interface KeyMaterial {
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  stdin?: string;
  stdout?: string;
  stderr?: string;
  /** Container image (absent: runs on the host). */
  image?: string;
  /** dockerOutputDirectory, which names the output directory the tool sees. */
  containerWorkDir?: string;
  networkAccess: boolean;
  inputs: readonly KeyInput[];
  workDir: readonly KeyWorkDirEntry[];
  /** Requirements that change results but do not show in the above (e.g. SoftwareRequirement). */
  requirements: readonly unknown[];
}

export interface CacheKey {
  /** Hex digest: the entry's name in the cache directory. */
  key: string;
  /**
   * The canonical JSON the key digests, with every environment value replaced by its sha256
   * (`sha256$…`): kept in the entry's manifest, which must not hold EnvVarRequirement's values
   * (secrets often) in clear. Which variable differs between two keys still shows.
   */
  text: string;
}

/** JSON with object keys sorted at every level, so equal material gives equal text. */
export function canonicalJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

export function cacheKeyOf(m: KeyMaterial): CacheKey {
  const material = {
    version: KEY_VERSION,
    argv: m.argv,
    env: m.env,
    stdin: m.stdin,
    stdout: m.stdout,
    stderr: m.stderr,
    image: m.image,
    containerWorkDir: m.containerWorkDir,
    networkAccess: m.networkAccess,
    inputs: [...m.inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    workDir: [...m.workDir].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    requirements: m.requirements,
  };
  const full = canonicalJson(material);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.env)) env[k] = `sha256$${createHash('sha256').update(v).digest('hex')}`;
  return { key: createHash('sha256').update(full).digest('hex').slice(0, 40), text: canonicalJson({ ...material, env }) };
}

const PATH_CHAR = /[A-Za-z0-9._-]/;

/**
 * Replaces path prefixes in text by stable names, longest first and only at path boundaries:
 * `/w/a` is replaced in `/w/a` and `/w/a/b`, never in `/w/ab`.
 */
export class PathNormalizer {
  private readonly pairs: ReadonlyArray<readonly [string, string]>;

  constructor(pairs: Iterable<readonly [string, string]>) {
    const byFrom = new Map<string, string>();
    for (const [from, to] of pairs) {
      const f = from.length > 1 ? from.replace(/\/+$/, '') : from;
      if (f.length > 1 && !byFrom.has(f)) byFrom.set(f, to);
    }
    this.pairs = [...byFrom].sort((a, b) => b[0].length - a[0].length);
  }

  normalize(text: string): string {
    if (this.pairs.length === 0 || !text.includes('/')) return text;
    let out = '';
    let i = 0;
    outer: while (i < text.length) {
      if (text[i] === '/' && (i === 0 || !(PATH_CHAR.test(text[i - 1] as string) || text[i - 1] === '/'))) {
        for (const [from, to] of this.pairs) {
          if (text.startsWith(from, i)) {
            const next = text[i + from.length];
            if (next === undefined || !PATH_CHAR.test(next)) {
              out += to;
              i += from.length;
              continue outer;
            }
          }
        }
      }
      out += text[i];
      i++;
    }
    return out;
  }
}
