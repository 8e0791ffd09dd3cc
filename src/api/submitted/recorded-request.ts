/**
 * The request a run was submitted with (a GA4GH WES RunRequest, as the lab server received it),
 * kept with the run so that a server holding no state can give it back to whoever submitted it
 * (WES RunLog.request, ListRuns' tags). It is kept in the run's status ConfigMap, which a cancel
 * keeps (submit-run.ts, cluster-run-service.ts), and its tags also in an annotation of the leader
 * Job and that ConfigMap (a list reads them without reading more). A ConfigMap is no place for a
 * credential (docs/security.md, "Credentials in URLs"): the real parameters travel only in the
 * run's job Secret, and what is kept here is the request with
 *
 * - every URL's credentials replaced by `***`: a string that is a URL as a whole loses its
 *   userinfo (everything before the last `@` of its authority, so a password holding `@`, a quote
 *   or a space goes whole) and the values of its query and fragment parameters whose names speak
 *   of a credential (CREDENTIAL_NAME: signatures, tokens, keys, passwords...; a value runs to the
 *   next `&` or `#`). That is stricter than storage/redact-url.ts's redactUrls, which is made for
 *   URLs inside free text and stops at characters a value may hold (`:`, `;`, a quote); redactUrls
 *   still runs after it, for URLs inside longer strings;
 * - the values of the workflow's secret inputs (cwltool:Secrets) replaced by `(secret-<input>)`;
 * - workflow_params left out when, so redacted, their JSON is over RECORDED_PARAMS_MAX bytes (a
 *   part of them would read as the whole); tags and workflow_engine_parameters cut to the entries
 *   that fit their bounds, in the order given. Each of these says so in `notes`.
 *
 * Pure: no I/O.
 */
import { registerSecrets } from '../../engine/secrets.js';
import { SecretMask } from '../../model/secrets.js';
import type { CwlObject, Process } from '../../model/types.js';
import { redactUrls } from '../../storage/redact-url.js';

/** A RunRequest as a front end received it, or as it was kept (`notes` then says what differs). */
export interface RecordedRequest {
  workflowUrl: string;
  workflowType: string;
  workflowTypeVersion: string;
  /** Absent when they were not kept (see notes). */
  workflowParams?: Record<string, unknown>;
  tags: Record<string, string>;
  workflowEngineParameters: Record<string, string>;
  workflowEngine?: string;
  workflowEngineVersion?: string;
  /** What of the request was not kept as it was sent, one sentence each. */
  notes?: string[];
}

/** Bytes of workflow_params (as JSON, once redacted) kept with a run; larger ones are left out. */
export const RECORDED_PARAMS_MAX = 64 * 1024;
/** Bytes of tags (as JSON) kept with a run: they also go in an annotation (all of a run's together may take 256 KiB). */
export const RECORDED_TAGS_MAX = 16 * 1024;
/** Bytes of workflow_engine_parameters (as JSON) kept. */
const ENGINE_PARAMETERS_MAX = 4 * 1024;
/** Characters of workflow_url, workflow_engine, the type and versions kept. */
const TEXT_MAX = 4 * 1024;
/** The format of the kept text (recordedRequestText); another is not read. */
const FORMAT = 1;

/**
 * Query and fragment parameters whose values are taken for credentials (by name, without regard
 * to case): storage/redact-url.ts's list (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
 * AWSAccessKeyId, X-Goog-Signature, GoogleAccessId, sig, token, key, password, secret...) and any
 * other name holding one of these words. A harmless parameter that matches (X-Amz-SignedHeaders)
 * is redacted too: the record loses a detail, never a secret.
 */
export const CREDENTIAL_NAME = /sig|token|secret|pass|pwd|cred|key|auth|session|access|bearer|jwt/i;

