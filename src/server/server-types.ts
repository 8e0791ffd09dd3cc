/**
 * What the lab server's pieces agree on: who a request comes from (identity/), how a checked WES
 * RunWorkflow request becomes a run (the server's submit path), and the HTTP answers they share.
 */
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../api/principal.js';
import type { RunRequest } from './wes/run-request.js';

/** A request without a valid bearer token: answered 401, with `WWW-Authenticate: Bearer`. */
export class Unauthenticated extends Error {
  readonly statusCode = 401;
}

/**
 * A token that cannot be checked now (the identity provider that would say whether it is good
 * cannot be reached): answered 503 with `Retry-After`, so that a member with a good token learns
 * to try again rather than to throw the token away. It lets no one in.
 */
export class AuthenticationUnavailable extends Error {
  readonly statusCode = 503;
}

/** A signed-in principal that may not do what it asks (not a member, no namespace): answered 403. */
export class NotPermitted extends Error {
  readonly statusCode = 403;
}

/**
 * Who sent `req`, from its `Authorization: Bearer` token; rejects with Unauthenticated when there
 * is none or it is not valid, with AuthenticationUnavailable when it cannot be checked now. The
 * token itself is never logged, stored or put in an error.
 */
export type Authenticate = (req: IncomingMessage) => Promise<Principal>;

/**
 * Start a run from a checked RunWorkflow request whose attachments are in `dir` (a directory of
 * its own, owned by the server). Rejects with RequestProblem (400) for a workflow or params that
 * cannot be run, naming the file, line and field; resolves once the run is submitted, having
 * taken all it needs from `dir` (the files travel in the run's bundle): the directory is removed then.
 */
export type SubmitFromRequest = (p: Principal, request: RunRequest, dir: string) => Promise<{ runId: string }>;
