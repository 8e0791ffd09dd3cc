import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareValues } from './compare.js';
import { resolveImports } from './suite.js';

describe('conformance output comparison', () => {
  const file = { class: 'File', location: 'file:///tmp/x/out.txt', basename: 'out.txt', size: 3, checksum: 'sha1$abc', path: '/tmp/x/out.txt' };
  it('matches File objects on the given fields and location suffix', () => {
    expect(compareValues({ f: { class: 'File', location: 'out.txt', size: 3, checksum: 'sha1$abc' } }, { f: file })).toBeUndefined();
    expect(compareValues({ f: { class: 'File', location: 'other.txt' } }, { f: file })).toMatch(/location/);
    expect(compareValues({ f: { class: 'File', checksum: 'sha1$def' } }, { f: file })).toMatch(/checksum/);
    expect(compareValues({ f: { class: 'File', size: 4 } }, { f: file })).toMatch(/size/);
  });
  it('treats "Any" as a wildcard', () => {
    expect(compareValues({ a: 'Any' }, { a: [1, 2] })).toBeUndefined();
    expect(compareValues({ f: { class: 'File', location: 'Any', size: 3 } }, { f: file })).toBeUndefined();
  });
  it('fails on missing and unexpected keys, but not on unexpected nulls', () => {
    expect(compareValues({ a: 1, b: 2 }, { a: 1 })).toMatch(/\.b/);
    expect(compareValues({ a: 1 }, { a: 1, b: 2 })).toMatch(/not expected/);
    expect(compareValues({ a: 1 }, { a: 1, b: null })).toBeUndefined();
  });
  it('compares directory listings regardless of order', () => {
    const dir = { class: 'Directory', basename: 'd', listing: [{ class: 'File', basename: 'b' }, { class: 'File', basename: 'a' }] };
    expect(compareValues({ class: 'Directory', listing: [{ class: 'File', basename: 'a' }, { class: 'File', basename: 'b' }] }, dir)).toBeUndefined();
    expect(compareValues({ class: 'Directory', listing: [{ class: 'File', basename: 'c' }, { class: 'File', basename: 'b' }] }, dir)).toMatch(/no match/);
  });
  it('compares arrays in order and scalars exactly', () => {
    expect(compareValues([1, 2], [2, 1])).toMatch(/\[0\]/);
    expect(compareValues('a', 'b')).toMatch(/expected "a"/);
    expect(compareValues(1.5, 1.5)).toBeUndefined();
  });
});

describe('expected outputs by $import', () => {
  it('reads the imported file relative to the index', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'strand-suite-'));
    try {
      writeFileSync(path.join(dir, 'expected.json'), '{"filelist": ["a", "b"]}');
      expect(resolveImports({ $import: 'expected.json' }, dir)).toEqual({ filelist: ['a', 'b'] });
      expect(resolveImports({ x: [{ $import: 'expected.json' }], y: 1 }, dir)).toEqual({ x: [{ filelist: ['a', 'b'] }], y: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
