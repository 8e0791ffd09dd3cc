import { errorMessage } from '../errors.js';
import { redactUrls } from '../storage/redact-url.js';

/** `strand: error: <message>` on stderr, and the stack with --debug (credentials in URLs shown as ***). */
export function reportError(err: unknown, debug: boolean): void {
  process.stderr.write(`strand: error: ${redactUrls(errorMessage(err))}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(redactUrls(err.stack) + '\n');
}
