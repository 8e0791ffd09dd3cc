/**
 * The run store's file is the users' history: Strand never replaces or adopts a file it did not
 * make. A new store is built under a temporary name and linked into place whole (two runs starting
 * on a new store at once: one wins, the other opens it), so a zero-length `strand.db` is never
 * Strand's own, and is refused rather than silently turned into an empty store; a SQLite file of
 * another program is refused by migrate() (schema.ts).
 */
import { linkSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { migrate } from './schema.js';
import { createPrivateFile } from './store-files.js';

/** Make sure `file` is a run store Strand can open: create it whole if missing, refuse what is not one. */
export function ensureStoreFile(file: string): void {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    createStoreFile(file);
    return;
  }
  const advice = 'Strand does not replace it: move it away to start a new store there, or choose another with --store DIR (or STRAND_STORE)';
  if (!st.isFile()) throw new StoreError(`the run store ${file} is not a regular file; ${advice}`);
  if (st.size === 0) {
    throw new StoreError(`the run store ${file} is empty (0 bytes): not a run store Strand made, or one whose contents were lost; ${advice}`);
  }
}

function createStoreFile(file: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.new-${randomBytes(6).toString('hex')}`);
  try {
    createPrivateFile(temp);
    const db = new Database(temp);
    try {
      db.pragma('journal_mode = WAL');
      migrate(db);
    } finally {
      db.close();
    }
    try {
      linkSync(temp, file);
    } catch (err) {
      // Another Strand made it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } finally {
    for (const leftover of [temp, `${temp}-wal`, `${temp}-shm`]) {
      try {
        unlinkSync(leftover);
      } catch {
        // not there
      }
    }
  }
}
