/**
 * cwltool:Secrets at run time (model/secrets.ts holds the mask): which values of an invocation are
 * secret, and the edges that must never show them: the event sink (run store, progress display),
 * the logger, an output stream (`--dry-run`), error messages, and the task cache key's material.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { ValidationError } from '../errors.js';
import { inputsFeedingSecrets, secretInputNames, secretsProblems, shortInputName, type SecretMask } from '../model/secrets.js';
import type { CwlObject, CwlValue, Process } from '../model/types.js';
import type { Logger } from './context.js';
import type { RunEvent, RunEventSink } from './events.js';

/**
 * Remember in `mask` the values of the inputs `process`'s own Secrets hint or requirement names
 * (with their defaults), and of a workflow's inputs that feed a step's secret input. A Secrets
 * entry naming an unknown or non-string input is an error. A hint inherited from an enclosing
 * workflow names that workflow's inputs, registered when it ran.
 */
export function registerSecrets(process: Process, inputs: CwlObject, mask: SecretMask): void {
  const own = [...process.requirements, ...process.hints];
  const problems = secretsProblems(own, process.inputs);
  if (problems.length) throw new ValidationError(`${process.id}: ${problems.join('; ')}`);
  const names = secretInputNames({ requirements: process.requirements, hints: process.hints });
  const feeding = inputsFeedingSecrets(process).filter((n) => !names.includes(n));
  if (names.length === 0 && feeding.length === 0) return;
  const value = (name: string): CwlValue | undefined => {
    const input = process.inputs.find((i) => shortInputName(i.id) === name);
    return inputs[name] ?? input?.default;
  };
  const values: CwlObject = {};
  for (const name of names) {
    const v = value(name);
    if (v !== undefined) values[name] = v;
  }
  const problem = mask.addInputs(names, values);
  if (problem) throw new ValidationError(`${process.id}: ${problem}`);
  // What feeds a secret through a step is masked when it is a string (a step's valueFrom may make a secret of anything).
  for (const name of feeding) {
    const v = value(name);
    if (typeof v === 'string') mask.add(name, v);
  }
}

/** A sink that passes each event on with secret values masked. */
export function maskingSink(mask: SecretMask, sink: RunEventSink): RunEventSink {
  return (e: RunEvent) => sink(mask.mask(e));
}

/** A logger whose every line has secret values masked. */
export function maskingLogger(mask: SecretMask, log: Logger): Logger {
  return {
    info: (m) => log.info(mask.maskText(m)),
    warn: (m) => log.warn(mask.maskText(m)),
    debug: (m) => log.debug(mask.maskText(m)),
  };
}

/**
 * A stream that writes to `out` with secret values masked. Each write is masked on its own: the
 * writers (the dry-run executors) write whole descriptions at once. It holds nothing back: what is
 * written goes to `out` at once, so nothing is lost when the process exits.
 */
export function maskingStream(mask: SecretMask, out: NodeJS.WritableStream): NodeJS.WritableStream {
  return new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _enc, done) {
      out.write(mask.maskText(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
      done();
    },
  });
}

/** An error whose message (and whose causes' messages) show no secret value. Changed in place: the same object, so its class and fields stay. */
export function maskError<E>(mask: SecretMask, err: E): E {
  if (mask.size === 0) return err;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    e.message = mask.maskText(e.message);
    if (e.stack) e.stack = mask.maskText(e.stack);
  }
  return err;
}

/**
 * What the task cache key holds instead of a secret: its sha256, so that a different secret makes
 * a different key without the value being kept in the entry's manifest.
 */
export const secretKeyMaterial = (_name: string, value: string): string =>
  `(secret-sha256:${createHash('sha256').update(`strand-secret\0${value}`).digest('hex')})`;
