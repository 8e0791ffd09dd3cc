/**
 * ResourceRequirement (and cwltool's CUDARequirement) -> the `runtime` fields and TaskResources.
 * Defaults per CWL v1.2: cores 1, ram 256 MiB, tmpdir and outdir 1024 MiB. A missing Min takes the
 * Max and vice versa. runtime.cores/ram/tmpdirSize/outdirSize are the Min values rounded up.
 */
import { ValidationError } from '../../errors.js';
import type { TaskResources } from '../../executor/executor.js';
import { findRequirement, type EffectiveRequirements } from '../../model/requirements.js';
import { evalNumber, type FieldContext } from './eval-field.js';
import { CUDA_REQUIREMENT } from './supported-requirements.js';

export interface ResourceValues {
  /** Values for the `runtime` object. */
  runtime: { cores: number; ram: number; tmpdirSize: number; outdirSize: number; cudaDeviceCount?: number };
  resources: TaskResources;
}

const DEFAULTS = { cores: 1, ram: 256, tmpdir: 1024, outdir: 1024 } as const;
type Kind = keyof typeof DEFAULTS;

function range(req: Record<string, unknown> | undefined, kind: Kind, fc: FieldContext): { min: number; max: number; maxGiven: boolean } {
  const min = req ? evalNumber(req[`${kind}Min`], fc, `ResourceRequirement.${kind}Min`) : undefined;
  const max = req ? evalNumber(req[`${kind}Max`], fc, `ResourceRequirement.${kind}Max`) : undefined;
  const lo = min ?? max ?? DEFAULTS[kind];
  const hi = max ?? min ?? DEFAULTS[kind];
  if (lo < 0) throw new ValidationError(`ResourceRequirement.${kind}Min must not be negative (${lo})`);
  if (hi < lo) throw new ValidationError(`ResourceRequirement.${kind}Max (${hi}) is less than ${kind}Min (${lo})`);
  return { min: lo, max: hi, maxGiven: max !== undefined };
}

export function computeResources(eff: EffectiveRequirements, fc: FieldContext): ResourceValues {
  const rr = findRequirement(eff, 'ResourceRequirement')?.value;
  const cores = range(rr, 'cores', fc);
  const ram = range(rr, 'ram', fc);
  const tmpdir = range(rr, 'tmpdir', fc);
  const outdir = range(rr, 'outdir', fc);
  const out: ResourceValues = {
    runtime: {
      cores: Math.ceil(cores.min),
      ram: Math.ceil(ram.min),
      tmpdirSize: Math.ceil(tmpdir.min),
      outdirSize: Math.ceil(outdir.min),
    },
    resources: {
      cores: cores.min,
      ramMiB: Math.ceil(ram.min),
      tmpdirMiB: Math.ceil(tmpdir.min),
      outdirMiB: Math.ceil(outdir.min),
    },
  };
  if (cores.maxGiven) out.resources.coresMax = cores.max;
  if (ram.maxGiven) out.resources.ramMaxMiB = Math.ceil(ram.max);
  const cuda = findRequirement(eff, CUDA_REQUIREMENT) ?? findRequirement(eff, 'cwltool:CUDARequirement');
  if (cuda) {
    const n = evalNumber(cuda.value.cudaDeviceCountMin, fc, 'CUDARequirement.cudaDeviceCountMin') ?? 1;
    out.resources.gpus = Math.ceil(n);
    out.runtime.cudaDeviceCount = Math.ceil(n);
  }
  return out;
}
