/**
 * WES 1.1 RunWorkflow's request, read from an HTTP request that someone else wrote: the spec's
 * `multipart/form-data` (fields as text, `workflow_attachment` parts as files), or a JSON body with
 * the RunRequest object (a documented extension: no attachments then).
 *
 * Attachments are written into `dir`, which the caller made empty for this request, under the
 * names their parts give: a name may have sub-directories, never `..`, an absolute path, a
 * backslash, an empty or `.` segment, or a control character, and two parts may not name the same
 * file. Nothing is written anywhere else, a file is never written through a link (the directory is
 * Strand's own and only Strand creates in it) and never replaced. Every limit is checked as the
 * bytes arrive. Any problem is a `RequestProblem` (the server answers 400 with an ErrorResponse)
 * naming the field or part; the caller then removes `dir` with what was written of it.
 */
import { constants, createWriteStream, mkdirSync, openSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';

/** The CWL versions a WES client may name (workflow_type_version), as cwltool's WES servers take them. */
export const CWL_VERSIONS = ['v1.0', 'v1.1', 'v1.2'] as const;
export const ENGINE = 'Strand';

export interface RunRequestLimits {
  /** Bytes of one attachment. */
  fileBytes: number;
  /** Bytes of all attachments together. */
  totalBytes: number;
  /** Number of attachments. */
  files: number;
  /** Bytes of one text field (workflow_params included). */
  fieldBytes: number;
}

export const DEFAULT_LIMITS: RunRequestLimits = {
  fileBytes: 64 * 1024 * 1024,
  totalBytes: 256 * 1024 * 1024,
  files: 1000,
  fieldBytes: 16 * 1024 * 1024,
};

/** A RunRequest as WES defines it, checked, and the attachments it came with. */
export interface RunRequest {
  workflowUrl: string;
  /** The attachment workflow_url names (relative URLs), or undefined (an absolute URL). */
  workflowFile?: string;
  workflowType: 'CWL';
  workflowTypeVersion: (typeof CWL_VERSIONS)[number];
  workflowParams: Record<string, unknown>;
  tags: Record<string, string>;
  workflowEngineParameters: Record<string, string>;
  workflowEngine?: string;
  workflowEngineVersion?: string;
  /** Names of the files written into `dir`, as the request gave them (relative, `/`-separated). */
  attachments: string[];
}

/** A request the server answers with 400: what is wrong, naming the field or attachment. */
export class RequestProblem extends Error {
  readonly statusCode = 400;
}

const TEXT_FIELDS = [
  'workflow_params',
  'workflow_type',
  'workflow_type_version',
  'tags',
  'workflow_engine',
  'workflow_engine_version',
  'workflow_engine_parameters',
  'workflow_url',
] as const;
type TextField = (typeof TEXT_FIELDS)[number];
const ATTACHMENT = 'workflow_attachment';

/** Read and check a RunWorkflow request; attachments land in `dir` (empty, made by the caller). */
export async function readRunRequest(req: IncomingMessage, dir: string, opts: { engineVersion: string; limits?: RunRequestLimits }): Promise<RunRequest> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) {
    const { fields, attachments } = await readMultipart(req, dir, limits);
    return checkRequest(
      (name) => fields.get(name),
      (name) => parseJsonField(name, fields.get(name)),
      attachments,
      opts.engineVersion,
    );
  }
  if (type.startsWith('application/json')) {
    const body = await readJsonBody(req, limits.fieldBytes);
    for (const k of Object.keys(body)) {
      if (k === ATTACHMENT) throw new RequestProblem(`${ATTACHMENT}: attachments come as multipart/form-data parts, not in a JSON body`);
      if (!(TEXT_FIELDS as readonly string[]).includes(k)) throw new RequestProblem(`${k}: not a field of a WES RunRequest`);
    }
    const text = (name: TextField): string | undefined => {
      const v = body[name];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') throw new RequestProblem(`${name}: must be a string`);
      return v;
    };
    const object = (name: TextField): unknown => body[name] ?? undefined;
    return checkRequest(text, object, [], opts.engineVersion);
  }
  throw new RequestProblem(`a run is submitted as multipart/form-data (or application/json), not ${type || 'a body without a content type'}`);
}

