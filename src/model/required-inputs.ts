/** Which required inputs an input object leaves out: the CLI and the lab server both refuse such a run before it starts. */
import type { CwlObject, CwlType, InputParameter, Process } from './types.js';

/** Inputs of `process` that `inputs` leaves without a value although they are required (no default, null not allowed). */
export function missingRequiredInputs(process: Process, inputs: CwlObject): InputParameter[] {
  const acceptsNull = (t: CwlType): boolean => t === 'null' || (Array.isArray(t) && t.some(acceptsNull));
  return process.inputs.filter((p) => (inputs[p.id] === undefined || inputs[p.id] === null) && p.default === undefined && !acceptsNull(p.type));
}
