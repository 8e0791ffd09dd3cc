import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CredentialsFileError,
  credentialsPath,
  defaultServerName,
  normaliseServerUrl,
  parseCredentials,
  pickServer,
  readCredentials,
  tokenProblem,
  withLogin,
  withoutLogin,
  writeCredentials,
  type Credentials,
} from './credentials.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-5f1c9e';
let home = '';
let file = '';

beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'strand-creds-'));
  file = path.join(home, 'config', 'strand', 'servers.yaml');
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const lab: Credentials = { default: 'lab', servers: [{ name: 'lab', url: 'https://strand.lab.example', token: TOKEN }] };
const mode = (p: string) => statSync(p).mode & 0o777;

describe('credentialsPath', () => {
  it('is under $XDG_CONFIG_HOME when it is absolute, else ~/.config', () => {
    expect(credentialsPath({ XDG_CONFIG_HOME: '/x/conf' }, '/home/ada')).toBe('/x/conf/strand/servers.yaml');
    expect(credentialsPath({}, '/home/ada')).toBe('/home/ada/.config/strand/servers.yaml');
    // A relative XDG_CONFIG_HOME is invalid (the XDG spec): ignored.
    expect(credentialsPath({ XDG_CONFIG_HOME: 'conf' }, '/home/ada')).toBe('/home/ada/.config/strand/servers.yaml');
  });
});

