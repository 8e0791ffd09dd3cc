/**
 * File names that are not UTF-8 (a directory of data files made elsewhere: `caf\xe9.txt` in
 * Latin-1). Node decodes names as UTF-8 and puts U+FFFD for a byte it cannot decode, after which
 * the name cannot be found again. Here such a name is carried in a JavaScript string the way
 * Python's surrogateescape does: each undecodable byte b as the lone surrogate U+DC00+b (b is
 * 0x80-0xFF), which no valid UTF-8 produces. Such a string goes to the file system as a Buffer of
 * the original bytes (`fsPath`), and to a location as the percent-encoded bytes
 * (`file:///data/caf%E9.txt`). A name that is valid UTF-8 is untouched by all of this.
 */
import { chmod, copyFile, mkdir, readdir, readlink, realpath, stat } from 'node:fs/promises';
import fs, { constants, type Dirent } from 'node:fs';
import path from 'node:path';

const ESCAPED = /[\udc80-\udcff]/;

/** Whether `s` carries a byte that is not UTF-8 (as an escape). */
export function hasRawBytes(s: string): boolean {
  return ESCAPED.test(s);
}

/** A name (or path) read from the file system as bytes, as a string; undecodable bytes escaped. */
export function nameFromBytes(b: Buffer): string {
  const s = b.toString('utf8');
  if (!s.includes('\ufffd') || Buffer.from(s, 'utf8').equals(b)) return s;
  let out = '';
  let i = 0;
  while (i < b.length) {
    const n = validSequenceLength(b, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + (b[i] as number));
      i += 1;
    } else {
      out += b.toString('utf8', i, i + n);
      i += n;
    }
  }
  return out;
}

/** The length of the valid UTF-8 sequence at b[i] (no overlongs, no surrogates), or 0. */
function validSequenceLength(b: Buffer, i: number): number {
  const c = b[i] as number;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && (b[i + k] as number) >= lo && (b[i + k] as number) <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** The bytes a string with escapes stands for. */
export function bytesOfName(s: string): Buffer {
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 0xdc80 && c <= 0xdcff) {
      if (run) parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.from([c - 0xdc00]));
    } else run += ch;
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** What to hand to an fs call for the path `p`: `p` itself, or its bytes when it carries escapes. */
export function fsPath(p: string): string | Buffer {
  return hasRawBytes(p) ? bytesOfName(p) : p;
}

/** The entries of `dir` with their names as read (undecodable bytes escaped, see above). */
export async function readEntries(dir: string): Promise<Array<{ name: string; entry: Dirent<Buffer> }>> {
  const entries = await readdir(fsPath(dir) as Buffer, { withFileTypes: true, encoding: 'buffer' });
  return entries.map((entry) => ({ name: nameFromBytes(entry.name), entry }));
}

/** Characters a file: URL path keeps as they are (RFC 3986 pchar and `/`); every other byte is %XX. */
const KEPT = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/** `file://` location of an absolute path that carries escapes: its bytes, percent-encoded. */
export function locationOfRawPath(p: string): string {
  let out = '';
  for (const byte of bytesOfName(path.resolve(p))) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && KEPT.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `file://${out}`;
}

/**
 * The path of a `file:` location whose percent-encoded bytes are not UTF-8, with escapes; undefined
 * when they are (the caller's usual decoding applies) or when the location is not a plain local one.
 */
