import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { loadUserConfig } from './config-file.js';
import { parseStorageSettings } from './storage-settings.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('storage settings', () => {
  it('reads storage.s3 from strand.yaml into the resolved config', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'strand-storage-'));
    writeFileSync(
      path.join(dir, 'strand.yaml'),
      'storage:\n  s3:\n    endpoint: http://127.0.0.1:9000\n    region: eu-west-1\n    forcePathStyle: true\n    profile: lab\n',
    );
    const file = loadUserConfig(undefined, { HOME: dir }, dir);
    const config = resolveConfig({ outdir: 's3://bkt/out' }, { HOME: dir }, dir, file);
    expect(config.storage).toEqual({ s3: { endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', forcePathStyle: true, profile: 'lab' } });
    expect(config.outdir).toBe('s3://bkt/out');
    expect(resolveConfig({}, { HOME: dir }, dir).storage).toEqual({});
  });

  it('rejects unknown keys, credentials in the file and wrong types, naming the field', () => {
    expect(() => parseStorageSettings({ gcs: {} }, 'f.yaml')).toThrow('f.yaml: storage.gcs: unknown setting');
    expect(() => parseStorageSettings({ s3: { secretAccessKey: 'x' } }, 'f.yaml')).toThrow(/storage.s3.secretAccessKey: unknown setting .*credentials come from the AWS chain/);
    expect(() => parseStorageSettings({ s3: { forcePathStyle: 'yes' } }, 'f.yaml')).toThrow('storage.s3.forcePathStyle: expected true or false');
    expect(() => parseStorageSettings({ s3: { endpoint: '127.0.0.1:9000' } }, 'f.yaml')).toThrow('storage.s3.endpoint: expected an http:// or https:// URL');
    expect(() => parseStorageSettings({ s3: [] }, 'f.yaml')).toThrow('storage.s3: expected a mapping');
  });
});
