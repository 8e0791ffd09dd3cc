/**
 * Which requirement classes Strand implements. An unknown class under `requirements` stops the run
 * (UnsupportedRequirementError, exit 33 like cwltool); unknown hints are ignored.
 */
import { UnsupportedRequirementError } from '../../errors.js';
import type { EffectiveRequirements } from '../../model/requirements.js';
import { SECRETS_CLASS } from '../../model/secrets.js';
import { TASK_RETRY_HINT } from './task-retry.js';

export const CUDA_REQUIREMENT = 'http://commonwl.org/cwltool#CUDARequirement';

/** CWL v1.2 standard requirement classes, plus the extensions Strand understands. */
export const SUPPORTED_REQUIREMENTS: ReadonlySet<string> = new Set([
  'InlineJavascriptRequirement',
  'SchemaDefRequirement',
  'DockerRequirement',
  'SoftwareRequirement', // accepted, ignored: Strand does not install software
  'InitialWorkDirRequirement',
  'EnvVarRequirement',
  'ShellCommandRequirement',
  'ResourceRequirement',
  'LoadListingRequirement',
  'WorkReuse',
  'NetworkAccess',
  'InplaceUpdateRequirement',
  'ToolTimeLimit',
  'SubworkflowFeatureRequirement',
  'ScatterFeatureRequirement',
  'MultipleInputFeatureRequirement',
  'StepInputExpressionRequirement',
  CUDA_REQUIREMENT,
  SECRETS_CLASS, // cwltool:Secrets: the named inputs' values are masked in everything Strand shows or keeps
  TASK_RETRY_HINT, // strand:TaskRetry: how many times a failed task runs again (engine/tool/task-retry.ts)
]);

const CWL_NS = 'https://w3id.org/cwl/cwl#';

/** Short class name: `https://w3id.org/cwl/cwl#DockerRequirement` -> `DockerRequirement`; extensions keep their URI. */
export function requirementClass(cls: string): string {
  if (cls.startsWith(CWL_NS)) return cls.slice(CWL_NS.length);
  // The cwltool namespace is sometimes written with a prefix the loader could not expand.
  if (cls === 'cwltool:CUDARequirement') return CUDA_REQUIREMENT;
  if (cls === 'cwltool:Secrets') return SECRETS_CLASS;
  if (cls === 'strand:TaskRetry') return TASK_RETRY_HINT;
  return cls;
}

export function isSupportedRequirement(cls: string): boolean {
  return SUPPORTED_REQUIREMENTS.has(requirementClass(cls));
}

/** Throw UnsupportedRequirementError for the first requirement (not hint) Strand does not implement. */
export function assertSupported(eff: EffectiveRequirements, where?: string): void {
  for (const r of eff.requirements) {
    if (!isSupportedRequirement(r.class)) {
      const at = where ? ` (in ${where})` : '';
      throw new UnsupportedRequirementError(r.class, `unsupported requirement: ${r.class}${at}`);
    }
  }
}
