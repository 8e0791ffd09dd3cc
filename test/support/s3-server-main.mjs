// The test S3 server process (started by s3-server.ts): s3rver (an S3-protocol server from npm,
// files in a directory) on an internal loopback port, behind a front that checks every request's
// AWS Signature Version 4 against the one key pair it knows and forwards the request unchanged.
// s3rver itself checks only that the access key id exists (it does not verify v4 signatures), so
// without the front a wrong secret key would be accepted; with it, a wrong key id or secret gets
// 403 InvalidAccessKeyId / SignatureDoesNotMatch, as from S3 or MinIO.
//
//   node s3-server-main.mjs --dir D --host 127.0.0.1 --port 0 --access-key K --secret-key S [--bucket B]...
// prints one line of JSON, {"host":...,"port":...}, when it listens; exits on SIGTERM.
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { SignatureV4 } from '@smithy/signature-v4';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const { values: o } = parseArgs({
  options: {
    dir: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'access-key': { type: 'string' },
    'secret-key': { type: 'string' },
    bucket: { type: 'string', multiple: true, default: [] },
  },
});
const accessKeyId = o['access-key'];
const secretAccessKey = o['secret-key'];
DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);

class Sha256 {
  constructor(secret) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data) {
    this.h.update(typeof data === 'string' ? Buffer.from(data) : data);
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}

const backend = new S3rver({
  directory: o.dir,
  address: '127.0.0.1',
  port: 0,
  silent: true,
  configureBuckets: o.bucket.map((name) => ({ name })),
});
const { port: backendPort } = await backend.run();

function s3Error(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

/** null when the request is signed with our key pair, else [code, message]. */
async function checkSignature(req) {
  const auth = req.headers.authorization;
  if (!auth) return ['AccessDenied', 'Anonymous access is not allowed'];
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(auth);
  if (!m) return ['AccessDenied', 'Unsupported authorization'];
  const [, keyId, , region, service, signedHeaders, signature] = m;
  if (keyId !== accessKeyId) return ['InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'];
  const names = signedHeaders.split(';');
  const headers = {};
  for (const n of names) {
    const v = req.headers[n];
    if (v === undefined) return ['AccessDenied', `signed header ${n} missing`];
    headers[n] = Array.isArray(v) ? v.join(',') : v;
  }
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const query = {};
  for (const [k, v] of new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1))) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const date = headers['x-amz-date'] ?? '';
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (!d) return ['AccessDenied', 'x-amz-date missing'];
  const signingDate = new Date(Date.UTC(+d[1], +d[2] - 1, +d[3], +d[4], +d[5], +d[6]));
  const signer = new SignatureV4({ credentials: { accessKeyId, secretAccessKey }, region, service, sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: String(headers.host ?? ''), path: rawPath, query, headers, body: undefined },
    { signingDate, signableHeaders: new Set(names) },
  );
  const ours = /Signature=([0-9a-f]+)/.exec(signed.headers.authorization ?? '')?.[1];
  if (ours !== signature) {
    return ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'];
  }
  return null;
}

const front = http.createServer((req, res) => {
  req.pause();
  checkSignature(req).then(
    (problem) => {
      if (problem) {
        req.resume();
        return s3Error(res, 403, problem[0], problem[1]);
      }
      const up = http.request({ host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.on('aborted', () => up.destroy());
      req.pipe(up);
      req.resume();
    },
    (err) => s3Error(res, 500, 'InternalError', String(err)),
  );
});
front.listen(Number(o.port), o.host, () => {
  const a = front.address();
  process.stdout.write(JSON.stringify({ host: a.address, port: a.port }) + '\n');
});
const stop = () => {
  front.close();
  front.closeAllConnections();
  backend.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The test process went away without stopping us: go too.
process.stdin.on('end', stop);
process.stdin.resume();
