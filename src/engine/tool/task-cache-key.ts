/**
 * What a task's cache key is made of (docs/caching.md), gathered from a built TaskSpec: the command
 * line, environment and stdin with the task's own directories and its inputs' paths replaced by
 * stable names (`$OUTDIR`, `$TMPDIR`, `$INPUTS`, `$IN{<checksum>}/<basename>`), the inputs'
 * contents (checksums, remembered by path and identity), what InitialWorkDir put in the output
 * directory, the image the task runs in (its own or the executor's default), network access and SoftwareRequirement. Resources, time limits and
 * hints that do not change what the tool writes are not in it.
 */
import { lstat, readFile, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { cacheKeyOf, PathNormalizer, type CacheKey, type KeyInput, type KeyWorkDirEntry } from '../../cache/key.js';
import type { FileDigester } from '../../cache/digests.js';
import type { TaskSpec } from '../../executor/executor.js';
import { findRequirement, type EffectiveRequirements } from '../../model/requirements.js';
import type { SecretMask } from '../../model/secrets.js';
import type { CwlValue } from '../../model/types.js';
import { pathFromLocation, realTarget } from '../../staging/index.js';
import { hasRawBytes, readEntries, shownName } from '../../staging/raw-names.js';
import { secretKeyMaterial } from '../secrets.js';
import type { TaskDirs } from './task-dirs.js';

/** InitialWorkDir files up to this size are read as text with their paths normalised; bigger ones are hashed as bytes. */
const NORMALISED_TEXT_LIMIT = 1024 * 1024;

export interface KeyRequest {
  spec: TaskSpec;
  dirs: TaskDirs;
  workRoot: string;
  /** The task's inputs before and after staging and InitialWorkDir. */
  inputs: readonly CwlValue[];
  stdout?: string;
  stderr?: string;
  eff: EffectiveRequirements;
  digester: FileDigester;
  /** The run's secret values: the key's material (kept in the entry) holds their digests instead. */
  secrets?: SecretMask;
  /** The image the executor runs a task without one of its own in (Executor.defaultImage). */
  defaultImage?: string;
  /**
   * The user's path behind a staged input (stage-inputs.ts). InitialWorkDir links lead there, not
   * to the staging directory: those paths take the input's stable name too, so the key does not
   * hold where the user keeps the file.
   */
  originalOf?: (p: string) => string;
}

export type KeyResult = CacheKey | { uncacheable: string };

interface Located {
  path?: string;
  location?: string;
  kind: 'File' | 'Directory';
}

function fileAndDirectoryValues(v: CwlValue, into: Located[] = []): Located[] {
  if (Array.isArray(v)) for (const x of v) fileAndDirectoryValues(x, into);
  else if (typeof v === 'object' && v !== null) {
    if (v.class === 'File' || v.class === 'Directory') {
      const p = typeof v.path === 'string' ? v.path : undefined;
      const loc = typeof v.location === 'string' ? v.location : undefined;
      into.push({ kind: v.class, ...(p ? { path: p } : {}), ...(loc ? { location: loc } : {}) });
      if (Array.isArray(v.secondaryFiles)) fileAndDirectoryValues(v.secondaryFiles as CwlValue, into);
      // A Directory's listing lies inside it: covered by the Directory's own digest.
      return into;
    }
    for (const x of Object.values(v)) if (x !== undefined) fileAndDirectoryValues(x, into);
  }
  return into;
}

/** sha1 over a directory tree: names, file checksums, link targets (links are not followed). */
async function directoryDigest(dir: string, digester: FileDigester): Promise<{ checksum: string; size: number } | undefined> {
  const h = createHash('sha1');
  let size = 0;
  const visit = async (rel: string): Promise<boolean> => {
    const named = await readEntries(path.join(dir, rel)).catch(() => undefined);
    if (!named) return false;
    const entries = named.map(({ name, entry }) => Object.assign(entry, { text: name }));
    for (const e of entries) if (hasRawBytes(e.text)) throw new NameNotUtf8(path.join(dir, rel, e.text));
    entries.sort((a, b) => (a.text < b.text ? -1 : 1));
    for (const e of entries) {
      const r = rel === '' ? e.text : `${rel}/${e.text}`;
      if (e.isSymbolicLink()) {
        // A link inside an input directory is followed by the tool: its target's contents count.
        const d = await digester.digest(path.join(dir, r));
        h.update(`L ${r} ${d ? d.checksum : await readlink(path.join(dir, r)).catch(() => '?')}\n`);
        size += d?.size ?? 0;
      } else if (e.isDirectory()) {
        h.update(`D ${r}\n`);
        if (!(await visit(r))) return false;
      } else {
        const d = await digester.digest(path.join(dir, r));
        if (!d) return false;
        h.update(`F ${r} ${d.checksum}\n`);
        size += d.size;
      }
    }
    return true;
  };
  return (await visit('')) ? { checksum: `tree$${h.digest('hex')}`, size } : undefined;
}

/** `hide` turns names that hold a secret into names holding its digest (file contents are hashed anyway). */
async function workDirEntries(outdir: string, norm: PathNormalizer, digester: FileDigester, hide: (s: string) => string): Promise<KeyWorkDirEntry[]> {
  const out: KeyWorkDirEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const { name, entry: e } of await readEntries(path.join(outdir, rel))) {
      if (hasRawBytes(name)) throw new NameNotUtf8(path.join(outdir, rel, name));
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(outdir, r);
      if (e.isSymbolicLink()) out.push({ path: hide(r), kind: 'link', value: hide(norm.normalize(await readlink(abs))) });
      else if (e.isDirectory()) {
        out.push({ path: hide(r), kind: 'dir' });
        await visit(r);
      } else {
        const st = await lstat(abs);
        let value: string | undefined;
        if (st.size <= NORMALISED_TEXT_LIMIT) {
          const text = (await readFile(abs)).toString('latin1');
          value = `sha1$${createHash('sha1').update(norm.normalize(text), 'latin1').digest('hex')}`;
        } else value = (await digester.digest(abs))?.checksum;
        out.push({ path: hide(r), kind: 'file', ...(value ? { value } : {}) });
      }
    }
  };
  await visit('');
  return out;
}

