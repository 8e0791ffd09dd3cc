/**
 * Where the loader read a field of a model object (a parameter's `default`, a step input's
 * `valueFrom`, an InitialWorkDir `listing`), so that checks made while the run goes on can name
 * the document, line and field. Kept beside the model, not in it: the model stays plain data
 * (cache keys and records are built from it), and an object the loader did not make has none.
 */
import type { SourceLocation } from '../errors.js';

const places = new WeakMap<object, Map<string, SourceLocation>>();

/** Remember that `field` of `model` was written at `at`. */
export function noteWrittenAt(model: object, field: string, at: SourceLocation): void {
  let m = places.get(model);
  if (!m) places.set(model, (m = new Map()));
  m.set(field, at);
}

/** Where `field` of `model` was written, if the loader said. */
export function writtenAt(model: object, field: string): SourceLocation | undefined {
  return places.get(model)?.get(field);
}

const fromJob = new WeakSet<object>();

/** Mark a requirement as the job file's (`cwl:requirements`): what it names is the user's, not the document's. */
export function noteFromJob(model: object): void {
  fromJob.add(model);
}

export function isFromJob(model: object): boolean {
  return fromJob.has(model);
}