/** `text` with the credentials of a URL it is (or of URLs inside it) replaced by `***`. */
export function redactCredentials(text: string): string {
  const m = /^(\s*[a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([\s\S]*)$/i.exec(text);
  let out = text;
  if (m) {
    const authority = m[2]!;
    const at = authority.lastIndexOf('@');
    out = `${m[1]!}${at >= 0 ? `***${authority.slice(at)}` : authority}${redactParams(m[3]!)}`;
  }
  return redactUrls(out);
}

/** The path, query and fragment of a URL with the values of credential-named parameters replaced. */
function redactParams(rest: string): string {
  return rest.replace(/([?&;#])([^=&;#?]*)=([^&#]*)/g, (_all, sep: string, name: string, value: string) =>
    // A value of another parameter may hold `;name=value` pairs (a `;`-separated query): looked at too.
    isCredentialName(name) ? `${sep}${name}=***` : `${sep}${name}=${redactParams(value)}`,
  );
}

function isCredentialName(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // Not valid percent-encoding: judged as written.
  }
  return CREDENTIAL_NAME.test(decoded) || CREDENTIAL_NAME.test(name);
}

/** `v` with every string in it (and every key) passed through redactCredentials. */
function redactDeep(v: unknown): unknown {
  if (typeof v === 'string') return redactCredentials(v);
  if (Array.isArray(v)) return v.map(redactDeep);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) put(out, redactCredentials(k), redactDeep(x));
    return out;
  }
  return v;
}

/** What a run's process and job say of its secrets. */
export interface RecordContext {
  process: Process;
  /** The job as the run gets it (the same secret values as the request's parameters). */
  inputs: CwlObject;
}

/**
 * The request as it is kept with the run: redacted and bounded as the module's comment says.
 * The real request is not changed.
 */
export function recordRequest(given: RecordedRequest, ctx: RecordContext): RecordedRequest {
  const notes: string[] = [];
  let mask: SecretMask | undefined = new SecretMask();
  try {
    registerSecrets(ctx.process, ctx.inputs, mask);
  } catch (err) {
    // The run fails on this too; nothing tells which parameters are secret, so none are kept.
    mask = undefined;
    notes.push(`workflow_params: not kept (the workflow's cwltool:Secrets cannot be read: ${redactUrls((err as Error).message).slice(0, 200)})`);
  }
  const clean = <T>(v: T): T => {
    const r = redactDeep(v) as T;
    return mask ? mask.mask(r) : r;
  };
  const text = (name: string, v: string): string => {
    const r = clean(v);
    if (r.length <= TEXT_MAX) return r;
    notes.push(`${name}: cut to its first ${TEXT_MAX} characters (of ${r.length})`);
    return r.slice(0, TEXT_MAX);
  };
  const kept: RecordedRequest = {
    workflowUrl: text('workflow_url', given.workflowUrl),
    workflowType: text('workflow_type', given.workflowType),
    workflowTypeVersion: text('workflow_type_version', given.workflowTypeVersion),
    tags: fitEntries('tags', clean(stringEntries(given.tags)), RECORDED_TAGS_MAX, notes),
    workflowEngineParameters: fitEntries('workflow_engine_parameters', clean(stringEntries(given.workflowEngineParameters)), ENGINE_PARAMETERS_MAX, notes),
  };
  if (given.workflowEngine !== undefined) kept.workflowEngine = text('workflow_engine', given.workflowEngine);
  if (given.workflowEngineVersion !== undefined) kept.workflowEngineVersion = text('workflow_engine_version', given.workflowEngineVersion);
  if (mask && given.workflowParams !== undefined) {
    const params = clean(given.workflowParams);
    const bytes = Buffer.byteLength(JSON.stringify(params));
    if (bytes <= RECORDED_PARAMS_MAX) kept.workflowParams = params;
    else notes.push(`workflow_params: not kept (${bytes} bytes of JSON, more than the ${RECORDED_PARAMS_MAX} kept with a run); the run has them all`);
  }
  if (kept.workflowParams !== undefined && JSON.stringify(kept.workflowParams) !== JSON.stringify(given.workflowParams)) {
    notes.push("workflow_params: kept with the credentials of URLs (***) and the values of secret inputs ((secret-<input>)) left out; the run has them all");
  }
  if (notes.length) kept.notes = notes;
  return kept;
}

/** The string-valued entries of `o` (a request's tags are strings; anything else is not kept). */
function stringEntries(o: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (typeof v === 'string') put(out, k, v);
  return out;
}

/** The entries of `o`, in order, while their JSON fits `max` bytes; a note when some were left out. */
function fitEntries(name: string, o: Record<string, string>, max: number, notes: string[]): Record<string, string> {
  const all = Object.entries(o);
  if (Buffer.byteLength(JSON.stringify(o)) <= max) return o;
  const out: Record<string, string> = {};
  let bytes = 2; // {}
  for (const [k, v] of all) {
    const entry = Buffer.byteLength(JSON.stringify({ [k]: v })) - 2 + (Object.keys(out).length ? 1 : 0);
    if (bytes + entry > max) break;
    put(out, k, v);
    bytes += entry;
  }
  notes.push(`${name}: ${Object.keys(out).length} of its ${all.length} entries kept (more than ${max} bytes of JSON in all)`);
  return out;
}

/** The text a kept request is stored as (the status ConfigMap's REQUEST_KEY). */
export function recordedRequestText(r: RecordedRequest): string {
  return JSON.stringify({ format: FORMAT, request: r });
}

/**
 * The request kept in `text`, or undefined when there is none or it is not one this module wrote
 * (the ConfigMap is in the member's namespace: its content is checked, never trusted).
 */
export function readRecordedRequest(text: string | undefined): RecordedRequest | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || parsed.format !== FORMAT || !isObject(parsed.request)) return undefined;
  const r = parsed.request;
  const str = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const url = str('workflowUrl');
  const type = str('workflowType');
  const version = str('workflowTypeVersion');
  const tags = stringMap(r.tags);
  const engineParameters = stringMap(r.workflowEngineParameters);
  if (url === undefined || type === undefined || version === undefined || !tags || !engineParameters) return undefined;
  const out: RecordedRequest = { workflowUrl: url, workflowType: type, workflowTypeVersion: version, tags, workflowEngineParameters: engineParameters };
  if (isObject(r.workflowParams)) out.workflowParams = r.workflowParams;
  const engine = str('workflowEngine');
  const engineVersion = str('workflowEngineVersion');
  if (engine !== undefined) out.workflowEngine = engine;
  if (engineVersion !== undefined) out.workflowEngineVersion = engineVersion;
  if (Array.isArray(r.notes) && r.notes.every((n) => typeof n === 'string') && r.notes.length) out.notes = r.notes as string[];
  return out;
}

/** Tags as an annotation holds them (JSON). */
export function tagsAnnotation(tags: Record<string, string>): string {
  return JSON.stringify(tags);
}

/** The tags an annotation holds, or undefined for none or one not written by tagsAnnotation. */
export function readTagsAnnotation(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  try {
    return stringMap(JSON.parse(text)) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Set an own property, whatever its name (`__proto__` too: a request's keys are someone else's). */
function put<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return undefined;
    put(out, k, x);
  }
  return out;
}
