/**
 * What Strand tells a pod's stage-in container to fetch, and what the upload container reports
 * back (both JSON objects in the bucket). Paths are relative: to the pod's root for stage-in, to
 * the task's working directory for results, so one manifest serves a pod wherever its root is.
 */

export interface StageInManifest {
  version: 1;
  bucket: string;
  /** The task's working directory, relative to the pod's root (what upload sends back). */
  workDir: string;
  /** Directories to make (writable by any user: the tool may run as another user than Strand's containers). */
  dirs: string[];
  /** Objects to fetch to `path`; `writable` ones may be changed by the tool (its working directory). */
  /** `etag`: an input read in place must still be the version Strand checked (If-Match). */
  files: Array<{ path: string; key: string; size: number; etag?: string; writable?: boolean }>;
  /** Symbolic links to make; `target` is a path in the pod. */
  links: Array<{ path: string; target: string }>;
}

export interface StoredFile {
  path: string;
  key: string;
  size: number;
  /** The file's mode bits (e.g. 0o755 for a script the tool made executable). */
  mode: number;
}

export interface ResultManifest {
  version: 1;
  /** The tool's exit status, as its container's wrapper wrote it. */
  exitCode: number;
  /** The working directory after the tool: files (with their keys), directories, links. */
  files: StoredFile[];
  dirs: string[];
  links: Array<{ path: string; target: string }>;
  logs: { stdout?: { key: string; size: number }; stderr?: { key: string; size: number } };
  /** Bytes this pod moved: fetched by stage-in, uploaded by the upload container (reused: unchanged files not sent again). */
  fetched: { files: number; bytes: number };
  uploaded: { files: number; bytes: number; reused: number };
}

export const STAGE_IN = 'stage-in.json';
export const RESULT = 'result.json';
/** Written by stage-in beside the task's files: what it laid down in the working directory, so upload can skip what did not change. */
export const STAGED_STATE = 'staged.json';

export interface StagedState {
  fetched: { files: number; bytes: number };
  /** Working-directory-relative path -> the object it came from and the file's size and mtime when laid down. */
  workFiles: Record<string, { key: string; size: number; mtimeMs: number }>;
}

export function isStageInManifest(v: unknown): v is StageInManifest {
  const o = v as StageInManifest;
  return typeof o === 'object' && o !== null && o.version === 1 && Array.isArray(o.files) && Array.isArray(o.dirs) && Array.isArray(o.links);
}

export function isResultManifest(v: unknown): v is ResultManifest {
  const o = v as ResultManifest;
  return typeof o === 'object' && o !== null && o.version === 1 && typeof o.exitCode === 'number' && Array.isArray(o.files);
}
