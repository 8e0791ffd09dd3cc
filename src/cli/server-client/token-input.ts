/**
 * Where `strand login` takes a token from: a file (--token-file), standard input (--token-stdin),
 * or a prompt on the terminal that does not echo. Never the command line: every user of the
 * machine can read a process's arguments (ps, /proc/PID/cmdline). No message here quotes the token.
 */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { readOpenFile, tokenProblem } from './credentials.js';

const MAX_TOKEN_SOURCE_BYTES = 64 * 1024;

/** A token's text as read: surrounding white space (a final newline) dropped, then checked. */
export function tokenFromText(text: string, from: string): string {
  const token = text.trim();
  const problem = tokenProblem(token);
  if (problem) throw new UsageError(`${from}: ${problem} (a file or input holding the token alone is expected)`);
  return token;
}

export function readTokenFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY);
  } catch (err) {
    throw new UsageError(`--token-file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UsageError(`--token-file ${file}: not a regular file (to pipe the token in, use --token-stdin)`);
    if (st.size > MAX_TOKEN_SOURCE_BYTES) throw new UsageError(`--token-file ${file}: larger than ${MAX_TOKEN_SOURCE_BYTES} bytes: not a token`);
    return tokenFromText(readOpenFile(fd, st.size), `--token-file ${file}`);
  } finally {
    closeSync(fd);
  }
}

export async function readTokenStream(input: NodeJS.ReadableStream, from = '--token-stdin'): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    n += b.length;
    if (n > MAX_TOKEN_SOURCE_BYTES) throw new UsageError(`${from}: more than ${MAX_TOKEN_SOURCE_BYTES} bytes: not a token`);
    chunks.push(b);
  }
  return tokenFromText(Buffer.concat(chunks).toString('utf8'), from);
}

/** Ask for the token on the terminal without echoing it. Ctrl-C or Ctrl-D stop with nothing read. */
export function promptToken(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(question);
    let typed = '';
    const wasRaw = input.isRaw;
    input.setRawMode?.(true);
    input.setEncoding('utf8');
    const done = (err?: Error) => {
      input.setRawMode?.(wasRaw ?? false);
      input.off('data', onData);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else {
        try {
          resolve(tokenFromText(typed, 'the token typed'));
        } catch (e) {
          reject(e as Error);
        }
      }
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new UsageError('no token read: nothing was stored'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
        if (typed.length > MAX_TOKEN_SOURCE_BYTES) return done(new UsageError('the token typed is too long'));
      }
    };
    input.on('data', onData);
    input.resume();
  });
}
