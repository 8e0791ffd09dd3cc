import { describe, expect, it } from 'vitest';
import { bytesOfName, fsPath, hasRawBytes, locationOfRawPath, nameFromBytes, rawPathOfLocation, shownName } from './raw-names.js';
import { locationFromPath, pathFromLocation } from './paths.js';

const latin1 = Buffer.from('/data/caf\xe9.txt', 'latin1');

describe('raw names', () => {
  it('carries a byte that is not UTF-8 as an escape and gives the same bytes back', () => {
    const s = nameFromBytes(latin1);
    expect(s).toBe('/data/caf\udce9.txt');
    expect(hasRawBytes(s)).toBe(true);
    expect(bytesOfName(s)).toEqual(latin1);
    expect(fsPath(s)).toEqual(latin1);
    expect(shownName(s)).toBe('/data/caf\\xE9.txt');
  });

  it('leaves valid UTF-8 alone, whatever it holds (é, U+FFFD itself, an emoji)', () => {
    for (const s of ['/data/café.txt', '/data/\ufffd', '/data/\u{1f600}', '/plain']) {
      expect(nameFromBytes(Buffer.from(s, 'utf8'))).toBe(s);
      expect(fsPath(s)).toBe(s);
      expect(locationFromPath(s)).toBe(new URL(`file://${encodeURI(s)}`).href);
    }
  });

  it('escapes each byte of a broken sequence, keeping the valid ones around it (overlong, surrogate, truncated)', () => {
    for (const bytes of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff, 0x41, 0xc3, 0xa9, 0xf0, 0x9f]]) {
      const b = Buffer.from(bytes);
      expect(bytesOfName(nameFromBytes(b))).toEqual(b);
    }
    expect(nameFromBytes(Buffer.from([0xff, 0x41, 0xc3, 0xa9]))).toBe('\udcffAé');
  });

  it('percent-encodes the bytes in a location, and reads them back from one', () => {
    const s = nameFromBytes(latin1);
    expect(locationOfRawPath(s)).toBe('file:///data/caf%E9.txt');
    expect(locationFromPath(s)).toBe('file:///data/caf%E9.txt');
    expect(pathFromLocation('file:///data/caf%E9.txt')).toBe(s);
    expect(pathFromLocation('file:///data/caf%e9%20x.txt')).toBe('/data/caf\udce9 x.txt');
    expect(locationFromPath('/d/a b%\udce9')).toBe('file:///d/a%20b%25%E9');
  });

  it('leaves a location whose bytes are UTF-8, or that is not plain local, to the usual decoding', () => {
    expect(rawPathOfLocation('file:///data/caf%C3%A9.txt')).toBeUndefined();
    expect(pathFromLocation('file:///data/caf%C3%A9.txt')).toBe('/data/café.txt');
    expect(rawPathOfLocation('file://elsewhere/caf%E9.txt')).toBeUndefined();
    expect(rawPathOfLocation('file:///a%2Fb%E9')).toBeUndefined(); // fileURLToPath refuses an encoded /
    expect(() => pathFromLocation('file:///a%2Fb%E9')).toThrow();
  });
});
