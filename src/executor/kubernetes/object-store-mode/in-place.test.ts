import { describe, expect, it } from 'vitest';
import { readsInPlace } from './in-place.js';

describe('which s3:// inputs the pods read in place', () => {
  it('objects in the run\'s bucket only: the pods\' credentials are for that bucket, not for others', () => {
    const s = { bucket: 'lab-bucket' };
    expect(readsInPlace(s, { bucket: 'lab-bucket', key: 'data/reads.bam' })).toBe(true);
    expect(readsInPlace(s, { bucket: 'other-bucket', key: 'data/reads.bam' })).toBe(false);
    expect(readsInPlace(s, { bucket: 'lab-bucket-2', key: 'data/reads.bam' })).toBe(false);
    expect(readsInPlace(s, { bucket: 'lab-bucket', key: 'data/' })).toBe(false);
  });
});
