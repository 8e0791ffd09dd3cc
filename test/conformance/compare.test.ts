import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { compareValues, parseExactJson } from './compare.js';
import { readSuite, resolveImports } from './suite.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-compare-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A real output file (cwltest reads it) and the File object a runner would print for it. */
function outFile(name: string, text: string, extra: Record<string, unknown> = {}) {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return { class: 'File', location: pathToFileURL(p).href, path: p, basename: name, size: Buffer.byteLength(text), ...extra };
}
const SHA_ABC = 'sha1$a9993e364706816aba3e25717850c26c9cd0d89d'; // sha1("abc")

describe('conformance output comparison (cwltest rules)', () => {
  it('matches File objects on location suffix, size and checksum, read from disk', () => {
    const f = outFile('out.txt', 'abc', { checksum: SHA_ABC });
    expect(compareValues({ f: { class: 'File', location: 'out.txt', size: 3, checksum: SHA_ABC } }, { f }, dir)).toBeUndefined();
    expect(compareValues({ f: { class: 'File', location: 'other.txt' } }, { f }, dir)).toMatch(/does not end with other.txt/);
    expect(compareValues({ f: { class: 'File', checksum: 'sha1$def' } }, { f }, dir)).toMatch(/checksum/);
    expect(compareValues({ f: { class: 'File', size: 4 } }, { f }, dir)).toMatch(/size/);
  });
  it('fails a File whose declared checksum or size is not the file on disk, or that does not exist', () => {
    const f = outFile('out.txt', 'abc');
    expect(compareValues({ class: 'File', location: 'out.txt' }, { ...f, checksum: 'sha1$0000' }, dir)).toMatch(/declared checksum/);
    expect(compareValues({ class: 'File', location: 'out.txt' }, { ...f, size: 5 }, dir)).toMatch(/declared size/);
    const gone = { ...f, location: pathToFileURL(path.join(dir, 'gone.txt')).href, path: path.join(dir, 'gone.txt') };
    expect(compareValues({ class: 'File', location: 'gone.txt' }, gone, dir)).toMatch(/does not exist/);
  });
  it('compares every other key of an expected File, format included (a prefixed name is not the IRI)', () => {
    const f = outFile('out.txt', 'abc', { format: 'edam:format_2330' });
    const expected = { class: 'File', location: 'out.txt', format: 'http://edamontology.org/format_2330' };
    expect(compareValues(expected, f, dir)).toMatch(/\.format/);
    expect(compareValues(expected, { ...f, format: 'http://edamontology.org/format_2330' }, dir)).toBeUndefined();
    expect(compareValues({ ...expected, nameroot: 'out' }, { ...f, format: expected.format }, dir)).toMatch(/nameroot/);
  });
  it('compares secondaryFiles in order, as any other array', () => {
    const a = outFile('a.txt', 'a');
    const b = outFile('b.txt', 'b');
    const main = outFile('m.txt', 'm', { secondaryFiles: [b, a] });
    const want = { class: 'File', location: 'm.txt', secondaryFiles: [{ class: 'File', basename: 'a.txt' }, { class: 'File', basename: 'b.txt' }] };
    expect(compareValues(want, main, dir)).toMatch(/secondaryFiles\[0\]/);
    expect(compareValues(want, { ...main, secondaryFiles: [a, b] }, dir)).toBeUndefined();
  });
  it("finds each expected listing entry somewhere in a Directory's listing", () => {
    mkdirSync(path.join(dir, 'd'));
    const a = outFile('d/a', 'a', { basename: 'a' });
    const b = outFile('d/b', 'b', { basename: 'b' });
    const d = { class: 'Directory', location: pathToFileURL(path.join(dir, 'd')).href, basename: 'd', listing: [b, a] };
    expect(compareValues({ class: 'Directory', basename: 'd', listing: [{ class: 'File', basename: 'a' }] }, d, dir)).toBeUndefined();
    expect(compareValues({ class: 'Directory', listing: [{ class: 'File', basename: 'c' }] }, d, dir)).toMatch(/listing entry not found/);
    expect(compareValues({ class: 'Directory', listing: [] }, { class: 'Directory', location: d.location }, dir)).toMatch(/no 'listing'/);
  });
  it('treats "Any" as a wildcard', () => {
    const f = outFile('out.txt', 'abc');
    expect(compareValues({ a: 'Any' }, { a: [1, 2] }, dir)).toBeUndefined();
    expect(compareValues({ f: { class: 'File', location: 'Any', size: 3 } }, { f }, dir)).toBeUndefined();
  });
  it('fails on missing and unexpected keys, but not on unexpected nulls', () => {
    expect(compareValues({ a: 1, b: 2 }, { a: 1 }, dir)).toMatch(/\.b/);
    expect(compareValues({ a: 1 }, { a: 1, b: 2 }, dir)).toMatch(/not expected/);
    expect(compareValues({ a: 1 }, { a: 1, b: null }, dir)).toBeUndefined();
  });
  it('compares arrays in order and scalars as Python does', () => {
    expect(compareValues([1, 2], [2, 1], dir)).toMatch(/\[0\]/);
    expect(compareValues('a', 'b', dir)).toMatch(/values differ/);
    expect(compareValues(1.5, 1.5, dir)).toBeUndefined();
    expect(compareValues(1n, 1.0, dir)).toBeUndefined();
    expect(compareValues(1.000000001, 1, dir)).toMatch(/values differ/);
  });
  it('compares numbers exactly: a big integer in the index is not its float in the output', () => {
    // The index as the suite writes it, read the way the runner reads it.
    writeFileSync(path.join(dir, 'index.yaml'), '- id: big\n  tool: t.cwl\n  output:\n    fifth: 4200000000000000000000000000000000000000000\n    fourth: 4242424242\n');
    const [t] = readSuite(path.join(dir, 'index.yaml'));
    const exact = parseExactJson('{"fifth": 4200000000000000000000000000000000000000000, "fourth": 4242424242}');
    const float = parseExactJson('{"fifth": 4.2e+42, "fourth": 4242424242}');
    expect(compareValues(t?.output, exact, dir)).toBeUndefined();
    expect(compareValues(t?.output, float, dir)).toMatch(/fifth/);
  });
});

