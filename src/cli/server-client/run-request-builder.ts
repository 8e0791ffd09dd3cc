/**
 * `strand submit --server`'s WES RunWorkflow request, built from a loaded document and job:
 *
 * - attachments: the document and every local file it is made of (the loader's `files`), and every
 *   local File or Directory the job names (a Directory as every file under it, its secondaryFiles
 *   too), each named by its path relative to the common directory of all of them, so the
 *   document's layout is kept and a relative `run:` or `$include` still finds its file;
 * - workflow_url: the main document's name among them (with `#id` when one was picked);
 * - workflow_params: the job, each local location rewritten to its attachment's name (a relative
 *   URL, which the server resolves against the attachments), remote ones (https, s3) left as they are;
 * - workflow_type_version: the document's own cwlVersion; workflow_engine_parameters: cache,
 *   retries, on_error when given.
 *
 * Refused before anything is sent, each with what to do instead: a file the server could not be
 * given (not a regular file, an empty directory, a name the server refuses, a URL scheme it does
 * not read) and attachments over the server's limits (its service-info tags).
 */
import { openAsBlob, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../../errors.js';
import type { CwlObject } from '../../model/types.js';
import { attachmentNameProblem, CWL_VERSIONS } from '../../server/wes/run-request.js';

/** The server's limits on attachments (service-info tags `strand.attachment.max_bytes` etc.); absent: not said. */
export interface AttachmentLimits {
  fileBytes?: number;
  totalBytes?: number;
  files?: number;
}

/** The limits a Strand server gives in its service-info tags (other servers: none known). */
export function limitsFromTags(tags: Record<string, string> | undefined): AttachmentLimits {
  const n = (k: string) => {
    const v = tags?.[k];
    return v !== undefined && /^\d{1,16}$/.test(v) ? Number(v) : undefined;
  };
  const out: AttachmentLimits = {};
  const file = n('strand.attachment.max_bytes');
  const total = n('strand.attachments.max_total_bytes');
  const count = n('strand.attachments.max_count');
  if (file !== undefined) out.fileBytes = file;
  if (total !== undefined) out.totalBytes = total;
  if (count !== undefined) out.files = count;
  return out;
}

export interface Attachment {
  /** Its name in the request: relative, `/`-separated. */
  name: string;
  /** Where it is on this machine. */
  path: string;
  size: number;
}

export interface RunRequestPlan {
  attachments: Attachment[];
  workflowUrl: string;
  workflowTypeVersion: string;
  workflowParams: CwlObject;
  workflowEngineParameters: Record<string, string>;
  /** The directory the names are relative to. */
  root: string;
}

export interface PlanInput {
  /** The main document (a local path), and the process picked in it, if any (`#id`). */
  mainFile: string;
  fragment?: string;
  /** Every local file the document is made of (absolute paths; the main file among them or not). */
  documentFiles: readonly string[];
  /** The job, as the loader resolved it (locations absolute URIs). */
  inputs: CwlObject;
  engine?: { cache?: string; retries?: number; onError?: string };
  limits?: AttachmentLimits;
  /** URL schemes the server reads inputs from (service-info supported_filesystem_protocols); undefined: not checked. */
  protocols?: readonly string[];
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** Plan the request: which files go, under which names, and the params that name them. Reads the file system (sizes, directories), sends nothing. */
export function planRunRequest(input: PlanInput): RunRequestPlan {
  const mainFile = path.resolve(input.mainFile);
  const files = new Map<string, number>();
  const addFile = (p: string, size: number) => files.set(p, size);
  addFile(mainFile, regularFileSize(mainFile, 'the workflow'));
  for (const f of input.documentFiles) addFile(path.resolve(f), regularFileSize(path.resolve(f), 'a file of the workflow'));

  // Local Files and Directories of the job: collect them, and the directory each is named from.
  const anchors: string[] = [...files.keys()].map((f) => path.dirname(f));
  const protocols = input.protocols?.map((p) => p.toLowerCase());
  walkLocations(input.inputs, (obj, where) => {
    const loc = obj.location as string;
    const scheme = SCHEME.exec(loc)?.[1]?.toLowerCase();
    if (scheme !== 'file') {
      if (scheme !== undefined && protocols !== undefined && !protocols.includes(scheme)) {
        throw new UsageError(`${where}: ${scheme}: locations cannot be read by the server (it reads ${protocols.join(', ') || 'no URLs'}); copy the file here or to a place it reads`);
      }
      return;
    }
    const local = localPath(loc, where);
    if (obj.class === 'File') {
      addFile(local, regularFileSize(local, where));
    } else {
      const under = directoryFiles(local, where);
      if (under.length === 0) throw new UsageError(`${where}: the directory ${local} has no files: WES attachments are files, so an empty directory cannot be sent (put a file in it, or leave it out)`);
      for (const [p, size] of under) addFile(p, size);
    }
    anchors.push(path.dirname(local));
  });

  const root = commonDirectory(anchors);
  const nameOf = (p: string): string => {
    const name = path.relative(root, p).split(path.sep).join('/');
    const problem = attachmentNameProblem(name);
    if (problem) throw new UsageError(`${p} cannot be sent to the server: its name in the request, ${JSON.stringify(name)}, ${problem}`);
    return name;
  };
  const attachments = [...files].map(([p, size]) => ({ name: nameOf(p), path: p, size }));
  checkLimits(attachments, input.limits ?? {});

  const urlOf = (p: string) => path.relative(root, p).split(path.sep).map(encodeURIComponent).join('/');
  const workflowParams = rewriteLocations(input.inputs, (loc) => (loc.startsWith('file:') ? urlOf(fileURLToPath(loc)) : loc));
  const workflowEngineParameters: Record<string, string> = {};
  if (input.engine?.cache !== undefined) workflowEngineParameters.cache = input.engine.cache;
  if (input.engine?.retries !== undefined) workflowEngineParameters.retries = String(input.engine.retries);
  if (input.engine?.onError !== undefined) workflowEngineParameters.on_error = input.engine.onError;
  return {
    attachments,
    workflowUrl: urlOf(mainFile) + (input.fragment ? `#${input.fragment}` : ''),
    workflowTypeVersion: documentCwlVersion(mainFile),
    workflowParams,
    workflowEngineParameters,
    root,
  };
}

/** The RunWorkflow multipart/form-data body of a plan: fields as text, then one workflow_attachment part per file, read as it is sent. */
export async function runRequestForm(plan: RunRequestPlan, tags: Record<string, string> = {}): Promise<FormData> {
  const form = new FormData();
  form.append('workflow_type', 'CWL');
  form.append('workflow_type_version', plan.workflowTypeVersion);
  form.append('workflow_url', plan.workflowUrl);
  form.append('workflow_params', JSON.stringify(plan.workflowParams));
  if (Object.keys(plan.workflowEngineParameters).length) form.append('workflow_engine_parameters', JSON.stringify(plan.workflowEngineParameters));
  if (Object.keys(tags).length) form.append('tags', JSON.stringify(tags));
  for (const a of plan.attachments) form.append('workflow_attachment', await openAsBlob(a.path), a.name);
  return form;
}

// ---- pieces -------------------------------------------------------------------------------------

/** The cwlVersion the main document declares (v1.0, v1.1 or v1.2); v1.2 when it names none of them at its top. */
export function documentCwlVersion(file: string): string {
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: 100 });
  } catch {
    return 'v1.2';
  }
  const v = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>).cwlVersion : undefined;
  return typeof v === 'string' && (CWL_VERSIONS as readonly string[]).includes(v) ? v : 'v1.2';
}

