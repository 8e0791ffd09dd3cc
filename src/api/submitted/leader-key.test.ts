import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKeyFile } from '../../cache/key-file.js';
import { privateKeyCopy } from './leader-key.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the leader\'s copy of the cache key Secret', () => {
  it('a key mounted 0444 (readable by the image\'s user) is used through a 0600 copy, without the warning about other readers', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'strand-leader-key-'));
    const mounted = path.join(dir, 'mount-key');
    writeFileSync(mounted, 'ab'.repeat(32));
    chmodSync(mounted, 0o444);
    expect((await loadKeyFile(mounted, [], { named: true })).readers).toBe('everyone on this machine');
    const copy = await privateKeyCopy(mounted, dir);
    expect(copy).toBeDefined();
    expect(statSync(copy!).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(copy!)).mode & 0o777).toBe(0o700);
    expect(readFileSync(copy!, 'utf8')).toBe('ab'.repeat(32));
    const loaded = await loadKeyFile(copy!, [], { named: true });
    expect(loaded.readers).toBeUndefined();
    expect(loaded.signer.sign({ a: 1 })).toBe((await loadKeyFile(mounted, [], { named: true })).signer.sign({ a: 1 }));
  });

  it('no Secret (nothing mounted): no copy, the setting stays as it is', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'strand-leader-key-'));
    expect(await privateKeyCopy(path.join(dir, 'absent'), dir)).toBeUndefined();
  });
});
