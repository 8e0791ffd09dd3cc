import { describe, expect, it } from 'vitest';
import { isNumberOfType, narrowSafeIntegers, parseJsonExact, stringifyJsonExact, toJsonForJavaScript } from './exact-json.js';
import { expandFormat, expandJobFormats } from './format-iri.js';

describe('exact JSON numbers', () => {
  it('reads integers beyond 2^53 as bigints and every other number as a number', () => {
    const v = parseJsonExact('{"big": 4200000000000000000000000000000000000000000, "neg": [-9007199254740993], "small": 42, "float": 4.2e+42, "s": "1e400"}');
    expect(v).toEqual({ big: 4200000000000000000000000000000000000000000n, neg: [-9007199254740993n], small: 42, float: 4.2e42, s: '1e400' });
    expect(parseJsonExact('[1, 2.5, "x"]')).toEqual([1, 2.5, 'x']);
    expect(() => parseJsonExact('{"a": ')).toThrow(SyntaxError);
  });
  it('writes bigints with every digit, and the rest as JSON.stringify does', () => {
    const v = { big: 4200000000000000000000000000000000000000000n, list: [1, -9007199254740993n], s: 'bigint:1' };
    expect(stringifyJsonExact(v)).toBe('{"big":4200000000000000000000000000000000000000000,"list":[1,-9007199254740993],"s":"bigint:1"}');
    expect(stringifyJsonExact(v, 2)).toBe(JSON.stringify({ big: 0, list: [1, 0], s: 'bigint:1' }, null, 2).replace('"big": 0', '"big": 4200000000000000000000000000000000000000000').replace('    0\n', '    -9007199254740993\n'));
    expect(stringifyJsonExact({ a: 1.5, b: null })).toBe('{"a":1.5,"b":null}');
  });
  it('round-trips', () => {
    const text = '{"a":[4200000000000000000000000000000000000000000,{"b":-1000000000000000000000000000000000000000000}],"c":2.3}';
    expect(stringifyJsonExact(parseJsonExact(text))).toBe(text);
  });
  it('narrows the bigints a number holds exactly', () => {
    expect(narrowSafeIntegers({ a: [1n, 9007199254740992n, 9007199254740991n] })).toEqual({ a: [1, 9007199254740992n, 9007199254740991] });
  });
  it('gives JavaScript expressions a bigint as its nearest number', () => {
    expect(JSON.parse(toJsonForJavaScript({ d: 4200000000000000000000000000000000000000000n }))).toEqual({ d: 4.2e42 });
  });
  it('takes a bigint as a long within 64 bits and as a float or double, never as an int', () => {
    expect(isNumberOfType('long', 9223372036854775807n)).toBe(true);
    expect(isNumberOfType('long', 9223372036854775808n)).toBe(false);
    expect(isNumberOfType('double', 4200000000000000000000000000000000000000000n)).toBe(true);
    expect(isNumberOfType('int', 9007199254740993n)).toBe(false);
    expect(isNumberOfType('int', 1.5)).toBe(false);
    expect(isNumberOfType('float', 1.5)).toBe(true);
  });
});

describe('format IRIs', () => {
  const ns = { edam: 'http://edamontology.org/' };
  it('expands a prefixed name with a known prefix, and leaves IRIs and unknown prefixes alone', () => {
    expect(expandFormat('edam:format_2330', ns)).toBe('http://edamontology.org/format_2330');
    expect(expandFormat('http://edamontology.org/format_2330', ns)).toBe('http://edamontology.org/format_2330');
    expect(expandFormat('other:x', ns)).toBe('other:x');
  });
  it("expands a job's File formats, nested ones too, by the job's $namespaces over the process's", () => {
    const job = { a: { class: 'File', location: 'file:///x', format: 'edam:format_1929' }, r: { f: [{ class: 'File', location: 'file:///y', format: 'edam:1' }] } };
    expect(expandJobFormats(job, ns)).toEqual({
      a: { class: 'File', location: 'file:///x', format: 'http://edamontology.org/format_1929' },
      r: { f: [{ class: 'File', location: 'file:///y', format: 'http://edamontology.org/1' }] },
    });
    expect(job.a.format).toBe('edam:format_1929');
    const own = { $namespaces: { edam: 'http://example.com/edam#' }, a: { class: 'File', location: 'file:///x', format: 'edam:1' } };
    expect((expandJobFormats(own, ns).a as { format: string }).format).toBe('http://example.com/edam#1');
  });
});
