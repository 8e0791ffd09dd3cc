/**
 * `strand login` and `strand logout`: sign in to a lab server (`strand server`) for the commands
 * that take `--server`. The token is checked against the server (GET service-info with it) before
 * it is stored in the user's private credentials file (server-client/credentials.ts).
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { EXIT } from './exit-codes.js';

/** The server did not take the token (or could not be asked): nothing was stored. */
export class LoginRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoginRefused';
  }
}

interface LoginFlags {
  server: string;
  tokenFile?: string;
  tokenStdin?: boolean;
  name?: string;
  allowHttp?: boolean;
}

export interface LoginIo {
  err: (text: string) => void;
  credentialsFile?: string;
  fetch?: typeof fetch;
  /** The token when neither a file nor stdin gives it (default: asked on the terminal). */
  askToken?: (question: string) => Promise<string>;
  stdin?: NodeJS.ReadableStream;
}

export function addLoginCommands(program: Command, finish: (code: number) => void): void {
  program
    .command('login')
    .summary('sign in to a lab server (strand server) for the commands that take --server')
    .description(
      [
        'Check a bearer token against a lab server (strand server) and store it, with the',
        "server's URL, in your credentials file: $XDG_CONFIG_HOME/strand/servers.yaml",
        '(default ~/.config/strand/servers.yaml), mode 0600 in a 0700 directory. Strand',
        'refuses to use that file if others can read it or if it is a link, as ssh does.',
        '',
        'The token is read from a file (--token-file), from standard input',
        '(--token-stdin), or asked for on the terminal without echo. There is no',
        '--token option: the arguments of a command are visible to every user of the',
        'machine (ps). The token is never printed.',
        '',
        'The first server you log in to is the default for --server without a URL;',
        '--server NAME or --server URL picks another. Logging in again to the same URL',
        'replaces its token.',
        '',
        'Which token: what the server signs in with. With --auth kubernetes, a',
        'Kubernetes token of yours (e.g. kubectl create token NAME, or your',
        "kubeconfig's token); with --auth token, the token strand server printed when",
        'it started. GET /auth on the server says more.',
      ].join('\n'),
    )
    .requiredOption('--server <url>', 'the server: https://strand.lab.example (a URL, or the name of a server logged in to before)')
    .option('--token-file <file>', 'read the token from this file (e.g. a file kubectl create token wrote)')
    .option('--token-stdin', 'read the token from standard input')
    .option('--name <name>', 'a short name for the server, for --server NAME (default: its host name)')
    .option('--allow-http', 'accept plain http to another machine (the token then crosses the network in clear: only behind a network you trust)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  kubectl create token alice -n lab-people --duration 24h > ~/.strand-token',
        '  strand login --server https://strand.lab.example --token-file ~/.strand-token --name lab',
        '  pass show lab/strand | strand login --server https://strand.lab.example --token-stdin',
        '  strand login --server http://127.0.0.1:8080        # asks for the token (strand server --auth token printed it)',
        '  strand submit --server wf.cwl job.yml              # then: list, show, logs, cancel with --server',
        '  strand logout --server lab',
      ].join('\n'),
    )
    .action(async (flags: LoginFlags) => {
      await loginCommand(flags, { err: (t) => process.stderr.write(t) });
      finish(EXIT.ok);
    });

  program
    .command('logout')
    .summary('forget the token of a lab server (the default one, or --server URL or NAME)')
    .option('--server <url>', 'the server to log out of: its URL or name (default: the default server)')
    .addHelpText('after', '\nExamples:\n  strand logout                   # the default server\n  strand logout --server lab\n')
    .action(async (flags: { server?: string }) => {
      await logoutCommand(flags.server, { err: (t) => process.stderr.write(t) });
      finish(EXIT.ok);
    });
}

