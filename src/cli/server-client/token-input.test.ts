import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { promptToken, readTokenFile, readTokenStream } from './token-input.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'strand-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'eyJhbGciOi.payload.sig_-5f1c9e';

describe('reading a token', () => {
  it('from a file, without its final newline; a file that is no token is refused without quoting it', () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, `${TOKEN}\n`);
    expect(readTokenFile(f)).toBe(TOKEN);
    writeFileSync(f, 'Bearer secret-words here\n');
    let message = '';
    try {
      readTokenFile(f);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('holds characters a bearer token cannot have');
    expect(message).not.toContain('secret-words');
    expect(() => readTokenFile(path.join(dir, 'none'))).toThrow('no such file');
    expect(() => readTokenFile(dir)).toThrow(/not a regular file/);
  });

  it('from standard input', async () => {
    expect(await readTokenStream(Readable.from([Buffer.from(TOKEN.slice(0, 5)), Buffer.from(`${TOKEN.slice(5)}\r\n`)]))).toBe(TOKEN);
    await expect(readTokenStream(Readable.from([Buffer.from('')]))).rejects.toThrow('--token-stdin: the token is empty');
  });

  it('typed on a terminal: not echoed, backspace honoured, Ctrl-C stops', async () => {
    const input = new PassThrough() as unknown as NodeJS.ReadStream;
    const output = new PassThrough() as unknown as NodeJS.WriteStream;
    let shown = '';
    (output as unknown as PassThrough).on('data', (d: Buffer) => (shown += d.toString()));
    const got = promptToken('token: ', input, output);
    (input as unknown as PassThrough).write(`${TOKEN}x\u007f\r`);
    expect(await got).toBe(TOKEN);
    expect(shown).toBe('token: \n');
    const stopped = promptToken('token: ', input, output);
    (input as unknown as PassThrough).write('abc\u0003');
    await expect(stopped).rejects.toThrow('no token read: nothing was stored');
  });
});
