import { describe, expect, it } from 'vitest';
import { formatNumber, shellQuote, valueToString } from './value-format.js';

describe('formatNumber', () => {
  it('never uses scientific notation', () => {
    expect(formatNumber(0.00001)).toBe('0.00001');
    expect(formatNumber(1e-7)).toBe('0.0000001');
    expect(formatNumber(1.5e-9)).toBe('0.0000000015');
    expect(formatNumber(1e42)).toBe('1' + '0'.repeat(42));
    expect(formatNumber(-1.25e22)).toBe('-125' + '0'.repeat(20));
    expect(formatNumber(3)).toBe('3');
    expect(formatNumber(-4.5)).toBe('-4.5');
  });
});

describe('shellQuote', () => {
  it('quotes like shlex.quote', () => {
    expect(shellQuote('abc-1.txt')).toBe('abc-1.txt');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("a'b")).toBe(`'a'"'"'b'`);
    expect(shellQuote('$HOME')).toBe("'$HOME'");
  });
});

describe('valueToString', () => {
  it('renders files by path and booleans like the reference runner', () => {
    expect(valueToString({ class: 'File', path: '/x/y' })).toBe('/x/y');
    expect(valueToString(true)).toBe('True');
    expect(valueToString(2.5)).toBe('2.5');
  });
});