export function rawPathOfLocation(loc: string): string | undefined {
  if (!/%[89a-f][0-9a-f]/i.test(loc)) return undefined;
  let url: URL;
  try {
    url = new URL(loc);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'file:' || (url.hostname !== '' && url.hostname !== 'localhost')) return undefined;
  if (/%2f|%00/i.test(url.pathname)) return undefined; // left to fileURLToPath, which refuses them
  const bytes: number[] = [];
  const raw = Buffer.from(url.pathname, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x25 && i + 2 < raw.length && /^[0-9a-f]{2}$/i.test(raw.toString('latin1', i + 1, i + 3))) {
      bytes.push(parseInt(raw.toString('latin1', i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c);
  }
  const b = Buffer.from(bytes);
  const s = nameFromBytes(b);
  return hasRawBytes(s) ? s : undefined;
}

/** realpath(3) of `p`, names not UTF-8 kept (escaped). */
export async function realpathRaw(p: string): Promise<string> {
  return nameFromBytes(await realpath(fsPath(p), { encoding: 'buffer' }));
}

/** The target of the link `p`, names not UTF-8 kept (escaped). */
export async function readlinkRaw(p: string): Promise<string> {
  return nameFromBytes(await readlink(fsPath(p), { encoding: 'buffer' }));
}

/**
 * Copy the directory `src` to `dest` (which must not exist), links followed, every name as its
 * bytes: fs.cp reads names as UTF-8 and cannot copy one that is not. Modes kept (permission bits);
 * anything other than files and directories (a FIFO, a socket) is refused, as fs.cp does.
 */
export async function copyTreeDereferenced(src: string, dest: string): Promise<void> {
  const st = await stat(fsPath(src));
  await mkdir(fsPath(dest));
  for (const { name } of await readEntries(src)) {
    const from = path.join(src, name);
    const to = path.join(dest, name);
    const s = await stat(fsPath(from));
    if (s.isDirectory()) await copyTreeDereferenced(from, to);
    else if (s.isFile()) {
      await copyFile(fsPath(from), fsPath(to), constants.COPYFILE_EXCL);
      await chmod(fsPath(to), s.mode & 0o7777);
    } else throw new Error(`cannot copy ${from}: not a file or a directory`);
  }
  await chmod(fsPath(dest), st.mode & 0o7777);
}

/** `s` for a message: each byte that is not UTF-8 as \xNN. */
export function shownName(s: string): string {
  return s.replace(/[\udc80-\udcff]/g, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16).toUpperCase()}`);
}

type Callback<T> = (err: NodeJS.ErrnoException | null, value?: T) => void;

/** A Dirent-like entry with its name escaped (what fast-glob reads of an entry). */
function escapedDirent(e: Dirent<Buffer>): Pick<Dirent, 'name' | 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isBlockDevice' | 'isCharacterDevice' | 'isFIFO' | 'isSocket'> {
  return {
    name: nameFromBytes(e.name),
    isFile: () => e.isFile(),
    isDirectory: () => e.isDirectory(),
    isSymbolicLink: () => e.isSymbolicLink(),
    isBlockDevice: () => e.isBlockDevice(),
    isCharacterDevice: () => e.isCharacterDevice(),
    isFIFO: () => e.isFIFO(),
    isSocket: () => e.isSocket(),
  };
}

/**
 * The file system as fast-glob's `fs` option takes it, with names as bytes: without it a glob
 * silently leaves out a file whose name is not UTF-8 (its mangled name is not there to stat).
 */
export const rawNameGlobFs = {
  readdir(dir: string, opts: unknown, cb?: Callback<unknown[]>): void {
    const done = (typeof opts === 'function' ? opts : cb) as Callback<unknown[]>;
    const withTypes = typeof opts === 'object' && opts !== null && (opts as { withFileTypes?: boolean }).withFileTypes === true;
    if (withTypes) fs.readdir(fsPath(dir), { withFileTypes: true, encoding: 'buffer' }, (err, es) => (err ? done(err) : done(null, es.map(escapedDirent))));
    else fs.readdir(fsPath(dir), { encoding: 'buffer' }, (err, names) => (err ? done(err) : done(null, names.map(nameFromBytes))));
  },
  readdirSync(dir: string, opts?: { withFileTypes?: boolean }): unknown[] {
    if (opts?.withFileTypes) return fs.readdirSync(fsPath(dir), { withFileTypes: true, encoding: 'buffer' }).map(escapedDirent);
    return fs.readdirSync(fsPath(dir), { encoding: 'buffer' }).map(nameFromBytes);
  },
  stat: (p: string, cb: Callback<fs.Stats>) => fs.stat(fsPath(p), cb),
  lstat: (p: string, cb: Callback<fs.Stats>) => fs.lstat(fsPath(p), cb),
  statSync: (p: string) => fs.statSync(fsPath(p)),
  lstatSync: (p: string) => fs.lstatSync(fsPath(p)),
};
