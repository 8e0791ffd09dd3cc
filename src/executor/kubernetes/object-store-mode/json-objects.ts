/** Small JSON objects in the bucket (manifests), through the streaming S3Store (a temporary file each way). */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { S3Location, S3Store } from '../../../storage/index.js';

export async function putJson(store: S3Store, loc: S3Location, value: unknown, signal?: AbortSignal): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'strand-json-'));
  try {
    const f = path.join(dir, 'o.json');
    await writeFile(f, JSON.stringify(value));
    const t = await store.upload(f, loc, { contentType: 'application/json', ...(signal ? { signal } : {}) });
    return t.size;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function getJson(store: S3Store, loc: S3Location, signal?: AbortSignal): Promise<unknown> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'strand-json-'));
  try {
    const f = path.join(dir, 'o.json');
    await store.download(loc, f, signal ? { signal } : {});
    return JSON.parse(await readFile(f, 'utf8')) as unknown;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
