import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../errors.js';
import { memberNamespaceName, parseNamespaceTemplate, userHash } from './namespace-name.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const valid = (ns: string) => ns.length <= 63 && DNS_LABEL.test(ns);

describe('memberNamespaceName', () => {
  it('keeps simple user names readable', () => {
    expect(memberNamespaceName('alice')).toBe('lab-alice');
    expect(memberNamespaceName('bob-2')).toBe('lab-bob-2');
    expect(memberNamespaceName('alice', '{user}-runs')).toBe('alice-runs');
    expect(memberNamespaceName('alice', '{user}')).toBe('alice');
  });

  it('gives user names that are not DNS labels their words and a hash of the exact name', () => {
    const cases = ['Alice', 'alice@example.org', 'Alice@Example.org', 'system:serviceaccount:lab:ci-bot', 'José', '用户', '-alice', 'alice-', 'a--b', 'x'.repeat(300), ' alice', 'alice\n', ''.padEnd(59, 'a')];
    for (const user of cases) {
      const ns = memberNamespaceName(user);
      expect(valid(ns), `${JSON.stringify(user)} -> ${ns}`).toBe(true);
    }
    expect(memberNamespaceName('Alice')).toBe(`lab-alice--${userHash('Alice')}`);
    expect(memberNamespaceName('alice@example.org')).toBe(`lab-alice-example-org--${userHash('alice@example.org')}`);
    expect(memberNamespaceName('system:serviceaccount:lab:ci-bot')).toBe(`lab-sa-lab-ci-bot--${userHash('system:serviceaccount:lab:ci-bot')}`);
    expect(memberNamespaceName('José')).toBe(`lab-jose--${userHash('José')}`);
    expect(memberNamespaceName('用户')).toBe(`lab-u--${userHash('用户')}`);
    // Exactly 63 characters fit; one more gets a hash.
    expect(memberNamespaceName('a'.repeat(59))).toBe(`lab-${'a'.repeat(59)}`);
    expect(memberNamespaceName('a'.repeat(60))).toMatch(/^lab-a+--[a-z2-7]{20}$/);
    expect(memberNamespaceName('a'.repeat(60))).toHaveLength(63);
  });

  it('the hash is 100 bits of the SHA-256 of the exact user name, in base32', () => {
    const h = userHash('Alice');
    expect(h).toMatch(/^[a-z2-7]{20}$/);
    // Decode the base32 back to the first 100 bits and compare with the digest.
    const bits = [...h].map((c) => 'abcdefghijklmnopqrstuvwxyz234567'.indexOf(c).toString(2).padStart(5, '0')).join('');
    const digestBits = [...createHash('sha256').update('Alice').digest()].map((b) => b.toString(2).padStart(8, '0')).join('');
    expect(bits).toBe(digestBits.slice(0, 100));
    // NFC and NFD spellings are different user names to Kubernetes, so different namespaces.
    expect(memberNamespaceName('Jos\u00e9')).not.toBe(memberNamespaceName('Jose\u0301'));
  });

  it('never gives two different user names one namespace, crafted ones included', () => {
    const victims = ['Alice', 'alice@example.org', 'system:serviceaccount:lab:ci-bot', 'x'.repeat(100)];
    const users = new Set<string>(['alice', 'ALICE', 'alice.', 'alice_', 'alice-example-org', 'alice@example.org ', 'Alice@example.org', ...victims]);
    for (const v of victims) {
      const theirs = memberNamespaceName(v);
      const part = theirs.slice('lab-'.length);
      // Someone who signs in as the victim's part, or the part with a single dash, or the
      // namespace itself, or with the hash changed in case.
      users.add(part);
      users.add(part.replace('--', '-'));
      users.add(theirs);
      users.add(part.toUpperCase());
      users.add(part.replace(/--[a-z2-7]{20}$/, '--' + userHash(part)));
      for (const u of users) {
        if (u === v) continue;
        expect(memberNamespaceName(u), `${JSON.stringify(u)} vs ${JSON.stringify(v)}`).not.toBe(theirs);
      }
    }
    // And pairwise, over many generated names: injective.
    const seen = new Map<string, string>();
    const gen: string[] = [...users];
    for (let i = 0; i < 2000; i++) gen.push(`u${i}`, `U${i}`, `u-${i}`, `u--${i}`, `u.${i}`, `${'w'.repeat(i % 70)}${i}`);
    for (const u of gen) {
      const ns = memberNamespaceName(u);
      expect(valid(ns), ns).toBe(true);
      const before = seen.get(ns);
      if (before !== undefined) expect(before, ns).toBe(u);
      seen.set(ns, u);
    }
  });

  it('refuses templates that cannot make DNS labels, and empty user names', () => {
    expect(parseNamespaceTemplate('lab-{user}')).toEqual({ prefix: 'lab-', suffix: '' });
    for (const t of ['lab', '{user}-{user}', 'Lab-{user}', 'lab_{user}', '-{user}', '{user}-', 'x'.repeat(41) + '{user}']) {
      expect(() => memberNamespaceName('alice', t), t).toThrow(UsageError);
    }
    expect(() => memberNamespaceName('')).toThrow(UsageError);
    // The longest allowed template still leaves room for a hashed part.
    const longest = 'x'.repeat(40) + '{user}';
    expect(valid(memberNamespaceName('Someone@Example.org', longest))).toBe(true);
  });
});
