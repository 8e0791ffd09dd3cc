/**
 * CWL v1.2 documents after loading: pure data, no I/O.
 *
 * The loader (src/loader) turns YAML/JSON documents into these types. Normalisation rules
 * that every consumer may rely on:
 *  - ids of parameters, steps, step inputs/outputs are SHORT names (`reads`, not `#main/reads`);
 *    `Process.id` is the full URI (`file:///abs/path/tool.cwl#main`) for messages and lookups.
 *  - type shorthands are expanded: `File?` -> ['null', 'File'], `string[]` -> {type:'array', items:'string'};
 *    named types from SchemaDefRequirement are resolved and inlined (a RecordSchema/EnumSchema keeps its `name`).
 *    Enum symbols and record field names are SHORT names.
 *  - map forms are expanded to arrays (inputs, outputs, requirements, hints, steps, in, fields).
 *  - `cwlVersion` is always 'v1.2' (older documents are upgraded in memory).
 *  - Workflow sources are normalised to `input` or `step/output` (short names relative to the workflow).
 *  - `location` values in defaults and File literals are absolute URIs (`file:///...`) resolved
 *    against the document that holds them.
 *  - `$include` is replaced by the file's text; `$import` by the loaded document.
 */

/** A CWL value. An integer beyond 2^53 (`long`, or a `double` written as an integer) is a `bigint`, exact
 * from the document or job to the output object (model/exact-json.ts); every other number is a `number`. */
export type CwlValue = null | boolean | number | bigint | string | CwlValue[] | CwlObject;
export interface CwlObject {
  [key: string]: CwlValue | undefined;
}

export interface FileValue extends CwlObject {
  class: 'File';
  location?: string;
  path?: string;
  basename?: string;
  dirname?: string;
  nameroot?: string;
  nameext?: string;
  checksum?: string;
  size?: number;
  secondaryFiles?: Array<FileValue | DirectoryValue>;
  format?: string;
  contents?: string;
}

export interface DirectoryValue extends CwlObject {
  class: 'Directory';
  location?: string;
  path?: string;
  basename?: string;
  listing?: Array<FileValue | DirectoryValue>;
}

export type PrimitiveTypeName =
  | 'null'
  | 'boolean'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'string'
  | 'File'
  | 'Directory'
  | 'Any';

export interface ArraySchema {
  type: 'array';
  items: CwlType;
  name?: string;
  inputBinding?: CommandLineBinding;
}

export interface RecordField {
  name: string; // short name
  type: CwlType;
  doc?: string;
  label?: string;
  inputBinding?: CommandLineBinding;
  outputBinding?: CommandOutputBinding;
  secondaryFiles?: SecondaryFileSchema[];
  format?: string | string[];
  streamable?: boolean;
  loadContents?: boolean;
  loadListing?: LoadListing;
}

export interface RecordSchema {
  type: 'record';
  name?: string;
  fields: RecordField[];
  inputBinding?: CommandLineBinding;
}

export interface EnumSchema {
  type: 'enum';
  name?: string;
  symbols: string[]; // short names
  inputBinding?: CommandLineBinding;
}

/** A union is an array of alternatives. */
export type CwlType = PrimitiveTypeName | ArraySchema | RecordSchema | EnumSchema | CwlType[];

export type LoadListing = 'no_listing' | 'shallow_listing' | 'deep_listing';

export interface SecondaryFileSchema {
  /** A pattern (`.bai`, `^.fai`) or an expression `$(...)` / `${...}`. */
  pattern: string;
  /** true, false, or an expression string. Defaults: true for inputs, false for outputs. */
  required?: boolean | string;
}

export interface CommandLineBinding {
  position?: number | string; // a number or an expression
  prefix?: string;
  separate?: boolean; // default true
  itemSeparator?: string;
  valueFrom?: string;
  shellQuote?: boolean; // default true
  loadContents?: boolean;
}

