import { describe, expect, it } from 'vitest';
import { editDistance, nearestName } from './nearest-name.js';

describe('editDistance', () => {
  it('counts a swap of two neighbours as one edit, and inserts, deletes and replaces as one each', () => {
    expect(editDistance('bed_flie', 'bed_file')).toBe(1);
    expect(editDistance('reads', 'read')).toBe(1);
    expect(editDistance('read', 'reads')).toBe(1);
    expect(editDistance('reads', 'roads')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('nearestName', () => {
  const inputs = ['bed_file', 'reads', 'threads', 'top'];
  it('gives the nearest input, case aside', () => {
    expect(nearestName('bed_flie', inputs)).toBe('bed_file');
    expect(nearestName('Top', inputs)).toBe('top');
    expect(nearestName('thread', inputs)).toBe('threads');
  });
  it('gives none when every name is far, or the edits would change half of a short name', () => {
    expect(nearestName('output_dir', inputs)).toBeUndefined();
    expect(nearestName('n', ['m'])).toBeUndefined();
    expect(nearestName('tip', ['top'])).toBe('top');
    expect(nearestName('ab', ['xy'])).toBeUndefined();
  });
});
