import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commonDir, planBundle, type BundleFs } from './bundle.js';

/** A file system of paths -> sizes (directories implied by their files, or listed as 'dir'). */
function fakeFs(entries: Record<string, number | 'dir'>): BundleFs {
  const kinds = new Map<string, number | 'dir'>(Object.entries(entries));
  for (const p of Object.keys(entries)) for (let d = p.slice(0, p.lastIndexOf('/')); d; d = d.slice(0, d.lastIndexOf('/'))) if (!kinds.has(d)) kinds.set(d, 'dir');
  return {
    stat: (p) => {
      const k = kinds.get(p);
      return k === undefined ? undefined : k === 'dir' ? { size: 0, kind: 'dir' } : { size: k, kind: 'file' };
    },
    list: (p) => [...kinds.keys()].filter((k) => k.startsWith(p + '/') && !k.slice(p.length + 1).includes('/')).map((k) => k.slice(p.length + 1)),
  };
}

const file = (p: string, extra: Record<string, unknown> = {}) => ({ class: 'File', location: pathToFileURL(p).href, ...extra });
const base = {
  workspace: { localPath: '/mnt/ws', mountPath: '/workspace' },
  dataVolumes: ['/data/ref'],
  bundleDir: '/workspace/strand-submit/r1/bundle',
  budget: 1000,
};

