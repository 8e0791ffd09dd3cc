/**
 * `--server [URL]`: the commands that talk to a lab server take it with or without a value
 * (without: the default server). Its value is optional, so in `strand show --server RUN` a parser
 * would take RUN for the server. Before parsing, a word after `--server` that is neither a URL nor
 * the name of a server logged in to is given back to the command as an argument (`--server=`, an
 * empty value, stands for the default server).
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

/** The commands that take `--server [URL]`. */
export const SERVER_COMMANDS: ReadonlySet<string> = new Set(['submit', 'list', 'show', 'cancel', 'logs']);

/**
 * `argv` (without node and script) with `--server WORD` written `--server= WORD` when WORD is not a
 * server (`isServer`), for the commands of SERVER_COMMANDS; anything else unchanged.
 */
export function separateServerFlag(argv: readonly string[], isServer: (word: string) => boolean): string[] {
  const command = argv.findIndex((a) => !a.startsWith('-'));
  if (command === -1 || !SERVER_COMMANDS.has(argv[command]!)) return [...argv];
  const out = [...argv];
  for (let i = command + 1; i < out.length; i++) {
    if (out[i] === '--') break;
    if (out[i] !== '--server') continue;
    const next = out[i + 1];
    if (next !== undefined && !next.startsWith('-') && !isServer(next)) out[i] = '--server=';
    break;
  }
  return out;
}

/** What `--server` was given as: undefined (not given), or the server it names (undefined inside: the default). */
export function serverChoice(value: string | boolean | undefined): { server?: string } | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true || value === '') return {};
  return { server: value };
}

/** Whether `word` could be a server: a URL, or one of the names logged in to. */
export function isServerWord(word: string, names: readonly string[]): boolean {
  return /^https?:\/\//i.test(word) || names.includes(word);
}

/** What the commands acting on a lab server print through (remote-commands.ts). */
export function stdio(): { out: (t: string) => void; err: (t: string) => void } {
  return { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
}

/** A UsageError for options of `cmd` (attribute names) given on the command line that mean nothing with --server. */
export function refuseWithServer(cmd: Command, options: readonly string[]): void {
  const given = options.filter((o) => cmd.getOptionValueSource(o) === 'cli');
  if (given.length) {
    const flags = given.map((o) => cmd.options.find((x) => x.attributeName() === o)?.long ?? o);
    throw new UsageError(`${flags.join(', ')} ${given.length > 1 ? 'do' : 'does'} not apply with --server: the lab server decides`);
  }
}
