/**
 * The task cache on disk: one directory per entry, `<cache>/<key>/` (the task's output directory as
 * it was when the task ended), and beside it `<cache>/<key>.json`, the entry's manifest (every
 * file's size and checksum, every directory and link, the exit code, the run and task that made
 * it). The manifest is written last: an entry without one is unfinished and never used.
 *
 * Strand owns the cache: entries are made only by publish(), which moves (or copies) a finished
 * task's own output directory in. Nothing else in Strand writes to an entry; relocation into
 * --outdir copies out of it. Before an entry is used, every file is checked against the manifest
 * (present, same size, same checksum; the checksum is recomputed when the file's identity
 * changed); an entry that fails the check is not used, and the task runs again.
 *
 * Each manifest is signed (signing.ts) with a key tasks cannot read or write: an entry whose
 * signature does not verify (a task rewrote an output and its checksum, as one on a cluster's shared
 * workspace can) or that has none (made before entries were signed) is never used.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { chmod, cp, lstat, lutimes, mkdir, readFile, readlink, realpath, rename, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { materializeUnder } from '../staging/stand-ins.js';
import { hasRawBytes, readEntries, shownName } from '../staging/raw-names.js';
import { forEachLimited } from '../staging/limited.js';
import { FileDigester } from './digests.js';
import { CacheSigner } from './signing.js';

/** 2: signed (`mac`); entries of version 1 are not signed and never used. */
export const MANIFEST_VERSION = 2;
/**
 * A publish holds `.lock-<key>` from the moment it moves the task's directory into the cache until
 * the manifest is written, and touches it every LOCK_REFRESH_MS meanwhile (digesting a large output
 * takes a while): a lock not touched for LOCK_STALE_MS was left by a process that died.
 */
export const LOCK_STALE_MS = 10 * 60_000;
const LOCK_REFRESH_MS = 60_000;

/** The lock directory of `key` in cache `dir`. */
export const lockPath = (dir: string, key: string): string => path.join(dir, `.lock-${key}`);

/** The file in a lock directory naming the process that holds it (`<host> <pid>`): the lock of Strand before 2026-12-07, still read. */
const LOCK_OWNER = 'owner';

/** What a lock says of its holder: `<host> <pid>`. */
const lockOwner = (): string => `${thisHost()} ${process.pid}`;

/** This host's name, asked once (a system call per publish otherwise). */
let host: string | undefined;
const thisHost = (): string => (host ??= hostname());

/** Whether process `pid` of this host is alive (EPERM: alive, another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a publish of `key` is going on now: its lock is fresh, and the process holding it (when
 * it runs on this host) is alive. A lock of a killed process of this host is stale at once.
 * The lock is a symbolic link whose target names its holder (one call to take, one to read, one to
 * drop); a directory with an `owner` file, as earlier versions made, is read too.
 */
export async function publishing(dir: string, key: string, now = Date.now()): Promise<boolean> {
  const lock = lockPath(dir, key);
  const st = await lstat(lock).catch(() => undefined);
  if (st === undefined || now - st.mtimeMs >= LOCK_STALE_MS) return false;
  const owner = st.isSymbolicLink() ? await readlink(lock).catch(() => undefined) : await readFile(path.join(lock, LOCK_OWNER), 'utf8').catch(() => undefined);
  const m = owner ? /^(\S+) (\d+)$/.exec(owner.trim()) : null;
  if (!m || m[1] !== thisHost()) return true;
  return alive(Number(m[2]));
}

export interface EntryOrigin {
  runId: string;
  taskId: string;
  stepPath: string;
  attempt: number;
  toolId?: string;
}

export interface CacheManifest {
  version: number;
  key: string;
  createdAt: string;
  exitCode: number;
  /** How long the task ran, in milliseconds (a tighter ToolTimeLimit than this does not reuse it). */
  durationMs?: number;
  origin: EntryOrigin;
  files: Array<{ path: string; size: number; checksum: string }>;
  dirs: string[];
  links: Array<{ path: string; target: string }>;
  /** Total bytes of the files. */
  size: number;
  /** What the key digests (docs/caching.md; environment values as digests), for people asking why an entry was or was not used. */
  keyText?: string;
  /** HMAC-SHA256 of everything above (signing.ts). */
  mac: string;
}

export interface CacheHit {
  entry: string;
  manifest: CacheManifest;
}

/**
 * `broken`: the entry does not match its manifest; `forged`: its manifest is not signed with this
 * cache's key; `unsigned`: made before entries were signed.
 */
