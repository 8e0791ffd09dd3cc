/**
 * Checksums of files, computed once and remembered by path and identity (device, inode, size,
 * modification and change times, in nanoseconds): a big input is hashed again only when it changed.
 * Any write to a file changes its ctime, which no user tool can set back, so a remembered checksum
 * whose identity still matches is the file's checksum.
 *
 * Remote objects (`s3://…`, `http(s)://…`) have no inode: a provider registered for their scheme
 * gives an identity (ETag and size) that stands in for the checksum.
 */
import { realpath, stat } from 'node:fs/promises';
import { sha1File } from '../staging/paths.js';
import { standInAt } from '../staging/stand-ins.js';

export interface RememberedDigest {
  path: string;
  identity: string;
  checksum: string;
  size: number;
}

/** Where remembered checksums live: the run store (file_digests), or memory when there is none. */
export interface DigestMemo {
  fileDigest(path: string): RememberedDigest | undefined;
  rememberFileDigest(d: RememberedDigest): void;
}

export interface FileDigest {
  checksum: string;
  size: number;
}

/** Identity of a remote object: what its store says about it (e.g. S3's ETag and size). */
export type RemoteIdentity = (location: string) => Promise<{ etag: string; size: number }>;

const remoteProviders = new Map<string, RemoteIdentity>();

/** Register how objects of a URL scheme (`s3`, `https`) are identified for the task cache. */
export function registerRemoteIdentity(scheme: string, provider: RemoteIdentity): void {
  remoteProviders.set(scheme.toLowerCase(), provider);
}

/** The scheme of a location that is not a local path or file: URI, else undefined. */
export function remoteScheme(location: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(location);
  if (!m || m[1]?.toLowerCase() === 'file') return undefined;
  return m[1]?.toLowerCase();
}

export class MemoryDigestMemo implements DigestMemo {
  private readonly byPath = new Map<string, RememberedDigest>();
  fileDigest(p: string): RememberedDigest | undefined {
    return this.byPath.get(p);
  }
  rememberFileDigest(d: RememberedDigest): void {
    this.byPath.set(d.path, d);
  }
}

/** `dev:ino:size:mtimeNs:ctimeNs` of a file (following links), or undefined when it is not a regular file. */
export async function fileIdentity(p: string): Promise<{ identity: string; size: number } | undefined> {
  const st = await stat(p, { bigint: true }).catch(() => undefined);
  if (!st || !st.isFile()) return undefined;
  return { identity: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`, size: Number(st.size) };
}

export class FileDigester {
  /** Files hashed (not found in the memo) since this digester was made. */
  hashed = 0;
  private readonly inFlight = new Map<string, Promise<FileDigest | undefined>>();

  constructor(private readonly memo: DigestMemo = new MemoryDigestMemo()) {}

  /** sha1 checksum and size of the file at `p` (links followed); undefined when it is not a readable regular file. */
  digest(p: string): Promise<FileDigest | undefined> {
    let d = this.inFlight.get(p);
    if (!d) {
      d = this.compute(p).finally(() => this.inFlight.delete(p));
      this.inFlight.set(p, d);
    }
    return d;
  }

  /**
   * Remember a checksum computed elsewhere (e.g. while collecting outputs) for the file now at `p`;
   * `real`: the caller knows `p` is its real path (no link on the way).
   */
  async remember(p: string, checksum: string, opts: { real?: boolean } = {}): Promise<void> {
    const real = opts.real ? p : await realpath(p).catch(() => undefined);
    const id = real ? await fileIdentity(real) : undefined;
    if (real && id) this.memo.rememberFileDigest({ path: real, identity: id.identity, checksum, size: id.size });
  }

  /** Identity of a remote object through its scheme's provider; undefined when no provider knows the scheme. */
  async remote(location: string): Promise<FileDigest | undefined> {
    const scheme = remoteScheme(location);
    const provider = scheme ? remoteProviders.get(scheme) : undefined;
    if (!provider) return undefined;
    const { etag, size } = await provider(location);
    return { checksum: `etag$${etag}`, size };
  }

  private async compute(p: string): Promise<FileDigest | undefined> {
    const real = await realpath(p).catch(() => undefined);
    if (!real) return undefined;
    // An object the tasks read in place (staging/stand-ins.ts): its identity is the store's, as for a remote location.
    const standIn = standInAt(real);
    if (standIn) return { checksum: `etag$${standIn.etag}`, size: standIn.size };
    const before = await fileIdentity(real);
    if (!before) return undefined;
    const known = this.memo.fileDigest(real);
    if (known && known.identity === before.identity) return { checksum: known.checksum, size: known.size };
    const checksum = await sha1File(real, before.size).catch(() => undefined);
    if (checksum === undefined) return undefined;
    this.hashed++;
    // Changed while being read: the checksum may be of neither version; do not remember it.
    const after = await fileIdentity(real);
    if (after?.identity === before.identity) this.memo.rememberFileDigest({ path: real, identity: before.identity, checksum, size: before.size });
    return { checksum, size: before.size };
  }
}
