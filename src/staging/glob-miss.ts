/**
 * The error for an output whose glob matched nothing although the output is required: which
 * output, which patterns, the directory searched, and what is in it when that is short, so the
 * user can see the name the tool actually wrote.
 */
import { readdir } from 'node:fs/promises';
import { WorkflowFailedError } from '../errors.js';

/** Entries listed in the message; more are counted. */
const LIST_AT_MOST = 12;

export async function globMissError(outputId: string, type: string, patterns: string[], dir: string): Promise<WorkflowFailedError> {
  const names = await readdir(dir).catch(() => undefined);
  let holds: string;
  if (names === undefined) holds = ', which does not exist';
  else if (names.length === 0) holds = ', which is empty';
  else {
    names.sort();
    const shown = names.slice(0, LIST_AT_MOST).join(', ');
    holds = `, which holds: ${shown}${names.length > LIST_AT_MOST ? ` and ${names.length - LIST_AT_MOST} more` : ''}`;
  }
  const what = patterns.length === 1 ? `the glob ${JSON.stringify(patterns[0])}` : `the globs ${patterns.map((p) => JSON.stringify(p)).join(', ')}`;
  return new WorkflowFailedError(`output ${outputId} (${type}) is required, but ${what} matched nothing in ${dir}${holds}`);
}
