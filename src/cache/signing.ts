/**
 * Cache entries are signed: an HMAC-SHA256, with a key only Strand holds, over the whole manifest
 * (the cache key, exit code, origin, and every output file's relative path, size and checksum,
 * every directory and link). A task can write the cache directory (on a cluster it sits on the
 * shared workspace) but not the key, so it cannot make an entry that a run will reuse: an entry
 * whose signature does not verify is never used.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './key.js';

export class CacheSigner {
  /**
   * @param key    the secret (at least 16 bytes)
   * @param source where it came from, for messages (`/home/ann/.strand/cache.key`, or `a key of this run only`)
   */
  constructor(
    private readonly key: Buffer,
    readonly source: string,
  ) {
    if (key.length < 16) throw new Error(`the task cache key from ${source} is too short (${key.length} bytes, at least 16)`);
  }

  /** A key that lives as long as this process: entries it signs are reused by this run only. */
  static ephemeral(): CacheSigner {
    return new CacheSigner(randomBytes(32), 'a key of this run only');
  }

  /** Hex HMAC of the manifest without its `mac` field. */
  sign(manifest: object): string {
    const { mac: _ignored, ...rest } = manifest as { mac?: unknown };
    return createHmac('sha256', this.key).update(canonicalJson(rest)).digest('hex');
  }

  /** Whether the manifest carries the signature this key gives it (compared in constant time). */
  verify(manifest: object): boolean {
    const mac = (manifest as { mac?: unknown }).mac;
    if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return false;
    return timingSafeEqual(Buffer.from(mac, 'hex'), Buffer.from(this.sign(manifest), 'hex'));
  }
}
