/** Builders for `v1 Status` error bodies, shaped like the real API server's. */
import type { Status } from './types.js';
import { type ResourceInfo, qualifiedName } from './resources.js';

function status(code: number, reason: string, message: string, details?: Status['details']): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) s.details = details;
  return s;
}

function details(r: ResourceInfo, name?: string): NonNullable<Status['details']> {
  const d: NonNullable<Status['details']> = {};
  if (name !== undefined) d.name = name;
  if (r.group) d.group = r.group;
  d.kind = r.plural;
  return d;
}

/** An error the handlers throw; the router turns it into an HTTP response. */
export class StatusError extends Error {
  constructor(
    readonly status: Status,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message);
  }
}

export const notFound = (r: ResourceInfo, name: string): StatusError =>
  new StatusError(status(404, 'NotFound', `${qualifiedName(r)} "${name}" not found`, details(r, name)));

export const alreadyExists = (r: ResourceInfo, name: string): StatusError =>
  new StatusError(status(409, 'AlreadyExists', `${qualifiedName(r)} "${name}" already exists`, details(r, name)));

export const conflict = (r: ResourceInfo, name: string): StatusError =>
  new StatusError(
    status(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedName(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      details(r, name),
    ),
  );

export interface FieldCause {
  field: string;
  /** e.g. `Required value`, `Invalid value: "X": must be ...`. */
  message: string;
  reason: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueNotSupported' | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueDuplicate';
}

export function invalid(r: ResourceInfo, name: string, causes: FieldCause[]): StatusError {
  const kindGroup = r.group ? `${r.kind}.${r.group}` : r.kind;
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const d: NonNullable<Status['details']> = { name, kind: r.kind, causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })) };
  if (r.group) d.group = r.group;
  return new StatusError(status(422, 'Invalid', `${kindGroup} "${name}" is invalid: ${joined}`, d));
}

export const forbidden = (r: ResourceInfo, name: string | undefined, why: string): StatusError =>
  new StatusError(
    status(403, 'Forbidden', `${qualifiedName(r)}${name !== undefined ? ` "${name}"` : ''} is forbidden: ${why}`, details(r, name)),
  );

export const badRequest = (message: string): StatusError => new StatusError(status(400, 'BadRequest', message));

export const methodNotAllowed = (): StatusError =>
  new StatusError(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));

export const unsupportedMediaType = (ct: string): StatusError =>
  new StatusError(status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${ct})`));

export const pathNotFound = (): StatusError => new StatusError(status(404, 'NotFound', 'the server could not find the requested resource'));

export const unauthorized = (): StatusError => new StatusError(status(401, 'Unauthorized', 'Unauthorized'));

export const tooManyRequests = (retryAfterSeconds: number): StatusError =>
  new StatusError(status(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds }), {
    'Retry-After': String(retryAfterSeconds),
  });

export const internalError = (message: string): StatusError =>
  new StatusError(status(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ reason: '', message, field: '' }] }));

export const serviceUnavailable = (message: string): StatusError =>
  new StatusError(status(503, 'ServiceUnavailable', message));

export const expired = (message: string): Status => status(410, 'Expired', message);

export const goneStatus = (message: string): StatusError => new StatusError(status(410, 'Expired', message));
