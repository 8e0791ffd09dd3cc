/**
 * The run store's files are private to the user running Strand: they hold input objects, command
 * lines, environments and log tails. A store directory Strand makes is 0700, `strand.db` is built
 * 0600 (ensureStoreFile, below; SQLite gives its `-wal` and `-shm` files the database's mode), and
 * `logs/` is made 0700 (executor/local/process-start.ts). The modes are set with chmod after
 * creation, so no umask loosens them.
 *
 * A store made by an older Strand (0755 directory, 0644 files): what Strand made inside it
 * (`strand.db`, `strand.db-wal`, `strand.db-shm`, `logs/`) is tightened when it is opened, if it is
 * a regular file or directory (not a link) owned by this user. The store directory itself is left
 * as it is: it may be a directory the user chose and shares (`--store ~/project`); with its
 * contents private, it shows only their names.
 */
import { closeSync, constants, existsSync, fchmodSync, fstatSync, linkSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { migrate } from './schema.js';

export const STORE_DIR_MODE = 0o700;
export const STORE_FILE_MODE = 0o600;

/** Make the store directory if missing, with a private mode. */
export function prepareStoreDir(dir: string): void {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: STORE_DIR_MODE });
    withFd(dir, true, (fd) => fchmodSync(fd, STORE_DIR_MODE));
  }
}

/** Create `file` empty with the store's private mode (a umask cannot loosen it); fails if it exists. */
export function createPrivateFile(file: string): void {
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, STORE_FILE_MODE);
  try {
    fchmodSync(fd, STORE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

/** Tighten what an older Strand made in the store (see above). */
export function tightenStoreFiles(dir: string, dbFile: string): void {
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) tighten(f, false);
  tighten(path.join(dir, 'logs'), true);
}

/**
 * Take the group and other bits off `p` if it is a regular file (or a directory, with `dir`) owned
 * by this user; a link, a missing path or someone else's file is left alone.
 */
function tighten(p: string, dir: boolean): void {
  withFd(p, dir, (fd) => {
    const st = fstatSync(fd);
    const kindOk = dir ? st.isDirectory() : st.isFile();
    const mine = typeof process.getuid !== 'function' || st.uid === process.getuid();
    if (kindOk && mine && (st.mode & 0o077) !== 0) fchmodSync(fd, st.mode & 0o700);
  });
}

/**
 * Run `fn` on `p` opened without following links (a link swapped in is never changed through);
 * nothing when it cannot be opened (missing, a link, not a directory, unreadable).
 */
function withFd(p: string, dir: boolean, fn: (fd: number) => void): void {
  let fd: number;
  try {
    fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW | (dir ? constants.O_DIRECTORY : constants.O_NONBLOCK));
  } catch {
    return;
  }
  try {
    fn(fd);
  } finally {
    closeSync(fd);
  }
}

// The run store's file is the users' history: Strand never replaces or adopts a file it did not
// make. A new store is built under a temporary name and linked into place whole (two runs starting
// on a new store at once: one wins, the other opens it), so a zero-length `strand.db` is never
// Strand's own, and is refused rather than silently turned into an empty store; a SQLite file of
// another program is refused by assertRunStore (schema.ts).

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
