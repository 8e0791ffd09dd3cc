/**
 * `strand lab add-member USER`: an administrator makes a member's namespace ahead of their first
 * sign-in (the only way for a server installed with `strand rbac --server --preprovisioned`), with
 * the administrator's own kubeconfig and the lab's profile from the server's config file.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT } from './exit-codes.js';

const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function addLabCommands(program: Command, finish: (code: number) => void): void {
  const lab = program.command('lab').summary("manage the lab server's members (docs/lab-server.md)");
  lab
    .command('add-member')
    .summary("make a member's namespace, as the server would on their first sign-in")
    .description(
      [
        "Make USER's namespace with what the lab server needs in it: the ServiceAccounts",
        'strand-member and the leader\'s, a RoleBinding of them and of USER to the members\'',
        'ClusterRole, and the quota and LimitRange of the config file\'s members: section.',
        'USER is the user name the cluster gives the member\'s token (for a ServiceAccount:',
        'system:serviceaccount:NAMESPACE:NAME). Run with your own kubeconfig (an',
        'administrator\'s): it is the only way with a server installed --preprovisioned.',
        'A namespace of that name that Strand did not make for USER is refused, never adopted.',
        'Nothing that is there already is changed: running it twice is harmless.',
      ].join('\n'),
    )
    .argument('<user>', "the member's user name, as the cluster names them")
    .option('--config <file>', "the server's config file (its members: section)")
    .option('--kubeconfig <file>', 'your kubeconfig (default: KUBECONFIG, ~/.kube/config)')
    .addHelpText('after', ['', 'Examples:', '  strand lab add-member alice@example.org --config lab.yaml', '  strand lab add-member system:serviceaccount:people:bob'].join('\n'))
    .action(async (user: string, flags: { config?: string; kubeconfig?: string }) => {
      const { loadServerConfig } = await import('../server/server-config.js');
      const { memberProfile } = await import('../server/lab-server.js');
      const { ensureMemberNamespace } = await import('../server/members/provision.js');
      const { connect } = await import('../cluster/connection.js');
      const { KubeApi } = await import('../cluster/kube-api.js');
      const config = loadServerConfig(flags.config, `localhost/strand:${version}`);
      const api = new KubeApi(connect({ ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}) }), { requestsPerSecond: 10 });
      const got = await ensureMemberNamespace(api, user, memberProfile(config));
      process.stdout.write(`${got.namespace}\n`);
      process.stderr.write(
        got.made.length ? `[strand] made for ${JSON.stringify(user)}: ${got.made.join(', ')}\n` : `[strand] namespace ${got.namespace} of ${JSON.stringify(user)} was already there\n`,
      );
      finish(EXIT.ok);
    });
}
