/**
 * `strand run` with object-store data on the local executor (issue 10, points 1, 2 and 5), against
 * a real S3-protocol server (test/support/s3-server.ts): s3:// and http:// inputs, Directory
 * inputs and outputs, `--outdir s3://...` with the same checksums as a local run, and the faults:
 * wrong credentials, missing bucket, unreachable endpoint, missing key (each named, exit 1,
 * no task started), transient 503s and resets (retried), a server gone during the upload.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseS3Location as s3, S3Store } from '../../src/storage/index.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startS3Server, type S3TestServer } from '../support/s3-server.js';

const repo = path.resolve(import.meta.dirname, '../..');
const strandBin = path.join(repo, 'bin/strand.js');
const hello = path.join(repo, 'examples/hello');
const texts = ['river.txt', 'lighthouse.txt', 'orchard.txt'];

let dir = '';
let server: S3TestServer;
let store: S3Store;
let web: http.Server;
let webBase = '';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function strand(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; onStderr?: (s: string) => void; onSpawn?: (pid: number) => void } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [strandBin, ...args], {
      cwd: opts.cwd ?? dir,
      env: { ...process.env, STRAND_STORE: path.join(dir, 'store'), TMPDIR: path.join(dir, 'tmp'), ...server.env, ...opts.env },
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A working directory with a strand.yaml pointing at `endpoint`. */
function project(name: string, endpoint = server.endpoint): string {
  const p = path.join(dir, name);
  mkdirSync(p, { recursive: true });
  writeFileSync(path.join(p, 'strand.yaml'), `storage:\n  s3:\n    endpoint: ${endpoint}\n    region: us-east-1\n    forcePathStyle: true\n`);
  return p;
}

const sha1Of = (b: Buffer) => createHash('sha1').update(b).digest('hex');

async function objectSha1(loc: string): Promise<string> {
  const dest = path.join(dir, 'check-' + Math.random().toString(36).slice(2));
  const got = await store.download(s3(loc), dest);
  rmSync(dest);
  return got.sha1;
}

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(s3(prefix))) out.push(o.key);
  return out.sort();
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'strand-s3-cli-'));
  mkdirSync(path.join(dir, 'tmp'));
  server = await startS3Server({ buckets: ['inputs', 'results'] });
  store = new S3Store(server.settings, { credentials: server.credentials });
  for (const t of texts) await store.upload(path.join(hello, 'texts', t), s3(`s3://inputs/hello/texts/${t}`));
  // A directory tree in the bucket: ref/a.txt, ref/sub/b.txt.
  writeFileSync(path.join(dir, 'a.txt'), 'alpha\n');
  writeFileSync(path.join(dir, 'b.txt'), 'beta\n');
  await store.upload(path.join(dir, 'a.txt'), s3('s3://inputs/ref/a.txt'));
  await store.upload(path.join(dir, 'b.txt'), s3('s3://inputs/ref/sub/b.txt'));
  web = http.createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\/texts\//, '');
    if (!texts.includes(name)) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(path.join(hello, 'texts', name)));
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webBase = `http://127.0.0.1:${(web.address() as net.AddressInfo).port}`;

  write('dirtool.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'requirements: {ShellCommandRequirement: {}}',
    'inputs:',
    '  ref: Directory',
    '  marker: {type: string, default: ""}',
    'arguments:',
    '  - {valueFrom: "test -z \\"$(inputs.marker)\\" || touch \\"$(inputs.marker)\\"; mkdir copy && cp -r $(inputs.ref.path)/. copy/ && cat $(inputs.ref.path)/a.txt $(inputs.ref.path)/sub/b.txt > joined.txt", shellQuote: false}',
    'outputs:',
    '  joined: {type: File, outputBinding: {glob: joined.txt}}',
    '  copy: {type: Directory, outputBinding: {glob: copy}}',
  ]);
  write('slow.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'baseCommand: [sh, -c, \'touch "$0"; head -c 12000000 /dev/urandom > big.bin; echo small > small.txt; sleep 2\']',
    'inputs:',
    '  marker: {type: string, inputBinding: {position: 1}}',
    'outputs:',
    '  big: {type: File, outputBinding: {glob: big.bin}}',
    '  small: {type: File, outputBinding: {glob: small.txt}}',
  ]);
  write('default-tool.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'baseCommand: [wc, -l]',
    'inputs:',
    '  text: {type: File, default: {class: File, location: s3://inputs/hello/texts/river.txt}, inputBinding: {position: 1}}',
    'outputs:',
    '  out: stdout',
    'stdout: lines.txt',
  ]);
  // A step input's default may name remote data too: the run fetches it into a copy of its own.
  write('step-default-wf.cwl', [
    'cwlVersion: v1.2',
    'class: Workflow',
    'inputs: []',
    'outputs:',
    '  out: {type: File, outputSource: count/out}',
    'steps:',
    '  count:',
    '    in:',
    '      text: {default: {class: File, location: s3://inputs/hello/texts/river.txt}}',
    '    out: [out]',
    '    run:',
    '      class: CommandLineTool',
    '      baseCommand: [wc, -l]',
    '      inputs:',
    '        text: {type: File, inputBinding: {position: 1}}',
    '      outputs:',
    '        out: stdout',
    '      stdout: lines.txt',
  ]);
  write('bigout.cwl', [
    'cwlVersion: v1.2',
    'class: CommandLineTool',
    'baseCommand: [sh, -c, \'head -c 12000000 /dev/zero > big.bin; echo small > small.txt\']',
    'inputs: []',
    'outputs:',
    '  big: {type: File, outputBinding: {glob: big.bin}}',
    '  small: {type: File, outputBinding: {glob: small.txt}}',
  ]);
  write('s3-job.yml', ['texts:', ...texts.map((t) => `  - {class: File, location: s3://inputs/hello/texts/${t}}`), 'top: 10']);
  write('http-job.yml', ['texts:', ...texts.map((t) => `  - {class: File, location: ${webBase}/texts/${t}}`), 'top: 10']);
});