function checkRequest(text: (name: TextField) => string | undefined, object: (name: TextField) => unknown, attachments: string[], engineVersion: string): RunRequest {
  const type = text('workflow_type');
  if (type === undefined) throw new RequestProblem('workflow_type: required ("CWL")');
  if (type !== 'CWL') throw new RequestProblem(`workflow_type: this service runs "CWL", not ${JSON.stringify(type)}`);
  const version = text('workflow_type_version');
  if (version === undefined) throw new RequestProblem(`workflow_type_version: required (one of ${CWL_VERSIONS.join(', ')})`);
  if (!(CWL_VERSIONS as readonly string[]).includes(version)) throw new RequestProblem(`workflow_type_version: one of ${CWL_VERSIONS.join(', ')}, not ${JSON.stringify(version)}`);
  const engine = text('workflow_engine');
  const engineV = text('workflow_engine_version');
  if (engine !== undefined && engine.toLowerCase() !== ENGINE.toLowerCase()) throw new RequestProblem(`workflow_engine: this service's engine is ${ENGINE}, not ${JSON.stringify(engine)}`);
  if (engineV !== undefined && engine === undefined) throw new RequestProblem('workflow_engine_version: given without workflow_engine');
  if (engineV !== undefined && engineV !== engineVersion) throw new RequestProblem(`workflow_engine_version: this service runs ${ENGINE} ${engineVersion}, not ${JSON.stringify(engineV)}`);
  const url = text('workflow_url');
  if (url === undefined || url === '') throw new RequestProblem('workflow_url: required (an absolute URL, or the name of an attached file)');
  const workflowFile = workflowAttachment(url, attachments);
  const req: RunRequest = {
    workflowUrl: url,
    workflowType: 'CWL',
    workflowTypeVersion: version as RunRequest['workflowTypeVersion'],
    workflowParams: objectOf('workflow_params', object('workflow_params'), 'any') ?? {},
    tags: (objectOf('tags', object('tags'), 'strings') ?? {}) as Record<string, string>,
    workflowEngineParameters: (objectOf('workflow_engine_parameters', object('workflow_engine_parameters'), 'strings') ?? {}) as Record<string, string>,
    attachments,
  };
  if (workflowFile !== undefined) req.workflowFile = workflowFile;
  if (engine !== undefined) req.workflowEngine = engine;
  if (engineV !== undefined) req.workflowEngineVersion = engineV;
  return req;
}

/**
 * A relative workflow_url names one of the attachments (a `#fragment` may pick a process in it).
 * An absolute one must be https, http or s3: never a file of the server's (file:, or a path).
 */
function workflowAttachment(url: string, attachments: string[]): string | undefined {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === 'https' || scheme === 'http' || scheme === 's3') return undefined;
    throw new RequestProblem(`workflow_url: ${scheme}: URLs are not taken (an https, http or s3 URL, or the name of an attached file)`);
  }
  const file = url.split('#')[0]!;
  let name: string;
  try {
    name = decodeURIComponent(file);
  } catch {
    throw new RequestProblem(`workflow_url: ${JSON.stringify(url)} is not a valid relative URL`);
  }
  const problem = attachmentNameProblem(name);
  if (problem) throw new RequestProblem(`workflow_url: ${JSON.stringify(url)} ${problem}`);
  if (!attachments.includes(name)) {
    const had = attachments.length ? `the attachments are ${attachments.slice(0, 10).map((a) => JSON.stringify(a)).join(', ')}${attachments.length > 10 ? ', …' : ''}` : 'no file was attached';
    throw new RequestProblem(`workflow_url: ${JSON.stringify(url)} names no attached file (${had})`);
  }
  return name;
}

function parseJsonField(name: TextField, text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RequestProblem(`${name}: not JSON text (${(err as Error).message})`);
  }
}

function objectOf(name: string, v: unknown, values: 'any' | 'strings'): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RequestProblem(`${name}: must be a JSON object`);
  if (values === 'strings') {
    for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw new RequestProblem(`${name}: the value of ${JSON.stringify(k)} must be a string`);
  }
  return v as Record<string, unknown>;
}

/** Why an attachment's name is refused, or undefined when it is a safe relative path. */
export function attachmentNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > 1024) return 'is longer than 1024 characters';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'holds a control character';
  if (name.includes('\\')) return 'holds a backslash (use / between directories)';
  if (name.startsWith('/')) return 'is an absolute path';
  const parts = name.split('/');
  if (parts.includes('..')) return 'climbs out with ..';
  if (parts.some((p) => p === '' || p === '.')) return 'has an empty or . segment';
  if (parts.some((p) => Buffer.byteLength(p) > 255)) return 'has a segment longer than 255 bytes';
  return undefined;
}