/** Every File or Directory object with a string location in `v`, with where it is (`input reads`, `input refs[2].secondaryFiles[0]`). */
function walkLocations(v: unknown, visit: (obj: CwlObject, where: string) => void, where = ''): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => walkLocations(x, visit, `${where}[${i}]`));
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const o = v as CwlObject;
  if (o.class === 'File' || o.class === 'Directory') {
    if (typeof o.location === 'string') visit(o, where.replace(/^\./, 'input ') || 'an input');
    walkLocations(o.secondaryFiles, visit, `${where}.secondaryFiles`);
    walkLocations(o.listing, visit, `${where}.listing`);
    return;
  }
  for (const [k, x] of Object.entries(o)) walkLocations(x, visit, `${where}.${k}`);
}

/** `v` with every File/Directory location mapped, and the local `path` and `dirname` left out. */
function rewriteLocations(v: CwlObject, map: (location: string) => string): CwlObject {
  const walk = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x !== 'object' || x === null) return x;
    const o = x as Record<string, unknown>;
    if (o.class === 'File' || o.class === 'Directory') {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(o)) {
        if (k === 'path' || k === 'dirname') continue;
        if (k === 'location' && typeof val === 'string') out[k] = map(val);
        else if (k === 'secondaryFiles' || k === 'listing') out[k] = walk(val);
        else out[k] = val;
      }
      return out;
    }
    return Object.fromEntries(Object.entries(o).map(([k, val]) => [k, walk(val)]));
  };
  return walk(v) as CwlObject;
}