describe('writeCredentials and readCredentials', () => {
  it('make the file 0600 in a new 0700 directory, and read back what was written', () => {
    writeCredentials(file, lab);
    expect(mode(file)).toBe(0o600);
    expect(mode(path.dirname(file))).toBe(0o700);
    expect(readCredentials(file)).toEqual(lab);
    expect(readFileSync(file, 'utf8')).toContain('# The lab servers');
  });

  it('reads no servers from a file that is not there yet', () => {
    expect(readCredentials(file)).toEqual({ servers: [] });
  });

  it('replace the file by a rename: a reader of the old file reads it whole, no temporary file is left', () => {
    writeCredentials(file, lab);
    const before = statSync(file).ino;
    const oldText = readFileSync(file, 'utf8');
    const fd = openSync(file, 'r');
    try {
      const two = withLogin(lab, { name: 'dev', url: 'http://127.0.0.1:8080', token: 'tok-dev-77a0d2' });
      writeCredentials(file, two);
      // The file open before the write is the old one, untouched (not rewritten in place).
      const buf = Buffer.alloc(oldText.length + 100);
      const n = readSync(fd, buf, 0, buf.length, 0);
      expect(buf.subarray(0, n).toString('utf8')).toBe(oldText);
      expect(statSync(file).ino).not.toBe(before);
      expect(readCredentials(file)).toEqual(two);
    } finally {
      closeSync(fd);
    }
    expect(readdirSync(path.dirname(file))).toEqual(['servers.yaml']);
  });

  it('refuse a file that is a symbolic link, reading and writing, and leave its target alone', () => {
    const target = path.join(home, 'elsewhere.yaml');
    writeFileSync(target, 'servers: []\n', { mode: 0o600 });
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    symlinkSync(target, file);
    expect(() => readCredentials(file)).toThrow(/is a symbolic link.*remove the link/);
    expect(() => writeCredentials(file, lab)).toThrow(CredentialsFileError);
    expect(readFileSync(target, 'utf8')).toBe('servers: []\n');
  });

  it('refuse a file others can read, saying how to fix it, and never print its token', () => {
    writeCredentials(file, lab);
    for (const m of [0o640, 0o604, 0o660]) {
      chmodSync(file, m);
      let message = '';
      try {
        readCredentials(file);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain(`chmod 600 ${file}`);
      expect(message).toContain(`mode 0${m.toString(8)}`);
      expect(message).not.toContain(TOKEN);
      expect(() => writeCredentials(file, lab)).toThrow(/open to others/);
    }
    chmodSync(file, 0o600);
    expect(readCredentials(file)).toEqual(lab);
  });

  it("refuse a directory others can change, and a file of another user's", () => {
    writeCredentials(file, lab);
    chmodSync(path.dirname(file), 0o777);
    expect(() => readCredentials(file)).toThrow(/can be changed by others.*chmod go-w/);
    chmodSync(path.dirname(file), 0o700);
    if (process.getuid?.() === 0) {
      chownSync(file, 12345, 12345);
      expect(() => readCredentials(file)).toThrow(/belongs to another user \(uid 12345\)/);
    }
  });

  it('report a file that does not parse by line and column only, never the text (a token) around them', () => {
    const text = `default: lab\nservers:\n  - name: lab\n    token: "${TOKEN}\n    url: [\n`;
    let message = '';
    try {
      parseCredentials(text, '/home/ada/.config/strand/servers.yaml');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/not valid YAML at line \d+, column \d+/);
    expect(message).not.toContain(TOKEN);
    expect(message).not.toContain('sig-5f1c9e');
  });

  it('refuse entries that are not logins, naming them', () => {
    expect(() => parseCredentials('servers:\n  - name: lab\n    url: ftp://x\n    token: abc\n', 'f')).toThrow(/servers\[0\]\.url/);
    expect(() => parseCredentials('servers:\n  - name: lab\n    url: https://x\n    token: "a b"\n', 'f')).toThrow(/servers\[0\]\.token/);
    expect(() => parseCredentials('default: other\nservers:\n  - {name: lab, url: "https://x", token: abc}\n', 'f')).toThrow(/default/);
    expect(parseCredentials('', 'f')).toEqual({ servers: [] });
  });
});

describe('the logins', () => {
  it('make the first server the default; another is added beside it; the same URL is replaced', () => {
    let c: Credentials = { servers: [] };
    c = withLogin(c, { name: 'lab', url: 'https://a.example', token: 'tok1' });
    c = withLogin(c, { name: 'dev', url: 'http://127.0.0.1:8080', token: 'tok2' });
    expect(c.default).toBe('lab');
    c = withLogin(c, { name: 'lab', url: 'https://a.example', token: 'tok3' });
    expect(c.servers).toEqual([
      { name: 'lab', url: 'https://a.example', token: 'tok3' },
      { name: 'dev', url: 'http://127.0.0.1:8080', token: 'tok2' },
    ]);
    // Renamed at a new login: the default follows.
    c = withLogin(c, { name: 'main', url: 'https://a.example', token: 'tok3' });
    expect(c.default).toBe('main');
    expect(() => withLogin(c, { name: 'dev', url: 'https://b.example', token: 't' })).toThrow(/taken by http:\/\/127\.0\.0\.1:8080/);
    c = withoutLogin(c, c.servers[0]!);
    expect(c).toEqual({ default: 'dev', servers: [{ name: 'dev', url: 'http://127.0.0.1:8080', token: 'tok2' }] });
    expect(withoutLogin(c, c.servers[0]!)).toEqual({ servers: [] });
  });

  it('pick a server by name or URL (as pasted), else the default, else say how to log in', () => {
    const c = withLogin(lab, { name: 'dev', url: 'http://127.0.0.1:8080', token: 'tok2' });
    expect(pickServer(c, undefined, 'F').name).toBe('lab');
    expect(pickServer(c, 'dev', 'F').name).toBe('dev');
    expect(pickServer(c, 'http://127.0.0.1:8080/ga4gh/wes/v1/', 'F').name).toBe('dev');
    expect(() => pickServer(c, 'https://other.example', 'F')).toThrow('not logged in to https://other.example (logged in: lab, dev): strand login --server https://other.example');
    expect(() => pickServer({ servers: [] }, undefined, 'F')).toThrow('not logged in to any server (F has none): strand login --server URL');
  });

  it('normalise URLs, refusing credentials, queries and other schemes', () => {
    expect(normaliseServerUrl('https://strand.lab.example/')).toBe('https://strand.lab.example');
    expect(normaliseServerUrl('https://lab.example/strand/ga4gh/wes/v1')).toBe('https://lab.example/strand');
    expect(normaliseServerUrl('HTTP://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(() => normaliseServerUrl('https://ada:pw@lab.example')).toThrow(/without a user name or password/);
    expect(() => normaliseServerUrl('https://lab.example/?token=x')).toThrow(/without \?query/);
    expect(() => normaliseServerUrl('ftp://lab.example')).toThrow(/http or https/);
    expect(() => normaliseServerUrl('lab.example')).toThrow(/not a URL/);
    expect(defaultServerName('https://strand.lab.example')).toBe('strand-lab-example');
    expect(defaultServerName('http://127.0.0.1:8080')).toBe('127-0-0-1-8080');
  });

  it('take bearer tokens only (RFC 6750 characters), never quoting one', () => {
    expect(tokenProblem(TOKEN)).toBeUndefined();
    expect(tokenProblem('abc==')).toBeUndefined();
    for (const bad of ['', 'two words', 'new\nline', 'quote"d', 'x'.repeat(17 * 1024)]) {
      const p = tokenProblem(bad);
      expect(p, bad.slice(0, 10)).toBeDefined();
      if (bad.length > 3) expect(p).not.toContain(bad);
    }
  });
});

it('leaves nothing when the directory cannot be made', () => {
  const blocked = path.join(home, 'blocked');
  writeFileSync(blocked, 'a file where the directory would be');
  expect(() => writeCredentials(path.join(blocked, 'strand', 'servers.yaml'), lab)).toThrow();
  expect(existsSync(path.join(blocked, 'strand'))).toBe(false);
});
