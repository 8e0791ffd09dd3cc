/** A task attempt's own log files (`<logDir>/stdout.log`, `stderr.log`), for the dashboard. */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
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

/** The log files of `logDir` that exist, with their sizes. */
export async function logFilesIn(logDir: string | undefined): Promise<LogFileInfo[]> {
  if (!logDir) return [];
  const out: LogFileInfo[] = [];
  for (const stream of LOG_STREAMS) {
    const p = logFilePath(logDir, stream);
    const s = await stat(p).catch(() => undefined);
    if (s?.isFile()) out.push({ stream, path: p, bytes: s.size });
  }
  return out;
}

/** The last `maxLines` lines of a file (reading at most its last `maxBytes`), or undefined when unreadable. */
export async function tailOf(file: string, maxLines = 60, maxBytes = 64 * 1024): Promise<string | undefined> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-maxLines).join('\n');
  } finally {
    await fh.close();
  }
}

/** The whole file as a stream, or undefined when it does not exist. */
export async function logStream(file: string): Promise<Readable | undefined> {
  const s = await stat(file).catch(() => undefined);
  return s?.isFile() ? createReadStream(file) : undefined;
}
