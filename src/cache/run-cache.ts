/**
 * Which task cache a run uses, with which key (docs/caching.md, "Where the cache lives"):
 *
 * - the directory: `<base>/<scope>`, base `--cachedir` (or $STRAND_CACHE_DIR), else on a cluster
 *   `runs/task-cache` on the shared workspace, else `<store>/cache`; scope `user-<uid>` on this
 *   machine, `ns-<namespace>` on a cluster, or the `cache.scope` setting. With `cache.shared` the
 *   scope is `shared`: everyone whose runs hold the same key shares results. A resumed run keeps
 *   the directory of the run it resumes.
 * - the key that signs entries (signing.ts): the `cache.keyFile` setting ($STRAND_CACHE_KEY_FILE),
 *   else `<store>/cache.key`, else `~/.config/strand/cache.key` (no store). Never one on the
 *   executor's shared workspace: tasks could read it there and sign what they like.
 */
import { chmod, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { FileDigester, type DigestMemo } from './digests.js';
import { sweepLeftovers } from './inventory.js';
import { loadKeyFile } from './key-file.js';
import { TaskCache, type TaskCacheUse } from './task-cache.js';

export const SHARED_SCOPE = 'shared';

export interface RunCacheRequest {
  mode: 'read' | 'write' | 'readwrite';
  /** `--cachedir`: the directory whose scopes hold entries. */
  baseDir?: string;
  /** The cache directory of the run this one resumes: used as it is. */
  resumedDir?: string;
  storeDir: string | false;
  /** The executor's work root (on a cluster: where task directories and, by default, the cache live). */
  executorWorkRoot?: string;
  /** The directory every task can write (a cluster's shared workspace): the key must not be under it. */
  sharedRoot?: string;
  /** The cluster namespace the run's tasks run in, if any. */
  namespace?: string;
  /** `cache.scope`: the scope's name instead of the user's or the namespace's. */
  scope?: string;
  /** `cache.shared`: one directory for everyone holding the key. */
  shared: boolean;
  /** `cache.keyFile`. */
  keyFile?: string;
  memo?: DigestMemo;
  env?: NodeJS.ProcessEnv;
}

export interface RunCache {
  use: TaskCacheUse;
  /** What the run should say (sharing, a key made). */
  notes: string[];
  /** What it should warn about (a key others can read). */
  warnings: string[];
}

const SCOPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The scope directory's name: `shared`, the setting, `ns-<namespace>` or `user-<uid>`. */
export function cacheScope(req: Pick<RunCacheRequest, 'scope' | 'shared' | 'namespace'>): string {
  if (req.shared) return SHARED_SCOPE;
  if (req.scope !== undefined) {
    if (!SCOPE_NAME.test(req.scope) || req.scope === SHARED_SCOPE) {
      throw new UsageError(`cache.scope ${JSON.stringify(req.scope)}: expected a name of letters, digits, '.', '_' and '-' (not "${SHARED_SCOPE}": use cache.shared)`);
    }
    return req.scope;
  }
  if (req.namespace) return `ns-${req.namespace}`;
  return `user-${os.userInfo().uid}`;
}

/** The base directory of the scopes, or undefined when the run has nowhere to keep a cache. */
export function cacheBase(req: Pick<RunCacheRequest, 'baseDir' | 'executorWorkRoot' | 'storeDir'>): string | undefined {
  return req.baseDir ?? (req.executorWorkRoot ? path.join(req.executorWorkRoot, 'task-cache') : req.storeDir ? path.join(req.storeDir, 'cache') : undefined);
}

/** The cache directory of a run (see the module's comment), or undefined. */
export function runCacheDir(req: Pick<RunCacheRequest, 'baseDir' | 'resumedDir' | 'executorWorkRoot' | 'storeDir' | 'scope' | 'shared' | 'namespace'>): string | undefined {
  if (req.resumedDir) return req.resumedDir;
  const base = cacheBase(req);
  return base === undefined ? undefined : path.join(base, cacheScope(req));
}

/** The key file a run uses: the setting, else beside the run store, else in the user's config directory. */
export function keyFileFor(req: Pick<RunCacheRequest, 'keyFile' | 'storeDir' | 'env'>): string {
  if (req.keyFile) return req.keyFile;
  if (req.storeDir) return path.join(req.storeDir, 'cache.key');
  const env = req.env ?? process.env;
  const config = env.XDG_CONFIG_HOME || path.join(env.HOME ?? os.homedir(), '.config');
  return path.join(config, 'strand', 'cache.key');
}

/**
 * Open the run's cache: its directory made (0700 when it is one user's, on this machine), its key
 * read or made. Throws a UsageError when the key cannot be used (the caller turns the cache off).
 */
export async function openRunCache(req: RunCacheRequest): Promise<RunCache | undefined> {
  const dir = runCacheDir(req);
  if (dir === undefined) return undefined;
  const notes: string[] = [];
  const warnings: string[] = [];
  const forbidden = req.sharedRoot ? [req.sharedRoot] : [];
  const key = await loadKeyFile(keyFileFor(req), forbidden, { named: req.keyFile !== undefined });
  if (key.created) notes.push(`made the task cache key ${key.file} (mode 0600): entries are reused only when signed with it`);
  // Task pods read entries on the workspace in place: those keep their modes.
  const onWorkspace = req.sharedRoot !== undefined && (dir === req.sharedRoot || dir.startsWith(req.sharedRoot + path.sep));
  const privateCache = !req.shared && !onWorkspace;
  if (req.shared) {
    notes.push(
      `the task cache ${dir} is shared (cache.shared): it reuses results signed with ${key.file}, which ` +
        `${key.readers ? `its owner and ${key.readers} can read` : 'only its owner can read'}; whoever can read it shares this cache`,
    );
  } else if (key.readers) {
    warnings.push(`the task cache key ${key.file} can be read by ${key.readers}: they can make results this run reuses (chmod 600 ${key.file})`);
  }
  if (req.mode !== 'read') {
    await mkdir(dir, { recursive: true, ...(privateCache ? { mode: 0o700 } : {}) });
    if (privateCache) await chmod(dir, 0o700).catch(() => undefined);
  }
  return {
    use: {
      cache: new TaskCache(dir, new FileDigester(req.memo), { signer: key.signer, private: privateCache, shared: req.shared }),
      read: req.mode === 'read' || req.mode === 'readwrite',
      write: req.mode === 'write' || req.mode === 'readwrite',
    },
    notes,
    warnings,
  };
}

/**
 * The end of a run: wait for its tasks still putting results in the cache (a failed run ends before
 * them), then remove what interrupted caching left there. Never throws.
 */
export async function closeRunCache(use: TaskCacheUse): Promise<void> {
  await use.cache.settle().catch(() => undefined);
  if (use.write) await sweepLeftovers(use.cache.dir).catch(() => undefined);
}
