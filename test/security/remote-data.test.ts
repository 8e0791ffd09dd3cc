/**
 * http(s) inputs from someone else's workflow (issue 16, class 1, and URL credentials of class 6):
 * a URL's name cannot place a download outside the run's directory (a document's default input
 * is enough, --dry-run too); an input URL reaches no loopback, link-local or private address
 * unless strand.yaml allows it, neither directly nor by a redirect, and never a non-http scheme;
 * a download stops at the size cap with its part file removed; the user name, password and
 * pre-signed signature of a URL appear nowhere in the run store, stdout or stderr.
 *
 * The servers listen on 127.0.0.1; 169.254.169.254 is never connected to (net.Socket#connect is
 * watched and refuses every address but loopback, so even a broken Strand sends nothing out).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseStorageSettings } from '../../src/config/storage-settings.js';
import { StorageError } from '../../src/errors.js';
import { safeFileName } from '../../src/storage/download-target.js';
import { downloadHttp, headHttp } from '../../src/storage/http-source.js';
import { redactUrls } from '../../src/storage/redact-url.js';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = path.join(repo, 'bin/strand.js');
const built = existsSync(path.join(repo, 'dist/src/cli/main.js'));

const PAYLOAD = 'ACGTACGT payload\n';
const PASSWORD = 'pw-Zq81xK';
const SIGNATURE = 'sig-77aa09ff';

let root = '';
let home = '';
let web: http.Server;
let other: http.Server;
let port = 0;
let otherPort = 0;
/** Requests each server saw: method, url, Authorization header. */
const seen: { method: string; url: string; auth?: string }[] = [];
const seenByOther: string[] = [];

