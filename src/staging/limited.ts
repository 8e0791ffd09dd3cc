/**
 * Work over many paths at once, but not all at once: a scatter's outputs are counted in tens of
 * thousands, and a check or copy of each holds a file open (EMFILE past the process's limit) and
 * memory while it waits. At most `width` run at a time; after a failure no more are started, the
 * running ones settle, and the first error is thrown.
 */

/** How many file operations of one kind a run keeps going at once. */
export const FILE_CONCURRENCY = 16;

export async function mapLimited<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>, width = FILE_CONCURRENCY): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(Math.max(1, width), items.length) }, worker));
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return out;
}

export async function forEachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>, width = FILE_CONCURRENCY): Promise<void> {
  await mapLimited(items, fn, width);
}