export type LookupResult = { hit: CacheHit } | { miss: 'absent' | 'broken' | 'forged' | 'unsigned'; reason?: string };

export interface TaskCacheOptions {
  /** Signs new manifests and checks those read (default: a key of this process only). */
  signer?: CacheSigner;
  /** Entries 0700 (a cache of one user's, on this machine); else they keep the modes their task gave them (task pods read them in place). */
  private?: boolean;
  /** Manifests 0640 (a cache shared with the key file's readers); else 0600: only Strand reads them. */
  shared?: boolean;
}

export interface PublishRequest {
  key: string;
  keyText?: string;
  /** The task's output directory (Strand's own): moved into the cache, or copied when it cannot be moved. */
  outdir: string;
  exitCode: number;
  durationMs?: number;
  origin: EntryOrigin;
  /** Checksums already computed for files in `outdir` (absolute path -> checksum), so they are not read again. */
  known?: ReadonlyMap<string, string>;
}

export type PublishResult = { entry: string; moved: boolean; bytes: number } | { skipped: string };

interface Walked {
  files: Array<{ path: string; size: number }>;
  dirs: string[];
  links: Array<{ path: string; target: string }>;
}

async function walk(root: string): Promise<Walked> {
  const out: Walked = { files: [], dirs: [], links: [] };
  const visit = async (rel: string): Promise<void> => {
    for (const { name, entry: e } of await readEntries(path.join(root, rel))) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(root, r);
      // Its manifest and copies name files as text (staging/raw-names.ts): such a result is not kept.
      if (hasRawBytes(name)) throw new Error(`${shownName(abs)} has a name that is not UTF-8, which the task cache does not keep`);
      if (e.isSymbolicLink()) out.links.push({ path: r, target: await readlink(abs) });
      else if (e.isDirectory()) {
        out.dirs.push(r);
        await visit(r);
      } else if (e.isFile()) out.files.push({ path: r, size: (await lstat(abs)).size });
      else throw new Error(`${abs} is not a file, directory or link`);
    }
  };
  await visit('');
  out.files.sort((a, b) => (a.path < b.path ? -1 : 1));
  out.dirs.sort();
  out.links.sort((a, b) => (a.path < b.path ? -1 : 1));
  return out;
}

/** A link that leads out of the entry (absolute, or up through `..`) would point at another run's files. */
function leavesTree(linkPath: string, target: string): boolean {
  if (path.isAbsolute(target)) return true;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  return resolved === '..' || resolved.startsWith('../');
}

/** Move directory `from` to `to` unless something is there already (false then). */
async function moveUnlessTaken(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') return false;
    throw err;
  }
}


