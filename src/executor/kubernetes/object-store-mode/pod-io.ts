/**
 * What Strand's own containers do in a task pod (`strand _pod-io stage-in|upload`, hidden).
 *
 * stage-in: fetch exactly the objects the task's manifest names (never a listing of the bucket)
 * to their paths under the pod's root, make its directories and links, and note what it laid
 * down in the working directory. upload: wait for the tool's exit status (the done-file its
 * wrapper writes on any exit), send the working directory's files that changed (new objects
 * under the job's prefix; each object is whole or absent) and the logs, then write result.json,
 * the one object the leader reads first: without it the task's outputs do not exist.
 */
import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from '../../../errors.js';
import { S3Store, parseS3Location, s3Child, type S3Settings } from '../../../storage/index.js';
import { getJson, putJson } from './json-objects.js';
import { STAGED_STATE, isStageInManifest, type ResultManifest, type StagedState, type StoredFile } from './manifest.js';
import { eachLimited, walkTree } from './tree.js';

const PARALLEL = 8;

/** The S3 client of Strand's containers: settings from the pod's environment, credentials from the AWS chain (envFrom a Secret). */
export function podStore(env: NodeJS.ProcessEnv = process.env): S3Store {
  const settings: S3Settings = {
    ...(env.STRAND_S3_ENDPOINT ? { endpoint: env.STRAND_S3_ENDPOINT } : {}),
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.STRAND_S3_FORCE_PATH_STYLE ? { forcePathStyle: env.STRAND_S3_FORCE_PATH_STYLE === 'true' } : {}),
  };
  return new S3Store(settings, {}, env);
}

export interface StageInOptions {
  manifest: string;
  root: string;
  taskDir: string;
  log?: (line: string) => void;
}

export async function stageIn(store: S3Store, o: StageInOptions): Promise<StagedState> {
  const where = parseS3Location(o.manifest);
  const m = await getJson(store, where);
  if (!isStageInManifest(m)) throw new StorageError(`${o.manifest}: not a stage-in manifest of this Strand version`, o.manifest, 'other');
  const open = async (dir: string) => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o777);
  };
  await open(o.taskDir);
  await open(path.join(o.taskDir, 'logs'));
  for (const d of m.dirs) await open(path.join(o.root, d));
  const state: StagedState = { fetched: { files: 0, bytes: 0 }, workFiles: {} };
  const workPrefix = m.workDir === '' ? '' : `${m.workDir}/`;
  await eachLimited(m.files, PARALLEL, async (f) => {
    const dest = path.join(o.root, f.path);
    await mkdir(path.dirname(dest), { recursive: true });
    const t = await store.download({ scheme: 's3', bucket: m.bucket, key: f.key }, dest, f.etag ? { etag: f.etag } : {});
    if (t.size !== f.size) throw new StorageError(`s3://${m.bucket}/${f.key}: has ${t.size} bytes, Strand put ${f.size}`, `s3://${m.bucket}/${f.key}`, 'other');
    await chmod(dest, f.writable ? 0o666 : 0o444);
    state.fetched.files++;
    state.fetched.bytes += t.size;
    if (f.path.startsWith(workPrefix)) {
      const st = await stat(dest);
      state.workFiles[f.path.slice(workPrefix.length)] = { key: f.key, size: st.size, mtimeMs: st.mtimeMs };
    }
  });
  for (const l of m.links) {
    const at = path.join(o.root, l.path);
    await mkdir(path.dirname(at), { recursive: true });
    await symlink(l.target, at);
  }
  await writeFile(path.join(o.taskDir, STAGED_STATE), JSON.stringify(state));
  o.log?.(`strand stage-in: fetched ${state.fetched.files} files (${state.fetched.bytes} bytes) from s3://${m.bucket}/, made ${m.dirs.length} directories and ${m.links.length} links`);
  return state;
}

export interface UploadOptions {
  root: string;
  workDir: string;
  taskDir: string;
  /** s3://bucket/prefix/ of the job. */
  to: string;
  result: string;
  pollMs?: number;
  log?: (line: string) => void;
}

async function waitForFile(file: string, pollMs: number): Promise<string> {
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export async function upload(store: S3Store, o: UploadOptions): Promise<ResultManifest> {
  const statusText = await waitForFile(path.join(o.taskDir, 'exit-status'), o.pollMs ?? 200);
  const exitCode = Number.parseInt(statusText.trim(), 10);
  if (!Number.isInteger(exitCode)) throw new Error(`the tool's exit status file holds "${statusText.trim()}", not a number`);
  const staged = (JSON.parse(await readFile(path.join(o.taskDir, STAGED_STATE), 'utf8').catch(() => '{}')) as Partial<StagedState>);
  const prefix = parseS3Location(o.to);
  const result: ResultManifest = {
    version: 1,
    exitCode,
    files: [],
    dirs: [],
    links: [],
    logs: {},
    fetched: staged.fetched ?? { files: 0, bytes: 0 },
    uploaded: { files: 0, bytes: 0, reused: 0 },
  };
  const entries = await walkTree(o.workDir);
  const files: StoredFile[] = [];
  await eachLimited(entries, PARALLEL, async (e) => {
    if (e.kind === 'dir') result.dirs.push(e.rel);
    else if (e.kind === 'link') result.links.push({ path: e.rel, target: e.target });
    else {
      const before = staged.workFiles?.[e.rel];
      if (before && before.size === e.size && before.mtimeMs === e.mtimeMs) {
        files.push({ path: e.rel, key: before.key, size: e.size, mode: e.mode });
        result.uploaded.reused++;
        return;
      }
      const loc = s3Child(prefix, `out/${e.rel}`);
      const t = await store.upload(path.join(o.workDir, e.rel), loc);
      files.push({ path: e.rel, key: loc.key, size: t.size, mode: e.mode });
      result.uploaded.files++;
      result.uploaded.bytes += t.size;
    }
  });
  result.files = files.sort((a, b) => (a.path < b.path ? -1 : 1));
  result.dirs.sort();
  for (const name of ['stdout', 'stderr'] as const) {
    const f = path.join(o.taskDir, 'logs', `${name}.log`);
    const st = await stat(f).catch(() => undefined);
    if (!st?.isFile()) continue;
    const loc = s3Child(prefix, `logs/${name}.log`);
    const t = await store.upload(f, loc);
    result.logs[name] = { key: loc.key, size: t.size };
  }
  await putJson(store, parseS3Location(o.result), result);
  o.log?.(
    `strand upload: exit status ${exitCode}; uploaded ${result.uploaded.files} files (${result.uploaded.bytes} bytes), ${result.uploaded.reused} unchanged, to ${o.to}`,
  );
  return result;
}