/** `strand login`: check the token with the server, then store it. Nothing is stored when the check fails. */
export async function loginCommand(flags: LoginFlags, io: LoginIo): Promise<void> {
  const { credentialsPath, defaultServerName, isLoopbackUrl, normaliseServerUrl, readCredentials, SERVER_NAME, withLogin, writeCredentials } = await import('./server-client/credentials.js');
  const { WesClient, WesError } = await import('./server-client/wes-client.js');
  const file = io.credentialsFile ?? credentialsPath();
  if (flags.tokenFile !== undefined && flags.tokenStdin) throw new UsageError('--token-file and --token-stdin: give one of them');
  if (flags.name !== undefined && !SERVER_NAME.test(flags.name)) throw new UsageError('--name: letters, digits, - and _, at most 63 characters');
  // Early: a credentials file that may not be used is said before a token is asked for.
  const creds = readCredentials(file);
  const known = creds.servers.find((s) => s.name === flags.server);
  const url = known ? known.url : normaliseServerUrl(flags.server);
  const allowHttp = flags.allowHttp === true || (known?.allowHttp ?? false);
  if (url.startsWith('http:') && !isLoopbackUrl(url) && !allowHttp) {
    throw new UsageError(`${url} is plain http to another machine: the token would cross the network in clear. Use the server's https URL (its TLS proxy or Ingress), or --allow-http if the network is yours alone`);
  }

  let token: string;
  if (flags.tokenFile !== undefined) {
    const { readTokenFile } = await import('./server-client/token-input.js');
    token = readTokenFile(flags.tokenFile);
  } else if (flags.tokenStdin) {
    const { readTokenStream } = await import('./server-client/token-input.js');
    token = await readTokenStream(io.stdin ?? process.stdin);
  } else if (io.askToken) {
    token = await io.askToken(`token for ${url}: `);
  } else {
    if (!process.stdin.isTTY) throw new UsageError('no token: give --token-file FILE or --token-stdin (standard input is not a terminal to ask on)');
    const { promptToken } = await import('./server-client/token-input.js');
    token = await promptToken(`token for ${url} (not echoed): `);
  }

  const client = new WesClient({ url, token, ...(io.fetch ? { fetch: io.fetch } : {}) });
  let version = '';
  try {
    const info = await client.serviceInfo();
    version = typeof info.version === 'string' ? ` (${printableShort(info.name)} ${printableShort(info.version)})` : '';
  } catch (err) {
    if (err instanceof WesError && err.status === 401) {
      throw new LoginRefused(`${url} refused this token (401${err.serverMessage ? `: ${err.serverMessage}` : ''}): nothing was stored. Check that it is the token the server signs in with (GET ${url}/auth says how to get one) and that it has not expired`);
    }
    throw new LoginRefused(`${(err as Error).message}: nothing was stored`);
  }
  const name = flags.name ?? known?.name ?? creds.servers.find((s) => s.url === url)?.name ?? uniqueName(defaultServerName(url), creds.servers.map((s) => s.name));
  const next = withLogin(creds, { name, url, token, ...(allowHttp && url.startsWith('http:') && !isLoopbackUrl(url) ? { allowHttp: true } : {}) });
  writeCredentials(file, next);
  const isDefault = next.default === name;
  io.err(`logged in to ${url}${version} as server ${name}${isDefault ? ', the default' : ` (use it with --server ${name})`}; the token is in ${file}\n`);
}

/** `strand logout`: remove the server's token from the credentials file. */
export async function logoutCommand(server: string | undefined, io: Pick<LoginIo, 'err' | 'credentialsFile'>): Promise<void> {
  const { credentialsPath, pickServer, readCredentials, withoutLogin, writeCredentials } = await import('./server-client/credentials.js');
  const file = io.credentialsFile ?? credentialsPath();
  const creds = readCredentials(file);
  const login = pickServer(creds, server, file);
  const next = withoutLogin(creds, login);
  writeCredentials(file, next);
  io.err(
    `logged out of ${login.url} (${login.name}): its token is removed from ${file}` +
      `${next.default && next.default !== creds.default ? `; the default server is now ${next.default}` : ''}. ` +
      'The token itself stays valid on the server until it expires or is revoked.\n',
  );
}

function uniqueName(base: string, taken: readonly string[]): string {
  if (!taken.includes(base)) return base;
  for (let i = 2; ; i++) {
    const name = `${base.slice(0, 60)}-${i}`;
    if (!taken.includes(name)) return name;
  }
}

function printableShort(s: unknown): string {
  // eslint-disable-next-line no-control-regex
  return typeof s === 'string' ? s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 80) : '';
}
