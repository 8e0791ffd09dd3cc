/**
 * A checked WES RunWorkflow request (wes/run-request.ts) becomes a run: its workflow loaded from
 * the request's own directory, its parameters checked, then submitted through the run service as
 * a leader Job in the member's namespace. Everything here came from someone else:
 *
 * - the workflow may read only the files attached to its request (the loader's `root`): a
 *   `run: /etc/passwd` or `$import: ../../other-request/x.cwl` is refused before it is read;
 * - every File or Directory the parameters name on this machine must be one of the attachments
 *   (a relative location is resolved against them); remote locations (https, s3) are left to the
 *   leader in the member's namespace, which fetches them there with the member's rights;
 * - the server fetches no URL: workflow_url names an attachment;
 * - messages name files relative to the request, never the server's own paths.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { UserConfigFile } from '../config/config-file.js';
import { isRetryCount, MAX_RETRIES } from '../config/retry-settings.js';
import { isStrandError } from '../errors.js';
import { loadDocument, resolveJobObject } from '../loader/index.js';
import { missingRequiredInputs } from '../model/required-inputs.js';
import type { CwlObject } from '../model/types.js';
import type { Principal } from '../api/principal.js';
import type { RunService } from '../api/run-service.js';
import type { RecordedRequest } from '../api/submitted/recorded-request.js';
import type { LeaderOptions, SubmitRequest } from '../api/submitted/submit-run.js';
import { inputPaths } from '../staging/confine.js';
import { RequestProblem, type RunRequest } from './wes/run-request.js';
import type { SubmitFromRequest } from './server-types.js';

/** How the server runs what members submit (its config file's `leader:` and `kubernetes:`). */
export interface RequestSubmitSettings {
  service: RunService;
  /** The server's config file: its `kubernetes:` (workspace, images) and `storage:` sections. */
  config?: UserConfigFile;
  leader: LeaderOptions;
  /** Bytes of attached input files that may travel with a run (in its bundle ConfigMap). */
  bundleLimit: number;
  /** Largest document read (the loader's limit). */
  maxDocumentBytes?: number;
  /** Where the server says what it did (never a token). */
  log: (line: string) => void;
}

/** workflow_engine_parameters a member may give, and what each becomes. */
const ENGINE_PARAMETERS = ['cache', 'retries', 'on_error'] as const;

export function submitFromRequest(s: RequestSubmitSettings): SubmitFromRequest {
  return async (p: Principal, request: RunRequest, dir: string) => {
    if (request.workflowFile === undefined) {
      throw new RequestProblem(`workflow_url: ${JSON.stringify(request.workflowUrl)}: this server fetches no URL; attach the workflow (workflow_attachment) and name it in workflow_url`);
    }
    const run = engineParameters(request.workflowEngineParameters);
    const hash = request.workflowUrl.indexOf('#');
    const mainFile = path.join(dir, request.workflowFile);
    const document = hash >= 0 ? `${mainFile}#${request.workflowUrl.slice(hash + 1)}` : mainFile;
    const used = new Set<string>();
    const warnings: string[] = [];
    let process_;
    try {
      process_ = await loadDocument(document, {
        root: dir,
        files: used,
        ...(s.maxDocumentBytes !== undefined ? { maxDocumentBytes: s.maxDocumentBytes } : {}),
        onWarning: (m) => warnings.push(m),
      });
    } catch (err) {
      if (isStrandError(err)) throw new RequestProblem(inRequest(err.message, dir));
      throw err;
    }
    let inputs: CwlObject;
    try {
      inputs = resolveJobObject(request.workflowParams as CwlObject, pathToFileURL(`${dir}${path.sep}`).href);
    } catch (err) {
      if (isStrandError(err)) throw new RequestProblem(`workflow_params: ${inRequest(err.message, dir)}`);
      throw err;
    }
    for (const named of inputPaths(inputs)) {
      if (!insideDir(dir, named)) {
        throw new RequestProblem(
          `workflow_params: ${JSON.stringify(inRequest(named, dir))} is not one of the attached files: a run submitted here may use ` +
            'its attachments (name them relative to the request) or remote files (https, s3)',
        );
      }
    }
    const missing = missingRequiredInputs(process_, inputs);
    if (missing.length) {
      throw new RequestProblem(`workflow_params: missing required input${missing.length > 1 ? 's' : ''}: ${missing.map((m) => m.id).join(', ')}`);
    }
    const req: SubmitRequest = {
      document,
      // Recorded as the member named it (never the server's directory).
      documentPath: request.workflowUrl,
      process: process_,
      documentFiles: [mainFile, ...[...used].filter((f) => f !== mainFile)],
      inputs,
      ...(s.config ? { config: s.config } : {}),
      overrides: {},
      leader: s.leader,
      bundleLimit: s.bundleLimit,
      run,
      cwd: dir,
      // Kept with the run for its submitter (WES RunLog.request, ListRuns' tags), redacted there.
      request: recordedRequestOf(request),
    };
    const submitted = await s.service.submit(p, req, {
      info: (m) => s.log(`${p.user}: ${m}`),
      warn: (m) => s.log(`${p.user}: warning: ${m}`),
    });
    for (const w of warnings) s.log(`${p.user}: run ${submitted.runId}: warning: ${inRequest(w, dir)}`);
    return { runId: submitted.runId };
  };
}

