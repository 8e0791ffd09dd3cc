/**
 * `strand server`: the lab server (src/server/lab-server.ts), GA4GH WES 1.1 over the cluster.
 * The server modules are imported when the command runs.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXIT } from './exit-codes.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function portArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535 (0: any free port)');
  return n;
}

interface ServerFlags {
  config?: string;
  host?: string;
  port?: number;
  auth?: 'kubernetes' | 'oidc' | 'kubernetes+oidc' | 'token';
  kubeconfig?: string;
  image?: string;
}

export function addServerCommand(program: Command, finish: (code: number) => void): void {
  program
    .command('server')
    .summary('serve the lab: GA4GH WES 1.1 for members who sign in, each with a namespace of their own')
    .description(
      [
        'Serve GA4GH WES 1.1 (at /ga4gh/wes/v1) over a Kubernetes cluster. Every run is a',
        'leader Job in its member\'s namespace, as with strand submit: the server keeps no',
        'state of its own, and runs started before a restart are found again from the cluster.',
        '',
        'Signing in (--auth):',
        '  kubernetes  every request carries a Kubernetes token (Authorization: Bearer),',
        '              checked with a TokenReview. Each member gets a namespace of their',
        '              own (members.namespaceTemplate, default lab-{user}) on first sign-in,',
        '              and the server acts there through a ServiceAccount with short-lived',
        '              tokens (TokenRequest), never with its own rights.',
        '  oidc        every request carries an OIDC ID token of the lab\'s identity provider',
        '              (identity.oidc in the config file: issuerUrl, clientId, usernameClaim...),',
        '              checked by the server with the provider\'s published keys. Members get',
        '              their namespace as with kubernetes.',
        '  kubernetes+oidc  both: a token whose issuer is that provider is checked as OIDC,',
        '              any other with a TokenReview. The default when identity.oidc is set.',
        '  token       one user on this machine: a token is made at each start and printed;',
        '              loopback only; runs go where the kubeconfig points (as strand submit).',
        '',
        'The server\'s own rights: strand rbac --server. Its config file: docs/lab-server.md.',
      ].join('\n'),
    )
    .option('--config <file>', 'the server\'s config file (listen, members, leader, runs, limits, identity; docs/lab-server.md)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1, or listen.host)')
    .option('--port <n>', 'port (0: any free port; default 8080, or listen.port)', portArg)
    .addOption(
      new Option('--auth <how>', 'how requests sign in (default: kubernetes+oidc when the config sets identity.oidc, else kubernetes)').choices([
        'kubernetes',
        'oidc',
        'kubernetes+oidc',
        'token',
      ]),
    )
    .option('--kubeconfig <file>', 'the server\'s own kubeconfig (default: kubeconfig in the config file, else KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--image <ref>', 'the Strand image of the leader pods (default: leader.image, else localhost/strand:<version>)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  strand server --config lab.yaml                     # members sign in with Kubernetes tokens',
        '  strand server --config lab.yaml --auth oidc         # only ID tokens of identity.oidc\'s provider',
        '  strand server --auth token --port 0                  # just me, on this machine',
        '  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/ga4gh/wes/v1/runs',
        '  curl -H "Authorization: Bearer $TOKEN" -F workflow_url=wc.cwl -F workflow_type=CWL \\',
        '       -F workflow_type_version=v1.2 -F workflow_params=\'{"text": {"class": "File", "location": "in.txt"}}\' \\',
        '       -F workflow_attachment=@wc.cwl -F workflow_attachment=@in.txt http://127.0.0.1:8080/ga4gh/wes/v1/runs',
      ].join('\n'),
    )
    .action(async (flags: ServerFlags) => {
      const { loadServerConfig } = await import('../server/server-config.js');
      const { startLabServer, isLoopbackHost, defaultAuth } = await import('../server/lab-server.js');
      const config = loadServerConfig(flags.config, `localhost/strand:${version}`);
      if (flags.host !== undefined) config.listen.host = flags.host;
      if (flags.port !== undefined) config.listen.port = flags.port;
      if (flags.kubeconfig !== undefined) config.kubeconfig = flags.kubeconfig;
      if (flags.image !== undefined) config.leader.image = flags.image;
      const log = (line: string) => process.stderr.write(`[strand server ${new Date().toISOString()}] ${line}\n`);
      const auth = flags.auth ?? defaultAuth(config);
      const server = await startLabServer({ config, auth, version, log });
      if (!isLoopbackHost(config.listen.host)) {
        log(`warning: listening on ${config.listen.host} without TLS: put it behind a TLS proxy (an Ingress) so that tokens do not cross the network in clear`);
      }
      log(`serving GA4GH WES 1.1 at ${server.origin}/ga4gh/wes/v1 (sign-in: ${auth}${config.file ? `; config ${config.file}` : ''}); Ctrl-C to stop`);
      process.stdout.write(`${server.origin}\n`);
      if (server.token) process.stdout.write(`token: ${server.token}\n`);
      const stop = () => void server.close().then(() => finish(EXIT.ok));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