async function readMultipart(req: IncomingMessage, dir: string, limits: RunRequestLimits): Promise<{ fields: Map<TextField, string>; attachments: string[] }> {
  const fields = new Map<TextField, string>();
  const attachments: string[] = [];
  const taken = new Set<string>();
  let total = 0;
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      // busboy enforces these as the bytes arrive; each breach is checked below.
      limits: { fieldSize: limits.fieldBytes, fileSize: limits.fileBytes, files: limits.files, fields: TEXT_FIELDS.length * 2, parts: limits.files + TEXT_FIELDS.length * 2 },
      // Names as sent, not cut to their last segment: sub-directories are allowed, and checked.
      preservePath: true,
      defParamCharset: 'utf8',
    });
  } catch (err) {
    throw new RequestProblem(`a malformed multipart/form-data request: ${(err as Error).message}`);
  }
  const writes: Promise<void>[] = [];
  const open = new Set<Readable>();
  let problem: RequestProblem | undefined;
  const fail = (p: RequestProblem) => {
    problem ??= p;
    req.unpipe(parser);
    req.resume();
    // The parser stops here: the attachments it was writing end now, with the problem as their
    // error so that their pipelines end too (the caller removes `dir`).
    for (const s of open) s.destroy(p);
  };
  parser.on('field', (name, value, info) => {
    if (problem) return;
    if (name === ATTACHMENT) return fail(new RequestProblem(`${ATTACHMENT}: must be a file part with a filename, not a text field`));
    if (!(TEXT_FIELDS as readonly string[]).includes(name)) return fail(new RequestProblem(`${name}: not a field of a WES RunRequest`));
    if (info.valueTruncated) return fail(new RequestProblem(`${name}: longer than ${limits.fieldBytes} bytes`));
    if (fields.has(name as TextField)) return fail(new RequestProblem(`${name}: given more than once`));
    fields.set(name as TextField, value);
  });
  parser.on('file', (name, stream, info) => {
    if (problem) return stream.resume();
    if (name !== ATTACHMENT) {
      stream.resume();
      return fail(new RequestProblem(`${name}: files are attached as ${ATTACHMENT} parts`));
    }
    const file: string | undefined = info.filename;
    if (file === undefined) {
      stream.resume();
      return fail(new RequestProblem(`${ATTACHMENT}: a part has no filename (its Content-Disposition must give one)`));
    }
    const bad = attachmentNameProblem(file);
    if (bad) {
      stream.resume();
      return fail(new RequestProblem(`${ATTACHMENT} ${JSON.stringify(file)} ${bad}`));
    }
    const clash = [...taken].find((t) => t === file || t.startsWith(`${file}/`) || file.startsWith(`${t}/`));
    if (clash !== undefined) {
      stream.resume();
      return fail(new RequestProblem(`${ATTACHMENT} ${JSON.stringify(file)} clashes with ${JSON.stringify(clash)} attached before`));
    }
    taken.add(file);
    attachments.push(file);
    open.add(stream);
    stream.on('close', () => open.delete(stream));
    const target = path.join(dir, ...file.split('/'));
    let fd: number;
    try {
      mkdirSync(path.dirname(target), { recursive: true });
      // A new file, never one that is there, and never through a link.
      fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      stream.resume();
      return fail(new RequestProblem(`${ATTACHMENT} ${JSON.stringify(file)}: ${(err as Error).message}`));
    }
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limits.totalBytes && !problem) fail(new RequestProblem(`the attachments are larger than ${limits.totalBytes} bytes together`));
    });
    stream.on('limit', () => fail(new RequestProblem(`${ATTACHMENT} ${JSON.stringify(file)} is larger than ${limits.fileBytes} bytes`)));
    writes.push(
      pipeline(stream, createWriteStream('', { fd })).catch((err: Error) => {
        if (!(err instanceof RequestProblem)) fail(new RequestProblem(`${ATTACHMENT} ${JSON.stringify(file)}: ${err.message}`));
      }),
    );
  });
  parser.on('filesLimit', () => fail(new RequestProblem(`more than ${limits.files} attachments`)));
  parser.on('fieldsLimit', () => fail(new RequestProblem('too many fields')));
  parser.on('partsLimit', () => fail(new RequestProblem('too many parts')));
  await new Promise<void>((resolve) => {
    parser.on('close', resolve);
    parser.on('error', (err: Error) => {
      fail(new RequestProblem(`a malformed multipart/form-data request: ${err.message}`));
      resolve();
    });
    req.on('error', (err) => {
      fail(new RequestProblem(`the request broke off: ${err.message}`));
      resolve();
    });
    req.on('aborted', () => {
      fail(new RequestProblem('the request broke off'));
      resolve();
    });
    // After unpipe (a problem), busboy never closes: resolve once the request is read.
    req.on('end', () => {
      if (problem) resolve();
    });
    req.pipe(parser);
  });
  await Promise.all(writes);
  if (problem) throw problem;
  return { fields, attachments };
}

async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > maxBytes) throw new RequestProblem(`the JSON body is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new RequestProblem(`the body is not JSON (${(err as Error).message})`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestProblem('the body must be a JSON object (a WES RunRequest)');
  return body as Record<string, unknown>;
}
