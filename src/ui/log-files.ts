/**
 * A task attempt's own log files (`<logDir>/stdout.log`, `stderr.log`), for the dashboard: served
 * only when they are regular files inside the run store's log directory (`<store>/logs`). The
 * store names the log directory, but what is in it may have been written by the task (a pod on
 * Kubernetes writes its own log directory): a log replaced by a symbolic link (to `/etc/shadow`,
 * to a key), a FIFO or a device, or a directory that leads out of the log root through a link is
 * refused, by the one confined reader (staging/confined-read.ts) that the executors also use
 * when they read a failed task's log tail.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { openConfined } from '../staging/confined-read.js';

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

/** The log files of `logDir` that can be served, with their sizes. */
export async function logFilesIn(logRoot: string, logDir: string | undefined): Promise<LogFileInfo[]> {
  if (!logDir) return [];
  const out: LogFileInfo[] = [];
  for (const stream of LOG_STREAMS) {
    const p = logFilePath(logDir, stream);
    const opened = await openConfined(logRoot, p);
    if (!opened) continue;
    await opened.fh.close();
    out.push({ stream, path: p, bytes: opened.size });
  }
  return out;
}

/** The last `maxLines` lines of a log (reading at most its last `maxBytes`), or undefined when it cannot be served. */
export async function tailOf(logRoot: string, file: string, maxLines = 60, maxBytes = 64 * 1024): Promise<string | undefined> {
  const opened = await openConfined(logRoot, file);
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
  const opened = await openConfined(logRoot, file);
  return opened?.fh.createReadStream({ autoClose: true });
}
