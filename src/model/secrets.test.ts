import { describe, expect, it } from 'vitest';
import { SecretMask, isSecretPlaceholder, secretInputNames, secretsProblems, SECRETS_CLASS } from './secrets.js';
import type { InputParameter } from './types.js';

describe('SecretMask', () => {
  it('replaces every occurrence in strings, arrays, plain objects and keys; keeps other values and Dates', () => {
    const m = new SecretMask();
    m.add('pw', 'hunter2');
    const at = new Date(0);
    const v = { argv: ['tool', '--password=hunter2', 'x'], env: { hunter2: 'a hunter2 b hunter2' }, at, n: 3 };
    const out = m.mask(v);
    expect(out).toEqual({ argv: ['tool', '--password=(secret-pw)', 'x'], env: { '(secret-pw)': 'a (secret-pw) b (secret-pw)' }, at, n: 3 });
    expect(out.at).toBe(at);
    expect(v.argv[1]).toBe('--password=hunter2'); // not changed in place
  });

  it('replaces the longer of two overlapping secrets whole', () => {
    const m = new SecretMask();
    m.add('short', 'abc');
    m.add('long', 'abcdef');
    expect(m.maskText('x abcdef y abc')).toBe('x (secret-long) y (secret-short)');
  });

  it('ignores empty strings and nulls, and refuses a non-string secret', () => {
    const m = new SecretMask();
    expect(m.addInputs(['a', 'b'], { a: '', b: null })).toBeUndefined();
    expect(m.size).toBe(0);
    expect(m.maskText('anything')).toBe('anything');
    expect(m.addInputs(['n'], { n: 3 })).toMatch(/must be a string/);
  });

  it('masks the value as JSON, a single-quoted shell word and a Kubernetes manifest write it', () => {
    const m = new SecretMask();
    const value = `it's "$(x)"`;
    m.add('pw', value);
    const shell = `'${value.replace(/'/g, `'\\''`)}'`;
    expect(m.maskText(`sh -c ${shell}`)).toBe(`sh -c '(secret-pw)'`);
    expect(m.maskText(JSON.stringify({ a: value }))).toBe('{"a":"(secret-pw)"}');
    expect(m.maskText(`- it's "$$(x)"`)).toBe('- (secret-pw)');
  });

  it('takes a custom replacement (the cache key uses a digest)', () => {
    const m = new SecretMask();
    m.add('pw', 's3');
    expect(m.maskText('a s3', (name, value) => `<${name}:${value.length}>`)).toBe('a <pw:2>');
  });
});

describe('Secrets hints', () => {
  const inputs = [
    { id: 'pw', type: 'string' },
    { id: 'opt', type: ['null', 'string'] },
    { id: 'n', type: 'int' },
  ] as InputParameter[];

  it('names short input names from hints and requirements', () => {
    const eff = { requirements: [{ class: SECRETS_CLASS, secrets: ['#main/pw'] }], hints: [{ class: 'cwltool:Secrets', secrets: ['opt'] }] };
    expect(secretInputNames(eff).sort()).toEqual(['opt', 'pw']);
  });

  it('accepts string and optional string inputs, and says what is wrong otherwise', () => {
    expect(secretsProblems([{ class: SECRETS_CLASS, secrets: ['pw', 'opt'] }], inputs)).toEqual([]);
    expect(secretsProblems([{ class: SECRETS_CLASS, secrets: ['n', 'nope'] }], inputs)).toEqual([
      'cwltool:Secrets: input "n" must be of type string (secrets are strings)',
      'cwltool:Secrets names "nope", which is not an input of this process',
    ]);
    expect(secretsProblems([{ class: SECRETS_CLASS, secrets: 'pw' }], inputs)).toHaveLength(1);
  });

  it('recognises the placeholder', () => {
    expect(isSecretPlaceholder('(secret-pw)')).toBe(true);
    expect(isSecretPlaceholder('x (secret-pw)')).toBe(false);
  });
});
