import { describe, expect, it } from 'vitest';
import { UnsupportedRequirementError, ValidationError } from '../../errors.js';
import type { EffectiveRequirements } from '../../model/requirements.js';
import type { Requirement } from '../../model/types.js';
import { containerChoice } from './docker-requirement.js';

const docker = (fields: Record<string, unknown>): Requirement => ({ class: 'DockerRequirement', ...fields }) as Requirement;
const req = (fields: Record<string, unknown>): EffectiveRequirements => ({ requirements: [docker(fields)], hints: [] });
const hint = (fields: Record<string, unknown>): EffectiveRequirements => ({ requirements: [], hints: [docker(fields)] });

describe('containerChoice', () => {
  it('takes dockerPull, else dockerImageId, and nothing when containers are off or not asked for', () => {
    expect(containerChoice(req({ dockerPull: 'debian:stable-slim', dockerImageId: 'x' }), false, 't')).toEqual({ image: 'debian:stable-slim', required: true });
    expect(containerChoice(hint({ dockerImageId: 'localhost/bio:bookworm' }), false, 't')).toEqual({ image: 'localhost/bio:bookworm', required: false });
    expect(containerChoice(req({ dockerPull: 'debian:stable-slim' }), true, 't')).toBeUndefined();
    expect(containerChoice({ requirements: [], hints: [] }, false, 't')).toBeUndefined();
  });

  it('keeps dockerOutputDirectory, which must be absolute', () => {
    expect(containerChoice(req({ dockerPull: 'd', dockerOutputDirectory: '/other/' }), false, 't')).toEqual({ image: 'd', outputDirectory: '/other', required: true });
    expect(() => containerChoice(req({ dockerPull: 'd', dockerOutputDirectory: 'rel' }), false, 'main/step')).toThrow(ValidationError);
    expect(() => containerChoice(req({ dockerPull: 'd', dockerOutputDirectory: 'rel' }), false, 'main/step')).toThrow(
      'main/step: DockerRequirement.dockerOutputDirectory must be an absolute path, got "rel"',
    );
  });

  it('stops with exit 33 when a requirement names only an image to build or load', () => {
    const run = () => containerChoice(req({ dockerFile: 'FROM debian', dockerLoad: 'img.tar' }), false, 'main/build');
    expect(run).toThrow(UnsupportedRequirementError);
    expect(run).toThrow(/^main\/build: DockerRequirement has only dockerFile and dockerLoad; Strand runs existing images only: .*--no-container$/);
  });

  it('runs on the host, with a warning, when such a DockerRequirement is only a hint', () => {
    const warnings: string[] = [];
    expect(containerChoice(hint({ dockerImport: 'x.tar' }), false, 'tool', (m) => warnings.push(m))).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^tool: DockerRequirement has only dockerImport; .*running on the host instead$/)]);
  });
});
