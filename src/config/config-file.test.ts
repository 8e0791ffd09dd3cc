import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { findConfigFile, loadUserConfig } from './config-file.js';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const setup = () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-config-'));
  mkdirSync(path.join(dir, 'home'));
  return { HOME: path.join(dir, 'home') } as NodeJS.ProcessEnv;
};

describe('config file', () => {
  it('is found at --config, $STRAND_CONFIG, ./strand.yaml, then ~/.config/strand/config.yaml', () => {
    const env = setup();
    expect(findConfigFile(undefined, env, dir)).toBeUndefined();
    mkdirSync(path.join(dir, 'home', '.config', 'strand'), { recursive: true });
    writeFileSync(path.join(dir, 'home', '.config', 'strand', 'config.yaml'), 'executor: local\n');
    expect(findConfigFile(undefined, env, dir)).toBe(path.join(dir, 'home', '.config', 'strand', 'config.yaml'));
    writeFileSync(path.join(dir, 'strand.yaml'), 'executor: kubernetes\n');
    expect(findConfigFile(undefined, env, dir)).toBe(path.join(dir, 'strand.yaml'));
    writeFileSync(path.join(dir, 'other.yaml'), '{}\n');
    expect(findConfigFile(undefined, { ...env, STRAND_CONFIG: 'other.yaml' }, dir)).toBe(path.join(dir, 'other.yaml'));
    expect(() => findConfigFile('missing.yaml', env, dir)).toThrow(/missing.yaml does not exist/);
  });

  it('feeds the executor, parallel and the kubernetes section into the resolved config; flags win', () => {
    const env = setup();
    writeFileSync(path.join(dir, 'strand.yaml'), 'executor: kubernetes\nparallel: 3\nkubernetes:\n  namespace: lab\n');
    const file = loadUserConfig(undefined, env, dir);
    const c = resolveConfig({}, env, dir, file);
    expect(c).toMatchObject({ executor: 'kubernetes', parallel: 3, executorSettings: { namespace: 'lab' }, configFile: path.join(dir, 'strand.yaml') });
    expect(resolveConfig({ executor: 'local', parallel: 1 }, env, dir, file)).toMatchObject({ executor: 'local', parallel: 1 });
  });

  it('rejects unknown settings and bad YAML, naming the file', () => {
    const env = setup();
    writeFileSync(path.join(dir, 'strand.yaml'), 'exectuor: kubernetes\n');
    expect(() => loadUserConfig(undefined, env, dir)).toThrow(/strand.yaml: exectuor: unknown setting/);
    writeFileSync(path.join(dir, 'strand.yaml'), 'executor: [\n');
    expect(() => loadUserConfig(undefined, env, dir)).toThrow(/strand.yaml: not valid YAML/);
  });

  it('reads retry: and onError:, flags over the file, and names a bad value', () => {
    const env = setup();
    writeFileSync(path.join(dir, 'strand.yaml'), 'retry:\n  count: 2\n  backoff: 500ms\n  maxBackoff: 1m\nonError: continue\n');
    const file = loadUserConfig(undefined, env, dir);
    expect(resolveConfig({}, env, dir, file)).toMatchObject({ retry: { retries: 2, backoffMs: 500, maxBackoffMs: 60_000 }, onError: 'continue' });
    expect(resolveConfig({ retries: 0, onError: 'stop' }, env, dir, file)).toMatchObject({ retry: { retries: 0 }, onError: 'stop' });
    expect(resolveConfig({}, env, dir)).toMatchObject({ retry: { retries: 0, backoffMs: 1000, maxBackoffMs: 30_000 }, onError: 'stop' });
    writeFileSync(path.join(dir, 'strand.yaml'), 'retry: {count: -1}\n');
    expect(() => loadUserConfig(undefined, env, dir)).toThrow(/strand.yaml: retry.count: expected a whole number from 0 to 100/);
    writeFileSync(path.join(dir, 'strand.yaml'), 'retry: {backof: 2s}\n');
    expect(() => loadUserConfig(undefined, env, dir)).toThrow(/retry.backof: unknown setting \(known: count, backoff, maxBackoff\)/);
    writeFileSync(path.join(dir, 'strand.yaml'), 'retry: {backoff: soon}\n');
    expect(() => loadUserConfig(undefined, env, dir)).toThrow(/retry.backoff: expected a wait such as 500ms, 2s or 1m/);
    writeFileSync(path.join(dir, 'strand.yaml'), 'onError: ignore\n');
    expect(() => loadUserConfig(undefined, env, dir)).toThrow(/onError: expected stop or continue, not "ignore"/);
  });
});
