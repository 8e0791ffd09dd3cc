/**
 * What DockerRequirement asks of a task: the image to run and where the image expects its output
 * directory. Strand runs images that exist (locally or in a registry the runtime can pull from);
 * it does not build or load them.
 */
import path from 'node:path';
import { UnsupportedRequirementError, ValidationError } from '../../errors.js';
import { findRequirement, type EffectiveRequirements } from '../../model/requirements.js';

export interface ContainerChoice {
  /** dockerPull, else dockerImageId. */
  image: string;
  /** dockerOutputDirectory: where the image sees the task's output directory (absolute). */
  outputDirectory?: string;
  /** Under `requirements`, not only a hint (absolute InitialWorkDir entrynames need this). */
  required: boolean;
}

const UNSUPPORTED_SOURCES = ['dockerFile', 'dockerLoad', 'dockerImport'] as const;

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The container for a task, or undefined to run it on the host (containers off, no
 * DockerRequirement, or a hint Strand cannot follow: `warn` says so). A requirement that names no
 * image Strand can run is an UnsupportedRequirementError (exit 33).
 */
export function containerChoice(
  eff: EffectiveRequirements,
  noContainer: boolean,
  where: string,
  warn: (message: string) => void = () => undefined,
): ContainerChoice | undefined {
  if (noContainer) return undefined;
  const found = findRequirement(eff, 'DockerRequirement');
  if (!found) return undefined;
  const docker = found.value as Record<string, unknown>;
  const image = text(docker.dockerPull) ?? text(docker.dockerImageId);
  if (!image) {
    const fields = UNSUPPORTED_SOURCES.filter((f) => docker[f] !== undefined);
    const what = fields.length ? `only ${fields.join(' and ')}` : 'no dockerPull or dockerImageId';
    const message =
      `${where}: DockerRequirement has ${what}; Strand runs existing images only: ` +
      'build or load the image with your container runtime and name it in dockerPull or dockerImageId';
    if (found.required) throw new UnsupportedRequirementError('DockerRequirement', `${message}, or run with --no-container`);
    warn(`${message}; running on the host instead`);
    return undefined;
  }
  const out = docker.dockerOutputDirectory;
  const required = found.required;
  if (out === undefined) return { image, required };
  if (typeof out !== 'string' || !path.posix.isAbsolute(out)) {
    throw new ValidationError(`${where}: DockerRequirement.dockerOutputDirectory must be an absolute path, got ${JSON.stringify(out)}`);
  }
  return { image, outputDirectory: path.posix.resolve(out), required };
}
