/**
 * Remote data at the edges of a run (the engine and staging only ever see local files):
 *
 * 1. preflight, before any task starts: every `s3://` and `http(s)://` File and Directory in the
 *    inputs and in the document's defaults exists and is readable, and a remote `--outdir` is in
 *    a bucket these credentials may write; the first problem is one StorageError naming the place;
 * 2. fetch: each remote location is downloaded once per run into the run's cache directory and the
 *    File/Directory object is pointed at the local copy (its basename stays the remote one);
 * 3. publish: after the outputs are relocated and verified in a local directory, every file is
 *    uploaded under the remote outdir (each object whole or not at all), and the output object gets
 *    `s3://` locations, with the size and sha1 of the bytes uploaded. Nothing is uploaded before all
 *    outputs are verified and every target key is known to be free or replaceable.
 *
 * Replacing follows the local rule (staging/earlier-outputs.ts): a key may be overwritten only if
 * an earlier Strand run recorded an output there and the object is still what it wrote (same size,
 * the sha1 Strand stored in its metadata equal to the recorded checksum); anything else is the
 * user's and the run fails naming it, its results kept in a local directory it names.
 */
import { defaultOf, type DefaultValues } from '../model/default-values.js';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StorageSettings } from '../config/storage-settings.js';
import { StorageError } from '../errors.js';
import type { CwlObject, DirectoryValue, FileValue, Process } from '../model/types.js';
import { earlierWritten, sha1File, type WrittenEntry } from '../staging/index.js';
import { applyPattern } from '../staging/secondary.js';
import { makeStandIn, releaseStandIns, type StandInObject } from '../staging/stand-ins.js';
// Not storage/index.js: the AWS SDK (s3-store.ts) takes a few hundred ms to load, so it is loaded
// only by a run that has s3:// data.
import { downloadTarget, safeFileName } from '../storage/download-target.js';
import { downloadHttp, headHttp, type HttpOptions } from '../storage/http-source.js';
import { redactUrl } from '../storage/redact-url.js';
import { formatS3Location, parseRemoteLocation, parseS3Location, remoteBasename, s3Child, type RemoteLocation, type S3Location } from '../storage/location.js';
import type { ListedObject, ObjectInfo, S3Store } from '../storage/s3-store.js';

type Entry = FileValue | DirectoryValue;

interface RemoteRef {
  entry: Entry;
  text: string;
  loc: RemoteLocation;
  /** For a secondary file of a remote File: that File, whose cache directory it shares. */
  primary?: RemoteRef;
}

/** A secondary file that an input's `secondaryFiles` pattern names beside a remote File. */
interface Candidate {
  primary: RemoteRef;
  text: string;
  required: boolean;
  input: string;
  pattern: string;
}

/** What preflight learnt about one location, used by the fetch. */
interface Checked {
  kind: 'File' | 'Directory';
  loc: RemoteLocation;
  text: string;
  object?: ObjectInfo;
  listing?: ListedObject[];
}

const isEntry = (v: unknown): v is Entry =>
  typeof v === 'object' && v !== null && ((v as Entry).class === 'File' || (v as Entry).class === 'Directory');

/** File and Directory objects with a remote location, in `values` (a remote Directory's listing is not entered). */
export function findRemoteEntries(values: unknown[]): RemoteRef[] {
  const found: RemoteRef[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, primary?: RemoteRef): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) return v.forEach((x) => walk(x, primary));
    if (isEntry(v)) {
      const text = v.location ?? '';
      const loc = parseRemoteLocation(text);
      if (loc) {
        const ref: RemoteRef = { entry: v, text, loc, ...(primary ? { primary } : {}) };
        found.push(ref);
        // Secondary files of a remote File are fetched into its directory, beside it.
        if (v.class === 'File') v.secondaryFiles?.forEach((x) => walk(x, primary ?? ref));
        return;
      }
      if (v.class === 'File') v.secondaryFiles?.forEach((x) => walk(x));
      else v.listing?.forEach((x) => walk(x));
      return;
    }
    Object.values(v).forEach((x) => walk(x));
  };
  values.forEach((x) => walk(x));
  return found;
}