function localPath(location: string, where: string): string {
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    throw new UsageError(`${where}: ${location} is not a valid file URL`);
  }
  if (u.host !== '' && u.host !== 'localhost') throw new UsageError(`${where}: ${location} is on another host (${u.host}): only files of this machine can be sent`);
  return fileURLToPath(u);
}

function regularFileSize(p: string, what: string): number {
  let st;
  try {
    st = statSync(p);
  } catch (err) {
    throw new UsageError(`${what}: ${p} cannot be read: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (!st.isFile()) throw new UsageError(`${what}: ${p} is not a regular file (${st.isDirectory() ? 'a directory: give it as class: Directory' : 'a device, pipe or socket'}): it cannot be sent to the server`);
  return st.size;
}

/** Every regular file under `dir` (links followed, each directory once), with its size. */
function directoryFiles(dir: string, where: string): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const seen = new Set<string>();
  const visit = (d: string) => {
    let st;
    try {
      st = statSync(d);
    } catch (err) {
      throw new UsageError(`${where}: ${d} cannot be read: ${(err as Error).message}`);
    }
    if (!st.isDirectory()) throw new UsageError(`${where}: ${d} is not a directory`);
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      let s;
      try {
        s = statSync(p);
      } catch (err) {
        throw new UsageError(`${where}: ${p} cannot be read (${(err as Error).message}): it cannot be sent to the server`);
      }
      if (s.isDirectory()) visit(p);
      else if (s.isFile()) out.push([p, s.size]);
      else throw new UsageError(`${where}: ${p} is not a regular file (a device, pipe or socket): it cannot be sent to the server`);
    }
  };
  visit(dir);
  return out;
}

/** The deepest directory that holds every one of `dirs` (absolute paths). */
export function commonDirectory(dirs: readonly string[]): string {
  const split = (d: string) => path.resolve(d).split(path.sep).filter(Boolean);
  let common = split(dirs[0] ?? '/');
  for (const d of dirs.slice(1)) {
    const parts = split(d);
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return path.sep + common.join(path.sep);
}

const size = (n: number) => (n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`);
const TOO_BIG_HELP = 'put large inputs where the server reads them (an s3:// or https:// location in the job) and name them there';

function checkLimits(attachments: readonly Attachment[], limits: AttachmentLimits): void {
  if (limits.files !== undefined && attachments.length > limits.files) {
    throw new UsageError(`${attachments.length} files would be attached, and the server takes at most ${limits.files}: ${TOO_BIG_HELP}`);
  }
  if (limits.fileBytes !== undefined) {
    const over = attachments.filter((a) => a.size > limits.fileBytes!).sort((a, b) => b.size - a.size);
    if (over.length) {
      const list = over.slice(0, 5).map((a) => `${a.path} (${size(a.size)})`).join(', ');
      throw new UsageError(`the server takes files of at most ${size(limits.fileBytes)}, and ${over.length === 1 ? 'this one is' : `${over.length} are`} larger: ${list}${over.length > 5 ? ', …' : ''}; ${TOO_BIG_HELP}`);
    }
  }
  const total = attachments.reduce((n, a) => n + a.size, 0);
  if (limits.totalBytes !== undefined && total > limits.totalBytes) {
    throw new UsageError(`the files to attach come to ${size(total)}, and the server takes at most ${size(limits.totalBytes)} in one request: ${TOO_BIG_HELP}`);
  }
}
