import { describe, expect, it } from 'vitest';
import { inputMounts } from './mounts.js';

describe('inputMounts', () => {
  it('mounts input files and directories at their paths, skipping the task dirs and covered paths', () => {
    const inputs = {
      a: { class: 'File', path: '/data/a.bam', secondaryFiles: [{ class: 'File', path: '/data/a.bam.bai' }] },
      d: { class: 'Directory', path: '/ref' },
      inRef: { class: 'File', path: '/ref/genome.fa' },
      staged: { class: 'File', path: '/work/t/out/x.txt' },
      nested: { rec: [{ class: 'File', path: '/other/y' }] },
      s: 'not a file',
    };
    expect(inputMounts(inputs, ['/work/t/out', '/work/t/tmp'])).toEqual([
      { hostPath: '/data/a.bam', taskPath: '/data/a.bam', readOnly: true },
      { hostPath: '/data/a.bam.bai', taskPath: '/data/a.bam.bai', readOnly: true },
      { hostPath: '/other/y', taskPath: '/other/y', readOnly: true },
      { hostPath: '/ref', taskPath: '/ref', readOnly: true },
    ]);
  });
});
