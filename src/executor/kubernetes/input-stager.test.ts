import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputStager } from './input-stager.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'strand-stager-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('InputStager', () => {
  const ws = path.join(root, 'ws');
  const data = path.join(root, 'ref');
  const home = path.join(root, 'home');
  for (const d of [ws, data, home]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(home, 'reads.bam'), 'bam');
  writeFileSync(path.join(home, 'reads.bam.bai'), 'bai');
  const stager = new InputStager({ claimName: 'w', mountPath: '/workspace', localPath: ws }, [{ claimName: 'r', mountPath: data }], 'run1');

  it('uses inputs in the workspace and on data volumes in place', async () => {
    const map = await stager.pathMapFor([
      { hostPath: path.join(ws, 'a.txt'), taskPath: path.join(ws, 'a.txt'), readOnly: true },
      { hostPath: path.join(data, 'hg38.fa'), taskPath: path.join(data, 'hg38.fa'), readOnly: true },
    ]);
    expect(map.map(path.join(ws, 'a.txt'))).toBe('/workspace/a.txt');
    expect(map.map(path.join(data, 'hg38.fa'))).toBe(path.join(data, 'hg38.fa'));
    expect(stager.copiedFiles).toBe(0);
  });

  it('shows an input reached through a link (a directory inside an InitialWorkDir link) as its target', async () => {
    mkdirSync(path.join(data, 'testdir', 'c'), { recursive: true });
    mkdirSync(path.join(ws, 'step1'), { recursive: true });
    symlinkSync(path.join(data, 'testdir'), path.join(ws, 'step1', 'testdir'));
    writeFileSync(path.join(ws, 'plain.txt'), 'x');
    const through = path.join(ws, 'step1', 'testdir', 'c');
    const links = await stager.resolveLinks([
      { hostPath: through, taskPath: through, readOnly: true },
      { hostPath: path.join(ws, 'plain.txt'), taskPath: path.join(ws, 'plain.txt'), readOnly: true },
    ]);
    // A kubelet refuses a subPath that leads out of its volume through a link: the target, on the data volume, is shown instead.
    expect([...links]).toEqual([[through, path.join(data, 'testdir', 'c')]]);
  });

  it("shows a link's target on a data volume whose directory is itself reached through a link, as a path on that volume", async () => {
    const realData = path.join(root, 'nfs-data');
    mkdirSync(realData, { recursive: true });
    writeFileSync(path.join(realData, 'hg38.fa'), '>1');
    const linkedRoot = path.join(root, 'data-link');
    symlinkSync(realData, linkedRoot);
    const s = new InputStager({ claimName: 'w', mountPath: '/workspace', localPath: ws }, [{ claimName: 'r', mountPath: linkedRoot }], 'run2');
    // A link in a task's staging directory to the file as the user named it (through the volume's link).
    mkdirSync(path.join(ws, 'stg'), { recursive: true });
    symlinkSync(path.join(linkedRoot, 'hg38.fa'), path.join(ws, 'stg', 'ref.fa'));
    const links = await s.resolveLinks([{ hostPath: path.join(ws, 'stg', 'ref.fa'), taskPath: path.join(ws, 'stg', 'ref.fa'), readOnly: true }]);
    expect([...links]).toEqual([[path.join(ws, 'stg', 'ref.fa'), path.join(linkedRoot, 'hg38.fa')]]);
    expect(s.copiedFiles).toBe(0);
  });

  it('copies other inputs into the workspace once, keeping files of one directory together', async () => {
    const bam = path.join(home, 'reads.bam');
    const bai = path.join(home, 'reads.bam.bai');
    const mounts = [bam, bai].map((p) => ({ hostPath: p, taskPath: p, readOnly: true }));
    const map = await stager.pathMapFor(mounts);
    await stager.pathMapFor(mounts);
    expect(stager.copiedFiles).toBe(2);
    const podBam = map.map(bam);
    expect(podBam.startsWith('/workspace/.strand-staged/run1/')).toBe(true);
    expect(path.dirname(map.map(bai))).toBe(path.dirname(podBam));
    expect(map.map(bai)).toBe(podBam + '.bai');
    const localBam = path.join(ws, podBam.slice('/workspace/'.length));
    expect(readFileSync(localBam, 'utf8')).toBe('bam');
  });

  it('copies a file on a read-only data volume that a task may write (InplaceUpdateRequirement)', async () => {
    writeFileSync(path.join(data, 'script.py'), 'print(1)');
    const p = path.join(data, 'script.py');
    const map = await stager.pathMapFor([{ hostPath: p, taskPath: p, readOnly: false }]);
    expect(map.map(p).startsWith('/workspace/.strand-staged/run1/')).toBe(true);
  });
});