describe('planBundle', () => {
  it('keeps the workflow files where they are relative to one another', () => {
    const fs = fakeFs({ '/home/a/wf/main.cwl': 10, '/home/a/wf/tools/t.cwl': 20, '/home/a/lib/types.yml': 5 });
    const plan = planBundle({ ...base, documentFiles: ['/home/a/wf/main.cwl', '/home/a/wf/tools/t.cwl', '/home/a/lib/types.yml'], fragment: 'main', job: {} }, fs);
    expect(plan.files.map((f) => [f.path, f.source])).toEqual([
      ['workflow/wf/main.cwl', '/home/a/wf/main.cwl'],
      ['workflow/wf/tools/t.cwl', '/home/a/wf/tools/t.cwl'],
      ['workflow/lib/types.yml', '/home/a/lib/types.yml'],
    ]);
    expect(plan.document).toBe('workflow/wf/main.cwl#main');
    expect(plan.files.every((f) => /^[-._a-zA-Z0-9]+$/.test(f.key))).toBe(true);
    expect(new Set(plan.files.map((f) => f.key)).size).toBe(3);
    expect(commonDir(['/a/b/c', '/a/b/d/e'])).toBe('/a/b');
  });

  it('uses workspace and data-volume inputs in place, packs small ones beside their neighbours, leaves URLs alone', () => {
    const fs = fakeFs({ '/wf/w.cwl': 1, '/mnt/ws/in/a.bam': 5000, '/data/ref/g.fa': 9000, '/home/a/s.bam': 100, '/home/a/s.bam.bai': 10, '/home/a/other/x.txt': 1 });
    const job = {
      ws: file('/mnt/ws/in/a.bam'),
      ref: file('/data/ref/g.fa'),
      reads: file('/home/a/s.bam', { secondaryFiles: [file('/home/a/s.bam.bai')] }),
      again: file('/home/a/s.bam'),
      more: [file('/home/a/other/x.txt')],
      web: { class: 'File', location: 'https://example.org/x.vcf' },
      literal: { class: 'File', basename: 'l.txt', contents: 'hi' },
      n: 3,
    };
    const plan = planBundle({ ...base, documentFiles: ['/wf/w.cwl'], job }, fs);
    expect(plan.problems).toEqual([]);
    const j = plan.job as Record<string, Record<string, unknown> & { secondaryFiles?: Array<Record<string, unknown>> }>;
    expect(j.ws!.location).toBe('file:///workspace/in/a.bam');
    expect(j.ref!.location).toBe('file:///data/ref/g.fa');
    expect(j.reads!.location).toBe('file:///workspace/strand-submit/r1/bundle/inputs/0/s.bam');
    // The secondary file sits beside its file, as the tool expects.
    expect(j.reads!.secondaryFiles![0]!.location).toBe('file:///workspace/strand-submit/r1/bundle/inputs/0/s.bam.bai');
    expect(j.again!.location).toBe(j.reads!.location);
    expect((j.more as unknown as Array<Record<string, unknown>>)[0]!.location).toBe('file:///workspace/strand-submit/r1/bundle/inputs/1/x.txt');
    expect(j.web).toEqual(job.web);
    expect(j.literal).toEqual(job.literal);
    expect(plan.job.n).toBe(3);
    expect(plan.files.filter((f) => f.path.startsWith('inputs/')).map((f) => f.path).sort()).toEqual(['inputs/0/s.bam', 'inputs/0/s.bam.bai', 'inputs/1/x.txt']);
    expect(plan.packedBytes).toBe(1 + 100 + 10 + 1);
    expect(plan.inPlace).toEqual(['ws: /mnt/ws/in/a.bam (on the workspace)', 'ref: /data/ref/g.fa (on a data volume)']);
  });

  it('packs a small directory with its subdirectories, empty ones included', () => {
    const fs = fakeFs({ '/wf/w.cwl': 1, '/home/a/d/x': 2, '/home/a/d/sub/y': 3, '/home/a/d/empty': 'dir' });
    const plan = planBundle({ ...base, documentFiles: ['/wf/w.cwl'], job: { d: { class: 'Directory', location: 'file:///home/a/d', listing: [] } } }, fs);
    expect((plan.job.d as Record<string, unknown>).location).toBe('file:///workspace/strand-submit/r1/bundle/inputs/0/d');
    expect((plan.job.d as Record<string, unknown>).listing).toBeUndefined();
    expect(plan.files.filter((f) => f.path.startsWith('inputs/')).map((f) => f.path)).toEqual(['inputs/0/d/sub/y', 'inputs/0/d/x']);
    expect(plan.dirs.sort()).toEqual(['inputs/0/d', 'inputs/0/d/empty', 'inputs/0/d/sub']);
  });

  it('names each input that cannot travel, with its size and where to put it', () => {
    const fs = fakeFs({ '/wf/w.cwl': 1, '/home/a/big.bam': 5 * 1024 * 1024 });
    const plan = planBundle({ ...base, documentFiles: ['/wf/w.cwl'], job: { reads: file('/home/a/big.bam'), gone: [file('/home/a/missing.txt')] } }, fs);
    expect(plan.problems).toEqual([
      'input reads: /home/a/big.bam (5.0 MiB) does not fit in the run\'s bundle (1 KiB in all, 1 KiB used): put it on the workspace (under /mnt/ws, which pods see at /workspace) or a data volume, and name it there',
      'input gone[0]: /home/a/missing.txt does not exist',
    ]);
  });

  it('without a workspace (object-store mode): packs small inputs, leaves s3:// ones, and sends big ones to the bucket', () => {
    const fs = fakeFs({ '/wf/w.cwl': 1, '/mnt/ws/a.txt': 10, '/home/a/big.bam': 5 * 1024 * 1024 });
    const { workspace: _ws, ...noWs } = base;
    void _ws;
    const job = { small: file('/mnt/ws/a.txt'), reads: { class: 'File', location: 's3://lab/reads.bam' }, big: file('/home/a/big.bam') };
    const plan = planBundle({ ...noWs, bundleDir: '/var/lib/strand-leader/strand-submit/r1/bundle', documentFiles: ['/wf/w.cwl'], job }, fs);
    const j = plan.job as Record<string, Record<string, unknown>>;
    // A path that would be on a workspace elsewhere is just a local file here: packed.
    expect(j.small!.location).toBe('file:///var/lib/strand-leader/strand-submit/r1/bundle/inputs/0/a.txt');
    expect(j.reads).toEqual(job.reads);
    expect(plan.inPlace).toEqual([]);
    expect(plan.problems).toEqual([
      "input big: /home/a/big.bam (5.0 MiB) does not fit in the run's bundle (1 KiB in all, 1 KiB used): put it in the bucket (s3://...) and name it there",
    ]);
  });
});
