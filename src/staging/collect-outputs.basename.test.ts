// finishOutputValue and the names of outputs (a file of its own so it merges beside collect-outputs.test.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileValue } from '../model/types.js';
import { finishOutputValue } from './collect-outputs.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'strand-collect-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('finishOutputValue', () => {
  it('keeps a basename the tool gave, with nameroot and nameext from it (command_output_file_expression)', async () => {
    await writeFile(path.join(root, 'secondary_file_test.accessory'), '');
    await writeFile(path.join(root, 'secondary_file_test.txt'), '');
    const v = {
      class: 'File',
      path: path.join(root, 'secondary_file_test.txt'),
      secondaryFiles: [{ class: 'File', path: path.join(root, 'secondary_file_test.accessory'), basename: 'secondary_file_test.txt.accessory' }],
    };
    const f = (await finishOutputValue(v, root)) as FileValue;
    expect(f.basename).toBe('secondary_file_test.txt');
    expect(f.secondaryFiles?.[0]).toMatchObject({ basename: 'secondary_file_test.txt.accessory', nameroot: 'secondary_file_test.txt', nameext: '.accessory', size: 0 });
    expect(f.secondaryFiles?.[0]?.path).toBe(path.join(root, 'secondary_file_test.accessory'));
  });
});
