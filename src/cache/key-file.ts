/**
 * The secret that signs task cache entries (signing.ts), kept in a file: made on first use with 32
 * random bytes, mode 0600, in a directory of its owner's (the run store by default: see
 * run-cache.ts). It must be where tasks cannot write it, and on a cluster where task pods cannot
 * read it: never on the shared workspace. A file anyone but its owner can change is refused.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { CacheSigner } from './signing.js';

export interface LoadedKey {
  signer: CacheSigner;
  file: string;
  /** The file was made now. */
  created: boolean;
  /** Who besides its owner can read the key, in words (`its group (gid 100)`), or undefined: its owner only. */
  readers?: string;
}

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** Where `p` really is: its directory's real path (the file itself may not exist yet). */
async function realLocation(p: string): Promise<string> {
  const dir = await realpath(path.dirname(p)).catch(() => path.dirname(p));
  return path.join(dir, path.basename(p));
}

/**
 * Read the key in `file`, making it when it does not exist. Throws a UsageError when the file lies
 * under one of `forbidden` (the shared workspace tasks write), when others can change it, when it is
 * at a default place (not `named` by the user) and belongs to someone else, or when it is too short.
 */
export async function loadKeyFile(file: string, forbidden: readonly string[] = [], opts: { named?: boolean } = {}): Promise<LoadedKey> {
  const where = await realLocation(file);
  for (const dir of forbidden) {
    const real = await realpath(dir).catch(() => path.resolve(dir));
    if (inside(where, real) || inside(path.resolve(file), path.resolve(dir))) {
      throw new UsageError(`the task cache key ${file} would be on the shared workspace ${dir}, which tasks can read and write: set cache.keyFile ($STRAND_CACHE_KEY_FILE) to a file elsewhere (docs/caching.md)`);
    }
  }
  let created = false;
  let text = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new UsageError(`the task cache key ${file} cannot be read: ${err.message}`);
  });
  if (text === undefined) {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      await writeFile(file, randomBytes(32).toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
      created = true;
    } catch (err) {
      // Made meanwhile by another run: use it.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new UsageError(`the task cache key ${file} cannot be made: ${(err as Error).message}`);
    }
    text = await readFile(file);
    if (created) await chmod(file, 0o600);
  }
  const st = await stat(file);
  if (!st.isFile()) throw new UsageError(`the task cache key ${file} is not a file`);
  // A key at a default place that someone else made (e.g. beforehand, in a shared directory) is theirs: they could sign anything.
  const uid = process.getuid?.();
  if (!opts.named && uid !== undefined && st.uid !== uid) {
    throw new UsageError(`the task cache key ${file} belongs to another user (uid ${st.uid}): remove it, or name a key file of yours (cache.keyFile, $STRAND_CACHE_KEY_FILE)`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw new UsageError(`the task cache key ${file} can be changed by others (mode ${(st.mode & 0o777).toString(8)}): make it 0600 (or 0640 to share the cache with its group)`);
  }
  const trimmed = text.toString('utf8').trim();
  const key = /^[0-9a-f]+$/i.test(trimmed) && trimmed.length % 2 === 0 ? Buffer.from(trimmed, 'hex') : text;
  if (key.length < 16) throw new UsageError(`the task cache key ${file} is too short: it needs at least 16 bytes (32 random bytes, e.g. openssl rand -hex 32)`);
  const readers = (st.mode & 0o004) !== 0 ? 'everyone on this machine' : (st.mode & 0o040) !== 0 ? `its group (gid ${st.gid})` : undefined;
  return { signer: new CacheSigner(key, file), file, created, ...(readers ? { readers } : {}) };
}
