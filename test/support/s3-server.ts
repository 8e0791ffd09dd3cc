/**
 * A real S3-protocol server for tests: a child process (s3-server-main.mjs: s3rver behind a
 * signature-checking front) on loopback, a fresh temporary directory, given buckets.
 *
 *   const s3 = await startS3Server({ buckets: ['data'] });
 *   s3.endpoint, s3.env (AWS_* for a child Strand), s3.settings (storage.s3), s3.credentials
 *   await s3.stop();
 *
 * `host` may be 127.254.0.1 so that pods on the rig reach it (host-link mode, ports 9000-9999).
 *
 * What differs from S3 (checked in src/storage/s3-store.test.ts): the ETag of a multipart object
 * is the MD5 of the whole object, not S3's "<md5 of the parts' md5s>-<parts>"; Strand treats
 * ETags as opaque version tags and never as checksums. s3rver does not verify v4 signatures; the
 * front in s3-server-main.mjs does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface S3ServerOptions {
  buckets?: string[];
  host?: string;
  /** 0 (default) for a free port. */
  port?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Data directory; default a new temporary one, removed by stop(). */
  dir?: string;
}

export interface S3TestServer {
  readonly host: string;
  readonly port: number;
  readonly endpoint: string;
  readonly dir: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** storage.s3 settings for Strand. */
  readonly settings: { endpoint: string; region: string; forcePathStyle: true };
  /** Environment for a child process: the credentials, region, no instance-metadata lookups. */
  readonly env: Record<string, string>;
  readonly process: ChildProcess;
  /** Stop the server (SIGTERM, then SIGKILL after 5 s) and remove its temporary directory. */
  stop(): Promise<void>;
  /** Kill the server at once (SIGKILL), as a crash would; the directory stays until stop(). */
  kill(): Promise<void>;
}

// Beside this file in the sources; from a build (dist/test/support) the sources' copy.
const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = [path.join(here, 's3-server-main.mjs'), path.join(here, '..', '..', '..', 'test', 'support', 's3-server-main.mjs')].find((p) => existsSync(p)) ?? path.join(here, 's3-server-main.mjs');

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'strand-s3-')));
  const credentials = { accessKeyId: options.accessKeyId ?? 'strand-test', secretAccessKey: options.secretAccessKey ?? 'strand-test-secret' };
  const host = options.host ?? '127.0.0.1';
  // s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
  const args = ['--openssl-legacy-provider', MAIN, '--dir', dir, '--host', host, '--port', String(options.port ?? 0), '--access-key', credentials.accessKeyId, '--secret-key', credentials.secretAccessKey];
  for (const b of options.buckets ?? []) args.push('--bucket', b);
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve(JSON.parse(line) as { host: string; port: number }));
    child.once('exit', (code) => reject(new Error(`the S3 test server exited (${code}) before listening: ${stderr}`)));
  });
  const endpoint = `http://${address.host}:${address.port}`;
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    host: address.host,
    port: address.port,
    endpoint,
    dir,
    credentials,
    settings: { endpoint, region: 'us-east-1', forcePathStyle: true },
    env: {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    process: child,
    kill,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
