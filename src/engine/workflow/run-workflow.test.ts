import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DirectoryValue, FileValue } from '../../model/types.js';
import { loadStepInput } from './run-workflow.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-wf-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadStepInput', () => {
  it('loads a File source\'s contents when the step input says loadContents (workflow_step_in_loadContents)', async () => {
    const p = path.join(root, 'n.txt');
    await writeFile(p, '42\n');
    const f: FileValue = { class: 'File', path: p };
    expect(((await loadStepInput(f, { id: 'n', loadContents: true })) as FileValue).contents).toBe('42\n');
    expect(((await loadStepInput([f], { id: 'n', loadContents: true })) as FileValue[])[0]?.contents).toBe('42\n');
    expect(await loadStepInput(f, { id: 'n' })).toBe(f);
  });

  it('lists a Directory source when the step input has loadListing', async () => {
    await mkdir(path.join(root, 'd'));
    await writeFile(path.join(root, 'd', 'x'), '');
    const d = (await loadStepInput({ class: 'Directory', path: path.join(root, 'd') }, { id: 'd', loadListing: 'shallow_listing' })) as DirectoryValue;
    expect(d.listing?.map((e) => e.basename)).toEqual(['x']);
  });
});