/** The location beside `loc` named `name` (same bucket and "directory", or same URL path). */
function sibling(loc: RemoteLocation, name: string): string {
  if (loc.scheme === 's3') {
    const slash = loc.key.lastIndexOf('/');
    return formatS3Location({ bucket: loc.bucket, key: loc.key.slice(0, slash + 1) + name });
  }
  const url = new URL(loc.url);
  url.pathname = url.pathname.slice(0, url.pathname.lastIndexOf('/') + 1) + encodeURIComponent(name);
  url.search = '';
  return url.href;
}

/**
 * Secondary files the top-level inputs' patterns (`.bai`, `^.fai`; not expressions) name beside
 * remote Files that do not list them: staging looks for them beside the local copy, so they are
 * looked for (and fetched) beside the remote one.
 */
function secondaryCandidates(process: Process, inputs: CwlObject, refs: RemoteRef[], defaults: DefaultValues): Candidate[] {
  const byEntry = new Map<Entry, RemoteRef>(refs.filter((r) => !r.primary).map((r) => [r.entry, r]));
  const out: Candidate[] = [];
  for (const param of process.inputs) {
    const schemas = (param.secondaryFiles ?? []).filter((p) => !p.pattern.includes('$(') && !p.pattern.includes('${'));
    if (!schemas.length) continue;
    const value = inputs[param.id] ?? defaultOf(param, defaults);
    for (const f of (Array.isArray(value) ? value : [value]) as unknown[]) {
      const ref = isEntry(f) && f.class === 'File' ? byEntry.get(f) : undefined;
      if (!ref) continue;
      const listed = new Set((ref.entry as FileValue).secondaryFiles?.map((x) => x.basename ?? path.posix.basename(x.location ?? x.path ?? '')));
      for (const schema of schemas) {
        // `.crai?` and `required: false` are optional; a `required` expression is taken as optional here.
        const required = !schema.pattern.endsWith('?') && schema.required !== false && typeof schema.required !== 'string';
        const pattern = schema.pattern.replace(/\?$/, '');
        const name = applyPattern(remoteBasename(ref.loc), pattern);
        if (listed.has(name)) continue;
        out.push({ primary: ref, text: sibling(ref.loc, name), required, input: param.id, pattern });
      }
    }
  }
  return out;
}

/** Where a default value sits: a process input or a step input. */
interface DefaultHolder {
  default?: unknown;
}

/** Every holder of a default value in a process and the processes its steps run. */
export function defaultHolders(root: Process): DefaultHolder[] {
  const out: DefaultHolder[] = [];
  const seen = new Set<Process>();
  const visit = (p: Process): void => {
    if (seen.has(p)) return;
    seen.add(p);
    for (const i of p.inputs) if (i.default !== undefined) out.push(i);
    if (p.class === 'Workflow') {
      for (const s of p.steps) {
        for (const i of s.in) if (i.default !== undefined) out.push(i);
        visit(s.run);
      }
    }
  };
  visit(root);
  return out;
}

