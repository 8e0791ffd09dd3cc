/** The last lines of a log file, for failure messages. */
import { open } from 'node:fs/promises';

/** Last `maxLines` non-empty lines of `file` (reading at most its last `maxBytes`); undefined if unreadable or empty. */
export async function readLogTail(file: string, maxLines = 20, maxBytes = 16 * 1024): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(file, 'r');
    const { size } = await fh.stat();
    const len = Math.min(size, maxBytes);
    if (len === 0) return undefined;
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    let lines = buf.toString('utf8').split('\n');
    // A partial first line (cut by maxBytes) is dropped.
    if (size > len) lines = lines.slice(1);
    const tail = lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '').slice(-maxLines);
    return tail.length > 0 ? tail.join('\n') : undefined;
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
