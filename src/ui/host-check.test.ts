import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { hostMatcher, isLoopback, parseHostHeader } from './host-check.js';

describe('the Host check of the dashboard', () => {
  it('bound to loopback: loopback names and addresses only, with its port or none', () => {
    const ok = hostMatcher('127.0.0.1', 7878);
    for (const h of ['127.0.0.1:7878', '127.0.0.1', 'localhost:7878', 'LocalHost', '[::1]:7878', '[::1]', '127.9.8.7:7878']) expect([h, ok(h)]).toEqual([h, true]);
    for (const h of [
      '127.0.0.1.evil.example:7878',
      '127.0.0.1.evil.example',
      'localhost.evil.example:7878',
      'evil.example:7878',
      '127.0.0.1:7879',
      '127.0.0.1:',
      '127.0.0.1:7878:7878',
      '[::1',
      '[::1].evil:7878',
      '[127.0.0.1]:7878',
      '127.0.0.256:7878',
      '0x7f.0.0.1:7878',
      '',
      undefined,
    ]) {
      expect([h, ok(h)]).toEqual([h, false]);
    }
  });

  it('bound to one other address (--host): that address only', () => {
    const ok = hostMatcher('192.168.1.5', 9000);
    expect(ok('192.168.1.5:9000')).toBe(true);
    expect(ok('192.168.1.5')).toBe(true);
    for (const h of ['192.168.1.50:9000', '192.168.1.5:9001', 'localhost:9000', '127.0.0.1:9000', 'evil.example:9000', '192.168.1.5.evil.example:9000']) expect([h, ok(h)]).toEqual([h, false]);
    const v6 = hostMatcher('fd00::5', 9000);
    expect(v6('[fd00::5]:9000')).toBe(true);
    expect(v6('[fd00::6]:9000')).toBe(false);
  });

  it("bound to every address: loopback, the machine's own addresses and name, nothing else", () => {
    const ok = hostMatcher('0.0.0.0', 9000);
    expect(ok('127.0.0.1:9000')).toBe(true);
    expect(ok(`${os.hostname()}:9000`)).toBe(true);
    const own = Object.values(os.networkInterfaces()).flat().find((i) => i?.family === 'IPv4');
    if (own) expect(ok(`${own.address}:9000`)).toBe(true);
    expect(ok('evil.example:9000')).toBe(false);
    expect(ok('127.0.0.1.evil.example:9000')).toBe(false);
  });

  it('reads a Host header strictly', () => {
    expect(parseHostHeader('Example.org:80')).toEqual({ name: 'example.org', port: 80 });
    expect(parseHostHeader('[::1]')).toEqual({ name: '::1' });
    expect(parseHostHeader('a b')).toBeUndefined();
    expect(parseHostHeader('user@host')).toBeUndefined();
    expect(isLoopback('127.0.0.1.evil.example')).toBe(false);
  });
});
