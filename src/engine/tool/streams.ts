/**
 * stdin / stdout / stderr of a CommandLineTool: evaluate the (possibly expression) names, and turn
 * outputs of type `stdout` / `stderr` into File outputs globbing the captured file (giving the
 * stream a random name when the tool names none).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ValidationError } from '../../errors.js';
import { isFile, type CommandLineTool, type OutputParameter } from '../../model/types.js';
import { evalField, type FieldContext } from './eval-field.js';

export interface ToolStreams {
  /** Absolute path of the file connected to stdin. */
  stdin?: string;
  /** File names relative to the output directory. */
  stdout?: string;
  stderr?: string;
  /** The tool with `stdout`/`stderr` set to the evaluated names and stream outputs as File globs. */
  tool: CommandLineTool;
}

function randomName(stream: 'stdout' | 'stderr'): string {
  return `${randomBytes(8).toString('hex')}.${stream}`;
}

function streamName(text: string | undefined, fc: FieldContext, field: 'stdout' | 'stderr'): string | undefined {
  if (text === undefined) return undefined;
  const v = evalField(text, fc);
  if (v === null || v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new ValidationError(`${field} must evaluate to a file name, got ${JSON.stringify(v)}`);
  const norm = path.posix.normalize(v);
  if (path.isAbsolute(norm) || norm === '..' || norm.startsWith('../')) {
    throw new ValidationError(`${field} must be a path inside the output directory, got ${JSON.stringify(v)}`);
  }
  return norm;
}

function streamOf(o: OutputParameter): 'stdout' | 'stderr' | undefined {
  const t = o.type as unknown;
  return t === 'stdout' || t === 'stderr' ? t : undefined;
}

export function resolveStreams(tool: CommandLineTool, fc: FieldContext, makeName = randomName): ToolStreams {
  let stdout = streamName(tool.stdout, fc, 'stdout');
  let stderr = streamName(tool.stderr, fc, 'stderr');
  if (!stdout && tool.outputs.some((o) => streamOf(o) === 'stdout')) stdout = makeName('stdout');
  if (!stderr && tool.outputs.some((o) => streamOf(o) === 'stderr')) stderr = makeName('stderr');

  let stdin: string | undefined;
  if (tool.stdin !== undefined) {
    const v = evalField(tool.stdin, fc);
    if (isFile(v) && typeof v.path === 'string') stdin = v.path;
    else if (typeof v === 'string' && v !== '') stdin = v;
    else if (v !== null && v !== '') throw new ValidationError(`stdin must evaluate to a file path, got ${JSON.stringify(v)}`);
  }

  const outputs = tool.outputs.map((o): OutputParameter => {
    const s = streamOf(o);
    if (!s) return o;
    const glob = s === 'stdout' ? stdout : stderr;
    return { ...o, type: 'File', outputBinding: { glob: escapeExpr(glob ?? '') } };
  });
  const resolved: CommandLineTool = { ...tool, outputs };
  // Literal names from here on: collectOutputs must not evaluate them again.
  if (stdout !== undefined) resolved.stdout = escapeExpr(stdout);
  else delete resolved.stdout;
  if (stderr !== undefined) resolved.stderr = escapeExpr(stderr);
  else delete resolved.stderr;
  const out: ToolStreams = { tool: resolved };
  if (stdin !== undefined) out.stdin = stdin;
  if (stdout !== undefined) out.stdout = stdout;
  if (stderr !== undefined) out.stderr = stderr;
  return out;
}

function escapeExpr(s: string): string {
  return s.replace(/\$([({])/g, '\\$$$1');
}
