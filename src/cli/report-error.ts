import { errorMessage } from '../errors.js';

/** `strand: error: <message>` on stderr, and the stack with --debug. */
export function reportError(err: unknown, debug: boolean): void {
  process.stderr.write(`strand: error: ${errorMessage(err)}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
}