/** What of a RunRequest the run keeps (its attachments travel in its bundle, not in the request). */
export function recordedRequestOf(r: RunRequest): RecordedRequest {
  return {
    workflowUrl: r.workflowUrl,
    workflowType: r.workflowType,
    workflowTypeVersion: r.workflowTypeVersion,
    workflowParams: r.workflowParams,
    tags: r.tags,
    workflowEngineParameters: r.workflowEngineParameters,
    ...(r.workflowEngine !== undefined ? { workflowEngine: r.workflowEngine } : {}),
    ...(r.workflowEngineVersion !== undefined ? { workflowEngineVersion: r.workflowEngineVersion } : {}),
  };
}

/** The engine parameters a member may set (anything else is a 400 naming it). */
function engineParameters(given: Record<string, string>): SubmitRequest['run'] {
  const run: SubmitRequest['run'] = {};
  for (const [k, v] of Object.entries(given)) {
    switch (k) {
      case 'cache':
        if (v !== 'on' && v !== 'off' && v !== 'read' && v !== 'write' && v !== 'readwrite') {
          throw new RequestProblem(`workflow_engine_parameters: cache: one of on, off, read, write, readwrite, not ${JSON.stringify(v)}`);
        }
        run.cache = v;
        break;
      case 'retries': {
        if (!/^\d{1,3}$/.test(v) || !isRetryCount(Number(v))) {
          throw new RequestProblem(`workflow_engine_parameters: retries: a whole number from 0 to ${MAX_RETRIES}, not ${JSON.stringify(v)}`);
        }
        run.retries = Number(v);
        break;
      }
      case 'on_error':
        if (v !== 'stop' && v !== 'continue') throw new RequestProblem(`workflow_engine_parameters: on_error: stop or continue, not ${JSON.stringify(v)}`);
        run.onError = v;
        break;
      default:
        throw new RequestProblem(`workflow_engine_parameters: ${JSON.stringify(k)} is not a parameter of this service (it takes ${ENGINE_PARAMETERS.join(', ')})`);
    }
  }
  return run;
}

/** A message or path with the request's directory left out: members see names relative to their request. */
function inRequest(text: string, dir: string): string {
  const withSep = dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`;
  return text.split(pathToFileURL(withSep).href).join('').split(withSep).join('').split(dir).join('.');
}

function insideDir(dir: string, file: string): boolean {
  const rel = path.relative(dir, path.resolve(file));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
