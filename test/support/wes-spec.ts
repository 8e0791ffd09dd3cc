/**
 * Checks an HTTP answer against the vendored GA4GH WES 1.1.0 OpenAPI document (spec/ga4gh, with
 * the service-info 1.0.0 document its ServiceInfo refers to): the schema the spec gives for the
 * operation and status code, with Ajv 8 (MIT) and ajv-formats (MIT) over the documents as they are.
 * Nothing is fetched: the WES document's one remote $ref points at the local copy.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
// From test/support or dist/test/support: the repository's spec/ga4gh.
const SPEC_DIR = [path.resolve(here, '../../spec/ga4gh'), path.resolve(here, '../../../spec/ga4gh')].find((d) => {
  try {
    readFileSync(path.join(d, 'README.md'));
    return true;
  } catch {
    return false;
  }
})!;
const WES_FILE = path.join(SPEC_DIR, 'workflow-execution-service-1.1.0', 'workflow_execution_service.openapi.yaml');
const SERVICE_INFO_FILE = path.join(SPEC_DIR, 'service-info-1.0.0', 'service-info.yaml');

interface Operation {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
}

export interface SpecVerdict {
  /** The spec's operation for the method and path template. */
  operation: string;
  /** Whether the spec lists this status code for the operation. */
  declared: boolean;
  /** The schema checked against (`RunLog`, `ErrorResponse`...). */
  schema: string;
  /** Ajv's errors, as `path: message`; empty when the body is valid. */
  errors: string[];
}

export interface WesSpec {
  /** The operations of the document, as `METHOD template` -> operationId. */
  operations(): Map<string, string>;
  /**
   * Check `body` (parsed JSON) against the schema the spec gives for `method template` answering
   * `status`. A status the spec does not list for the operation is checked against ErrorResponse
   * (what every error of the spec is) and reported as not declared.
   */
  check(method: string, template: string, status: number, body: unknown): SpecVerdict;
  /** Check `body` against one of the document's component schemas. */
  checkSchema(name: string, body: unknown): string[];
}

export function loadWesSpec(): WesSpec {
  const wes = parse(readFileSync(WES_FILE, 'utf8')) as { paths: Record<string, Record<string, Operation>> };
  const info = parse(readFileSync(SERVICE_INFO_FILE, 'utf8')) as object;
  const wesId = pathToFileURL(WES_FILE).href;
  const infoId = pathToFileURL(SERVICE_INFO_FILE).href;
  // strict: false, as OpenAPI 3.0 schemas carry keywords JSON Schema does not know (example,
  // deprecated, x-...); `nullable` is Ajv's own OpenAPI keyword.
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormatsModule.default(ajv);
  ajv.addSchema(info, infoId);
  ajv.addSchema(wes, wesId);
  const compiled = new Map<string, ValidateFunction>();
  const validator = (name: string) => {
    let v = compiled.get(name);
    if (!v) {
      v = ajv.compile({ $ref: `${wesId}#/components/schemas/${name}` });
      compiled.set(name, v);
    }
    return v;
  };
  const errorsOf = (v: ValidateFunction, body: unknown) => (v(body) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`));

  return {
    operations() {
      const m = new Map<string, string>();
      for (const [template, ops] of Object.entries(wes.paths)) for (const [method, op] of Object.entries(ops)) m.set(`${method.toUpperCase()} ${template}`, op.operationId);
      return m;
    },
    check(method, template, status, body) {
      const op = wes.paths[template]?.[method.toLowerCase()];
      if (!op) throw new Error(`the spec has no operation ${method} ${template}`);
      const response = op.responses[String(status)];
      const ref = response?.content?.['application/json']?.schema?.$ref;
      if (response && !ref) throw new Error(`${op.operationId} ${status}: no application/json schema in the spec`);
      const name = ref ? ref.replace('#/components/schemas/', '') : 'ErrorResponse';
      return { operation: op.operationId, declared: response !== undefined, schema: name, errors: errorsOf(validator(name), body) };
    },
    checkSchema(name, body) {
      return errorsOf(validator(name), body);
    },
  };
}