export interface CommandOutputBinding {
  glob?: string | string[];
  loadContents?: boolean;
  loadListing?: LoadListing;
  outputEval?: string;
}

/** A requirement or hint. `class` is the short class name (`DockerRequirement`), or the full
 * URI for extensions outside the CWL namespace (e.g. `http://commonwl.org/cwltool#CUDARequirement`). */
export interface Requirement {
  class: string;
  [key: string]: unknown;
}

export interface InputParameter {
  id: string;
  type: CwlType;
  label?: string;
  doc?: string;
  default?: CwlValue;
  format?: string | string[];
  secondaryFiles?: SecondaryFileSchema[];
  streamable?: boolean;
  loadContents?: boolean;
  loadListing?: LoadListing;
  inputBinding?: CommandLineBinding;
}

export interface OutputParameter {
  id: string;
  type: CwlType;
  label?: string;
  doc?: string;
  format?: string;
  secondaryFiles?: SecondaryFileSchema[];
  streamable?: boolean;
  /** CommandLineTool outputs. */
  outputBinding?: CommandOutputBinding;
  /** Workflow outputs: sources normalised to `input` or `step/output`. */
  outputSource?: string[];
  linkMerge?: LinkMerge;
  pickValue?: PickValue;
}

export type LinkMerge = 'merge_nested' | 'merge_flattened';
export type PickValue = 'first_non_null' | 'the_only_non_null' | 'all_non_null';
export type ScatterMethod = 'dotproduct' | 'nested_crossproduct' | 'flat_crossproduct';

interface ProcessBase {
  /** Full id URI, e.g. `file:///data/wf.cwl#main` or `file:///data/tool.cwl`. */
  id: string;
  cwlVersion: 'v1.2';
  label?: string;
  doc?: string;
  inputs: InputParameter[];
  outputs: OutputParameter[];
  requirements: Requirement[];
  hints: Requirement[];
  /** Absolute path of the file this process was defined in (for messages and relative paths). */
  sourceFile: string;
  /** `$namespaces` in force for this document (prefix -> URI). */
  namespaces: Record<string, string>;
  /** Named schemas from SchemaDefRequirement, by full name and short name. */
  schemaDefs: Record<string, RecordSchema | EnumSchema | ArraySchema>;
  /** `$schemas` of the document: absolute URIs of the ontologies that `format` values refer to. */
  schemas?: string[];
  intent?: string[];
}

export interface CommandLineTool extends ProcessBase {
  class: 'CommandLineTool';
  baseCommand: string[];
  arguments: Array<string | CommandLineBinding>;
  stdin?: string;
  stdout?: string;
  stderr?: string;
  successCodes: number[];
  temporaryFailCodes: number[];
  permanentFailCodes: number[];
}

export interface ExpressionTool extends ProcessBase {
  class: 'ExpressionTool';
  expression: string;
}

export interface Operation extends ProcessBase {
  class: 'Operation';
}

export interface WorkflowStepInput {
  id: string; // short name
  source: string[]; // normalised `input` or `step/output`
  linkMerge?: LinkMerge;
  pickValue?: PickValue;
  default?: CwlValue;
  valueFrom?: string;
  loadContents?: boolean;
  loadListing?: LoadListing;
}

export interface WorkflowStep {
  id: string; // short name
  label?: string;
  doc?: string;
  in: WorkflowStepInput[];
  out: string[]; // short output names
  run: Process;
  requirements: Requirement[];
  hints: Requirement[];
  scatter: string[]; // short names of step inputs
  scatterMethod?: ScatterMethod;
  when?: string;
}

export interface Workflow extends ProcessBase {
  class: 'Workflow';
  steps: WorkflowStep[];
}

export type Process = CommandLineTool | ExpressionTool | Workflow | Operation;

export function isFile(v: unknown): v is FileValue {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as CwlObject).class === 'File';
}

export function isDirectory(v: unknown): v is DirectoryValue {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as CwlObject).class === 'Directory';
}