describe('the suite as cwltest reads it', () => {
  it("gives each test's tool and job relative to the suite's root, wherever its sub-index is", () => {
    mkdirSync(path.join(dir, 'tests', 'iwd'), { recursive: true });
    writeFileSync(path.join(dir, 'index.yaml'), '- $import: tests/iwd/sub.yaml\n');
    writeFileSync(path.join(dir, 'tests', 'iwd', 'sub.yaml'), '- id: x\n  tool: iwd-x.cwl\n  job: ../empty.json\n  output: {}\n- id: y\n  tool: "wf.cwl#main"\n  output: {}\n');
    const [x, y] = readSuite(path.join(dir, 'index.yaml'));
    expect(x).toMatchObject({ root: dir, toolArg: 'tests/iwd/iwd-x.cwl', jobArg: 'tests/empty.json' });
    expect(y).toMatchObject({ root: dir, toolArg: 'tests/iwd/wf.cwl#main' });
    expect(y?.jobArg).toBeUndefined();
  });
});

describe('expected outputs by $import', () => {
  it('reads the imported file relative to the index', () => {
    writeFileSync(path.join(dir, 'expected.json'), '{"filelist": ["a", "b"]}');
    expect(resolveImports({ $import: 'expected.json' }, dir)).toEqual({ filelist: ['a', 'b'] });
    expect(resolveImports({ x: [{ $import: 'expected.json' }], y: 1 }, dir)).toEqual({ x: [{ filelist: ['a', 'b'] }], y: 1 });
  });
});
