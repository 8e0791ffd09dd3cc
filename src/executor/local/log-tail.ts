/** The last lines of a log file, for failure messages. */
import { openConfined } from '../../staging/confined-read.js';

/**
 * Last `maxLines` non-empty lines of `file` (reading at most its last `maxBytes`); undefined if
 * unreadable or empty, or when it is not a regular file inside `root` (the task may have swapped
 * it for a link to a host file: see staging/confined-read.ts).
 */
export async function readLogTail(file: string, root: string, maxLines = 20, maxBytes = 16 * 1024): Promise<string | undefined> {
  let fh;
  try {
    const opened = await openConfined(root, file);
    if (!opened) return undefined;
    fh = opened.fh;
    const size = opened.size;
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
