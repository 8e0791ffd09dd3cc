/**
 * A task attempt's own log files (`<logDir>/stdout.log`, `stderr.log`), for the dashboard: served
 * only when they are regular files inside the run store's log directory (`<store>/logs`). The
 * store names the log directory, but what is in it may have been written by the task (a pod on
 * Kubernetes writes its own log directory): a log replaced by a symbolic link (to `/etc/shadow`,
 * to a key), a FIFO or a device, or a directory that leads out of the log root through a link is
 * refused. The file is opened without following a final link (O_NOFOLLOW) and without blocking
 * (a FIFO would wait for a writer), then checked on the open descriptor: a regular file with one
 * name (a hard link's other name may be outside), whose real path (`/proc/self/fd`, or realpath
 * with the same inode elsewhere) is under the log root.
 */
import { constants } from 'node:fs';
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

export const LOG_STREAMS = ['stdout', 'stderr'] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

export interface LogFileInfo {
  stream: LogStream;
  path: string;
  bytes: number;
}

export const logFilePath = (logDir: string, stream: LogStream) => path.join(logDir, `${stream}.log`);

/** The directory under which every log the dashboard serves must be: `<store>/logs`. */
export const logRootOf = (storeDir: string) => path.join(storeDir, 'logs');

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const inside = (root: string, p: string) => {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
};

/** Where the open descriptor's file really is. */
async function realPathOf(fh: FileHandle, file: string, ino: number, dev: number): Promise<string | undefined> {
  if (process.platform === 'linux') return readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined);
  const real = await realpath(file).catch(() => undefined);
  const s = real ? await stat(real).catch(() => undefined) : undefined;
  return s && s.ino === ino && s.dev === dev ? real : undefined;
}

/**
 * `file` opened for reading when it is a regular file under `logRoot` (through no link leading
 * out of it, and not a link itself), else undefined. The caller closes the handle.
 */
export async function openLogFile(logRoot: string, file: string): Promise<{ fh: FileHandle; size: number } | undefined> {
  const root = await realpath(logRoot).catch(() => undefined);
  if (!root || !path.isAbsolute(file)) return undefined;
  const fh = await open(file, FLAGS).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const s = await fh.stat();
    // A second name (a hard link made in the log directory) could be a file from elsewhere.
    const real = s.isFile() && s.nlink === 1 ? await realPathOf(fh, file, s.ino, s.dev) : undefined;
    if (real && inside(root, real)) return { fh, size: s.size };
  } catch {
    // refused below
  }
  await fh.close();
  return undefined;
}

/** The log files of `logDir` that can be served, with their sizes. */
export async function logFilesIn(logRoot: string, logDir: string | undefined): Promise<LogFileInfo[]> {
  if (!logDir) return [];
  const out: LogFileInfo[] = [];
  for (const stream of LOG_STREAMS) {
    const p = logFilePath(logDir, stream);
    const opened = await openLogFile(logRoot, p);
    if (!opened) continue;
    await opened.fh.close();
    out.push({ stream, path: p, bytes: opened.size });
  }
  return out;
}

/** The last `maxLines` lines of a log (reading at most its last `maxBytes`), or undefined when it cannot be served. */
export async function tailOf(logRoot: string, file: string, maxLines = 60, maxBytes = 64 * 1024): Promise<string | undefined> {
  const opened = await openLogFile(logRoot, file);
  if (!opened) return undefined;
  const { fh, size } = opened;
  try {
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, size - len);
    const lines = buf.subarray(0, bytesRead).toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-maxLines).join('\n');
  } finally {
    await fh.close();
  }
}

/** The whole log as a stream (it closes its file), or undefined when it cannot be served. */
export async function logStream(logRoot: string, file: string): Promise<Readable | undefined> {
  const opened = await openLogFile(logRoot, file);
  return opened?.fh.createReadStream({ autoClose: true });
}
