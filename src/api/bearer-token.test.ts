import { describe, expect, it } from 'vitest';
import { bearerToken, newToken, tokenMatches } from './bearer-token.js';

describe('bearer tokens', () => {
  it('reads exactly `Bearer <token>`, the scheme in any case', () => {
    const t = newToken();
    expect(bearerToken(`Bearer ${t}`)).toBe(t);
    expect(bearerToken(`bEaReR ${t}`)).toBe(t);
    expect(bearerToken('Bearer eyJhbGciOi.J9eyJzdWIi.Ok-_~+/==')).toBe('eyJhbGciOi.J9eyJzdWIi.Ok-_~+/==');
    for (const h of [undefined, '', 'Bearer', 'Bearer ', `Basic ${t}`, `Bearer ${t} ${t}`, `Bearer\t${t}`, `Bearer "${t}"`, `Bearer ${t}=x`, ` Bearer ${t}`]) {
      expect(bearerToken(h), String(h)).toBeUndefined();
    }
  });

  it('compares tokens of any length without throwing', () => {
    const t = newToken();
    expect(tokenMatches(t, t)).toBe(true);
    expect(tokenMatches(`${t}x`, t)).toBe(false);
    expect(tokenMatches('', t)).toBe(false);
    expect(tokenMatches(undefined, t)).toBe(false);
  });
});
