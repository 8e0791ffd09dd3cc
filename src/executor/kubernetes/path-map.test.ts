import { describe, expect, it } from 'vitest';
import { PathMap } from './path-map.js';

describe('PathMap.map', () => {
  const pm = new PathMap([
    { from: '/a/b', to: '/ws' },
    { from: '/a/b/staged/x.txt', to: '/ws/.strand-staged/123/x.txt' },
    { from: '/data/', to: '/mnt/data' },
  ]);

  it('replaces prefixes at path boundaries only', () => {
    expect(pm.map('/a/b')).toBe('/ws');
    expect(pm.map('/a/b/c')).toBe('/ws/c');
    expect(pm.map('/a/bc')).toBe('/a/bc');
    expect(pm.map('/a')).toBe('/a');
    expect(pm.map('/x/a/b')).toBe('/x/a/b');
  });

  it('prefers the longest prefix', () => {
    expect(pm.map('/a/b/staged/x.txt')).toBe('/ws/.strand-staged/123/x.txt');
    expect(pm.map('/a/b/staged/x.txt2')).toBe('/ws/staged/x.txt2');
  });

  it('ignores trailing slashes in pairs', () => {
    expect(pm.map('/data/ref.fa')).toBe('/mnt/data/ref.fa');
    expect(pm.map('/data')).toBe('/mnt/data');
  });

  it('handles root on either side', () => {
    expect(new PathMap([{ from: '/', to: '/host' }]).map('/etc/x')).toBe('/host/etc/x');
    expect(new PathMap([{ from: '/', to: '/host' }]).map('/')).toBe('/host');
    expect(new PathMap([{ from: '/chroot', to: '/' }]).map('/chroot/etc')).toBe('/etc');
    expect(new PathMap([{ from: '/chroot', to: '/' }]).map('/chroot')).toBe('/');
  });

  it('is an identity when every pair maps a path to itself', () => {
    expect(new PathMap([]).identity).toBe(true);
    expect(new PathMap([{ from: '/w', to: '/w/' }]).identity).toBe(true);
    expect(pm.identity).toBe(false);
    expect(new PathMap([]).map('/anything')).toBe('/anything');
  });
});

describe('PathMap.mapText', () => {
  const pm = new PathMap([
    { from: '/a/b', to: '/ws' },
    { from: '/a/b/keep', to: '/a/b/keep' },
  ]);

  it('maps paths inside arguments and env values', () => {
    expect(pm.mapText('--in=/a/b/x.txt')).toBe('--in=/ws/x.txt');
    expect(pm.mapText('A=/a/b:/a/b/y')).toBe('A=/ws:/ws/y');
    expect(pm.mapText('/a/b')).toBe('/ws');
    expect(pm.mapText('"/a/b/c d" \'/a/b\'')).toBe('"/ws/c d" \'/ws\'');
    expect(pm.mapText('x,/a/b/1,/a/b/2')).toBe('x,/ws/1,/ws/2');
  });

  it('respects path boundaries on both ends', () => {
    expect(pm.mapText('/a/bc')).toBe('/a/bc');
    expect(pm.mapText('/a/b.txt')).toBe('/a/b.txt');
    expect(pm.mapText('/a/b-2/x')).toBe('/a/b-2/x');
    expect(pm.mapText('/x/a/b/y')).toBe('/x/a/b/y');
    expect(pm.mapText('file:/a/b/y')).toBe('file:/ws/y');
    expect(pm.mapText('http://host/a/b')).toBe('http://host/a/b');
  });

  it('lets a longer identity pair shield its subtree, like map() does', () => {
    expect(pm.map('/a/b/keep/z')).toBe('/a/b/keep/z');
    expect(pm.mapText('--k=/a/b/keep/z')).toBe('--k=/a/b/keep/z');
    expect(pm.mapText('--k=/a/b/keeper')).toBe('--k=/ws/keeper');
  });

  it('escapes regular-expression characters in prefixes', () => {
    const odd = new PathMap([{ from: '/d+(1)', to: '/e' }]);
    expect(odd.mapText('x=/d+(1)/f')).toBe('x=/e/f');
    expect(odd.mapText('x=/dd(1)/f')).toBe('x=/dd(1)/f');
  });

  it('maps into the root without doubling slashes', () => {
    const root = new PathMap([{ from: '/chroot', to: '/' }]);
    expect(root.mapText('--x=/chroot/etc --y=/chroot')).toBe('--x=/etc --y=/');
  });

  it('returns text unchanged for an identity map', () => {
    expect(new PathMap([{ from: '/a', to: '/a' }]).mapText('/a/b')).toBe('/a/b');
  });
});