afterAll(async () => {
  store?.close();
  await new Promise((r) => web?.close(r));
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function succeeded(r: Ran): void {
  if (r.code !== 0 || !r.stderr.includes('finished: success')) throw new Error(`strand failed (${r.code}):\n${r.stderr}`);
}

function write(name: string, lines: string[]): void {
  writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
}

interface Out {
  class: string;
  location: string;
  size?: number;
  checksum?: string;
  basename?: string;
  path?: string;
  listing?: Out[];
}

// Each case runs strand once or twice; on a busy 2-core machine one run can take several seconds.
describe('strand run with an object store (local executor)', { timeout: 60_000 }, () => {
  let local: Record<string, Out>;

  beforeAll(async () => {
    const r = await strand(['run', '--outdir', path.join(dir, 'local-out'), path.join(hello, 'wordcount.cwl'), path.join(hello, 'job.yml')]);
    succeeded(r);
    local = JSON.parse(r.stdout) as Record<string, Out>;
  });

  it('reads s3:// inputs and writes to --outdir s3://...: same checksums as a local run, objects hold those bytes', async () => {
    const cwd = project('p-hello');
    const r = await strand(['run', '--outdir', 's3://results/hello/run1', path.join(hello, 'wordcount.cwl'), path.join(dir, 's3-job.yml')], { cwd });
    succeeded(r);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, Out | number[]>;
    const top = out.top_words as Out;
    const counts = out.word_counts as Out;
    expect(top.location).toBe('s3://results/hello/run1/top-words.txt');
    expect(counts.location).toBe('s3://results/hello/run1/counts.txt');
    expect(top.path).toBeUndefined();
    expect(top.checksum).toBe(local.top_words!.checksum);
    expect(counts.checksum).toBe(local.word_counts!.checksum);
    expect(top.size).toBe(local.top_words!.size);
    expect(out.line_counts).toEqual(local.line_counts);
    expect(`sha1$${await objectSha1(top.location)}`).toBe(top.checksum);
    expect(`sha1$${await objectSha1(counts.location)}`).toBe(counts.checksum);
    expect(await keys('s3://results/hello/run1/')).toEqual(['hello/run1/counts.txt', 'hello/run1/top-words.txt']);
    expect((await store.head(s3(top.location))).metadata['strand-sha1']).toBe(top.checksum!.slice(5));
    // Nothing left in the scratch space but the run's own directories, which are removed.
    expect(readdirSync(path.join(dir, 'tmp')).filter((n) => n.startsWith('strand-outputs-'))).toEqual([]);
  });

  it('reads http:// inputs (read-only Files) with the same results', async () => {
    // The web server listens on 127.0.0.1, which an input URL reaches only when strand.yaml allows it.
    const cwd = path.join(dir, 'p-http');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(path.join(cwd, 'strand.yaml'), `storage:\n  http:\n    allowHosts: ["${new URL(webBase).host}"]\n`);
    const r = await strand(['run', '--outdir', path.join(dir, 'http-out'), path.join(hello, 'wordcount.cwl'), path.join(dir, 'http-job.yml')], { cwd });
    succeeded(r);
    const out = JSON.parse(r.stdout) as Record<string, Out>;
    expect(out.top_words!.checksum).toBe(local.top_words!.checksum);
  });

  it('a Directory input from a bucket is fetched whole; a Directory output is uploaded with its files', async () => {
    const cwd = project('p-dir');
    const r = await strand(['run', '--outdir', 's3://results/dir1', path.join(dir, 'dirtool.cwl'), '--ref', 's3://inputs/ref'], { cwd });
    succeeded(r);
    const out = JSON.parse(r.stdout) as Record<string, Out>;
    expect(out.joined!.location).toBe('s3://results/dir1/joined.txt');
    expect(out.joined!.checksum).toBe(`sha1$${sha1Of(Buffer.from('alpha\nbeta\n'))}`);
    expect(out.copy!.location).toBe('s3://results/dir1/copy');
    expect(await keys('s3://results/dir1/')).toEqual(['dir1/copy/a.txt', 'dir1/copy/sub/b.txt', 'dir1/joined.txt']);
    expect(await objectSha1('s3://results/dir1/copy/sub/b.txt')).toBe(sha1Of(Buffer.from('beta\n')));
  });

  it('a re-run into the same prefix replaces what the earlier run wrote; a user object under an output name is never replaced', async () => {
    const cwd = project('p-dir');
    const again = await strand(['run', '--outdir', 's3://results/dir1', path.join(dir, 'dirtool.cwl'), '--ref', 's3://inputs/ref'], { cwd });
    succeeded(again);
    writeFileSync(path.join(dir, 'mine.txt'), 'the user wrote this\n');
    await store.upload(path.join(dir, 'mine.txt'), s3('s3://results/dir2/joined.txt'));
    const r = await strand(['run', '--outdir', 's3://results/dir2', path.join(dir, 'dirtool.cwl'), '--ref', 's3://inputs/ref'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/s3:\/\/results\/dir2\/joined.txt: an object is already there that no earlier Strand run wrote/);
    expect(await objectSha1('s3://results/dir2/joined.txt')).toBe(sha1Of(Buffer.from('the user wrote this\n')));
    expect(await keys('s3://results/dir2/')).toEqual(['dir2/joined.txt']);
    const kept = /This run's results are in (\S+)/.exec(r.stderr)?.[1];
    expect(kept && existsSync(path.join(kept, 'joined.txt'))).toBe(true);
  });

  it('a default in the document may be s3://; credentials may come from a profile of the shared credentials file', async () => {
    const cwd = project('p-profile');
    writeFileSync(path.join(cwd, 'strand.yaml'), readFileSync(path.join(cwd, 'strand.yaml'), 'utf8') + '    profile: lab\n');
    writeFileSync(
      path.join(cwd, 'credentials'),
      `[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[lab]\naws_access_key_id = ${server.credentials.accessKeyId}\naws_secret_access_key = ${server.credentials.secretAccessKey}\n`,
    );
    writeFileSync(path.join(cwd, 'config'), '[profile lab]\nregion = us-east-1\n');
    // Wrong keys in the environment too: a named profile wins over them (the SDK's rule).
    const env = { AWS_ACCESS_KEY_ID: 'wrong', AWS_SECRET_ACCESS_KEY: 'wrong', AWS_SHARED_CREDENTIALS_FILE: path.join(cwd, 'credentials'), AWS_CONFIG_FILE: path.join(cwd, 'config') };
    const r = await strand(['run', '--outdir', 's3://results/default1', path.join(dir, 'default-tool.cwl')], { cwd, env });
    succeeded(r);
    const out = JSON.parse(r.stdout) as Record<string, Out>;
    expect(out.out!.location).toBe('s3://results/default1/lines.txt');
    const lines = readFileSync(path.join(hello, 'texts', 'river.txt'), 'utf8').split('\n').length - 1;
    const got = path.join(dir, 'lines-got.txt');
    const down = await store.download(s3(out.out!.location), got);
    expect(readFileSync(got, 'utf8')).toMatch(new RegExp(`^${lines} \\S*/river\\.txt\\n$`));
    expect(out.out!.checksum).toBe(`sha1$${down.sha1}`);
    // With no profile named, the environment's wrong keys are used, and the same run is refused.
    writeFileSync(path.join(cwd, 'strand.yaml'), readFileSync(path.join(cwd, 'strand.yaml'), 'utf8').replace('    profile: lab\n', ''));
    const refused = await strand(['run', '--outdir', 's3://results/default2', path.join(dir, 'default-tool.cwl')], { cwd, env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/403 InvalidAccessKeyId/);
  });

  it("a step input's default may be s3:// (fetched into the run's own copy of it)", async () => {
    const cwd = project('p-step-default');
    const r = await strand(['run', '--outdir', path.join(cwd, 'out'), path.join(dir, 'step-default-wf.cwl')], { cwd });
    succeeded(r);
    const out = JSON.parse(r.stdout) as Record<string, Out>;
    const lines = readFileSync(path.join(hello, 'texts', 'river.txt'), 'utf8').split('\n').length - 1;
    expect(readFileSync(out.out!.path!, 'utf8')).toMatch(new RegExp(`^${lines} \\S*/river\\.txt\\n$`));
  });

  describe('faults before any task starts: one error naming the location, exit 1', () => {
    const run = async (args: string[], cwd: string, env: Record<string, string> = {}) => {
      const marker = path.join(dir, `started-${Math.random().toString(36).slice(2)}`);
      const r = await strand(['run', ...args, path.join(dir, 'dirtool.cwl'), '--ref', 's3://inputs/ref', '--marker', marker], { cwd, env });
      expect(r.code).toBe(1);
      expect(existsSync(marker)).toBe(false);
      expect(r.stdout).toBe('');
      return r.stderr.split('\n').filter((l) => l.startsWith('strand: error:'));
    };

    it('wrong credentials', async () => {
      const errors = await run(['--outdir', path.join(dir, 'o1')], project('p-dir'), { AWS_SECRET_ACCESS_KEY: 'wrong' });
      expect(errors).toEqual([expect.stringMatching(/^strand: error: s3:\/\/inputs\/ref: listing refused at http:\/\/127.0.0.1:\d+ \(403 SignatureDoesNotMatch\): the secret key does not match the access key; check the credentials$/)]);
    });

    it('no credentials at all', async () => {
      const cwd = project('p-nocreds');
      writeFileSync(path.join(cwd, 'empty'), '');
      // No keys, empty shared files; instance metadata is off (AWS_EC2_METADATA_DISABLED, from server.env).
      const env = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SHARED_CREDENTIALS_FILE: path.join(cwd, 'empty'), AWS_CONFIG_FILE: path.join(cwd, 'empty') };
      expect(await run([], cwd, env)).toEqual([
        'strand: error: s3://inputs/ref: no S3 credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or storage.s3.profile in strand.yaml)',
      ]);
    });

    it('a missing bucket (output and input)', async () => {
      expect(await run(['--outdir', 's3://no-such-bucket/out'], project('p-dir'))).toEqual([
        expect.stringMatching(/^strand: error: s3:\/\/no-such-bucket\/: the bucket "no-such-bucket" does not exist at http:\/\/127.0.0.1:\d+$/),
      ]);
      const marker = path.join(dir, 'started-no-bucket');
      const r = await strand(['run', path.join(dir, 'dirtool.cwl'), '--ref', 's3://no-such-bucket/ref', '--marker', marker], { cwd: project('p-dir') });
      expect(r.code).toBe(1);
      expect(existsSync(marker)).toBe(false);
      expect(r.stderr).toMatch(/^strand: error: s3:\/\/no-such-bucket\/ref: the bucket "no-such-bucket" does not exist at http:\/\/127.0.0.1:\d+$/m);
    });

    it('a missing key', async () => {
      const marker = path.join(dir, 'started-missing-key');
      const r = await strand(['run', path.join(hello, 'wordcount.cwl'), '--texts', 's3://inputs/hello/texts/nope.txt'], { cwd: project('p-dir') });
      expect(r.code).toBe(1);
      expect(existsSync(marker)).toBe(false);
      expect(r.stderr).toMatch(/strand: error: s3:\/\/inputs\/hello\/texts\/nope.txt: no such object at http/);
      expect(r.stderr).not.toMatch(/step|task/i);
    });

    it('an unreachable endpoint', async () => {
      const port = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(p));
        });
      });
      expect(await run([], project('p-nowhere', `http://127.0.0.1:${port}`))).toEqual([
        `strand: error: s3://inputs/ref: cannot reach the S3 endpoint http://127.0.0.1:${port} (connection refused)`,
      ]);
    });
  });

  describe('faults during the run', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy({ host: server.host, port: server.port });
    });
    afterAll(async () => proxy?.close());

    it('503 SlowDown and connection resets on reads and writes are retried; the run succeeds', async () => {
      const cwd = project('p-proxy', proxy.endpoint);
      proxy.inject({ match: (m, u) => m === 'GET' && u.startsWith('/inputs/ref/a.txt'), fault: 'slowdown' });
      proxy.inject({ match: (m, u) => m === 'GET' && u.startsWith('/inputs/ref/sub/b.txt'), fault: 'reset' });
      proxy.inject({ match: (m, u) => m === 'PUT' && u.startsWith('/results/retried/joined.txt'), fault: 'slowdown', times: 2 });
      proxy.inject({ match: (m, u) => m === 'PUT' && u.startsWith('/results/retried/copy/a.txt'), fault: 'reset' });
      const r = await strand(['run', '--outdir', 's3://results/retried', path.join(dir, 'dirtool.cwl'), '--ref', 's3://inputs/ref'], { cwd });
      succeeded(r);
      // Inputs and outputs move several at once: the order of the faults is not fixed.
      expect(proxy.requests.filter((q) => q.fault).map((q) => `${q.method} ${q.url.split('?')[0]} ${q.fault}`).sort()).toEqual([
        'GET /inputs/ref/a.txt slowdown',
        'GET /inputs/ref/sub/b.txt reset',
        'PUT /results/retried/copy/a.txt reset',
        'PUT /results/retried/joined.txt slowdown',
        'PUT /results/retried/joined.txt slowdown',
      ]);
      expect(await keys('s3://results/retried/')).toEqual(['retried/copy/a.txt', 'retried/copy/sub/b.txt', 'retried/joined.txt']);
    });

    it('Ctrl-C during the upload: the uploads are aborted, nothing appears under the final names, exit 130', async () => {
      const cwd = project('p-cancel', proxy.endpoint);
      // Every PUT (single objects and multipart parts) is held 20 s: the upload is in the middle when stopped.
      proxy.inject({ match: (m, u) => m === 'PUT' && u.startsWith('/results/cancel/'), fault: { delayMs: 20_000 }, times: Infinity });
      let pid = 0;
      const before = proxy.requests.length;
      const watch = setInterval(() => {
        // Stop once a part of the multipart upload of big.bin is in flight.
        if (pid && proxy.requests.slice(before).some((q) => q.fault?.startsWith('delay') && q.url.includes('partNumber='))) {
          clearInterval(watch);
          process.kill(pid, 'SIGINT');
        }
      }, 50);
      const r = await strand(['run', '--outdir', 's3://results/cancel', path.join(dir, 'bigout.cwl')], { cwd, onSpawn: (p) => (pid = p) });
      clearInterval(watch);
      proxy.clear();
      expect(r.code).toBe(130);
      expect(r.stdout).toBe('');
      const seen = proxy.requests.slice(before);
      expect(seen.some((q) => q.method === 'POST' && q.url.includes('/results/cancel/big.bin?uploads'))).toBe(true);
      expect(seen.some((q) => q.method === 'DELETE' && q.url.includes('/results/cancel/big.bin?uploadId='))).toBe(true);
      expect(await keys('s3://results/cancel/')).toEqual([]);
    });

    it('the server gone during the upload: the run fails naming the object, nothing partial under a final name', async () => {
      // Its own server: this one is stopped mid-run and started again on the same data directory.
      const data = path.join(dir, 'stopped-data');
      mkdirSync(data);
      const own = await startS3Server({ buckets: ['results'], dir: data });
      const cwd = project('p-stop', own.endpoint);
      const marker = path.join(dir, 'slow-started');
      let killed = false;
      // The tool sleeps 2 s after writing its outputs: stop the server once it has started.
      const watch = setInterval(() => {
        if (!killed && existsSync(marker)) {
          killed = true;
          void own.kill();
        }
      }, 50);
      const r = await strand(['run', '--outdir', 's3://results/stopped', path.join(dir, 'slow.cwl'), '--marker', marker], { cwd });
      clearInterval(watch);
      expect(killed).toBe(true);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/strand: error: s3:\/\/results\/stopped(\/\S*)?: .*(cannot reach the S3 endpoint|connection reset|writing failed|refused).*; this run's results are in \S+/);
      const again = await startS3Server({ buckets: [], dir: data });
      const check = new S3Store(again.settings, { credentials: again.credentials });
      const left: string[] = [];
      for await (const o of check.list(s3('s3://results/stopped/'))) left.push(o.key);
      check.close();
      await again.stop();
      expect(left).toEqual([]);
    }, 60_000);
  });
});
