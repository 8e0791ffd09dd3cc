import { describe, expect, it } from 'vitest';
import { cacheKeyOf, canonicalJson, PathNormalizer, type KeyMaterial } from './key.js';

const base: KeyMaterial = {
  argv: ['wc', '-l', '$INPUTS/stg1/a.txt'],
  env: { PATH: '/usr/bin', HOME: '$OUTDIR' },
  networkAccess: false,
  inputs: [{ name: '$INPUTS/stg1/a.txt', checksum: 'sha1$aa', size: 3 }],
  workDir: [],
  requirements: [],
};

describe('cacheKeyOf', () => {
  it('is the same for the same material, whatever the order of inputs and env keys', () => {
    const a = cacheKeyOf(base);
    const b = cacheKeyOf({
      ...base,
      env: { HOME: '$OUTDIR', PATH: '/usr/bin' },
      inputs: [{ name: '$INPUTS/stg2/b', checksum: 'sha1$bb', size: 1 }, ...base.inputs],
    });
    const c = cacheKeyOf({ ...base, inputs: [...base.inputs, { name: '$INPUTS/stg2/b', checksum: 'sha1$bb', size: 1 }] });
    expect(a.key).toMatch(/^[0-9a-f]{40}$/);
    expect(b.key).toBe(c.key);
    expect(cacheKeyOf({ ...base, env: { HOME: '$OUTDIR', PATH: '/usr/bin' } }).key).toBe(a.key);
  });

  it('changes with each part that changes a result', () => {
    const k = cacheKeyOf(base).key;
    const variants: Partial<KeyMaterial>[] = [
      { argv: ['wc', '-c', '$INPUTS/stg1/a.txt'] },
      { env: { ...base.env, LC_ALL: 'C' } },
      { inputs: [{ name: '$INPUTS/stg1/a.txt', checksum: 'sha1$ab', size: 3 }] },
      { image: 'debian:stable-slim' },
      { stdout: 'out.txt' },
      { networkAccess: true },
      { workDir: [{ path: 'script.sh', kind: 'file', value: 'sha1$cc' }] },
      { requirements: [{ class: 'SoftwareRequirement', packages: [{ package: 'bwa', version: ['0.7'] }] }] },
    ];
    const keys = variants.map((v) => cacheKeyOf({ ...base, ...v }).key);
    for (const other of keys) expect(other).not.toBe(k);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined fields', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"e":1,"f":2}]},"b":1}');
  });
});

describe('PathNormalizer', () => {
  const n = new PathNormalizer([
    ['/tmp/strand-ab/main-1-xyz', '$OUTDIR'],
    ['/tmp/strand-ab/main-1-xyz-inputs', '$INPUTS'],
    ['/data/a.txt', '$IN{sha1$aa}/a.txt'],
  ]);
  it('replaces the longest prefix at path boundaries only', () => {
    expect(n.normalize('/tmp/strand-ab/main-1-xyz-inputs/stg1/a')).toBe('$INPUTS/stg1/a');
    expect(n.normalize('--out=/tmp/strand-ab/main-1-xyz/o.txt')).toBe('--out=$OUTDIR/o.txt');
    expect(n.normalize('/tmp/strand-ab/main-1-xyzw')).toBe('/tmp/strand-ab/main-1-xyzw');
    expect(n.normalize('cat /data/a.txt /data/a.txt2 x/data/a.txt')).toBe('cat $IN{sha1$aa}/a.txt /data/a.txt2 x/data/a.txt');
    expect(n.normalize('no paths here')).toBe('no paths here');
  });
});
