/**
 * Running an ExpressionTool: evaluate `expression` over the prepared inputs; the result must be an
 * object; the declared outputs are taken from it and type-checked; File/Directory values are
 * completed (path/location/basename/nameroot/nameext), and file literals (`contents` without a
 * location) and Directory literals (`listing` without a location) are written to the task's
 * directory so later steps can read them.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ValidationError, WorkflowFailedError } from '../../errors.js';
import { isDirectory, isFile, type CwlObject, type CwlValue, type ExpressionTool, type Process } from '../../model/types.js';
import { checkType, finishOutputValue, inputPaths, isLiteral, OutputConfinement, prepareInputs, relativeName, writeEntry } from '../../staging/index.js';
import { mapLimited } from '../../staging/limited.js';
import type { Invocation, RuntimeContext } from '../context.js';
import { evaluatorFor } from '../evaluator-for.js';
import { computeResources } from './resources.js';
import { effectiveRequirements } from './run-command-line-tool.js';
import { assertSupported } from './supported-requirements.js';
import { makeTaskDirs } from './task-dirs.js';

function asExpressionTool(p: Process): ExpressionTool {
  if (p.class !== 'ExpressionTool') throw new ValidationError(`${p.id} is a ${p.class}, not an ExpressionTool`);
  return p;
}

function isPlainObject(v: unknown): v is CwlObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function runExpressionTool(inv: Invocation, ctx: RuntimeContext): Promise<CwlObject> {
  const tool = asExpressionTool(inv.process);
  const eff = effectiveRequirements(inv);
  assertSupported(eff, inv.path);
  const evaluator = evaluatorFor(eff);
  const dirs = await makeTaskDirs(ctx.workRoot, inv.path, 1);
  const inputs = await prepareInputs(tool, inv.inputs, eff, evaluator, dirs.scratch, { discoverSecondaryFiles: !inv.path.includes('/'), documentPaths: ctx.documentPaths, defaults: ctx.defaults });
  const base: CwlObject = { outdir: dirs.outdir, tmpdir: dirs.tmpdir };
  const runtime: CwlObject = { ...base, ...computeResources(eff, { evaluator, inputs, runtime: base }).runtime };

  const result = evaluator.evaluate(tool.expression, { inputs, self: null, runtime });
  if (!isPlainObject(result)) {
    throw new WorkflowFailedError(`${inv.path}: the ExpressionTool's expression must return an object, got ${JSON.stringify(result)}`);
  }
  const outputs: CwlObject = {};
  const written = new Set<string>();
  // An ExpressionTool has no output directory: a File or Directory it returns must be one of the
  // step's inputs (or a literal, written below); any other host path fails (staging/confine.ts).
  const confinement = new OutputConfinement(undefined, [...inputPaths(inv.inputs), ...inputPaths(inputs)]);
  for (const o of tool.outputs) {
    await confinement.checkValue(result[o.id] ?? null, `${o.id} of ${inv.path}`);
    const value = await completeFiles(result[o.id] ?? null, dirs.outdir, written);
    // `Any` takes null here, as in the reference runner, which does not check an ExpressionTool's
    // outputs (conformance: step_input_default_value_overriden_2nd_step_null).
    if (!checkType(value, o.type) && !(value === null && o.type === 'Any')) {
      const what = value === null ? 'is missing' : `has the wrong type (${JSON.stringify(value).slice(0, 200)})`;
      throw new WorkflowFailedError(`${inv.path}: output ${o.id} ${what}; expected ${JSON.stringify(o.type)}`);
    }
    outputs[o.id] = value;
  }
  return outputs;
}

/** Fill in the derived fields of every File/Directory in `v`; write file literals under `dir`. */
export async function completeFiles(v: CwlValue, dir: string, written: Set<string> = new Set()): Promise<CwlValue> {
  if (Array.isArray(v)) return mapLimited(v, (x) => completeFiles(x, dir, written));
  if (!isPlainObject(v)) return v;
  if (!isFile(v) && !isDirectory(v)) {
    const out: CwlObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = await completeFiles(x, dir, written);
    return out;
  }
  let f: CwlObject = { ...v };
  if ((isFile(f) || isDirectory(f)) && isLiteral(f) && (isDirectory(f) || typeof f.contents === 'string')) {
    // A literal is written to the task's directory, with its size and checksum like a tool's output.
    const name = uniqueName(typeof f.basename === 'string' && f.basename ? relativeName(f.basename, 'ExpressionTool literal') : 'literal', written);
    f = (await finishOutputValue(await writeEntry({ ...f, basename: name }, path.join(dir, name)), dir)) as CwlObject;
  }
  if (typeof f.path === 'string' && f.location === undefined && path.isAbsolute(f.path)) f.location = pathToFileURL(f.path).href;
  if (typeof f.location === 'string' && f.path === undefined && f.location.startsWith('file://')) f.path = fileURLToPath(f.location);
  const ref = typeof f.path === 'string' ? f.path : typeof f.location === 'string' ? f.location : undefined;
  if (f.basename === undefined && ref !== undefined) f.basename = path.posix.basename(ref.replace(/\/+$/, ''));
  if (typeof f.path === 'string' && f.dirname === undefined && isFile(f)) f.dirname = path.dirname(f.path);
  if (isFile(f) && typeof f.basename === 'string') {
    const ext = path.extname(f.basename);
    f.nameext = ext;
    f.nameroot = f.basename.slice(0, f.basename.length - ext.length);
  }
  for (const key of ['secondaryFiles', 'listing'] as const) {
    const sub = f[key];
    if (Array.isArray(sub)) f[key] = await completeFiles(sub, dir, written);
  }
  return f;
}

function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}_${i}`;
  taken.add(candidate);
  return candidate;
}
