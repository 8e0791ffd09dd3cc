/**
 * The task's environment (CWL v1.2 "Runtime environment"): HOME=outdir and TMPDIR=tmpdir, then
 * EnvVarRequirement's envDef (values may be expressions). Nothing else from the workstation: a
 * task in a container (DockerRequirement, or any task on a cluster) keeps its image's own PATH; a
 * task on the host gets the host's PATH (as cwltool does), its only way to find the tools.
 */
import { ValidationError } from '../../errors.js';
import { findRequirement, type EffectiveRequirements } from '../../model/requirements.js';
import { evalField, type FieldContext } from './eval-field.js';
import { valueToString } from './value-format.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface EnvironmentOptions {
  outdir: string;
  tmpdir: string;
  /** The host PATH, for a task that runs on the host; absent for a task in a container (its image's PATH applies). */
  hostPath?: string;
}

/** envDef in its array form ({envName, envValue}) or map form ({NAME: value}). */
function envDefs(req: Record<string, unknown>): Array<{ name: string; value: unknown }> {
  const defs = req.envDef;
  if (Array.isArray(defs)) {
    return defs.map((d: unknown, i) => {
      const o = d as Record<string, unknown> | null;
      if (!o || typeof o.envName !== 'string') throw new ValidationError(`EnvVarRequirement.envDef[${i}] has no envName`);
      return { name: o.envName, value: o.envValue };
    });
  }
  if (defs && typeof defs === 'object') {
    return Object.entries(defs as Record<string, unknown>).map(([name, v]) => {
      const value = v && typeof v === 'object' && 'envValue' in v ? (v as Record<string, unknown>).envValue : v;
      return { name, value };
    });
  }
  return [];
}

/** The PATH a task on the host gets: this process's, or a minimal one when it has none. */
export const hostTaskPath = (): string => process.env.PATH ?? DEFAULT_PATH;

export function buildEnvironment(eff: EffectiveRequirements, fc: FieldContext, o: EnvironmentOptions): Record<string, string> {
  const env: Record<string, string> = {
    ...(o.hostPath !== undefined ? { PATH: o.hostPath } : {}),
    HOME: o.outdir,
    TMPDIR: o.tmpdir,
  };
  const req = findRequirement(eff, 'EnvVarRequirement');
  if (req) {
    for (const { name, value } of envDefs(req.value)) {
      const v = evalField(value, fc);
      env[name] = v === null || v === undefined ? '' : valueToString(v);
    }
  }
  return env;
}