/**
 * A name that is not UTF-8 (staging/raw-names.ts) in what the key would cover: the digests read
 * names as text, so such a file could drop out of the key unseen; the task is not cached instead.
 */
class NameNotUtf8 extends Error {}

/** The task's cache key, or why it has none (an input that cannot be identified). */
export async function taskCacheKey(req: KeyRequest): Promise<KeyResult> {
  try {
    return await keyOf(req);
  } catch (err) {
    if (!(err instanceof NameNotUtf8)) throw err;
    return { uncacheable: `${shownName(err.message)} has a name that is not UTF-8` };
  }
}

async function keyOf(req: KeyRequest): Promise<KeyResult> {
  const { spec, dirs, digester } = req;
  const seen = new Map<string, Located>();
  for (const v of req.inputs) for (const l of fileAndDirectoryValues(v)) seen.set(l.path ?? l.location ?? '', l);
  seen.delete('');
  const inputs: KeyInput[] = [];
  const pairs: Array<[string, string]> = [];
  for (const l of seen.values()) {
    let p = l.path;
    if (!p && l.location) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(l.location) && !l.location.startsWith('file:')) {
        const remote = await digester.remote(l.location);
        if (!remote) return { uncacheable: `input ${l.location} has no identity Strand knows how to check` };
        inputs.push({ name: l.location, checksum: remote.checksum, size: remote.size });
        continue;
      }
      p = pathFromLocation(l.location);
    }
    if (!p) continue;
    if (hasRawBytes(p)) throw new NameNotUtf8(p);
    const d = l.kind === 'File' ? await digester.digest(p) : await directoryDigest(p, digester);
    // An input that does not exist (yet): the tool cannot read it; its name alone is in the key.
    if (!d) continue;
    const name = `$IN{${d.checksum}}/${path.basename(p)}`;
    pairs.push([p, name]);
    if (req.originalOf) {
      const original = req.originalOf(p);
      pairs.push([original, name], [await realTarget(original), name]);
    }
    // The same input seen twice (the user's path and its staged link) counts once, as on a cluster where it is not staged.
    if (!inputs.some((i) => i.name === name)) inputs.push({ name, checksum: d.checksum, size: d.size });
  }
  pairs.push([dirs.outdir, '$OUTDIR'], [dirs.tmpdir, '$TMPDIR'], [dirs.scratch, '$INPUTS'], [path.resolve(req.workRoot), '$WORKROOT']);
  const paths = new PathNormalizer(pairs);
  const hide = (s: string) => (req.secrets ? req.secrets.maskText(s, secretKeyMaterial) : s);
  const norm = { normalize: (s: string) => hide(paths.normalize(s)) };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.env)) env[k] = norm.normalize(v);
  const software = findRequirement(req.eff, 'SoftwareRequirement')?.value;
  return cacheKeyOf({
    argv: spec.argv.map((a) => norm.normalize(a)),
    env,
    ...(spec.stdin !== undefined ? { stdin: norm.normalize(spec.stdin) } : {}),
    ...(req.stdout !== undefined ? { stdout: hide(req.stdout) } : {}),
    ...(req.stderr !== undefined ? { stderr: hide(req.stderr) } : {}),
    // The image the task really runs in: its own, or the executor's default (a cluster's
    // kubernetes.defaultImage); none means the host, which is itself a different environment.
    ...((spec.image ?? req.defaultImage) !== undefined ? { image: spec.image ?? req.defaultImage } : {}),
    ...(spec.containerWorkDir !== undefined ? { containerWorkDir: spec.containerWorkDir } : {}),
    networkAccess: spec.networkAccess,
    inputs,
    workDir: await workDirEntries(dirs.outdir, paths, digester, hide),
    requirements: software ? [software] : [],
  });
}
