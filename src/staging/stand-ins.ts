/**
 * Stand-ins: local files that take the place of remote objects the tasks read in place.
 *
 * When the executor's tasks fetch an `s3://` input themselves (Kubernetes object-store mode, the
 * run's own bucket), Strand does not download it: the run's scratch directory gets a sparse file
 * of the object's size under the object's basename, so the engine sees a File with the right path,
 * basename and size (staging, secondaryFiles, mounts), and the executor finds here which object to
 * give its pod instead. Its bytes are zeros, so every place that reads a file's contents on this
 * machine asks this module first:
 *
 * - the task cache's key uses the object's identity (ETag and size), not a checksum of the bytes;
 * - a copy for a task's working directory (InitialWorkDir) is another stand-in of the same object;
 * - anything that needs the real bytes here (loadContents, a checksum, an output copied to the
 *   output directory) materializes it first: the object is downloaded over the stand-in (If-Match
 *   the ETag seen before the run), and from then on it is an ordinary file.
 *
 * Only Strand's own stand-ins are registered (by the run that made them, released when it ends).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, realpath, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** The object a stand-in takes the place of. */
export interface StandInObject {
  /** `s3://bucket/key`, as Strand names it in messages. */
  location: string;
  bucket: string;
  key: string;
  etag: string;
  size: number;
}

/** Downloads the object to `dest` (whole, replacing the stand-in), checking it is still that version. */
export type Materialize = (object: StandInObject, dest: string) => Promise<void>;

interface Registered {
  object: StandInObject;
  materialize: Materialize;
  owner: object;
}

const byPath = new Map<string, Registered>();
const inFlight = new Map<string, Promise<void>>();

/** A sparse file of `size` at `p`: made under a new name beside it (O_EXCL) and renamed, as a download is (a restarted run's leader finds the last one's). */
async function sparseFile(p: string, size: number): Promise<void> {
  const tmp = path.join(path.dirname(p), `.${path.basename(p).slice(0, 200)}.${randomBytes(6).toString('hex')}.stand-in`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
  await rename(tmp, p).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
}

/**
 * Make a stand-in for `object` at `p` (in a directory of Strand's own: a file there is replaced), for `owner`
 * (released together by releaseStandIns). Returns the path it is registered under (real path).
 */
export async function makeStandIn(p: string, object: StandInObject, materialize: Materialize, owner: object): Promise<string> {
  await mkdir(path.dirname(p), { recursive: true });
  await sparseFile(p, object.size);
  const real = await realpath(p);
  byPath.set(real, { object, materialize, owner });
  return real;
}

/** The object the file at `p` stands in for, or undefined for an ordinary file (no I/O). */
export function standInAt(p: string): StandInObject | undefined {
  return byPath.get(path.resolve(p))?.object;
}

/** The same, following links (an input reached through a link in a working directory). */
export async function standInBehind(p: string): Promise<StandInObject | undefined> {
  const direct = standInAt(p);
  if (direct || byPath.size === 0) return direct;
  const real = await realpath(p).catch(() => undefined);
  return real ? standInAt(real) : undefined;
}

/** Copy a stand-in (InitialWorkDir's writable copy): the copy stands in for the same object. */
export async function copyStandIn(src: string, dest: string): Promise<boolean> {
  const r = byPath.get(path.resolve(src)) ?? byPath.get(await realpath(src).catch(() => ''));
  if (!r) return false;
  await makeStandIn(dest, r.object, r.materialize, r.owner);
  return true;
}

/** Replace the stand-in at `p` (following links) by the object's bytes; nothing for an ordinary file. */
export async function materialize(p: string): Promise<void> {
  if (byPath.size === 0) return;
  const real = await realpath(p).catch(() => undefined);
  const r = real ? byPath.get(real) : undefined;
  if (!real || !r) return;
  let done = inFlight.get(real);
  if (!done) {
    done = (async () => {
      await rm(real, { force: true });
      await r.materialize(r.object, real);
      byPath.delete(real);
    })().finally(() => inFlight.delete(real));
    inFlight.set(real, done);
  }
  await done;
}

/** The stand-ins at or under `p` (real paths), and with `followLinks` those that links inside it lead to. */
export async function standInsUnder(p: string, followLinks = true): Promise<string[]> {
  if (byPath.size === 0) return [];
  const real = await realpath(p).catch(() => undefined);
  if (!real) return [];
  if (byPath.has(real)) return [real];
  const inside = [...byPath.keys()].filter((k) => k.startsWith(real + path.sep));
  // Links inside the tree are followed by a dereferencing copy: their targets count too.
  const linked = followLinks ? (await linkTargets(real)).filter((t) => byPath.has(t)) : [];
  return [...new Set([...inside, ...linked])];
}

/**
 * Materialize every stand-in at or under `p` (a Directory about to be copied or read whole);
 * `followLinks: false` when links are kept as links (their targets are not read).
 */
export async function materializeUnder(p: string, followLinks = true): Promise<void> {
  for (const k of await standInsUnder(p, followLinks)) await materialize(k);
}

async function linkTargets(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) {
        const t = await realpath(p).catch(() => undefined);
        if (t) out.push(t);
      } else if (e.isDirectory()) await visit(p);
    }
  };
  await visit(dir);
  return out;
}

/** Forget the stand-ins `owner` made (the run is over; its scratch directory goes with them). */
export function releaseStandIns(owner: object): void {
  for (const [p, r] of byPath) if (r.owner === owner) byPath.delete(p);
}
