/**
 * Which fields each CWL object may have, per version (v1.0, v1.1, v1.2), as in the CWL schemas
 * that cwltool validates against. Fields whose name has a namespace prefix (`s:author`,
 * `http://...#x`) or starts with `$`/`@` are extensions and always allowed.
 */

export type CwlVersion = 'v1.0' | 'v1.1' | 'v1.2';

export function versionOf(v: string): CwlVersion {
  if (v.startsWith('v1.0')) return 'v1.0';
  if (v.startsWith('v1.1')) return 'v1.1';
  return 'v1.2';
}

export function atLeast(v: CwlVersion, min: CwlVersion): boolean {
  return v >= min;
}

/** A field list: plain names exist in every version; `name@v1.1` from that version on. */
type Fields = readonly string[];

function fieldsFor(list: Fields, v: CwlVersion): Set<string> {
  const out = new Set<string>();
  for (const f of list) {
    const [name, since] = f.split('@') as [string, CwlVersion | undefined];
    if (!since || atLeast(v, since)) out.add(name);
  }
  return out;
}

const PROCESS: Fields = ['id', 'label', 'doc', 'inputs', 'outputs', 'requirements', 'hints', 'cwlVersion', 'class', 'intent@v1.2'];

const SCHEMAS = {
  CommandLineTool: [...PROCESS, 'baseCommand', 'arguments', 'stdin', 'stdout', 'stderr', 'successCodes', 'temporaryFailCodes', 'permanentFailCodes'],
  ExpressionTool: [...PROCESS, 'expression'],
  Workflow: [...PROCESS, 'steps'],
  Operation: [...PROCESS],
  // Parameters.
  CommandInputParameter: ['id', 'label', 'doc', 'secondaryFiles', 'streamable', 'format', 'loadContents@v1.1', 'loadListing@v1.1', 'default', 'type', 'inputBinding'],
  WorkflowInputParameter: ['id', 'label', 'doc', 'secondaryFiles', 'streamable', 'format', 'loadContents@v1.1', 'loadListing@v1.1', 'default', 'type', 'inputBinding'],
  CommandOutputParameter: ['id', 'label', 'doc', 'secondaryFiles', 'streamable', 'format', 'type', 'outputBinding'],
  ExpressionToolOutputParameter: ['id', 'label', 'doc', 'secondaryFiles', 'streamable', 'format', 'type', 'outputBinding'],
  WorkflowOutputParameter: ['id', 'label', 'doc', 'secondaryFiles', 'streamable', 'format', 'outputSource', 'linkMerge', 'pickValue@v1.2', 'type', 'outputBinding'],
  OperationParameter: ['id', 'label', 'doc', 'secondaryFiles', 'streamable', 'format', 'default', 'type', 'loadContents', 'loadListing'],
  // Steps.
  WorkflowStep: ['id', 'label', 'doc', 'in', 'out', 'requirements', 'hints', 'run', 'scatter', 'scatterMethod', 'when@v1.2'],
  WorkflowStepInput: ['id', 'source', 'linkMerge', 'pickValue@v1.2', 'loadContents@v1.1', 'loadListing@v1.1', 'label@v1.1', 'default', 'valueFrom'],
  WorkflowStepOutput: ['id'],
  // Bindings.
  CommandLineBinding: ['loadContents', 'position', 'prefix', 'separate', 'itemSeparator', 'valueFrom', 'shellQuote'],
  CommandOutputBinding: ['glob', 'loadContents', 'loadListing@v1.1', 'outputEval'],
  SecondaryFileSchema: ['pattern', 'required'],
  // Types.
  RecordSchema: ['type', 'fields', 'label', 'doc@v1.1', 'name', 'inputBinding'],
  RecordField: ['name', 'type', 'doc', 'label', 'secondaryFiles@v1.1', 'streamable@v1.1', 'format@v1.1', 'loadContents@v1.1', 'loadListing@v1.1', 'inputBinding', 'outputBinding'],
  EnumSchema: ['type', 'symbols', 'label', 'doc@v1.1', 'name', 'inputBinding'],
  ArraySchema: ['type', 'items', 'label', 'doc@v1.1', 'name', 'inputBinding'],
} as const satisfies Record<string, Fields>;

export type SchemaName = keyof typeof SCHEMAS;

export function allowedFields(schema: SchemaName, v: CwlVersion): Set<string> {
  return fieldsFor(SCHEMAS[schema], v);
}

/** Requirement classes and their fields; `@v1.1` marks classes that appeared in v1.1. */
const REQUIREMENTS: Record<string, { since?: CwlVersion; fields: Fields }> = {
  InlineJavascriptRequirement: { fields: ['expressionLib'] },
  SchemaDefRequirement: { fields: ['types'] },
  LoadListingRequirement: { since: 'v1.1', fields: ['loadListing'] },
  DockerRequirement: { fields: ['dockerPull', 'dockerLoad', 'dockerFile', 'dockerImport', 'dockerImageId', 'dockerOutputDirectory'] },
  SoftwareRequirement: { fields: ['packages'] },
  InitialWorkDirRequirement: { fields: ['listing'] },
  EnvVarRequirement: { fields: ['envDef'] },
  ShellCommandRequirement: { fields: [] },
  ResourceRequirement: { fields: ['coresMin', 'coresMax', 'ramMin', 'ramMax', 'tmpdirMin', 'tmpdirMax', 'outdirMin', 'outdirMax'] },
  WorkReuse: { since: 'v1.1', fields: ['enableReuse'] },
  NetworkAccess: { since: 'v1.1', fields: ['networkAccess'] },
  InplaceUpdateRequirement: { since: 'v1.1', fields: ['inplaceUpdate'] },
  ToolTimeLimit: { since: 'v1.1', fields: ['timelimit'] },
  SubworkflowFeatureRequirement: { fields: [] },
  ScatterFeatureRequirement: { fields: [] },
  MultipleInputFeatureRequirement: { fields: [] },
  StepInputExpressionRequirement: { fields: [] },
};

/** The fields of a CWL requirement class in this version, or undefined when it is not one. */
export function requirementFields(cls: string, v: CwlVersion): Set<string> | undefined {
  const r = REQUIREMENTS[cls];
  if (!r || (r.since && !atLeast(v, r.since))) return undefined;
  return new Set(['class', ...r.fields]);
}

export function requirementClasses(v: CwlVersion): string[] {
  return Object.entries(REQUIREMENTS)
    .filter(([, r]) => !r.since || atLeast(v, r.since))
    .map(([k]) => k);
}

/** The version a requirement class appeared in, when it is a CWL class at all. */
export function requirementSince(cls: string): CwlVersion | undefined {
  const r = REQUIREMENTS[cls];
  return r ? (r.since ?? 'v1.0') : undefined;
}

/** Extension fields: namespaced (`prefix:name`, full URIs) or `$`/`@` directives. */
export function isExtensionField(key: string): boolean {
  return key.startsWith('$') || key.startsWith('@') || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(key);
}