export class TaskCache {
  readonly signer: CacheSigner;
  readonly private: boolean;
  readonly shared: boolean;
  /** Publishes going on in this process: a run waits for them before it ends (settle()). */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    readonly dir: string,
    readonly digester: FileDigester = new FileDigester(),
    opts: TaskCacheOptions = {},
  ) {
    this.signer = opts.signer ?? CacheSigner.ephemeral();
    this.private = opts.private ?? false;
    this.shared = opts.shared ?? false;
  }

  /** The cache directory, made once per cache object (again when it was removed meanwhile: the lock's mkdir says so). */
  private made: Promise<unknown> | undefined;
  private ensureDir(): Promise<unknown> {
    this.made ??= mkdir(this.dir, { recursive: true, ...(this.private ? { mode: 0o700 } : {}) }).catch((err: unknown) => {
      this.made = undefined;
      throw err;
    });
    return this.made;
  }

  /** The cache directory's real path (links resolved), found once. */
  private real: Promise<string> | undefined;
  private realDir(): Promise<string> {
    this.real ??= realpath(this.dir).catch(() => {
      this.real = undefined;
      return this.dir;
    });
    return this.real;
  }

  /** Wait until no publish of this process is going on (a failed run ends before its other tasks finished caching). */
  async settle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  entryPath(key: string): string {
    return path.join(this.dir, key);
  }

  manifestPath(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  /** The manifest of `key` as it reads (not verified), or undefined when there is none of this version. */
  async readManifest(key: string): Promise<CacheManifest | undefined> {
    const m = await this.readRaw(key);
    return m && m.version === MANIFEST_VERSION && Array.isArray(m.files) ? m : undefined;
  }

  private async readRaw(key: string): Promise<CacheManifest | undefined> {
    const text = await readFile(this.manifestPath(key), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      const m = JSON.parse(text) as CacheManifest;
      return m !== null && typeof m === 'object' && m.key === key ? m : undefined;
    } catch {
      return undefined;
    }
  }

  /** The entry for `key` if it exists, is signed with this cache's key and is intact. */
  async lookup(key: string): Promise<LookupResult> {
    const manifest = await this.readRaw(key);
    const entry = this.entryPath(key);
    if (!manifest) {
      const st = await lstat(entry).catch(() => undefined);
      return st ? { miss: 'broken', reason: `${entry} has no manifest (its task was stopped while being cached)` } : { miss: 'absent' };
    }
    if (manifest.version !== MANIFEST_VERSION || manifest.mac === undefined) return { miss: 'unsigned', reason: `${entry} was cached before Strand signed its entries` };
    if (!this.signer.verify(manifest)) {
      return { miss: 'forged', reason: `${entry}: its manifest is not signed with this cache's key (changed by something other than Strand, or made with another key)` };
    }
    if (!Array.isArray(manifest.files) || !Array.isArray(manifest.dirs) || !Array.isArray(manifest.links)) return { miss: 'broken', reason: `${entry}: its manifest is incomplete` };
    const problem = await this.check(entry, manifest);
    if (problem) return { miss: 'broken', reason: problem };
    // Last use, for `strand cache clear --unused`: the manifest's time, not the entry's files.
    const now = new Date();
    await utimes(this.manifestPath(key), now, now).catch(() => undefined);
    return { hit: { entry, manifest } };
  }

  /** Why the entry does not match its manifest, or undefined when it does. */
  private async check(entry: string, m: CacheManifest): Promise<string | undefined> {
    let now: Walked;
    try {
      now = await walk(entry);
    } catch (err) {
      return `${entry} cannot be read: ${(err as Error).message}`;
    }
    const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    if (!same(now.dirs, [...m.dirs].sort())) return `${entry}: its directories changed`;
    if (!same(now.links.map((l) => `${l.path}\0${l.target}`), m.links.map((l) => `${l.path}\0${l.target}`).sort())) return `${entry}: its links changed`;
    if (!same(now.files.map((f) => f.path), m.files.map((f) => f.path).sort())) return `${entry}: files were added or removed`;
    const expected = new Map(m.files.map((f) => [f.path, f]));
    let problem: string | undefined;
    await forEachLimited(now.files, async (f) => {
      if (problem) return;
      const want = expected.get(f.path);
      if (!want || want.size !== f.size) {
        problem = `${path.join(entry, f.path)}: size ${f.size}, expected ${want?.size}`;
        return;
      }
      const d = await this.digester.digest(path.join(entry, f.path));
      if (d?.checksum !== want.checksum) problem = `${path.join(entry, f.path)}: checksum ${d?.checksum ?? 'unreadable'}, expected ${want.checksum}`;
    });
    return problem;
  }

  /**
   * Put a finished task's output directory into the cache under `key`. The directory is moved
   * when it can be (same file system), so the caller must then use the returned entry's paths.
   */
  async publish(req: PublishRequest): Promise<PublishResult> {
    // A stand-in for an object the tasks read in place (an InitialWorkDir copy left as it was) has
    // no bytes here: the entry keeps the object's (staging/stand-ins.ts). Links stay links (verbatim).
    await materializeUnder(req.outdir, false);
    const before = await walk(req.outdir);
    const outward = before.links.find((l) => leavesTree(l.path, l.target));
    if (outward) return { skipped: `its output directory links out of itself (${outward.path} -> ${outward.target})` };
    await this.ensureDir();
    // Two identical tasks (a scatter over equal items, two runs at once) may finish together: one
    // of them publishes; the other keeps its own directory. Without the lock the second saw the
    // first's entry before its manifest was written, took it for a broken leftover and removed it,
    // under the first task's outputs. Held from before the move, so that `strand cache clear`
    // leaves what a running task is caching alone (inventory.ts).
    const release = await this.lock(req.key);
    if (!release) return { skipped: 'another task is caching the same result' };
    const work = (async () => {
      try {
        return await this.publishHolding(req, before);
      } finally {
        await release();
      }
    })();
    this.inFlight.add(work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(work);
    }
  }

  private async publishHolding(req: PublishRequest, before: Awaited<ReturnType<typeof walk>>): Promise<PublishResult> {
    const pending = path.join(this.dir, `.pending-${req.key}-${randomBytes(4).toString('hex')}`);
    let moved = true;
    try {
      await rename(req.outdir, pending);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      moved = false;
      await cp(req.outdir, pending, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
    }
    const putBack = async () => {
      if (moved) await rename(pending, req.outdir);
      else await rm(pending, { recursive: true, force: true });
    };
    try {
      const files: CacheManifest['files'] = [];
      await forEachLimited(before.files, async (f) => {
        const known = req.known?.get(path.join(req.outdir, f.path));
        const checksum = known ?? (await this.digester.digest(path.join(pending, f.path)))?.checksum;
        if (checksum === undefined) throw new Error(`cannot read ${path.join(pending, f.path)}`);
        files.push({ path: f.path, size: f.size, checksum });
      });
      files.sort((a, b) => (a.path < b.path ? -1 : 1));
      const unsigned: Omit<CacheManifest, 'mac'> = {
        version: MANIFEST_VERSION,
        key: req.key,
        createdAt: new Date().toISOString(),
        exitCode: req.exitCode,
        ...(req.durationMs !== undefined ? { durationMs: req.durationMs } : {}),
        origin: req.origin,
        files,
        dirs: before.dirs,
        links: before.links,
        size: files.reduce((n, f) => n + f.size, 0),
        ...(req.keyText !== undefined && req.keyText.length <= 65536 ? { keyText: req.keyText } : {}),
      };
      const manifest: CacheManifest = { ...unsigned, mac: this.signer.sign(unsigned) };
      return await this.publishLocked(req, this.entryPath(req.key), pending, manifest, files, moved, putBack);
    } catch (err) {
      await putBack().catch(() => undefined);
      throw err;
    }
  }

  /** Held while one task publishes `key` (refreshed meanwhile); a stale one was left by a killed process. */
  private async lock(key: string): Promise<(() => Promise<void>) | undefined> {
    const lockDir = lockPath(this.dir, key);
    for (let tries = 0; tries < 2; tries++) {
      try {
        // Taken in one call (symlink fails with EEXIST when another holds it), dropped in one.
        await symlink(lockOwner(), lockDir);
        const refresh = setInterval(() => {
          const now = new Date();
          lutimes(lockDir, now, now).catch(() => undefined);
        }, LOCK_REFRESH_MS);
        refresh.unref();
        return async () => {
          clearInterval(refresh);
          await unlink(lockDir).catch(() => undefined);
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          // The cache directory went (strand cache clear --all meanwhile): make it again.
          this.made = undefined;
          await this.ensureDir();
          continue;
        }
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (await publishing(this.dir, key)) return undefined;
        await rm(lockDir, { recursive: true, force: true });
      }
    }
    return undefined;
  }

  private async publishLocked(
    req: PublishRequest,
    entry: string,
    pending: string,
    manifest: CacheManifest,
    files: CacheManifest['files'],
    moved: boolean,
    putBack: () => Promise<void>,
  ): Promise<PublishResult> {
    if (this.private) await chmod(pending, 0o700);
    // The usual case: nothing is there yet, and the move makes the entry. A directory is never
    // moved onto one that holds anything (ENOTEMPTY), so what is there is looked at only then.
    // An empty directory is replaced: an entry of no files, the same result as this one's.
    if (!(await moveUnlessTaken(pending, entry))) {
      const found = await this.lookup(req.key);
      if ('hit' in found) {
        // Another run cached the same task meanwhile: keep its entry, and this task's own directory.
        await putBack();
        return { skipped: 'another run cached the same task first' };
      }
      // A broken entry, or a leftover without a manifest (stopped while caching): Strand's own, replaced.
      const aside = path.join(this.dir, `.broken-${req.key}-${randomBytes(4).toString('hex')}`);
      await rename(entry, aside).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await rm(this.manifestPath(req.key), { force: true });
      await rm(aside, { recursive: true, force: true });
      await rename(pending, entry);
    }
    const tmp = `${this.manifestPath(req.key)}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(manifest), { mode: this.shared ? 0o640 : 0o600 });
    await rename(tmp, this.manifestPath(req.key));
    // The files' new paths, remembered with their checksums: the next lookup reads nothing again.
    // Entry directories are Strand's own (no links among them): under the cache's real path, each
    // file's path is its real path.
    const realEntry = path.join(await this.realDir(), req.key);
    await forEachLimited(files, (f) => this.digester.remember(path.join(realEntry, f.path), f.checksum, { real: true }));
    return { entry, moved, bytes: manifest.size };
  }
}

/** How a run uses the cache (RuntimeContext.cache): reuse entries (`read`), make them (`write`), or both. */
export interface TaskCacheUse {
  cache: TaskCache;
  read: boolean;
  write: boolean;
  /** Warnings already given about broken or forged entries (once per entry; `unsigned`: once per run). */
  warned?: Set<string>;
  /** Entries this run added, and their bytes (for the word at the end of the run). */
  added?: { entries: number; bytes: number };
}