function serve(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '';
  seen.push({ method: req.method ?? '', url, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
  const body = (b: Buffer | string, headers: Record<string, string | number> = {}) => {
    res.writeHead(200, { 'content-length': Buffer.byteLength(b), ...headers });
    res.end(req.method === 'HEAD' ? undefined : b);
  };
  if (url.startsWith('/genome/') || url.startsWith('/data/')) return body(PAYLOAD);
  if (url === '/to-other') return void res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/data/x.txt` }).end();
  if (url === '/to-metadata') return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/' }).end();
  if (url === '/to-file') return void res.writeHead(302, { location: 'file:///etc/passwd' }).end();
  if (url === '/big-declared') return body(Buffer.alloc(256 * 1024, 7));
  if (url === '/big-streamed') {
    // No Content-Length: 1 MiB in 16 KiB chunks, as a server that does not say how much it sends.
    if (req.method === 'HEAD') return void res.writeHead(200).end();
    res.writeHead(200);
    const chunk = Buffer.alloc(16 * 1024, 9);
    let sent = 0;
    const more = (): void => {
      while (sent < 64) {
        sent++;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    res.on('close', () => (sent = 64));
    return more();
  }
  res.writeHead(404).end();
}

/** Every file and directory under `dir` (links not followed) with a digest of each file's bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      const rel = path.relative(dir, p);
      if (st.isDirectory()) {
        out[rel + '/'] = 'dir';
        walk(p);
      } else out[rel] = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : `other ${st.mode}`;
    }
  };
  walk(dir);
  return out;
}

/** The bytes of every file under `dir`, as one text (latin1: every byte kept). */
function allBytes(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(path.join(e.parentPath, e.name)).toString('latin1'))
    .join('\n');
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `strand <args>` in `root`, with HOME the sandbox home, TMPDIR root/tmp and the config `config` (YAML) if any. */
function strand(args: string[], opts: { config?: string; store?: string } = {}): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: path.join(root, 'tmp'), STRAND_STORE: opts.store ?? 'off' };
  delete env.STRAND_CONFIG;
  if (opts.config !== undefined) {
    const file = path.join(root, `strand-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, opts.config);
    env.STRAND_CONFIG = file;
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [strandBin, ...args], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      if (env.STRAND_CONFIG) rmSync(env.STRAND_CONFIG, { force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

const allowWeb = () => `storage:\n  http:\n    allowHosts: ["127.0.0.1:${port}"]\n`;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'strand-sec-remote-'));
  home = path.join(root, 'home');
  mkdirSync(path.join(home, '.config'), { recursive: true });
  writeFileSync(path.join(home, '.bashrc'), 'echo mine\n');
  mkdirSync(path.join(root, 'tmp'));
  web = http.createServer(serve);
  other = http.createServer((req, res) => {
    seenByOther.push(req.url ?? '');
    res.writeHead(200, { 'content-length': 6 }).end('other\n');
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  port = (web.address() as net.AddressInfo).port;
  otherPort = (other.address() as net.AddressInfo).port;
  // A tool that prints its input's basename and content.
  writeFileSync(
    path.join(root, 'show.cwl'),
    [
      'cwlVersion: v1.2',
      'class: CommandLineTool',
      'requirements: {ShellCommandRequirement: {}}',
      'inputs:',
      '  f:',
      '    type: File',
      `    default: {class: File, location: "http://127.0.0.1:${port}/genome/..%2F..%2F..%2F..%2Fhome%2F.bashrc"}`,
      'arguments: [{valueFrom: "echo \\"$(inputs.f.basename)\\"; cat \\"$(inputs.f.path)\\"", shellQuote: false}]',
      'stdout: shown.txt',
      'outputs: {shown: stdout}',
    ].join('\n') + '\n',
  );
});
afterAll(async () => {
  await new Promise((r) => web.close(r));
  await new Promise((r) => other.close(r));
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!built)('a URL names no place outside the run (CLI)', () => {
  // Each test starts from the user's own files (an earlier test must not make a later one pass).
  beforeEach(() => writeFileSync(path.join(home, '.bashrc'), 'echo mine\n'));

  it('a default input ending in ..%2F..%2Fhome%2F.bashrc is fetched inside the run under one safe name; nothing outside changes', async () => {
    const before = snapshot(home);
    const top = readdirSync(root).sort();
    const r = await strand(['run', '--outdir', path.join(root, 'out'), 'show.cwl'], { config: allowWeb() });
    expect(r.code, r.stderr).toBe(0);
    expect(snapshot(home)).toEqual(before);
    expect(readFileSync(path.join(home, '.bashrc'), 'utf8')).toBe('echo mine\n');
    // The download happened (the tool read it) under a name with no separator.
    const shown = readFileSync(path.join(root, 'out', 'shown.txt'), 'utf8').split('\n');
    expect(shown[1]).toBe(PAYLOAD.trimEnd());
    expect(shown[0]).not.toMatch(/[/\\]/);
    expect(shown[0]).not.toMatch(/^\./);
    expect(readdirSync(root).filter((n) => !n.startsWith('strand-')).sort()).toEqual([...top, 'out'].sort());
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
    rmSync(path.join(root, 'out'), { recursive: true });
  });

  it('the same under --dry-run', async () => {
    const before = snapshot(home);
    const top = readdirSync(root).sort();
    const r = await strand(['run', '--dry-run', '--outdir', path.join(root, 'out'), 'show.cwl'], { config: allowWeb() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^task show$/m);
    expect(snapshot(home)).toEqual(before);
    expect(readFileSync(path.join(home, '.bashrc'), 'utf8')).toBe('echo mine\n');
    expect(readdirSync(root).filter((n) => !n.startsWith('strand-')).sort()).toEqual(top);
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
  });
});

describe.skipIf(!built)('which addresses an input URL may reach (CLI)', () => {
  const job = (name: string, url: string): string => {
    const p = path.join(root, name);
    writeFileSync(p, `f: {class: File, location: "${url}"}\n`);
    return p;
  };

  it('refuses a loopback URL by default, before any request; allows it when strand.yaml lists it', async () => {
    seen.length = 0;
    const j = job('loop.yml', `http://127.0.0.1:${port}/data/a.txt`);
    const refused = await strand(['run', '--outdir', path.join(root, 'out-loop'), 'show.cwl', j]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`strand: error: http://127.0.0.1:${port}/data/a.txt: refused: 127.0.0.1 is a loopback, link-local, private or reserved address`);
    expect(seen).toEqual([]);
    expect(existsSync(path.join(root, 'out-loop'))).toBe(false);

    const allowed = await strand(['run', '--outdir', path.join(root, 'out-loop'), 'show.cwl', j], { config: allowWeb() });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'out-loop', 'shown.txt'), 'utf8')).toBe(`a.txt\n${PAYLOAD}`);
    rmSync(path.join(root, 'out-loop'), { recursive: true });

    const anyAddress = await strand(['run', '--outdir', path.join(root, 'out-loop'), 'show.cwl', j], { config: 'storage:\n  http:\n    allowPrivateAddresses: true\n' });
    expect(anyAddress.code, anyAddress.stderr).toBe(0);
    rmSync(path.join(root, 'out-loop'), { recursive: true });
  });

  it('refuses a redirect to another loopback port, or to file:, though the first URL is allowed', async () => {
    seenByOther.length = 0;
    for (const [name, to, why] of [
      ['to-other', `http://127.0.0.1:${otherPort}/data/x.txt`, 'refused to follow a redirect to'],
      ['to-file', 'file:///etc/passwd', 'refused to follow a redirect to file:///etc/passwd: only http and https are read'],
    ] as const) {
      const r = await strand(['run', '--outdir', path.join(root, 'out-redirect'), 'show.cwl', job(`${name}.yml`, `http://127.0.0.1:${port}/${name}`)], { config: allowWeb() });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`strand: error: http://127.0.0.1:${port}/${name}: ${why}`);
      if (name === 'to-other') expect(r.stderr).toContain(`${to}: 127.0.0.1 is a loopback`);
    }
    expect(seenByOther).toEqual([]);
    expect(existsSync(path.join(root, 'out-redirect'))).toBe(false);
    // Allowed too, the redirect is followed.
    const r = await strand(['run', '--outdir', path.join(root, 'out-redirect'), 'show.cwl', path.join(root, 'to-other.yml')], {
      config: `storage:\n  http:\n    allowHosts: ["127.0.0.1:${port}", "127.0.0.1:${otherPort}"]\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'out-redirect', 'shown.txt'), 'utf8')).toBe('to-other\nother\n'); // the name is the URL's as given
    rmSync(path.join(root, 'out-redirect'), { recursive: true });
  });

  it('stops a download over storage.http.maxDownloadSize, naming the URL and the limit', async () => {
    const config = allowWeb() + '    maxDownloadSize: 64KiB\n';
    for (const name of ['big-declared', 'big-streamed']) {
      const r = await strand(['run', '--outdir', path.join(root, 'out-big'), 'show.cwl', job(`${name}.yml`, `http://127.0.0.1:${port}/${name}`)], { config });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`strand: error: http://127.0.0.1:${port}/${name}: larger than the download size limit of 64 KiB`);
    }
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
  });
});

describe.skipIf(!built)('credentials in URLs are not recorded or printed (CLI)', () => {
  it('user:password@ and a pre-signed signature appear nowhere in the run store, stdout or stderr', async () => {
    seen.length = 0;
    const store = path.join(root, 'store-creds');
    const url = `http://reader:${PASSWORD}@127.0.0.1:${port}/data/signed.txt?X-Amz-Credential=AKIAEXAMPLE%2F20261206&X-Amz-Signature=${SIGNATURE}`;
    const j = path.join(root, 'creds.yml');
    writeFileSync(j, `f: {class: File, location: "${url}"}\n`);
    const ok = await strand(['run', '--outdir', path.join(root, 'out-creds'), 'show.cwl', j], { config: allowWeb(), store });
    expect(ok.code, ok.stderr).toBe(0);
    // The credentials were used for the request...
    expect(seen.some((s) => s.auth === `Basic ${Buffer.from(`reader:${PASSWORD}`).toString('base64')}` && s.url.includes(SIGNATURE))).toBe(true);
    // ...and a failing run's error names the URL without them.
    const missing = path.join(root, 'creds-404.yml');
    writeFileSync(missing, `f: {class: File, location: "${url.replace('/data/', '/nope/')}"}\n`);
    const failed = await strand(['run', '--outdir', path.join(root, 'out-creds2'), 'show.cwl', missing], { config: allowWeb(), store });
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain(`strand: error: http://***@127.0.0.1:${port}/nope/signed.txt?X-Amz-Credential=***&X-Amz-Signature=***: no such file (HTTP 404)`);
    // Resuming the failed run says that its recorded URL lacks the credentials.
    const failedId = /\[strand\] run (\S+) failed/.exec(failed.stderr)?.[1] ?? '';
    const resumed = await strand(['run', '--resume', failedId], { config: allowWeb(), store });
    expect(resumed.stderr).toContain(`run ${failedId}'s input URLs held credentials, which the run store does not keep (shown as ***)`);
    const stored = allBytes(store);
    expect(stored).toContain(`127.0.0.1:${port}/data/signed.txt`); // the run's inputs are recorded, redacted
    for (const secret of [PASSWORD, SIGNATURE, 'AKIAEXAMPLE']) {
      expect(stored).not.toContain(secret);
      for (const out of [ok.stdout, ok.stderr, failed.stdout, failed.stderr, resumed.stdout, resumed.stderr]) expect(out).not.toContain(secret);
    }
    rmSync(path.join(root, 'out-creds'), { recursive: true });
  });
});

describe('the checks themselves (in-process)', () => {
  let dir = '';
  let connects: string[] = [];
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'strand-sec-remote-unit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.restoreAllMocks());

  /** Record every socket connection; let only loopback ones through (nothing leaves the machine). */
  function watchConnects(): void {
    connects = [];
    const real = net.Socket.prototype.connect;
    vi.spyOn(net.Socket.prototype, 'connect').mockImplementation(function (this: net.Socket, ...args: unknown[]) {
      const o = (Array.isArray(args[0]) ? args[0][0] : args[0]) as { host?: string; port?: number } | number;
      const host = typeof o === 'object' && o !== null ? (o.host ?? 'localhost') : String(args[1] ?? 'localhost');
      connects.push(host);
      if (!/^(127\.|localhost$|::1$)/.test(host)) {
        process.nextTick(() => this.destroy(Object.assign(new Error(`test: no connection to ${host}`), { code: 'ECONNREFUSED' })));
        return this;
      }
      return (real as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof net.Socket.prototype.connect);
  }

  it('a redirect to 169.254.169.254 is refused before any connection to it', async () => {
    watchConnects();
    const local = { access: { allowHosts: [`127.0.0.1:${port}`] }, attempts: 1 };
    const err = await downloadHttp(`http://127.0.0.1:${port}/to-metadata`, path.join(dir, 'm'), local).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toBe(
      `http://127.0.0.1:${port}/to-metadata: refused to follow a redirect to http://169.254.169.254/latest/meta-data/iam/: 169.254.169.254 is a loopback, link-local, private or reserved address, ` +
        'which an input URL may not reach unless strand.yaml allows it (storage.http.allowHosts or storage.http.allowPrivateAddresses)',
    );
    expect(connects).toContain('127.0.0.1');
    expect(connects.filter((h) => h.startsWith('169.254'))).toEqual([]);
    // A first URL there is refused alike, without connecting.
    await expect(headHttp('http://169.254.169.254/latest/meta-data/', { attempts: 1 })).rejects.toMatchObject({ reason: 'access_denied' });
    await expect(headHttp('http://[::ffff:a9fe:a9fe]/latest/', { attempts: 1 })).rejects.toMatchObject({ reason: 'access_denied' });
    expect(connects.filter((h) => !h.startsWith('127.'))).toEqual([]);
  });

  it('a host name is checked on the address it resolves to, in the connection’s own lookup', async () => {
    seen.length = 0;
    watchConnects();
    await expect(headHttp(`http://localhost:${port}/data/a.txt`, { attempts: 1 })).rejects.toThrow(`http://localhost:${port}/data/a.txt: refused: localhost (127.0.0.1) is a loopback`);
    expect(seen).toEqual([]);
    // Allowed by name, the same URL is read.
    await expect(headHttp(`http://localhost:${port}/data/a.txt`, { attempts: 1, access: { allowHosts: ['localhost'] } })).resolves.toMatchObject({ size: PAYLOAD.length });
  });

  it('a download over the cap stops and leaves no part file', async () => {
    const options = { access: { allowHosts: ['127.0.0.1'] }, maxBytes: 64 * 1024, attempts: 1 };
    await expect(downloadHttp(`http://127.0.0.1:${port}/big-streamed`, path.join(dir, 'big'), options)).rejects.toThrow('larger than the download size limit of 64 KiB');
    await expect(headHttp(`http://127.0.0.1:${port}/big-declared`, options)).rejects.toThrow('larger than the download size limit of 64 KiB');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a name from a URL is one safe component; credentials are redacted; the config keys are checked', () => {
    for (const bad of ['../../../home/u/.bashrc', '..', '.', 'a/b', 'a\\b', 'x\u0000y', '.hidden', '']) {
      const name = safeFileName(bad, 'file');
      expect(name).not.toMatch(/[/\\]/);
      expect(name).not.toContain('\u0000');
      expect(name).not.toMatch(/^\./);
      expect(name.length).toBeGreaterThan(0);
    }
    expect(safeFileName('reads.fq.gz', 'file')).toBe('reads.fq.gz');
    expect(Buffer.byteLength(safeFileName('x'.repeat(400) + '.bam', 'file'))).toBeLessThanOrEqual(200);
    expect(redactUrls('see https://u:p@h.example/x?a=1&X-Amz-Security-Token=tok&sig=s2 and s3://b/k')).toBe('see https://***@h.example/x?a=1&X-Amz-Security-Token=***&sig=*** and s3://b/k');
    expect(parseStorageSettings({ http: { allowHosts: ['127.0.0.1:9000', '10.0.0.0/8', '[::1]:80', 'minio.lab'], maxDownloadSize: '2GiB' } }, 'f.yaml')).toEqual({
      http: { allowHosts: ['127.0.0.1:9000', '10.0.0.0/8', '[::1]:80', 'minio.lab'], maxDownloadBytes: 2 * 2 ** 30 },
    });
    expect(() => parseStorageSettings({ http: { allowHosts: ['10.0.0.0/40'] } }, 'f.yaml')).toThrow('f.yaml: storage.http.allowHosts: 10.0.0.0/40: expected');
    expect(() => parseStorageSettings({ http: { maxDownloadSize: 'lots' } }, 'f.yaml')).toThrow('storage.http.maxDownloadSize: expected a size');
    expect(() => parseStorageSettings({ http: { allowPrivateAddresses: 'yes' } }, 'f.yaml')).toThrow('storage.http.allowPrivateAddresses: expected true or false');
  });
});
