/**
 * A member's namespace name, from their user name and the lab's template (`lab-{user}` by
 * default). Pure.
 *
 * The name is a DNS-1123 label (at most 63 characters of [a-z0-9-], beginning and ending with a
 * letter or digit), readable when the user name is simple (`alice` -> `lab-alice`), and different
 * for any two different user names, whoever chose them.
 *
 * How: the template's fixed prefix and suffix surround a *part* made from the user name.
 * - A *simple* user name, words of [a-z0-9] joined by single dashes (`alice`, `bob-2`), short
 *   enough to fit, is the part itself.
 * - Any other user name (`Alice`, `alice@example.org`, `system:serviceaccount:ns:name`, unicode,
 *   too long, empty words) gives `<readable>--<hash>`: lowercase ASCII words of the name, cut to
 *   fit, then a double dash, then 20 base32 characters (100 bits) of the SHA-256 of the exact user
 *   name (its UTF-8 bytes, before any lowercasing or normalising).
 *
 * Why no two user names share a namespace: prefix and suffix are the same for everyone, so two
 * names are equal only if their parts are. A simple part never contains `--`; a hashed part
 * always does. So a simple name never meets a hashed one: `alice--<alice's hash>`, crafted to look
 * like `Alice`'s part, is not simple (it has `--`) and gets a hash of its own, and `alice-<hash>`
 * (single dash) is simple and stays `lab-alice-<hash>`, not `lab-alice--<hash>`. Two simple parts
 * are equal only when the user names are. Two hashed parts are equal only if their last 20
 * characters, the truncated hashes, are: for a chosen victim that is a second preimage of 100 bits
 * of SHA-256 (about 2^100 tries), out of reach; the readable words play no part in this.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../../errors.js';

export const DEFAULT_NAMESPACE_TEMPLATE = 'lab-{user}';

const MAX_LABEL = 63;
const HASH_CHARS = 20;
/** `--` and the hash after the readable words of a hashed part. */
const HASH_TAIL = 2 + HASH_CHARS;
const SIMPLE = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const TEMPLATE_TEXT = /^[a-z0-9-]*$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 base32 in lowercase, without padding: only [a-z2-7], valid in a DNS label. */
function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** 20 base32 characters (100 bits) of the SHA-256 of the exact user name. */
export function userHash(user: string): string {
  return base32(createHash('sha256').update(user, 'utf8').digest()).slice(0, HASH_CHARS);
}

/** Lowercase ASCII words of a user name, for the readable part (`system:serviceaccount:` -> `sa-`). */
function readableWords(user: string): string {
  return user
    .replace(/^system:serviceaccount:/, 'sa:')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

interface Template {
  prefix: string;
  suffix: string;
}

/**
 * Checks a namespace template: exactly one `{user}`, the rest of [a-z0-9-], not beginning or ending
 * with `-`, and room for a hashed part. Throws a UsageError naming the problem.
 */
export function parseNamespaceTemplate(template: string): Template {
  const at = template.indexOf('{user}');
  if (at < 0 || template.indexOf('{user}', at + 1) >= 0) {
    throw new UsageError(`namespace template "${template}" must contain {user} exactly once (e.g. ${DEFAULT_NAMESPACE_TEMPLATE})`);
  }
  const prefix = template.slice(0, at);
  const suffix = template.slice(at + '{user}'.length);
  if (!TEMPLATE_TEXT.test(prefix) || !TEMPLATE_TEXT.test(suffix)) {
    throw new UsageError(`namespace template "${template}": outside {user} only lowercase letters, digits and '-' may appear (a namespace is a DNS label)`);
  }
  if (prefix.startsWith('-') || suffix.endsWith('-')) throw new UsageError(`namespace template "${template}" may not begin or end with '-'`);
  if (prefix.length + suffix.length + 1 + HASH_TAIL > MAX_LABEL) {
    throw new UsageError(`namespace template "${template}" is too long: a namespace has at most ${MAX_LABEL} characters, and {user} needs up to ${1 + HASH_TAIL}`);
  }
  return { prefix, suffix };
}

/** The part of the namespace name that comes from the user name (see the module comment). */
function userPart(user: string, room: number): string {
  if (SIMPLE.test(user) && user.length <= room) return user;
  const words = readableWords(user).slice(0, room - HASH_TAIL).replace(/-+$/, '');
  return `${words || 'u'}--${userHash(user)}`;
}

/** The namespace of user `user` under `template` (default `lab-{user}`). */
export function memberNamespaceName(user: string, template: string = DEFAULT_NAMESPACE_TEMPLATE): string {
  if (user === '') throw new UsageError('an empty user name has no namespace');
  const { prefix, suffix } = parseNamespaceTemplate(template);
  return prefix + userPart(user, MAX_LABEL - prefix.length - suffix.length) + suffix;
}