/** Run `fn` on each item, `limit` at a time; the first failure (in item order) is thrown. */
async function eachLimited<T>(items: T[], limit: number, fn: (t: T, i: number) => Promise<void>): Promise<void> {
  const errors: { i: number; err: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      try {
        await fn(items[i] as T, i);
      } catch (err) {
        errors.push({ i, err });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors.sort((a, b) => a.i - b.i)[0]!.err;
}

const dirPrefix = (loc: S3Location): S3Location => ({ ...loc, key: loc.key === '' || loc.key.endsWith('/') ? loc.key : loc.key + '/' });

export interface RemoteSessionOptions {
  storage: StorageSettings;
  /** The run's --outdir as given: a remote prefix makes the run publish there. */
  outdir: string;
  signal?: AbortSignal;
  /** Tests: a shorter first backoff. */
  retryBaseDelayMs?: number;
  /**
   * The executor's tasks fetch these `s3://` objects themselves (Executor.readsInPlace): they are
   * not downloaded here; a stand-in takes their place (staging/stand-ins.ts).
   */
  readsInPlace?: (loc: S3Location) => boolean;
}

export interface FetchedInputs {
  /** Downloaded to this machine. */
  files: number;
  bytes: number;
  /** Left where they are, for the tasks to read in place. */
  inPlace: { files: number; bytes: number };
}

/** One run's remote data: made by `openRemoteData` when the run has any; else there is nothing to do. */
export class RemoteData {
  private store?: S3Store;
  private readonly checked = new Map<string, Checked>();
  readonly outdir?: S3Location;

  private constructor(
    /** The run's input object: remote entries point at local copies after fetchInputs(). */
    readonly inputs: CwlObject,
    private readonly refs: RemoteRef[],
    private readonly options: RemoteSessionOptions,
    /** This run's copies of the defaults that name remote data, pointed at the fetched files. */
    readonly defaults: DefaultValues,
    private readonly candidates: Candidate[] = [],
  ) {
    if (/^s3:\/\//i.test(options.outdir)) this.outdir = parseS3Location(options.outdir);
  }

  /** Undefined when neither the inputs, the defaults nor the outdir are remote. */
  static find(inputs: CwlObject, process: Process, options: RemoteSessionOptions): RemoteData | undefined {
    if (/^https?:\/\//i.test(options.outdir)) throw new StorageError(`--outdir ${options.outdir}: http(s) locations are read-only; give s3://bucket/prefix or a directory`, options.outdir, 'bad_location');
    // The caller's input object stays as given: the run gets a copy pointed at the fetched files.
    const own = structuredClone(inputs);
    const refs = findRemoteEntries([own]);
    // The loaded process may be shared (by runs of one process, its parsed document cached) and is
    // never changed: a default that names remote data gets a copy of its own for this run, pointed
    // at the fetched files, which the engine uses in its place (model/default-values.ts).
    const defaults = new Map<object, unknown>();
    for (const holder of defaultHolders(process)) {
      if (!findRemoteEntries([holder.default]).length) continue;
      const copy = structuredClone(holder.default);
      defaults.set(holder, copy);
      refs.push(...findRemoteEntries([copy]));
    }
    if (!refs.length && !/^s3:\/\//i.test(options.outdir)) return undefined;
    return new RemoteData(own, refs, options, defaults, secondaryCandidates(process, own, refs, defaults));
  }

  /** Load the AWS SDK and make the client, when this run has s3:// data (preflight does it first). */
  private async loadS3(): Promise<void> {
    if (this.store || (!this.outdir && !this.refs.some((r) => r.loc.scheme === 's3'))) return;
    const { S3Store } = await import('../storage/s3-store.js');
    this.store ??= new S3Store(this.options.storage.s3 ?? {}, this.options.retryBaseDelayMs !== undefined ? { retryBaseDelayMs: this.options.retryBaseDelayMs } : {});
  }

  /** How http(s) inputs are read: the user's address policy and size limit, and the run's signal. */
  private httpOptions(): HttpOptions {
    const http = this.options.storage.http ?? {};
    return {
      access: http,
      ...(http.maxDownloadBytes !== undefined ? { maxBytes: http.maxDownloadBytes } : {}),
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    };
  }

  private s3(): S3Store {
    if (!this.store) throw new Error('RemoteData: the S3 client is made by preflight()');
    return this.store;
  }

  close(): void {
    releaseStandIns(this);
    this.store?.close();
  }

  /** Check every remote input and the remote outdir; throws the first problem, naming its location. */
  async preflight(): Promise<void> {
    await this.loadS3();
    const signal = this.options.signal;
    const unique = new Map<string, RemoteRef>();
    for (const r of this.refs) if (!unique.has(r.text)) unique.set(r.text, r);
    const jobs: (() => Promise<void>)[] = [];
    if (this.outdir) {
      const outdir = this.outdir;
      jobs.push(async () => {
        await this.s3().checkBucket(outdir.bucket, signal);
        await this.s3().checkWritable(outdir, signal);
      });
    }
    for (const r of unique.values()) {
      jobs.push(async () => {
        const kind = r.entry.class;
        if (r.loc.scheme !== 's3') {
          if (kind === 'Directory') throw new StorageError(`${redactUrl(r.text)}: a Directory cannot be read over http(s); use s3:// or a local directory`, redactUrl(r.text), 'bad_location');
          await headHttp(r.loc.url, this.httpOptions());
          this.checked.set(r.text, { kind, loc: r.loc, text: r.text });
          return;
        }
        if (kind === 'File') {
          if (r.loc.key === '' || r.loc.key.endsWith('/')) throw new StorageError(`${r.text}: a File needs an object key, not a prefix`, r.text, 'bad_location');
          this.checked.set(r.text, { kind, loc: r.loc, text: r.text, object: await this.s3().head(r.loc, signal) });
          return;
        }
        const listing: ListedObject[] = [];
        try {
          for await (const o of this.s3().list(dirPrefix(r.loc), signal ? { signal } : {})) listing.push(o);
        } catch (err) {
          // Name the Directory as the user wrote it, not the prefix listed.
          const listed = formatS3Location(dirPrefix(r.loc));
          if (err instanceof StorageError && err.message.startsWith(listed + ':')) {
            throw new StorageError(r.text + err.message.slice(listed.length), r.text, err.reason, { cause: err.cause });
          }
          throw err;
        }
        if (!listing.length) {
          await this.s3().checkBucket(r.loc.bucket, signal);
          throw new StorageError(`${r.text}: no such directory (no objects under ${formatS3Location(dirPrefix(r.loc))})`, r.text, 'not_found');
        }
        this.checked.set(r.text, { kind, loc: r.loc, text: r.text, listing });
      });
    }
    for (const c of this.candidates) {
      jobs.push(async () => {
        const loc = parseRemoteLocation(c.text) as RemoteLocation;
        let object: ObjectInfo | undefined;
        try {
          if (loc.scheme === 's3') object = await this.s3().head(loc, signal);
          else await headHttp(loc.url, this.httpOptions());
        } catch (err) {
          if (!(err instanceof StorageError && err.reason === 'not_found')) throw err;
          if (!c.required) return;
          const [where, beside] = [redactUrl(c.text), redactUrl(c.primary.text)];
          throw new StorageError(`${where}: no such object, and input ${c.input} needs it beside ${beside} (secondaryFiles: ${c.pattern})`, where, 'not_found', { cause: err });
        }
        const entry: FileValue = { class: 'File', location: c.text };
        const file = c.primary.entry as FileValue;
        file.secondaryFiles = [...(file.secondaryFiles ?? []), entry];
        this.refs.push({ entry, text: c.text, loc, primary: c.primary });
        this.checked.set(c.text, { kind: 'File', loc, text: c.text, ...(object ? { object } : {}) });
      });
    }
    await eachLimited(jobs, 8, (job) => job());
  }

  /** Download each remote input once into `cacheDir` and point its objects at the local copies. */
  async fetchInputs(cacheDir: string): Promise<FetchedInputs> {
    await this.loadS3();
    const signal = this.options.signal;
    // One directory per remote location, so two inputs with one basename never collide; a File's
    // secondary files go into its directory, beside it (as tools and container mounts expect).
    // The name is the remote one made a single safe file name (a URL's `..%2F` is no way out).
    const dirOf = new Map<string, string>();
    const destOf = new Map<RemoteRef, string>();
    const fetches = new Map<string, Checked>();
    for (const r of this.refs) {
      const owner = r.primary ?? r;
      let dir = dirOf.get(owner.text);
      if (!dir) dirOf.set(owner.text, (dir = String(dirOf.size)));
      const c = this.checked.get(r.text);
      if (!c) continue;
      const dest = await downloadTarget(cacheDir, dir, safeFileName(remoteBasename(c.loc), c.kind === 'File' ? 'file' : 'dir'));
      const other = fetches.get(dest);
      if (other && other.text !== c.text) {
        throw new StorageError(`${redactUrl(c.text)} and ${redactUrl(other.text)} would be fetched to one file name, ${path.basename(dest)}`, redactUrl(c.text), 'bad_location');
      }
      destOf.set(r, dest);
      fetches.set(dest, c);
    }
    let files = 0;
    let bytes = 0;
    const readInPlace = { files: 0, bytes: 0 };
    // Fetched here only if something on this machine needs the bytes (an input that is an output).
    const materialize = async (o: StandInObject, dest: string): Promise<void> => {
      await this.s3().download({ scheme: 's3', bucket: o.bucket, key: o.key }, dest, { etag: o.etag, ...(signal ? { signal } : {}) });
    };
    const standIn = async (loc: S3Location, info: { size: number; etag: string }, dest: string): Promise<void> => {
      await makeStandIn(dest, { location: formatS3Location(loc), bucket: loc.bucket, key: loc.key, etag: info.etag, size: info.size }, materialize, this);
      readInPlace.files++;
      readInPlace.bytes += info.size;
    };
    const inPlaceOf = (loc: RemoteLocation): S3Location | undefined => (loc.scheme === 's3' && this.options.readsInPlace?.(loc) === true ? loc : undefined);
    await eachLimited([...fetches.entries()], 4, async ([dest, c]) => {
      await mkdir(path.dirname(dest), { recursive: true });
      const inPlace = inPlaceOf(c.loc);
      if (inPlace) {
        if (c.kind === 'File') await standIn(inPlace, c.object as ObjectInfo, dest);
        else {
          const prefix = dirPrefix(inPlace).key;
          await mkdir(dest, { recursive: true });
          for (const o of c.listing ?? []) {
            const rel = o.key.slice(prefix.length);
            if (rel === '' || rel.split('/').some((part) => part === '..')) continue;
            if (rel.endsWith('/')) await mkdir(path.join(dest, rel), { recursive: true });
            else await standIn({ scheme: 's3', bucket: inPlace.bucket, key: o.key }, o, path.join(dest, rel));
          }
        }
      } else if (c.loc.scheme !== 's3') {
        const got = await downloadHttp(c.loc.url, dest, this.httpOptions());
        files++;
        bytes += got.size;
      } else if (c.kind === 'File') {
        const got = await this.s3().download(c.loc, dest, { ...(c.object?.etag ? { etag: c.object.etag } : {}), ...(signal ? { signal } : {}) });
        files++;
        bytes += got.size;
      } else {
        const prefix = dirPrefix(c.loc).key;
        await mkdir(dest, { recursive: true });
        for (const o of c.listing ?? []) {
          const rel = o.key.slice(prefix.length);
          if (rel === '' || rel.split('/').some((part) => part === '..')) continue;
          const target = path.join(dest, rel);
          // A key ending in '/' is a folder marker that some tools write: an (empty) directory.
          if (rel.endsWith('/')) {
            await mkdir(target, { recursive: true });
            continue;
          }
          await mkdir(path.dirname(target), { recursive: true });
          const got = await this.s3().download({ scheme: 's3', bucket: c.loc.bucket, key: o.key }, target, { etag: o.etag, ...(signal ? { signal } : {}) });
          files++;
          bytes += got.size;
        }
      }
    });
    for (const [r, p] of destOf) {
      r.entry.location = pathToFileURL(p).href;
      r.entry.path = p;
      r.entry.basename = path.basename(p);
      if (r.entry.class === 'Directory') delete r.entry.listing;
    }
    return { files, bytes, inPlace: readInPlace };
  }

  /**
   * Upload the outputs relocated into `localOutdir` under the remote outdir; returns the output
   * object with s3:// locations. `earlierOutputs`: output objects of earlier runs into this outdir.
   */
  async publish(outputs: CwlObject, localOutdir: string, runId: string, earlierOutputs: unknown[]): Promise<CwlObject> {
    const outdir = this.outdir;
    if (!outdir) return outputs;
    await this.loadS3();
    const signal = this.options.signal;
    const root = path.resolve(localOutdir);
    const rel = (p: string): string => {
      const r = path.relative(root, path.resolve(p));
      if (r === '' || r.startsWith('..') || path.isAbsolute(r)) throw new StorageError(`${p}: an output outside the run's output directory cannot be uploaded`, p, 'other');
      return r.split(path.sep).join('/');
    };

    // What to upload: every file of every output (a Directory's files found on disk).
    const plan = new Map<string, { local: string; checksum?: string }>();
    const dirs: string[] = [];
    const addTree = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await addTree(p);
        else if (e.isFile()) {
          const key = s3Child(outdir, rel(p)).key;
          if (!plan.has(key)) plan.set(key, { local: p });
        } else throw new StorageError(`${p}: only files and directories can be uploaded`, p, 'other');
      }
    };
    const walk = async (v: unknown): Promise<void> => {
      if (typeof v !== 'object' || v === null) return;
      if (Array.isArray(v)) {
        for (const x of v) await walk(x);
        return;
      }
      if (isEntry(v) && v.path) {
        if (v.class === 'File') {
          const key = s3Child(outdir, rel(v.path)).key;
          plan.set(key, { local: v.path, ...(v.checksum ? { checksum: v.checksum } : {}) });
          for (const s of v.secondaryFiles ?? []) await walk(s);
        } else {
          dirs.push(s3Child(outdir, rel(v.path)).key + '/');
          await addTree(v.path);
        }
        return;
      }
      for (const x of Object.values(v)) await walk(x);
    };
    await walk(outputs);

    // Which keys hold something now, and whether an earlier Strand run wrote it, unchanged.
    const written = earlierWrites(earlierOutputs);
    const replaceable = (key: string, info: ObjectInfo): boolean => {
      const w = written.get(formatS3Location({ bucket: outdir.bucket, key }));
      return w !== undefined && w.size === info.size && w.checksum === `sha1$${info.metadata['strand-sha1'] ?? ''}`;
    };
    const stale: S3Location[] = [];
    const refuse = (key: string): never => {
      const where = formatS3Location({ bucket: outdir.bucket, key });
      throw new StorageError(
        `${where}: an object is already there that no earlier Strand run wrote, or it changed since; Strand does not replace it ` +
          `(choose another --outdir prefix, or remove it yourself). This run's results are in ${root}`,
        where,
        'exists',
      );
    };
    await eachLimited([...plan.keys()], 8, async (key) => {
      const info = await this.s3().headIfExists({ scheme: 's3', bucket: outdir.bucket, key }, signal);
      if (info && !replaceable(key, info)) refuse(key);
    });
    for (const d of dirs) {
      for await (const o of this.s3().list({ scheme: 's3', bucket: outdir.bucket, key: d }, signal ? { signal } : {})) {
        if (plan.has(o.key)) continue;
        const info = await this.s3().head({ scheme: 's3', bucket: outdir.bucket, key: o.key }, signal);
        if (!replaceable(o.key, info)) refuse(o.key);
        stale.push({ scheme: 's3', bucket: outdir.bucket, key: o.key });
      }
    }

    // Upload; each object is whole or absent (multipart aborted on failure).
    const uploaded = new Map<string, { size: number; sha1: string }>();
    await eachLimited([...plan.entries()], 4, async ([key, f]) => {
      const loc: S3Location = { scheme: 's3', bucket: outdir.bucket, key };
      const sha1 = (f.checksum ?? (await sha1File(f.local))).replace(/^sha1\$/, '');
      const up = await this.s3().upload(f.local, loc, { metadata: { 'strand-run': runId, 'strand-sha1': sha1 }, ...(signal ? { signal } : {}) });
      if (up.sha1 !== sha1) {
        throw new StorageError(`${formatS3Location(loc)}: ${f.local} changed while it was uploaded (sha1 ${up.sha1}, verified ${sha1})`, formatS3Location(loc), 'other');
      }
      uploaded.set(key, { size: up.size, sha1: up.sha1 });
    });
    // Earlier Strand files in a Directory output that this run's Directory no longer has.
    for (const s of stale) await this.s3().delete(s, signal);

    return rewriteToRemote(outputs, (p) => s3Child(outdir, rel(p)), uploaded) as CwlObject;
  }
}

/** Output objects of earlier runs -> location -> size and checksum of each File they wrote. */
function earlierWrites(earlier: unknown[]): Map<string, WrittenEntry> {
  return new Map([...earlierWritten(earlier, 'location')].filter(([, w]) => w.kind === 'File'));
}

/** The output object with each local File/Directory replaced by its uploaded location. */
function rewriteToRemote(v: unknown, locOf: (p: string) => S3Location, uploaded: Map<string, { size: number; sha1: string }>): unknown {
  if (Array.isArray(v)) return v.map((x) => rewriteToRemote(x, locOf, uploaded));
  if (typeof v !== 'object' || v === null) return v;
  if (isEntry(v) && v.path) {
    const loc = locOf(v.path);
    const { path: _p, dirname: _d, ...rest } = v as Entry & { dirname?: string };
    if (v.class === 'File') {
      const up = uploaded.get(loc.key);
      return {
        ...rest,
        location: formatS3Location(loc),
        ...(up ? { size: up.size, checksum: `sha1$${up.sha1}` } : {}),
        ...(v.secondaryFiles ? { secondaryFiles: v.secondaryFiles.map((s) => rewriteToRemote(s, locOf, uploaded)) } : {}),
      };
    }
    return {
      ...rest,
      location: formatS3Location(loc),
      ...(v.listing ? { listing: v.listing.map((s) => rewriteToRemote(s, locOf, uploaded)) } : {}),
    };
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewriteToRemote(x, locOf, uploaded)]));
}
